"""The classroom workbook: the answer key scores 100 %, the blank one 0, and every check talks.

The mistakes a student makes, one per row, are in ``test_workbook_mistakes.py``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinyae
from strategies import PROPERTY
from tinyae.workbook import (
    PARTS,
    TASKS,
    TaskResult,
    WorkbookError,
    check_task,
    get_task,
    load_workbook,
    render,
    write_workbook,
)
from tinyae.workbook.capstone import THRESHOLD
from tinyae.workbook.diagnose import expect_array, expect_number
from tinyae.workbook.task import Mistake, blank_code, formula, quote_formula

ROOT = Path(__file__).resolve().parent.parent
CAPSTONE = "6.1"
QUICK_TASKS = [task.id for task in TASKS if task.id != CAPSTONE]


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """The namespace of the answer key, written and loaded like a student's workbook."""
    folder = tmp_path_factory.mktemp("solved")
    write_workbook(folder, solved=True)
    return load_workbook(folder)


@pytest.fixture(scope="module")
def blank(tmp_path_factory):
    folder = tmp_path_factory.mktemp("blank")
    write_workbook(folder)
    return load_workbook(folder)


def test_the_tasks_cover_the_workbook():
    ids = [task.id for task in TASKS]
    assert len(ids) == len(set(ids)) >= 15
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("."))))
    for task in TASKS:
        assert task.points > 0 and task.title and task.formula
        assert (ROOT / task.tutorial.split(", ")[0]).is_file(), task.tutorial  # "path, §N Title"
    titles = " ".join(task.title for task in TASKS)
    for name in ("Dense", "Sigmoid", "ReLU", "Tanh", "Softmax", "MSE", "BCE", "BCEWithLogits",
                 "SGD", "Adam", "Reparameterize", "KLDivergence", "autoencoder"):
        assert name in titles


@pytest.mark.parametrize("task_id", QUICK_TASKS)
def test_the_answer_key_passes_every_task(solved, task_id):
    result = check_task(task_id, namespace=solved)
    assert result.passed, result.hint
    assert result.points == result.max_points == get_task(task_id).points
    assert result.hint == ""


def test_the_capstone_reaches_its_stated_bce_in_under_a_minute(solved):
    start = time.perf_counter()
    result = check_task(CAPSTONE, namespace=solved)
    seconds = time.perf_counter() - start
    assert result.passed, result.hint
    bce = float(re.search(r"test BCE (\d+\.\d+)", result.details)[1])
    assert bce <= THRESHOLD
    assert f"{THRESHOLD}" in get_task(CAPSTONE).formula  # the threshold is stated to the student
    assert seconds < 60


@pytest.mark.parametrize("task_id", QUICK_TASKS + [CAPSTONE])
def test_the_blank_workbook_scores_zero_with_not_written_yet(blank, task_id):
    result = check_task(task_id, namespace=blank)
    assert not result.passed and result.points == 0
    assert "not written yet" in result.hint
    assert str(result).startswith(f"✗ {task_id} ") and "0/" in str(result)


class MyDense(tinyae.Layer):
    """A student's correct Dense, written in a notebook rather than in a workbook file."""

    param_names = ("W", "b")

    def __init__(self, n_in, n_out):
        self.W, self.b = np.zeros((n_in, n_out)), np.zeros(n_out)
        self.dW, self.db = np.zeros((n_in, n_out)), np.zeros(n_out)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW += self.x.T @ dout
        self.db += dout.sum(axis=0)
        return dout @ self.W.T


def test_a_class_defined_here_can_be_checked_directly():
    assert check_task("1.1", MyDense).passed
    result = check_task("1.2", MyDense)
    assert result.passed and str(result) == "✓ 1.2 Dense.backward  4/4"
    assert "dW" in result.details and "ok" in result.details  # the gradient-check table


def test_backward_is_graded_on_its_own_when_forward_is_wrong():
    class NoBias(MyDense):
        def forward(self, x):
            self.x = x
            return x @ self.W  # the bias is forgotten; backward is still right

    forward = check_task("1.1", NoBias)
    assert not forward.passed and "bias" in forward.hint
    backward = check_task("1.2", NoBias)
    assert backward.passed, backward.hint
    assert "not right yet (task 1.1)" in backward.details and "self.x" in backward.details


def test_a_crash_becomes_a_result_naming_the_exception_and_the_line():
    class Typo(tinyae.Layer):
        def forward(self, x):
            return np.tanh(x) * self.scale  # no such attribute

    result = check_task("2.3", Typo)
    assert not result.passed
    assert "AttributeError" in result.hint and "scale" in result.hint
    assert f"{Path(__file__).name}, line " in result.hint and "self.scale" in result.hint


def test_an_instance_instead_of_a_class_is_explained():
    result = check_task("2.1", tinyae.Sigmoid())
    assert not result.passed and "pass the class itself" in result.hint


def test_a_missing_name_in_the_namespace_is_a_failed_result():
    result = check_task("2.4", namespace={"Dense": object})
    assert not result.passed and "defines no `Softmax`" in result.hint


def test_check_task_needs_something_to_check():
    with pytest.raises(TypeError, match="check_task"):
        check_task("1.1")


def test_an_unknown_task_lists_the_ids():
    with pytest.raises(ValueError, match=r"unknown task '9\.9'.*'1\.1'"):
        get_task("9.9")


def test_results_are_json_friendly_and_print_on_one_line():
    result = TaskResult("1.2", "Dense.backward", 0.0, 4.0, False, "dW is wrong\nmore", "table")
    assert json.loads(json.dumps(dataclasses.asdict(result)))["hint"] == "dW is wrong\nmore"
    assert str(result) == "✗ 1.2 Dense.backward  0/4  — dW is wrong"


def test_the_capstone_refuses_tinyaes_own_classes():
    def build_autoencoder(seed=0):
        model = tinyae.Sequential([tinyae.Dense(784, 32), tinyae.ReLU(), tinyae.Dense(32, 784),
                                   tinyae.Sigmoid()], seed=seed)
        return model, tinyae.BCE(), tinyae.Adam(1e-3)

    result = check_task(CAPSTONE, build_autoencoder)
    assert not result.passed and "tinyae's Dense" in result.hint and "layer 0" in result.hint


def test_write_workbook_never_overwrites(tmp_path):
    written = write_workbook(tmp_path)
    assert [p.name for p in written] == ["workbook.py", "README.md"]
    for notebook in (False, True):
        with pytest.raises(FileExistsError, match="already exists"):
            write_workbook(tmp_path, notebook=notebook)
    assert "tinyae workbook check ." in (tmp_path / "README.md").read_text()


def test_skeleton_and_answer_key_come_from_one_source():
    for part in PARTS:
        blank, answer = blank_code(part.code, solved=False), blank_code(part.code, solved=True)
        assert "# solution" not in blank + answer and "# end" not in blank + answer
        for task in part.tasks:
            assert f'NotImplementedError("Exercise {task.id}: ' in blank
            assert f"Exercise {task.id}" not in answer.replace(f"Exercise {task.id}:", "")
            assert task.formula == formula(part.code, task.id)
    assert 'NotImplementedError("' not in render(PARTS, solved=True)
    assert render(PARTS).count('NotImplementedError("') == sum(
        part.code.count("# solution") for part in PARTS)


def test_load_workbook_reports_what_went_wrong(tmp_path):
    with pytest.raises(WorkbookError, match="no workbook.py or workbook.ipynb"):
        load_workbook(tmp_path)
    (tmp_path / "workbook.py").write_text("import numpy as np\n\ndef f(x)\n    return x\n")
    with pytest.raises(WorkbookError, match=r"workbook.py, line 3: SyntaxError"):
        load_workbook(tmp_path)
    (tmp_path / "workbook.py").write_text("x = 1\ny = undefined_name\n")
    with pytest.raises(WorkbookError, match=r"NameError.*workbook.py, line 2"):
        load_workbook(tmp_path)
    (tmp_path / "workbook.ipynb").write_text("{}")
    with pytest.raises(WorkbookError, match="both workbook.py and workbook.ipynb"):
        load_workbook(tmp_path)


def test_the_notebook_validates_and_defines_the_names_of_the_script(tmp_path):
    write_workbook(tmp_path / "py")
    write_workbook(tmp_path / "nb", notebook=True)
    notebook = nbformat.read(tmp_path / "nb" / "workbook.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    checks = [source for source in code if source.startswith("print(check_task(")]
    assert checks == [f'print(check_task("{t.id}", {t.name}))' for t in TASKS]
    executed: dict = {}
    for source in code:  # in order, check cells included: a blank exercise fails, never raises
        exec(compile(source, "cell", "exec"), executed)
    script = load_workbook(tmp_path / "py")
    loaded = load_workbook(tmp_path / "nb")  # skips the check cells
    public = {name for name in script if not name.startswith("_")}
    assert {name for name in executed if not name.startswith("_")} == public
    assert {name for name in loaded if not name.startswith("_")} == public


def test_a_notebook_crash_names_its_cell(tmp_path):
    write_workbook(tmp_path, notebook=True)
    result = check_task("1.1", namespace=load_workbook(tmp_path))
    assert re.search(r"workbook\.ipynb, cell \d+, line \d+", result.hint)


@PROPERTY
@given(st.integers(2, 6), st.integers(1, 5), st.floats(0.1, 10).filter(lambda c: abs(c - 1) > 0.01),
       st.integers(0, 2**16))
def test_a_gradient_off_by_a_constant_factor_is_named(n, d, c, seed):
    assume(not np.isclose(c, 1 / n))  # 1/N has a hint of its own
    right = np.random.default_rng(seed).standard_normal((n, d))
    right[0, 0] = 1.0  # never all ≈ 0
    for factor, words in ((c, "× the right value"), (-1.0, "wrong sign"), (1 / n, "averaged")):
        with pytest.raises(Mistake, match=words):
            expect_array("dW", factor * right, right, ratios={1 / n: "dW: averaged over the batch"})
    expect_array("dW", right.copy(), right)  # and the right one passes


def signed(rng, shape):
    """Entries of size 0.5 to 2 with random signs: no entry is close to 0."""
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def hint_for(got, right, **kwargs):
    """The hint expect_array gives for ``got``; the test fails if it gives none."""
    with pytest.raises(Mistake) as caught:
        expect_array("dx", got, right, **kwargs)
    return caught.value.hint


@PROPERTY
@given(st.integers(2, 6), st.integers(2, 6), st.integers(0, 2**16))
def test_a_generic_hint_says_what_the_error_looks_like(n, d, seed):
    rng = np.random.default_rng(seed)
    right = signed(rng, (n, d))
    per_row = rng.uniform(1.5, 3.0, (n, 1)) + np.arange(n)[:, None]  # distinct, none is 1
    per_column = rng.uniform(1.5, 3.0, (1, d)) + np.arange(d)[None, :]
    mask = np.zeros((n, d), bool)
    mask[0, 0] = mask[-1, 1] = True  # two rows: "only in row …" does not apply
    expected = [
        (per_row * right, "same along each row"),
        (per_column * right, "same along each column"),
        (right + 3 * mask, "right except where x is special"),
        (right + signed(rng, (1, d)), "the same in every row"),
        (right + 0.75, "off by the same amount, +0.75, in every entry"),
        (right * (1 + 1e-5 * rng.random((n, d))), "nearly right"),
        (-right * rng.uniform(0.2, 0.4, (n, d)), "opposite sign"),
    ]
    for got, words in expected:
        hint = hint_for(got, right, regions={"where x is special": mask})
        assert words in hint and "At [" in hint, hint
    single = right.copy()
    single[n - 1] += signed(rng, d)
    assert f"only in row {n - 1}" in hint_for(single, right)


@PROPERTY
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**16))
def test_a_known_wrong_value_is_never_named_for_a_right_answer(n, d, seed):
    right = signed(np.random.default_rng(seed), (n, d))
    expect_array("dx", right.copy(), right, candidates=[(right, "a hint on a right answer")],
                 ratios={1.0: "a ratio hint on a right answer"})
    assert hint_for(2 * right, right, candidates=[(2 * right, "twice")]) == "twice"


def test_a_generic_hint_quotes_the_formula_from_the_docstring():
    class PlusOne(tinyae.Layer):  # dx = dout · [x > 0] + [x > 0]: no known mistake
        def forward(self, x):
            self.mask = x > 0
            return np.maximum(x, 0)

        def backward(self, dout):
            return dout * self.mask + self.mask

    hint = check_task("2.2", PlusOne).hint
    assert "dx is right except where the input x < 0" not in hint  # it is wrong where x > 0
    assert "where the input x > 0" in hint and hint.endswith(
        "The docstring's formula: dx = dout · [x > 0], the gradient passes where the input "
        "was > 0.")
    for task_id, about, formula_start in (("1.2", "dW", "dW += xᵀ @ dout"),
                                          ("3.1", "the loss L", "L = (1 / (N·D))"),
                                          ("4.2", "θ", "θ ← θ − lr · m̂ / (√v̂ + ε)"),
                                          ("5.2", "dlog_var", "(dmu, dlog_var) = (mu / N")):
        assert quote_formula(get_task(task_id).formula, about).startswith(formula_start)
    assert quote_formula(get_task("1.2").formula, "dz") == ""


@pytest.mark.parametrize("value, right, words", [
    (1.5, 1.0, "exactly 3/2 × the right value"),
    (1.0000001, 1.0, "nearly right but not exactly"),
    (-2.5, 1.0, "the opposite sign"),
    (1.7, 1.0, "is 1.7, wrong by a relative error of 0.7"),
])
def test_a_wrong_number_is_described(value, right, words):
    with pytest.raises(Mistake, match=re.escape(words)):
        expect_number("L", value, right)


def test_a_crash_in_the_checks_own_code_fails_the_task_and_names_it():
    """A student's object can make the check's own code raise, outside any call it makes
    into the student's methods (here reading W raises): the task fails and says why."""

    class Dense(MyDense):
        @property
        def W(self):
            raise ValueError("W is computed on demand")

        @W.setter
        def W(self, value):
            pass

    result = check_task("1.1", Dense)
    assert not result.passed and result.points == 0
    assert "ValueError" in result.hint and "W is computed on demand" in result.hint
