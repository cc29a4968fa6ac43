"""Exercise 6.1, the capstone: it passes every right build and names every wrong class.

Each workbook here is the answer key with edits (``write_edited``), loaded like a
student's and checked with ``check_task("6.1", build_autoencoder)``.  Most use
784-32-784, the quickest of the builds that pass: tinyae's run of a network is memoized
by its plan, so after the first a failing variant costs only the student's training.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import tinyae
from keys import honest_key
from test_workbook_mistakes import write_edited
from tinyae.workbook import PARTS, check_task, load_workbook, render
from tinyae.workbook import capstone as cap
from tinyae.workbook.remote import decode, encode

CAPSTONE = "6.1"
KEY = "layers = [Dense(784, 128), ReLU(), Dense(128, 784), Sigmoid()]"
RETURN = "return tinyae.Sequential(layers, seed=seed), BCE(), Adam(lr=1e-3)"
BUILDS = {  # the builds the workbook says pass: their widths and their layers
    "784-128-784": KEY,
    "784-100-50-100-784": "layers = [Dense(784, 100), ReLU(), Dense(100, 50), ReLU(), "
                          "Dense(50, 100), ReLU(), Dense(100, 784), Sigmoid()]",
    "784-32-784": "layers = [Dense(784, 32), ReLU(), Dense(32, 784), Sigmoid()]",
    "784-256-64-256-784": "layers = [Dense(784, 256), ReLU(), Dense(256, 64), ReLU(), "
                          "Dense(64, 256), ReLU(), Dense(256, 784), Sigmoid()]",
}
SMALL = (KEY, BUILDS["784-32-784"])  # the edit that makes the key's network 784-32-784
BCE_WITHOUT_ND = ("/ (self.p * (1 - self.p)) / self.p.size", "/ (self.p * (1 - self.p))")


@pytest.fixture(scope="module")
def answer_key():
    return render(PARTS, solved=True)


def check(answer_key, folder, *edits):
    """The capstone's result for the answer key with ``edits``, written into ``folder``."""
    workbook = load_workbook(write_edited(answer_key, list(edits), folder))
    return check_task(CAPSTONE, workbook["build_autoencoder"])


def failing(result, *words):
    """Assert ``result`` failed with a hint holding ``words`` and no object's repr."""
    assert not result.passed and result.points < result.max_points
    missing = [word for word in words if word not in result.hint]
    assert not missing, f"{missing} not in: {result.hint}"
    assert "<" not in result.hint, result.hint


def outcome(result):
    """What a result says, but for the timings: every sub-check and the numbers it measured."""
    measured = [line for line in result.details.splitlines() if "s with your classes" not in line]
    return result.points, [(row["name"], row["passed"], row["hint"]) for row in result.checks], measured


def bce_of(result):
    """The test BCE the details report."""
    return float(re.search(r"test BCE (\d\.\d+) per pixel", result.details)[1])


@pytest.fixture(scope="module")
def small(answer_key, tmp_path_factory):
    """The result of the answer key's classes on 784-32-784: what a patch must not change."""
    result = check(answer_key, tmp_path_factory.mktemp("small"), SMALL)
    assert result.passed, result.hint
    return result


@pytest.mark.parametrize("widths", BUILDS)
def test_the_builds_the_workbook_names_pass(answer_key, tmp_path, widths):
    result = check(answer_key, tmp_path, (KEY, BUILDS[widths]))
    assert result.passed and result.points == 6 and result.hint == "", result.hint
    stated = dict(re.findall(r"(\d+(?:-\d+)+) \((0\.\d+)\)", cap.PASSING))
    assert abs(bce_of(result) - float(stated[widths])) < 0.005  # what the docstring says
    assert bce_of(result) <= cap.THRESHOLD < cap.mean_image_bce()
    assert cap.PASSING in " ".join(cap.PART.tasks[0].formula.split())


WRONG = [  # (edits of the answer key on 784-32-784, words the hint must hold)
    pytest.param([("self.dW += self.x.T @ dout", "self.dW += self.x.T @ dout / len(dout)")],
                 ["step 0, layer 2, your Dense: dW from Dense.backward is 1/64 = 1/N", "Exercise 1.2"],
                 id="Dense: dW averaged over the batch"),
    pytest.param([("return x @ self.W + self.b", "return x @ self.W")],
                 ["layer 0, your Dense: the output from Dense.forward", "Exercise 1.1"],
                 id="Dense: forward without the bias"),
    pytest.param([("return dout * self.mask", "return dout * (dout > 0)")],
                 ["layer 1, your ReLU: dx from ReLU.backward", "Exercise 2.2"], id="ReLU: mask from dout"),
    pytest.param([("return dout * self.p * (1 - self.p)", "return dout * self.p")],
                 ["layer 3, your Sigmoid: dx from Sigmoid.backward", "Exercise 2.1"],
                 id="Sigmoid: derivative without (1 - p)"),
    pytest.param([BCE_WITHOUT_ND],
                 ["your BCE: dp = ∂L/∂p from BCE.backward is 50176 = N·D", "Exercise 3.2"],
                 id="BCE: backward without 1/(N·D)"),
    pytest.param([("return float(-np.mean(y", "return float(-np.sum(y")],
                 ["your BCE: the loss L from BCE.forward is 50176 = N·D", "Exercise 3.2"],
                 id="BCE: forward summed"),
    pytest.param([(RETURN, RETURN.replace("BCE()", "MSE()")),
                  ("return 2 * (self.p - self.y) / self.p.size", "return (self.p - self.y) / self.p.size")],
                 ["your MSE: dp = ∂L/∂p from MSE.backward is 1/2 of", "Exercise 3.1"],
                 id="MSE: backward without the 2"),
    pytest.param([(BUILDS["784-32-784"], BUILDS["784-32-784"].replace("ReLU()", "Tanh()")),
                  ("return dout * (1 - self.out**2)", "return dout * (1 - self.out)")],
                 ["layer 1, your Tanh: dx from Tanh.backward", "Exercise 2.3"], id="Tanh: 1 − out"),
    pytest.param([("m_hat = self.m / (1 - self.beta1**self.t)", "m_hat = self.m"),
                  ("v_hat = self.v / (1 - self.beta2**self.t)", "v_hat = self.v")],
                 ["The change of θ at step 0", "your Adam.step differs", "Exercise 4.2"],
                 id="Adam: no bias correction"),
    pytest.param([(RETURN, RETURN.replace("Adam(lr=1e-3)", "SGD(lr=1.0, momentum=0.9)")),
                  ("self.v = self.momentum * self.v + grads",
                   "self.v = self.momentum * self.v + (1 - self.momentum) * grads")],
                 ["your SGD.step differs", "step 0", "1/10 of tinyae's", "Exercise 4.1"],
                 id="SGD: momentum averaged, v ← μv + (1 − μ)g"),
    pytest.param([(RETURN, RETURN.replace("Adam(lr=1e-3)", "SGD(lr=1.0, momentum=0.9)")),
                  ("self.v = self.momentum * self.v + grads", "self.v = grads")],
                 ["change of θ at step 1", "your SGD.step differs", "Exercise 4.1"],
                 id="SGD: momentum forgotten (the first step agrees)"),
    pytest.param([("self.x = x  # dW", "self.x = getattr(self, 'x', x)  # dW")],
                 ["change of θ at step 1", "At step 1, layer 2, your Dense: dW from Dense.backward",
                  "Exercise 1.2"], id="Dense: keeps the first batch's x (a layer, not the optimizer)"),
    pytest.param([("return x @ self.W + self.b",
                   "self.calls = getattr(self, 'calls', 0) + 1\n"
                   "        return x @ self.W + self.b * (self.calls <= 300)")],
                 ["agree with tinyae's at step 0 but not at step",
                  "layer 0, your Dense: the output from Dense.forward", "Exercise 1.1"],
                 id="Dense: drops its bias from step 300 on (caught at a late step)"),
    pytest.param([("return x @ self.W + self.b",
                   "self.calls = getattr(self, 'calls', 0) + 1\n"
                   "        nan = np.full((len(x), self.n_out), np.nan)\n"
                   "        return x @ self.W + self.b if self.calls != 201 else nan")],
                 ["agrees with tinyae's until step 200, whose loss is nan",
                  "At step 200, layer 0, your Dense: the output from Dense.forward holds NaN",
                  "Exercise 1.1"], id="Dense: NaN once, at step 200 (caught by the losses)"),
]


@pytest.mark.parametrize("edits, words", WRONG)
def test_a_wrong_class_is_named_with_its_exercise(answer_key, tmp_path, edits, words):
    result = check(answer_key, tmp_path, SMALL, *edits)
    failing(result, *words)
    rows = {row["name"]: row for row in result.checks}
    assert rows[cap.OWN]["passed"] and not rows[cap.STEP_BY_STEP]["passed"]


def test_what_adam_hid_in_the_users_report_is_found(answer_key, tmp_path):
    """dW and db averaged, BCE without 1/(N·D), Adam without bias correction: 6/6 before."""
    result = check(answer_key, tmp_path,
                   ("self.dW += self.x.T @ dout", "self.dW += self.x.T @ dout / len(dout)"),
                   ("self.db += dout.sum(axis=0)", "self.db += dout.mean(axis=0)"),
                   BCE_WITHOUT_ND,
                   ("m_hat = self.m / (1 - self.beta1**self.t)", "m_hat = self.m"),
                   ("v_hat = self.v / (1 - self.beta2**self.t)", "v_hat = self.v"))
    failing(result, "your BCE: dp = ∂L/∂p from BCE.backward", "Exercise 3.2")  # the first to differ


PRETRAIN = (RETURN, "model = tinyae.Sequential(layers, seed=seed)\n"
                    "    x = tinyae.load_mnist('mnist-mini', verbose=False).x_train[:2000]\n"
                    "    tinyae.fit(model, x, loss=tinyae.BCE(), optimizer=tinyae.Adam(1e-3), "
                    "verbose=False)\n"
                    "    return model, BCE(), Adam(lr=1e-3)")
ZERO_RNG = (RETURN, "class Zeros(np.random.Generator):\n"
                    "        def uniform(self, low=0.0, high=1.0, size=None): return np.zeros(size)\n"
                    "        def normal(self, loc=0.0, scale=1.0, size=None): return np.zeros(size)\n"
                    "        def permutation(self, x): return np.arange(x)\n"
                    "    np.random.default_rng = lambda *args, **kwargs: Zeros(np.random.PCG64(0))\n"
                    f"    {RETURN}")
NO_DW = ("        self.dW += self.x.T @ dout\n        self.db += dout.sum(axis=0)\n", "")


def test_pretraining_in_build_autoencoder_changes_nothing(answer_key, tmp_path, small):
    assert outcome(check(answer_key, tmp_path, SMALL, PRETRAIN)) == outcome(small)


def test_pretraining_does_not_hide_an_adam_that_does_nothing(answer_key, tmp_path):
    result = check(answer_key, tmp_path, SMALL, PRETRAIN,
                   ("params -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)", "pass"))
    failing(result, "your Adam.step differs", "Exercise 4.2")


def test_a_zero_drawing_default_rng_changes_nothing(answer_key, tmp_path, small, monkeypatch):
    original = np.random.default_rng
    monkeypatch.setattr(np.random, "default_rng", original)  # put back afterwards
    assert outcome(check(answer_key, tmp_path, SMALL, ZERO_RNG)) == outcome(small)
    assert np.random.default_rng is not original  # the build did replace it


def test_a_zero_drawing_default_rng_does_not_hide_a_dense_that_does_nothing(answer_key, tmp_path,
                                                                              monkeypatch):
    monkeypatch.setattr(np.random, "default_rng", np.random.default_rng)
    result = check(answer_key, tmp_path, SMALL, ZERO_RNG, NO_DW)
    failing(result, "layer 2, your Dense: dW from Dense.backward is 0 everywhere", "Exercise 1.2")


def test_replacing_tinyaes_classes_changes_nothing(answer_key, tmp_path, small, monkeypatch):
    for name in ("BCE", "Adam", "Dense", "Sequential", "load_mnist"):
        monkeypatch.setattr(tinyae, name, getattr(tinyae, name))  # undone afterwards
    patch = (RETURN, "class Zero(tinyae.BCE):\n"
                     "        def forward(self, p, y): return 0.0\n"
                     "    tinyae.BCE, tinyae.Adam, tinyae.Dense = Zero, Adam, Dense\n"
                     f"    {RETURN}")
    assert outcome(check(answer_key, tmp_path, SMALL, patch)) == outcome(small)
    assert tinyae.BCE.__name__ == "Zero"  # the build did patch it


REFUSED = [  # (edits of the answer key, words the hint must hold): nothing can be trained
    pytest.param([(KEY, KEY.replace("Dense(784, 128)", "tinyae.Dense(784, 128)"))],
                 ["layer 0 is tinyae's Dense, not yours"], id="tinyae's Dense"),
    pytest.param([("def build_autoencoder(", "Dense = tinyae.Dense\n\n\ndef build_autoencoder(")],
                 ["layer 0 is tinyae's Dense"], id="tinyae's Dense under the workbook's name"),
    pytest.param([("class Dense(tinyae.Layer):", "class Dense(tinyae.Dense):")],
                 ["layer 0, your Dense, inherits from tinyae's Dense"], id="a Dense borrowed"),
    pytest.param([(RETURN, RETURN.replace("BCE()", "tinyae.BCE()"))],
                 ["the loss is tinyae's BCE"], id="tinyae's BCE"),
    pytest.param([(RETURN, RETURN.replace("BCE()", "BCEWithLogits()"))],
                 ["the loss is a BCEWithLogits", "your BCE or MSE"], id="another loss"),
    pytest.param([(RETURN, RETURN.replace("Adam(lr=1e-3)", "tinyae.Adam(1e-3)"))],
                 ["the optimizer is tinyae's Adam"], id="tinyae's Adam"),
    pytest.param([(RETURN, "return tinyae.Sequential(layers, seed=seed), BCE()")],
                 ["must return three things", "it returned a tuple"], id="two things"),
    pytest.param([(RETURN, "return layers, BCE(), Adam(lr=1e-3)")],
                 ["the model must be a tinyae.Sequential", "returned a list as the model"],
                 id="a list for a model"),
    pytest.param([(KEY, "layers = [Dense(784, 128), ReLU(), Dense(128, 784), ReLU()]")],
                 ["ends with your ReLU: end it with your Sigmoid"], id="no Sigmoid at the end"),
    pytest.param([(KEY, "layers = [Dense(784, 784), Sigmoid()]")],
                 ["784-784 has no code narrower than the image"], id="no code"),
    pytest.param([(KEY, "layers = [Dense(784, 512), ReLU(), Dense(512, 512), ReLU(), "
                        "Dense(512, 784), Sigmoid()]")],
                 ["1,066,768 weights and biases", "at most 1,000,000"], id="too big to grade"),
    pytest.param([("self.beta1, self.beta2, self.eps = beta1, beta2, eps",
                   "self.b1, self.beta2, self.eps = beta1, beta2, eps")],
                 ["your Adam has no number self.beta1"], id="a setting renamed"),
]


@pytest.mark.parametrize("edits, words", REFUSED)
def test_a_build_that_is_not_the_students_own_is_refused(answer_key, tmp_path, edits, words):
    result = check(answer_key, tmp_path, *edits)
    failing(result, *words)
    assert result.points == 0


def test_a_network_that_cannot_learn_is_not_blamed_on_the_classes(answer_key, tmp_path):
    two = BUILDS["784-32-784"].replace("32", "2")
    result = check(answer_key, tmp_path, (KEY, two))
    failing(result, "Even tinyae's own classes reach only", "784-2-784", "a code of 2 numbers",
            "whatever your classes do", "Builds that pass: " + cap.PASSING)
    for done in ("they use ReLU", "they use BCE", "they use Adam"):  # what the build did already
        assert done not in result.hint
    rows = {row["name"]: row["passed"] for row in result.checks}
    assert rows == {cap.OWN: True, cap.STEP_BY_STEP: True, cap.LEARNS: False}


def test_a_learning_rate_too_small_is_named_and_nothing_else(answer_key, tmp_path):
    result = check(answer_key, tmp_path, SMALL, (RETURN, RETURN.replace("Adam(lr=1e-3)", "SGD(lr=0.01)")))
    failing(result, "SGD(lr=0.01, momentum=0) (they use Adam(lr=0.001")
    assert "a code of" not in result.hint and "they use BCE" not in result.hint


def test_the_blank_capstone_is_not_written_yet(tmp_path):
    blank = render(PARTS)
    (tmp_path / "workbook.py").write_text(blank, encoding="utf-8")
    result = check_task(CAPSTONE, load_workbook(tmp_path)["build_autoencoder"])
    failing(result, "build_autoencoder is not written yet")


def test_the_reference_run_is_memoized_by_plan(answer_key, tmp_path, small, monkeypatch):
    calls = []
    train_with = cap.train_with

    def counted(classes, plan, x):
        calls.append((classes is cap.REFERENCE, len(plan["batches"])))
        return train_with(classes, plan, x)

    monkeypatch.setattr(cap, "train_with", counted)
    assert outcome(check(answer_key, tmp_path, SMALL)) == outcome(small)
    # the student's training, and tinyae's for the late step only: the rest kept from `small`
    assert calls == [(False, cap.STEPS), (True, 1)]


def roundtrip(value):
    """``value`` after crossing the wire from the student's process to the grader."""
    return decode(json.loads(json.dumps(encode(value))))


def same(a, b):
    """True if ``a`` and ``b`` hold the same data (arrays: same shape, dtype and values)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, tuple | list):
        return (type(a) is type(b) and len(a) == len(b)
                and all(same(x, y) for x, y in zip(a, b, strict=True)))
    return type(a) is type(b) and (a == b or a != a and b != b)  # NaN is NaN


def test_what_the_runners_send_is_data_that_crosses_the_wire(answer_key, tmp_path):
    workbook = load_workbook(write_edited(answer_key, [SMALL], tmp_path))
    build = workbook["build_autoencoder"]
    description = cap.describe(build)
    assert same(roundtrip(description), description)
    plan = cap.draw_plan(cap.check_description(description), np.random.default_rng(0))
    plan["batches"] = plan["batches"][:4]
    assert same(roundtrip(plan), plan)
    trained = cap.train(build, **roundtrip(plan))
    assert same(roundtrip(trained), trained)
    assert [len(trained["details"]), len(trained["steps"]), trained["losses"].shape] == [1, 3, (4,)]
    assert isinstance(trained["details"][0]["loss"], float) and len(trained["details"][0]["dx"]) == 4


@pytest.mark.slow
def test_grading_runs_the_capstone_in_the_students_process(answer_key, tmp_path):
    from tinyae.workbook.grading import grade

    (tmp_path / "right").mkdir()
    (tmp_path / "wrong").mkdir()
    write_edited(honest_key(), [SMALL], tmp_path / "right")  # handed in: no key comments
    write_edited(honest_key(), [SMALL, BCE_WITHOUT_ND], tmp_path / "wrong")
    [right] = grade(tmp_path / "right", [CAPSTONE])
    assert right.passed, right.hint
    [wrong] = grade(tmp_path / "wrong", [CAPSTONE])
    failing(wrong, "your BCE: dp = ∂L/∂p from BCE.backward", "Exercise 3.2")


class Float64(tinyae.Sequential):
    """tinyae's Sequential in float64, whatever dtype it is asked for."""

    def __init__(self, layers, dtype=None):
        super().__init__(layers, dtype=np.float64)


def assert_far_inside(build, got, right, tol):
    """Every number of one recorded step agrees to ``tol``."""
    for *_, value, expected in cap.step_numbers(build, got, right):
        assert cap.difference(value, expected, tol) is None


@pytest.mark.slow
@pytest.mark.parametrize("widths", BUILDS)
def test_the_tolerances_hold_with_a_margin(answer_key, tmp_path, widths, monkeypatch):
    """Right classes, computed otherwise, stay far inside every tolerance: the answer key's
    classes against tinyae's, and tinyae's in float64 against float32, on two plans."""
    workbook = load_workbook(write_edited(answer_key, [(KEY, BUILDS[widths])], tmp_path))
    build = cap.check_description(cap.describe(workbook["build_autoencoder"]))
    x = cap.mnist()[0]
    for seed in (0, 1):
        plan = cap.draw_plan(build, np.random.default_rng([seed, 6, 1]))
        right = cap.train_with(cap.REFERENCE, plan, x)
        key = cap.train_with(workbook, plan, x)
        with monkeypatch.context() as patch:
            patch.setattr(cap, "Sequential", Float64)
            wide = cap.train_with(cap.REFERENCE, plan, x)
        late = plan["record"][1]
        for got in (key, wide):
            assert_far_inside(build, got["details"][0], right["details"][0], cap.DETAIL_TOL / 20)
            same = cap.train_with(cap.REFERENCE, {**plan, "weights": got["details"][1]["weights"],
                                                  "batches": plan["batches"][late:late + 1],
                                                  "keep": 0, "record": [0]}, x)
            assert_far_inside(build, got["details"][1], same["details"][0], cap.DETAIL_TOL / 20)
            for step in range(cap.KEEP):
                before = cap.flat(got["steps"][step - 1] if step else plan["weights"])
                right_before = cap.flat(right["steps"][step - 1] if step else plan["weights"])
                assert cap.difference(cap.flat(got["steps"][step]) - before,
                                      cap.flat(right["steps"][step]) - right_before,
                                      cap.UPDATE_TOL / 20) is None
            assert np.max(np.abs(got["losses"] / right["losses"] - 1)) < cap.LOSS_TOL / 3
            bce = [cap.bce_on_test_images(plan["layers"], run["final"]) for run in (got, right)]
            assert abs(bce[0] / bce[1] - 1) < cap.TEST_TOL / 3
