"""The gradient checker itself: it passes right gradients, catches wrong ones, and says so."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import GRADCHECK, batches, sizes
from tinyae import BCE, MSE, Dense, Layer, Sequential, check_layer, check_loss, check_model
from tinyae.gradcheck import GOOD, WRONG, compare, format_ratio, numerical_gradient


class Cube(Layer):
    """A learner's own layer: out = a · x³, with one parameter a of shape (1,)."""

    param_names = ("a",)

    def __init__(self, a=0.5, wrong_derivative=False):
        self.a, self.da = np.array([a]), np.zeros(1)
        self.wrong_derivative = wrong_derivative

    def forward(self, x):
        self.x = x
        return self.a * x**3

    def backward(self, dout):
        self.da += np.sum(dout * self.x**3)
        slope = 2 * self.x**2 if self.wrong_derivative else 3 * self.x**2  # the bug: 2 for 3
        return dout * self.a * slope


class MutatesDout(Layer):
    """Right dx = 2·dout, computed by doubling the caller's dout in place."""

    def forward(self, x):
        return 2 * x

    def backward(self, dout):
        dout *= 2
        return dout


class ScaledDense(Dense):
    """A Dense whose gradients are off by constant factors: db · 1/N (averaged), dx · sign."""

    def __init__(self, n_in, n_out, db_factor="1/N", dx_sign=1.0):
        super().__init__(n_in, n_out, rng=0)
        self.db_factor, self.dx_sign = db_factor, dx_sign

    def backward(self, dout):
        db_before = self.db.copy()
        dx = super().backward(dout)
        factor = 1 / len(dout) if self.db_factor == "1/N" else self.db_factor
        self.db[...] = db_before + factor * (self.db - db_before)  # still accumulates
        return self.dx_sign * dx


class RebindsDW(Dense):
    """The right values, but ``dW = …`` overwrites what earlier calls accumulated."""

    def backward(self, dout):
        self.dW = self.x.T @ dout  # the bug: = instead of +=
        self.db += dout.sum(axis=0)
        return dout @ self.W.T


class DuckDense:
    """Not a tinyae.Layer: ``out = x @ W``, with W and dW as plain attributes."""

    param_names = ("W",)

    def __init__(self, n, rebind=""):
        self.W, self.dW, self.rebind = np.eye(n), np.zeros((n, n)), rebind

    def reset_parameters(self, rng):
        self.W[...] = rng.standard_normal(self.W.shape)

    def output_dim(self, n_in):
        return n_in

    def parameters(self):
        return [("W", self.W, self.dW)]

    def forward(self, x):
        self.x = x
        return x @ self.W

    def backward(self, dout):
        if self.rebind == "dW":
            self.dW = self.dW + self.x.T @ dout  # right values, in a new array
        else:
            self.dW += self.x.T @ dout
        if self.rebind == "W":
            self.W = self.W.copy()  # e.g. an "update" written as W = W - lr * dW
        return dout @ self.W.T


def test_a_learners_own_layer_passes_when_right():
    x = np.random.default_rng(0).normal(size=(4, 3))
    report = check_layer(Cube(), x)
    assert report.passed and report.max_error < GOOD
    assert [row.name for row in report] == ["dx", "da"]


def test_a_wrong_derivative_is_caught_and_located():
    x = np.random.default_rng(0).normal(size=(4, 3))
    report = check_layer(Cube(wrong_derivative=True), x)
    dx_row = report[0]
    assert not report.passed and dx_row.verdict == "WRONG" and dx_row.error > WRONG
    assert report[1].passed  # the parameter gradient was right
    with pytest.raises(AssertionError, match="dx.*WRONG"):
        report.raise_if_failed()


def test_report_prints_a_readable_table():
    text = str(check_layer(Dense(3, 2), np.random.default_rng(0).normal(size=(2, 3))))
    header, *rows = text.splitlines()
    assert header.split() == ["gradient", "shape", "rel.", "error", "worst", "at", "analytic",
                              "numerical", "ratio", "a/n"]
    assert [row.split()[0] for row in rows] == ["dx", "dW", "db"]
    assert all(row.split()[-2:] == ["1", "ok"] for row in rows)  # right: analytic = 1 × numerical


def test_float32_is_refused_with_a_helpful_message():
    with pytest.raises(TypeError, match="need float64.*astype"):
        check_layer(Dense(3, 2), np.ones((2, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="float64"):
        check_model(Sequential([Dense(3, 2)]), MSE(), np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="float64"):
        check_loss(MSE(), np.ones((2, 2), dtype=np.float32), np.ones((2, 2)))


@GRADCHECK
@given(x=batches())
def test_a_backward_that_mutates_dout_is_a_failing_row(x):
    report = check_layer(MutatesDout(), x)
    assert [row.name for row in report] == ["dx", "dout modified in place"]
    assert report[0].passed  # dx itself is right: it is checked against the untouched dout
    assert not report.passed and not report[1].passed
    assert "dout = dout.copy()" in report[1].note
    with pytest.raises(AssertionError, match="dout modified in place"):
        report.raise_if_failed()


@GRADCHECK
@given(x=batches(), n_out=sizes)
def test_right_gradients_have_ratio_1_and_no_extra_rows(x, n_out):
    report = check_layer(Dense(x.shape[1], n_out, rng=0), x)
    assert report.passed and [row.name for row in report] == ["dx", "dW", "db"]
    assert all(row.note == "" for row in report)
    for row in report:  # None only where the gradient is 0 up to rounding
        right = row.ratio == pytest.approx(1, rel=1e-6)
        assert right or (row.ratio is None and abs(row.numerical) < 1e-3)


@GRADCHECK
@given(n=st.integers(1, 12), n_out=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_a_db_averaged_over_the_batch_has_ratio_exactly_1_over_n(n, n_out, seed):
    x = np.random.default_rng(seed).normal(size=(n, 3))
    report = check_layer(ScaledDense(3, n_out), x, seed=seed)
    db = report[2]
    assert db.name == "db" and db.ratio == pytest.approx(1 / n, rel=1e-8)
    assert format_ratio(db.ratio) == ("1" if n == 1 else f"1/{n}")
    assert db.passed == (n == 1)  # averaging over one sample is the sum
    assert ("1/N" in db.note) == (n > 1)
    assert [row.name for row in report] == ["dx", "dW", "db"]  # the wrong db is reported once


@pytest.mark.parametrize("db_factor, dx_sign, expected", [(2.0, 1.0, "2"), (0.5, -1.0, "1/2")])
def test_a_missing_factor_or_sign_is_named_by_its_ratio(db_factor, dx_sign, expected):
    x = np.random.default_rng(3).normal(size=(5, 4))
    report = check_layer(ScaledDense(4, 3, db_factor=db_factor, dx_sign=dx_sign), x)
    dx, dW, db = report
    assert format_ratio(db.ratio) == expected and not db.passed and "constant factor" in db.note
    assert dx.passed == (dx_sign == 1) and dx.ratio == pytest.approx(dx_sign)
    assert dW.passed and dW.note == ""
    assert f"{expected}  " in str(report).splitlines()[3]  # the table shows it


def test_an_error_of_no_constant_factor_has_no_ratio():
    x = np.random.default_rng(0).normal(size=(4, 3))
    dx = check_layer(Cube(wrong_derivative=True), x)[0]  # 2x² for 3x²: a factor 2/3 …
    assert dx.ratio == pytest.approx(2 / 3) and format_ratio(dx.ratio) == "2/3"
    row = compare("dz", np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 2.0]))  # … and none
    assert row.ratio is None and row.note == ""


@GRADCHECK
@given(x=batches(), n_out=sizes)
def test_a_gradient_that_is_overwritten_instead_of_added_fails(x, n_out):
    layer = RebindsDW(x.shape[1], n_out, rng=0)
    report = check_layer(layer, x)
    assert [row.name for row in report[:3]] == ["dx", "dW", "db"] and report[1].passed
    if np.abs(layer.dW).max() < 1e-6:  # dW = xᵀ dout ≈ 0: nothing to accumulate, nothing to see
        return
    (twice,) = report[3:]
    assert twice.name == "dW accumulates" and not twice.passed and not report.passed
    assert "`dW += …`" in twice.note and "`dW = …`" in twice.note
    assert twice.ratio is None or twice.ratio == pytest.approx(0.5)


def test_an_overwritten_gradient_shows_ratio_one_half():
    """The second backward left 1×, not 2×, the gradient; db (with +=) is fine."""
    report = check_layer(RebindsDW(3, 2, rng=0), np.random.default_rng(0).normal(size=(4, 3)))
    assert [row.name for row in report] == ["dx", "dW", "db", "dW accumulates"]
    assert format_ratio(report[3].ratio) == "1/2" and report[3].verdict == "WRONG"
    assert "dW accumulates: backward must ADD into dW" in str(report)


def test_a_layer_without_its_gradient_array_gets_a_clear_error():
    class NoGradient(Cube):
        def __init__(self):
            self.a = np.array([0.5])

    with pytest.raises(AttributeError, match="no da.*np.zeros_like"):
        check_layer(NoGradient(), np.ones((2, 2)))


def test_numerical_gradient_of_a_known_function():
    """f(θ) = Σ sin(θ) has gradient cos(θ); Richardson makes it exact to ~1e-11."""
    theta = np.linspace(-2, 2, 7)
    grad = numerical_gradient(lambda: np.sin(theta).sum(), theta)
    np.testing.assert_allclose(grad, np.cos(theta), atol=1e-10)
    np.testing.assert_array_equal(theta, np.linspace(-2, 2, 7))  # restored after perturbing


def test_compare_guards_an_all_zero_gradient():
    row = compare("dz", np.zeros(3), np.array([0.0, 1e-13, -1e-13]))
    assert row.passed and row.error == pytest.approx(1e-10)


def test_the_zero_gradient_floor_grows_with_the_function_it_differentiates():
    rounding = np.array([1.04e-10, 0.0, 0.0])  # what |f| ≈ 4 leaves in the differences
    assert not compare("dp", np.zeros(3), rounding).passed  # against |f| = 1: 1.04e-7
    assert compare("dp", np.zeros(3), rounding, size=3.77).error == pytest.approx(1.04e-10 / 3.77e-3)
    # a real disagreement still fails however large f is
    assert compare("dp", np.zeros(3), np.array([1e-4, 0, 0]), size=1000.0).error == pytest.approx(1e-4)


def test_a_zero_bce_gradient_at_p_equal_y_passes_with_the_sum_reduction():
    """Found by hypothesis: a constant floor failed this correct, all-zero gradient (1.04e-7)."""
    p = np.array([[0.5, 0.5, 0.5], [0.25, 0.25, 0.25]])
    report = check_loss(BCE(reduction="sum"), p, p.copy())
    assert report.passed, report


def test_check_model_catches_a_broken_layer_inside_a_model():
    model = Sequential([Dense(3, 3), Cube(wrong_derivative=True), Dense(3, 2)], dtype=np.float64, seed=0)
    x, y = np.random.default_rng(1).normal(size=(4, 3)), np.zeros((4, 2))
    report = check_model(model, MSE(), x, y)
    assert report[0].name == "d0.W" and not report[0].passed  # the bug shows up below it
    assert report[-1].passed  # layers after the bug still get the right gradient


@pytest.mark.parametrize("rebind", ["dW", "W"])
def test_check_model_reports_a_parameter_that_left_the_flat_vectors(rebind):
    model = Sequential([Dense(3, 3), DuckDense(3, rebind=rebind)], dtype=np.float64, seed=0)
    x = np.random.default_rng(1).normal(size=(4, 3))
    report = check_model(model, MSE(), x, x)
    vector = "grads" if rebind == "dW" else "params"
    (row,) = report
    assert row.name == f"1.{rebind} not in model.{vector}" and not report.passed
    assert f"self.{rebind} = …" in row.note and f"self.{rebind}[...] = …" in row.note
    assert "—" in str(report).splitlines()[1]  # no numbers to show


@GRADCHECK
@given(x=batches(d=st.just(3)))
def test_check_model_passes_a_duck_typed_layer_that_writes_in_place(x):
    model = Sequential([Dense(3, 3), DuckDense(3)], dtype=np.float64, seed=0)
    report = check_model(model, MSE(), x, np.zeros_like(x))
    assert report.passed and [row.name for row in report] == ["d0.W", "d0.b", "d1.W"]
