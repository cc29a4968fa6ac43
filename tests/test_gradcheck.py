"""The gradient checker itself: it passes right gradients, catches wrong ones, and says so."""

import numpy as np
import pytest

from tinyae import BCE, MSE, Dense, Layer, Sequential, check_layer, check_loss, check_model
from tinyae.gradcheck import GOOD, WRONG, compare, numerical_gradient


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
    def forward(self, x):
        return 2 * x

    def backward(self, dout):
        dout *= 2
        return dout


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
    text = str(check_layer(Dense(3, 2), np.ones((2, 3))))
    header, *rows = text.splitlines()
    assert header.split() == ["gradient", "shape", "rel.", "error", "worst", "at", "analytic", "numerical"]
    assert [row.split()[0] for row in rows] == ["dx", "dW", "db"]
    assert all(row.rstrip().endswith("ok") for row in rows)


def test_float32_is_refused_with_a_helpful_message():
    with pytest.raises(TypeError, match="need float64.*astype"):
        check_layer(Dense(3, 2), np.ones((2, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="float64"):
        check_model(Sequential([Dense(3, 2)]), MSE(), np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="float64"):
        check_loss(MSE(), np.ones((2, 2), dtype=np.float32), np.ones((2, 2)))


def test_a_backward_that_mutates_dout_is_reported():
    with pytest.raises(AssertionError, match="modified dout in place"):
        check_layer(MutatesDout(), np.ones((2, 2)))


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
