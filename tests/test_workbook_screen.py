"""Reading a workbook, without running it, for work that is not the student's (``screen``).

Each attack is written into a workbook as a student would write it and must zero
exactly the tasks it borrows for (or, for code that defeats reading, every task); the
honest workbooks — the answer key retyped, the blank workbook, the notebook, every
right answer of ``VARIANTS`` — must come out clean.
"""

from __future__ import annotations

import pytest

from test_workbook_mistakes import VARIANTS
from tinyae.workbook import PARTS, TASKS, render, write_workbook
from tinyae.workbook.screen import Screening, screen, zeroed
from tinyae.workbook.source import IMPORTS, code_cells
from tinyae.workbook.task import END, SOLUTION

KEY = render(PARTS, solved=True)
CLASSES = ["Dense", "Sigmoid", "ReLU", "Tanh", "Softmax", "MSE", "BCE", "BCEWithLogits", "SGD", "Adam"]
ALL = {task.id for task in TASKS}
# The capstone's task: build_autoencoder uses Dense, ReLU, Sigmoid, BCE and Adam, so whatever
# those borrow, the capstone borrows too.
CAPSTONE = "6.1"


def solution_comments() -> dict[str, list[str]]:
    """The comments inside the answer key's solution blocks, by task, read from the parts."""
    found: dict[str, list[str]] = {}
    for part in PARTS:
        block = None
        for line in part.code.splitlines():
            if start := SOLUTION.match(line):
                block = start["id"]
            elif END.match(line):
                block = None
            elif block and "  # " in line:
                found.setdefault(block, []).append(line.split("  # ", 1)[1])
    return found


def without_solution_comments(text: str) -> str:
    """``text`` with the answer key's solution comments removed: the key as a student retypes it."""
    for comments in solution_comments().values():
        for comment in comments:
            text = text.replace(f"  # {comment}", "")
    return text


HONEST = without_solution_comments(KEY)


def ids(*names: str) -> set[str]:
    """The ids of the tasks that check these names."""
    return {task.id for task in TASKS if task.name in names}


def edited(*edits: tuple[str, str], source: str = HONEST) -> str:
    """``source`` with each (old, new) edit made; each old text must be there exactly once."""
    for old, new in edits:
        assert source.count(old) == 1, f"the workbook no longer holds {old!r} exactly once"
        source = source.replace(old, new)
    return source


def read(source: str) -> Screening:
    """The screening of a one-file workbook."""
    return screen([("workbook.py", source)])


def line_of(source: str, text: str) -> int:
    """The number of the first line of ``source`` that holds ``text``."""
    return next(n for n, line in enumerate(source.splitlines(), start=1) if text in line)


# ---------------------------------------------------------------- honest work is clean


@pytest.mark.parametrize("source", [HONEST, render(PARTS, solved=False)], ids=["key retyped", "blank"])
def test_the_key_without_its_comments_and_the_blank_workbook_are_clean(source):
    assert read(source) == Screening()


@pytest.mark.parametrize("solved", [False, True], ids=["blank", "key retyped"])
def test_the_notebook_is_clean(tmp_path, solved):
    write_workbook(tmp_path, solved=solved, notebook=True)
    cells = [(name, without_solution_comments(source))
             for name, source in code_cells(tmp_path / "workbook.ipynb")]
    assert len(cells) > 5 and screen(cells) == Screening()


@pytest.mark.parametrize("task_id, edits", VARIANTS)
def test_a_right_answer_written_differently_is_clean(task_id, edits):
    assert read(without_solution_comments(edited(*edits, source=KEY))) == Screening()


HONEST_CODE = [
    pytest.param(edited(("def forward(self, x: np.ndarray) -> np.ndarray:\n        \"\"\"Exercise 2.2",
                         "def forward(self, input: np.ndarray) -> np.ndarray:\n        \"\"\"Exercise 2.2"),
                        ("self.mask = x > 0\n        return np.maximum(x, 0)",
                         "vars = input\n        self.mask = vars > 0\n        return np.maximum(vars, 0)")),
                 id="names of builtins as local variables"),
    pytest.param(edited(("class Tanh(tinyae.Layer):", "class Elementwise(tinyae.Layer):\n    pass\n\n\n"
                                                     "class Tanh(Elementwise):")),
                 id="a base class of the workbook"),
    pytest.param(edited((IMPORTS, IMPORTS + "\nfrom tinyae import Layer as Base"),
                        ("class ReLU(tinyae.Layer):", "class ReLU(Base):")), id="tinyae.Layer renamed"),
    pytest.param(HONEST + "\nimport numpy.typing as npt\nfrom tinyae.init import he\n"
                          "import matplotlib.pyplot as plt\n\n"
                          "x: npt.NDArray = he((2, 3), np.random.default_rng(0))\nplt.close('all')\n",
                 id="numpy.typing, tinyae.init, pyplot"),
    pytest.param(HONEST + "\nreport = tinyae.check_layer(Dense(3, 2, rng=1), np.ones((4, 3)))\n"
                          "print(check_task('1.1', Dense))\n", id="tinyae's checks"),
    pytest.param(HONEST + "\ndef never_called():\n    raise tinyae.ShapeError(np.sigmoid(0))\n",
                 id="tinyae's exceptions, and a typo that fails when run"),
    pytest.param(HONEST + '\nif __name__ == "__main__":\n    print(tinyae.Dense(3, 2), tinyae.fit)\n'
                          '    print(check_task("1.1", namespace=globals()))\n',
                 id="tinyae's classes in the main block"),
]


@pytest.mark.parametrize("source", HONEST_CODE)
def test_honest_code_around_the_answers_is_clean(source):
    assert read(source) == Screening()


def test_the_main_block_is_exempt_only_from_borrowing():
    compare = "print(tinyae.Dense(3, 2).forward(np.ones((1, 3))))"
    assert read(HONEST + f'\nif __name__ == "__main__":\n    {compare}\n') == Screening()
    outside = read(HONEST + f"\n{compare}\n")
    assert set(outside.tasks) == ids("Dense") and "if __name__" in outside.tasks["1.1"]
    imported = read(HONEST + '\nif __name__ == "__main__":\n    import os\n')
    assert imported.everything.startswith(f"workbook.py, line {len(HONEST.splitlines()) + 3}: `import os`")


def test_a_syntax_error_or_no_code_leaves_it_to_loading():
    assert read(HONEST + "\nclass Dense(:\n") == Screening()
    assert screen([]) == Screening()


# ---------------------------------------------------------------- 1. borrowing


@pytest.mark.parametrize("name", CLASSES)
def test_a_class_inheriting_tinyaes_own_earns_nothing(name):
    source = f"{IMPORTS}\n\n\nclass {name}(tinyae.{name}):\n    pass\n"
    screening = read(source)
    assert set(screening.tasks) == ids(name) and screening.everything == ""
    for task_id in ids(name):
        assert screening.tasks[task_id].startswith(
            f"workbook.py, line {line_of(source, 'class ')}: `class {name}(tinyae.{name})` inherits "
            f"tinyae's own {name}: exercise {task_id}")


def test_inheriting_in_the_key_reaches_the_capstone_that_uses_the_class():
    screening = read(edited(("class Sigmoid(tinyae.Layer):", "class Sigmoid(tinyae.Sigmoid):")))
    assert set(screening.tasks) == ids("Sigmoid") | {CAPSTONE}
    assert "your build_autoencoder uses it through `Sigmoid`" in screening.tasks[CAPSTONE]


BORROWED = [
    pytest.param(edited(('    param_names = ("W", "b")\n',
                         '    param_names = ("W", "b")\n    forward = tinyae.Dense.forward\n')),
                 ids("Dense") | {CAPSTONE}, "tinyae.Dense.forward", id="a method copied in the class body"),
    pytest.param(HONEST + "\nDense.backward = tinyae.layers.Dense.backward\n", ids("Dense"),
                 "tinyae.layers.Dense.backward", id="a method copied at the top level"),
    pytest.param(edited(("return x @ self.W + self.b", "return tinyae.Dense(3, 2).forward(x)")),
                 ids("Dense") | {CAPSTONE}, "tinyae.Dense(3, 2)", id="a wrapper of tinyae.Dense"),
    pytest.param(edited(("return x @ self.W + self.b", "return tinyae.layers.Dense(3, 2).forward(x)")),
                 ids("Dense") | {CAPSTONE}, "tinyae.layers.Dense(3, 2)",
                 id="a wrapper of tinyae.layers.Dense"),
    pytest.param(edited((IMPORTS, IMPORTS + "\nfrom tinyae import Adam as MyAdam"),
                        ("params -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)",
                         "MyAdam(self.lr).step(params, grads)")),
                 ids("Adam") | {CAPSTONE}, "from tinyae import Adam as MyAdam",
                 id="Adam imported under a new name"),
    pytest.param(edited(("        e = np.exp(-np.abs(x))\n",
                         "        from tinyae.layers import sigmoid\n        e = np.exp(-np.abs(x))\n"),
                        ("self.p = np.where(x >= 0, 1 / (1 + e), e / (1 + e))", "self.p = sigmoid(x)")),
                 ids("Sigmoid") | {CAPSTONE}, "from tinyae.layers import sigmoid",
                 id="tinyae's sigmoid function"),
    pytest.param(edited(("layers = [Dense(784, 128)",
                         "tinyae.fit(None, None)\n    layers = [Dense(784, 128)")),
                 {CAPSTONE}, "tinyae.fit(None, None)", id="tinyae.fit in build_autoencoder"),
    pytest.param(edited(("return float(-0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var)) / len(mu))",
                         "return tinyae.models.vae.kl_divergence(mu, log_var)")),
                 ids("KLDivergence"), "tinyae.models.vae.kl_divergence(mu, log_var)", id="the VAE's KL"),
    pytest.param(HONEST + "\nfrom tinyae.gradcheck import numerical_gradient\n", ALL,
                 "from tinyae.gradcheck import numerical_gradient", id="gradients by differences"),
    pytest.param(edited(("def build_autoencoder(", "def hidden():\n    return [tinyae.ReLU()]\n\n\n"
                                                   "def build_autoencoder("),
                        ("ReLU(), Dense(128, 784)", "*hidden(), Dense(128, 784)")),
                 ids("ReLU") | {CAPSTONE}, "tinyae.ReLU()", id="a helper function that builds tinyae's ReLU"),
    pytest.param(edited(("class ReLU(tinyae.Layer):", "class Rectifier(tinyae.ReLU):\n    pass\n\n\n"
                                                     "class ReLU(Rectifier):")),
                 ids("ReLU") | {CAPSTONE}, "class Rectifier(tinyae.ReLU)",
                 id="a base class of tinyae's ReLU"),
]


@pytest.mark.parametrize("source, zeroed_ids, quoted", BORROWED)
def test_borrowing_zeroes_the_concepts_tasks_and_those_of_its_users(source, zeroed_ids, quoted):
    screening = read(source)
    assert screening.everything == "" and set(screening.tasks) == zeroed_ids
    first = screening.tasks[min(zeroed_ids)]
    assert first.startswith(f"workbook.py, line {line_of(source, quoted)}: `{quoted}`")
    assert "tinyae's own" in first


# ---------------------------------------------------------------- 3. structure


STRUCTURE = [
    pytest.param(HONEST + "\n\nclass Tanh(tinyae.Layer):\n    pass\n", "defines Tanh a second time",
                 id="a second class"),
    pytest.param(HONEST + "\nTanh = tinyae.Layer\n", "`Tanh = tinyae.Layer` binds Tanh",
                 id="the name rebound"),
    pytest.param(HONEST + "\nTanh.backward = Sigmoid.backward\n", "changes Tanh from outside its class",
                 id="a method replaced from outside"),
    pytest.param(HONEST + "\ndef swap():\n    global Tanh\n    Tanh = ReLU\n", "binds Tanh",
                 id="rebound through global"),
    pytest.param(edited(("class Tanh(tinyae.Layer):", "@functools.cache\nclass Tanh(tinyae.Layer):"),
                        (IMPORTS, "import functools\n" + IMPORTS)),
                 "`@functools.cache` decorates Tanh", id="a decorator"),
    pytest.param(edited(("class Tanh(tinyae.Layer):", "class Tanh(tinyae.Layer, metaclass=type):")),
                 "passes class keywords", id="a metaclass"),
    pytest.param(edited(("class Tanh(tinyae.Layer):", "class Tanh(dict):")),
                 "derives Tanh from `dict`", id="a base that is not tinyae's"),
    pytest.param(edited(("class Tanh(tinyae.Layer):", "if True:\n  class Tanh(tinyae.Layer):")),
                 "binds Tanh where it is not a top-level `class`", id="not at the top level"),
]


@pytest.mark.parametrize("source, words", STRUCTURE)
def test_a_graded_class_must_be_one_plain_top_level_class(source, words):
    screening = read(source)
    assert screening.everything == "" and set(screening.tasks) == ids("Tanh")
    assert words in screening.tasks["2.3"] and screening.tasks["2.3"].startswith("workbook.py, line ")


def test_the_graded_function_must_be_one_plain_def():
    screening = read(HONEST + "\nbuild_autoencoder = lambda seed=0: None\n")
    assert set(screening.tasks) == {CAPSTONE} and "binds build_autoencoder" in screening.tasks[CAPSTONE]


# ---------------------------------------------------------------- 2 and 4. distrust


DISTRUST = [
    ("from tinyae.workbook import render, PARTS\nexec(render(PARTS, solved=True))",
     "from tinyae.workbook import render, PARTS", "grader/answer key"),
    ("exec('x = 1')", "exec('x = 1')", "runs code made at run time"),
    ("from tinyae.workbook import render", "from tinyae.workbook import render", "grader/answer key"),
    ("import tinyae.workbook.grading", "import tinyae.workbook.grading", "grader/answer key"),
    ("x = tinyae.workbook.PARTS", "tinyae.workbook.PARTS", "grader/answer key"),
    ("tinyae.workbook._result = print", "tinyae.workbook._result = print", "the imported `tinyae`"),
    ("TASKS[0].check = print", "TASKS[0].check = print", "the imported `TASKS`"),
    ("from tinyae.workbook import get_task\nget_task('1.1').check = print", "get_task('1.1').check = print",
     "the imported `get_task`"),
    ("tinyae.BCE = tinyae.Loss", "tinyae.BCE = tinyae.Loss", "the imported `tinyae`"),
    ("np.random.default_rng = None", "np.random.default_rng = None", "the imported `np`"),
    ("import os", "import os", "imports os"),
    ("import ctypes", "import ctypes", "imports ctypes"),
    ("import subprocess", "import subprocess", "imports subprocess"),
    ("os = __import__('os')", "__import__('os')", "imports a module by name"),
    ("D = getattr(tinyae, 'De' + 'nse')", "getattr(tinyae, 'De' + 'nse')", "computed name"),
    ("setattr(Dense, 'forward', Sigmoid.forward)", "setattr(Dense, 'forward', Sigmoid.forward)",
     "sets an attribute by a computed name"),
    ("subclasses = tinyae.Layer.__subclasses__()", "tinyae.Layer.__subclasses__()", "__subclasses__"),
    ("mro = ().__class__.__mro__", "().__class__.__mro__", "__mro__"),
    ("import matplotlib.pyplot as plt\nplt.sys", "plt.sys", "the module sys"),
    ("from numpy import *", "from numpy import *", "hides which names"),
    ("xp = np", "xp = np", "module numpy around"),
    ("frame = (x for x in []).gi_frame", "(x for x in []).gi_frame", "gi_frame"),
    ("pointer = np.ones(3).ctypes", "np.ones(3).ctypes", "reads ctypes"),
    ("data = np.load('weights.npy')", "np.load('weights.npy')", "reads or writes files"),
    ("x = np.lib", "np.lib", "the module numpy.lib"),
    ("tinyae.save(Dense(3, 2), 'ae.npz')", "tinyae.save(Dense(3, 2), 'ae.npz')", "outside tinyae's surface"),
    ("x = tinyae.plot.base.os", "tinyae.plot.base.os", "the module os"),
    ("__name__ = '__main__'", "__name__ = '__main__'", "assigns __name__"),
]


@pytest.mark.parametrize("addition, quoted, words", DISTRUST, ids=[row[1] for row in DISTRUST])
def test_code_that_defeats_reading_leaves_no_task_trusted(addition, quoted, words):
    source = HONEST + "\n" + addition + "\n"
    screening = read(source)
    line = len(HONEST.splitlines()) + 1 + line_of(addition, quoted)
    assert screening.everything.startswith(f"workbook.py, line {line}: `{quoted}`")
    assert words in screening.everything and "no exercise can be trusted" in screening.everything
    assert all(zeroed(screening, task.id) == screening.everything for task in TASKS)


# ---------------------------------------------------------------- 5. copies of the answer key


def test_the_key_as_written_earns_nothing_where_its_solutions_carry_comments(tmp_path):
    write_workbook(tmp_path, solved=True)
    screening = screen(code_cells(tmp_path / "workbook.py"))
    commented = set(solution_comments())
    assert commented and screening.everything == "" and set(screening.tasks) == commented
    assert all("copied from the answer key" in reason for reason in screening.tasks.values())
    assert screening.tasks["2.1"].startswith(
        f"workbook.py, line {line_of(KEY, 'never overflows')}: `# e^(−|x|) ≤ 1 never overflows`")


def test_the_notebook_key_is_caught_in_its_cells(tmp_path):
    write_workbook(tmp_path, solved=True, notebook=True)
    screening = screen(code_cells(tmp_path / "workbook.ipynb"))
    assert set(screening.tasks) == set(solution_comments())
    assert screening.tasks["1.1"].startswith("workbook.ipynb, cell ")


def test_a_key_comment_counts_only_in_the_method_holding_its_solution():
    comment = "# dW = xᵀ @ dout needs the input"
    in_forward = edited(("return x @ self.W + self.b", f"return x @ self.W + self.b  {comment}"))
    in_backward = edited(("return dout @ self.W.T", f"return dout @ self.W.T  {comment}"))
    assert set(read(in_forward).tasks) == {"1.1"}
    assert read(in_backward) == Screening()


# ---------------------------------------------------------------- the report


def test_zeroed_gives_a_tasks_reason_or_the_reason_for_all():
    screening = Screening({"1.1": "why"})
    assert (zeroed(screening, "1.1"), zeroed(screening, "1.2")) == ("why", "")
    assert zeroed(Screening({"1.1": "why"}, "all"), "1.2") == "all"


def test_a_notebook_cell_is_named_in_the_reason():
    screening = screen([("workbook.ipynb, cell 2", IMPORTS), ("workbook.ipynb, cell 5", "\n\nimport os\n")])
    assert screening.everything.startswith("workbook.ipynb, cell 5, line 3: `import os`")


def test_a_long_construct_is_quoted_short():
    screening = read(HONEST + f"\nvalue = getattr(tinyae, 'D' + '{'e' * 80}')\n")
    quoted = screening.everything.split("`")[1]
    assert len(quoted) == 60 and quoted.endswith("…")
