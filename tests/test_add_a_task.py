"""The guide docs/add_a_task.md, run: its worked example, task 2.6 (a leaky ReLU), is a real task.

Everything comes from the guide's fenced blocks — the module, the registration in
``parts.py``, the line a student sees, the rubric — so the guide cannot drift from what
is tested.  Registering is done as the guide says, on a monkeypatched ``PARTS``.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

import tinyae.workbook as workbook
from tinyae.workbook import check_task, grading, parts, render, screen
from tinyae.workbook.grading import grade
from tinyae.workbook.rubric import RubricError, load_rubric
from tinyae.workbook.task import blank_code

GUIDE = Path(__file__).parents[1] / "docs" / "add_a_task.md"
REAL_PARTS = parts.PARTS
ANSWER = "return dout * np.where(self.mask, 1.0, self.slope)"  # the backward's answer line


def block(language: str, holding: str) -> str:
    """The one fenced ``language`` block of the guide that holds ``holding``."""
    text = GUIDE.read_text(encoding="utf-8")
    found = [code for code in re.findall(rf"^```{language}\n(.*?)^```$", text,
                                         re.MULTILINE | re.DOTALL) if holding in code]
    assert len(found) == 1, f"the guide should have one ```{language} block with {holding!r}"
    return found[0]


@pytest.fixture
def leaky(monkeypatch):
    """The guide's module ``tinyae/workbook/leaky.py``, registered as the guide says."""
    module = types.ModuleType("tinyae.workbook.leaky")
    exec(compile(block("python", "PART = Part("), "leaky.py", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(workbook, "leaky", module, raising=False)
    registry: dict = {}
    exec(block("python", "PARTS: tuple"), registry)  # the guide's parts.py
    # What registering changes, in every module that imported the lists by name.
    for target in (parts, workbook, screen):
        monkeypatch.setattr(target, "PARTS", registry["PARTS"])
    for target in (parts, workbook, grading, screen):
        monkeypatch.setattr(target, "TASKS", registry["TASKS"])
    monkeypatch.setattr(workbook, "CLASS_TASKS", workbook.CLASS_TASKS | {"2.6"})
    forget_screening()
    yield module
    forget_screening()


def forget_screening() -> None:
    """Clear what the screen worked out from the task list: it keeps it (functools.cache)."""
    for value in vars(screen).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


def student_code(module, *edits: tuple[str, str]) -> str:
    """The answer to 2.6, with each ``(old, new)`` of ``edits`` made: the student's class."""
    code = blank_code(module.PART.code, solved=True)
    for old, new in edits:
        assert old in code
        code = code.replace(old, new)
    return code


def leaky_relu(code: str) -> type:
    """The class ``LeakyReLU`` that ``code`` defines, as a notebook cell would."""
    namespace: dict = {}
    exec("import numpy as np\nimport tinyae\n" + code, namespace)
    return namespace["LeakyReLU"]


def test_the_guide_registers_the_part_after_the_activations(leaky):
    assert parts.PARTS == (*REAL_PARTS[:2], leaky.PART, *REAL_PARTS[2:])  # and nothing else
    ids = [task.id for task in parts.TASKS]
    assert ids[ids.index("2.5") + 1] == "2.6"
    assert workbook.get_task("2.6").name == "LeakyReLU"


def test_the_answer_passes_whatever_the_seed_and_the_blank_fails(leaky):
    for seed in (0, 1, 2718):
        result = check_task("2.6", leaky_relu(student_code(leaky)), seed=seed)
        assert result.passed and result.points == 2, result.hint
    blank = check_task("2.6", leaky_relu(blank_code(leaky.PART.code, solved=False)))
    assert blank.points == 0 and "not written yet" in blank.hint


def test_the_planted_mistake_fails_with_the_line_the_guide_shows(leaky):
    text = GUIDE.read_text(encoding="utf-8")
    mistake = re.search(r"copies ReLU's backward, `([^`]+)`", text)[1]
    result = check_task("2.6", leaky_relu(student_code(leaky, (ANSWER, mistake))))
    assert {row["name"]: row["passed"] for row in result.checks} == {"out": True, "dx": False}
    assert str(result) == block("text", "2.6").strip()


@pytest.mark.parametrize("old, new, hint", [
    ("return np.where(self.mask, x, self.slope * x)", "return np.maximum(x, 0)", "as a ReLU's is"),
    ("self.slope * x", "0.01 * x", "use self.slope"),
])
def test_each_forward_hint_is_reached_by_its_mistake(leaky, old, new, hint):
    result = check_task("2.6", leaky_relu(student_code(leaky, (old, new))))
    assert {row["name"]: row["passed"] for row in result.checks} == {"out": False, "dx": True}
    assert hint in result.hint


@pytest.mark.parametrize("edit, comments, hint", [
    (None, False, ""),
    ((ANSWER, "return dout * self.mask"), False, "dx: LeakyReLU.backward passes no gradient"),
    (None, True, "copied from the answer key"),  # as --solved writes it: the guide's warning
], ids=["honest", "relu", "key"])
def test_the_task_is_graded_in_a_walled_process(leaky, tmp_path, edit, comments, hint):
    """The check keeps the rules for remote objects: it works on the student's process too."""
    code = render([leaky.PART], solved=True)
    code = code.replace(*edit) if edit else code
    code = code if comments else re.sub(r"  # .*", "", code)  # a student's own words
    (tmp_path / "workbook.py").write_text(code, encoding="utf-8")
    (result,) = grade(tmp_path, ["2.6"], timeout=10, jobs=1)
    assert result.passed == (not hint), result.hint
    assert hint in result.hint


def test_the_guides_rubric_includes_the_new_task(leaky, tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text(block("toml", '"2.6"'), encoding="utf-8")
    rubric = load_rubric(path)
    assert rubric.tasks == ("1.1", "1.2", "2.1", "2.2", "2.6")
    assert rubric.check_points("2.6") == {"out": 1.0, "dx": 2.0}
    mistaken = check_task("2.6", leaky_relu(student_code(leaky, (ANSWER, "return dout * self.mask"))))
    (scored,) = rubric.apply([mistaken])
    assert (scored.points, scored.max_points) == (1.0, 3.0)
    handout = render(rubric.workbook_parts())
    assert "**Exercise 2.6: `LeakyReLU`** (3 points)" in handout
    assert "Exercise 2.3:" not in handout.split("class Tanh")[0]  # left out: written out instead


def test_an_unregistered_task_is_refused_by_the_rubric(tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text(block("toml", '"2.6"'), encoding="utf-8")
    with pytest.raises(RubricError, match=r'include: no task "2\.6"; the tasks are 1\.1, 1\.2'):
        load_rubric(path)
