"""``tinyae workbook new|check|grade`` end to end, as a teacher and a student use them.

Checking spawns one process per task: the full task list is checked twice (the answer
key, with its Gradescope file, and a blank workbook); everything else uses ``--task``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from keys import honest_key
from test_grading import break_method
from tinyae.cli import main
from tinyae.notebook import notebook_json
from tinyae.workbook import TASKS

FORWARD, BACKWARD = (next(t for t in TASKS if t.title == title).id
                     for title in ("Dense.forward", "Dense.backward"))
TOTAL = sum(task.points for task in TASKS)
# Gradescope's results.json (gradescope-autograders.readthedocs.io, "Autograder
# Specifications"): the fields tinyae writes, with their documented types.
GRADESCOPE_TOP = {"score": float, "output": str, "tests": list}
GRADESCOPE_TEST = {"name": str, "number": str, "score": float, "max_score": float, "status": str,
                   "output": str, "visibility": str}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("TINYAE_OFFLINE", "1")  # inherited by the grading processes


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    """``new --solved`` then a full ``check --gradescope``, once: (folder, status, stdout, json)."""
    root = tmp_path_factory.mktemp("key")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TINYAE_OFFLINE", "1")
        (root / "w").mkdir()
        (root / "w" / "workbook.py").write_text(honest_key(), encoding="utf-8")
        status, out = run(["workbook", "check", str(root / "w"),
                           "--gradescope", str(root / "r.json")])
    return root / "w", status, out, json.loads((root / "r.json").read_text(encoding="utf-8"))


def run(argv: list[str]) -> tuple[int, str]:
    """(status, stdout) of ``tinyae *argv``, run in-process."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main(argv)
    return status, stdout.getvalue()


def task_lines(out: str) -> list[str]:
    """The ✓/✗ lines of ``check``'s output, one per task."""
    return [line for line in out.splitlines() if line[:2] in ("✓ ", "✗ ")]


def test_the_answer_key_passes_every_task_with_full_points(key):
    folder, status, out, _ = key
    assert status == 0
    lines = task_lines(out)
    assert [line.split()[1] for line in lines] == [task.id for task in TASKS]
    assert all(line.startswith("✓") and line.endswith(f"{t.points}/{t.points}")
               for line, t in zip(lines, TASKS, strict=True))
    assert f"total: {TOTAL}/{TOTAL} points, {len(TASKS)} of {len(TASKS)} tasks pass" in out


def test_gradescope_results_have_the_documented_fields_and_the_full_score(key):
    _, _, out, report = key
    assert "wrote" in out and "r.json" in out
    for field, kind in GRADESCOPE_TOP.items():
        assert isinstance(report[field], kind), field
    # One test per sub-check of each task, in order, their points adding up to the task's.
    assert len(report["tests"]) == sum(len(task.subchecks) for task in TASKS)
    for test in report["tests"]:
        assert set(test) == set(GRADESCOPE_TEST)
        for field, kind in GRADESCOPE_TEST.items():
            assert isinstance(test[field], kind), field
        assert test["status"] == "passed" and test["score"] == test["max_score"] > 0
        assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
    for task in TASKS:
        mine = [test for test in report["tests"] if test["number"] == task.id]
        assert len(mine) == len(task.subchecks) and all(t["name"].startswith(task.id) for t in mine)
        assert sum(t["max_score"] for t in mine) == pytest.approx(task.points)
    assert report["score"] == pytest.approx(sum(t["max_score"] for t in report["tests"]))
    assert report["score"] == pytest.approx(TOTAL)


def test_a_blank_workbook_fails_every_task_with_0_points(tmp_path):
    assert main(["workbook", "new", str(tmp_path / "b")]) == 0
    status, out = run(["workbook", "check", str(tmp_path / "b")])
    assert status == 1
    lines = task_lines(out)
    assert lines == [f"✗ {task.id} {task.title}  0/{task.points}" for task in TASKS]  # no hint
    assert f"total: 0/{TOTAL} points, 0 of {len(TASKS)} tasks pass" in out
    for task in TASKS:  # each hint under its task's name
        assert re.search(rf"\n{task.id} {re.escape(task.title)}:\n(  .*\n)*  .*NotImplementedError",
                         out), task.id


def test_check_one_task_of_a_broken_workbook_prints_its_hint(key, tmp_path):
    student = Path(shutil.copytree(key[0], tmp_path / "s"))
    break_method(student, "backward", "raise ZeroDivisionError('oops')")
    status, out = run(["workbook", "check", str(student), "--task", BACKWARD])
    assert status == 1
    (line,) = task_lines(out)
    assert line.startswith(f"✗ {BACKWARD} Dense.backward  0/")
    hint = out.split(f"\n{BACKWARD} Dense.backward:\n")[1]
    assert "ZeroDivisionError" in hint and "workbook.py" in hint


@pytest.mark.parametrize("solved", [True, False], ids=["solved", "blank"])
def test_a_notebook_workbook_is_checked_too(tmp_path, solved):
    folder = tmp_path / "nb"
    assert main(["workbook", "new", str(folder), "--notebook"]) == 0
    assert (folder / "workbook.ipynb").exists() and not (folder / "workbook.py").exists()
    if solved:  # the student's answers: the key's code in the student's words
        (folder / "workbook.ipynb").write_text(notebook_json(honest_key(notebook=True)),
                                               encoding="utf-8")
    status, out = run(["workbook", "check", str(folder), "--task", FORWARD, "--task", BACKWARD])
    assert status == (0 if solved else 1)
    assert [line[0] for line in task_lines(out)] == (["✓", "✓"] if solved else ["✗", "✗"])


def test_grade_a_class_with_broken_submissions_into_a_csv(key, tmp_path):
    submissions = tmp_path / "class"
    for name in ("ada", "hal", "syd"):
        shutil.copytree(key[0], submissions / name)
    assert main(["workbook", "new", str(submissions / "bea")]) == 0  # handed in blank
    break_method(submissions / "hal", "backward", "while True: pass")
    path = submissions / "syd" / "workbook.py"
    path.write_text(path.read_text(encoding="utf-8").replace("def forward(", "def forward((", 1),
                    encoding="utf-8")
    grades = tmp_path / "grades.csv"
    status, out = run(["workbook", "grade", str(submissions), "--csv", str(grades),
                       "--task", FORWARD, "--task", BACKWARD, "--timeout", "2", "--seed", "7"])
    assert status == 0 and f"wrote {grades}" in out
    rows = {row["student"]: row for row in csv.DictReader(grades.open(encoding="utf-8"))}
    assert list(rows) == ["ada", "bea", "hal", "syd"]
    forward, backward = (next(t.points for t in TASKS if t.id == i) for i in (FORWARD, BACKWARD))
    total = str(forward + backward)
    assert rows["ada"] == {"student": "ada", FORWARD: str(forward), BACKWARD: str(backward),
                           "total": total, "out of": total, "notes": "", "lost": "",
                           "file": "ada/workbook.py"}
    assert rows["bea"]["total"] == "0" and rows["bea"]["notes"] == ""  # failed, but ran
    assert (rows["hal"][FORWARD], rows["hal"][BACKWARD]) == (str(forward), "0")
    assert rows["hal"]["notes"] == f"{BACKWARD}: timed out after 2 s — an infinite loop?"
    assert rows["hal"]["lost"] == f"{BACKWARD} (−{backward}): timed out after 2 s — an infinite loop?"
    assert rows["syd"]["total"] == "0"
    assert re.match(r"the workbook cannot be loaded: .*line \d+", rows["syd"]["notes"])
    assert "hal: " in out and "syd: 0/" in out  # a line per student as it goes


@pytest.mark.parametrize("argv, message", [
    (["workbook", "check", "{tmp}", "--task", "9.9"], "unknown task '9.9'"),
    (["workbook", "check", "{tmp}/missing"], "no such file or folder"),
    (["workbook", "check", "{tmp}/notes.txt"], "not a workbook: name a .py or .ipynb file"),
    (["workbook", "grade", "{tmp}", "--csv", "{tmp}/grades.csv"], "write the CSV outside"),
    (["workbook", "check", "{tmp}", "--timeout", "0"], "must be a number > 0"),
    (["workbook", "grade", "{tmp}"], "--csv"),
    (["workbook"], "ACTION"),
])
def test_bad_usage_is_one_line_and_status_2(argv, message, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a workbook")
    assert main([arg.format(tmp=tmp_path) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_new_refuses_to_overwrite_a_workbook(tmp_path, capsys):
    assert main(["workbook", "new", str(tmp_path / "w")]) == 0
    assert main(["workbook", "new", str(tmp_path / "w"), "--solved"]) == 1
    assert "tinyae: error:" in capsys.readouterr().err


def test_the_answer_key_as_written_earns_nothing_when_handed_in(tmp_path):
    assert main(["workbook", "new", str(tmp_path / "k"), "--solved"]) == 0
    status, out = run(["workbook", "check", str(tmp_path / "k"), "--task", FORWARD])
    assert status == 1 and "answer key" in out
    assert "total: 0/" in out
