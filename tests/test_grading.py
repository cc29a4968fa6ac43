"""Grading in separate processes: a student's hang or crash costs one task, never the grader.

Each check here spawns one Python process per task, so the tests grade only the two
Dense tasks (``--task`` subsets), and time limits are short.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from keys import honest_key
from tinyae.workbook import TASKS, TaskResult, get_task
from tinyae.workbook.grading import grade, grade_class, gradescope_json, write_gradescope

FORWARD, BACKWARD = (next(t for t in TASKS if t.title == title).id
                     for title in ("Dense.forward", "Dense.backward"))
DENSE = [FORWARD, BACKWARD]


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    """The answer key, written once; tests change copies of it."""
    folder = tmp_path_factory.mktemp("key") / "solved"
    folder.mkdir()
    (folder / "workbook.py").write_text(honest_key(), encoding="utf-8")
    return folder


@pytest.fixture
def student(solved, tmp_path) -> Path:
    """A copy of the answer key that a test may break."""
    return Path(shutil.copytree(solved, tmp_path / "student"))


def break_method(folder: Path, method: str, code: str) -> None:
    """Make ``code`` the first statement of the workbook's first ``def method(…)``."""
    path = folder / "workbook.py"
    lines = path.read_text(encoding="utf-8").splitlines()
    i = next(i for i, line in enumerate(lines) if re.match(rf"\s*def {method}\(", line))
    assert lines[i].rstrip().endswith(":"), "a one-line signature"
    indent = re.match(r"\s*", lines[i]).group() + "    "
    lines.insert(i + 1, indent + code)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_answer_key_passes_both_tasks_in_their_own_processes(solved):
    results = grade(solved, DENSE, timeout=60)
    assert [r.task_id for r in results] == DENSE
    assert all(r.passed and r.points == r.max_points == get_task(r.task_id).points for r in results)


@pytest.mark.parametrize("code, expected", [
    ("import faulthandler; faulthandler._sigsegv()",
     r"crashed: killed by SIGSEGV \(a segmentation fault"),
    ("import os; os._exit(0)", r"crashed: it exited with status 0 before reporting.*os\._exit"),
    ("import sys; sys.exit(3)", r"crashed: it exited with status 3 before reporting.*sys\.exit"),
], ids=["segfault", "os._exit", "sys.exit"])
def test_a_crash_is_a_failed_task_that_says_how_it_ended(student, code, expected, unscreened):
    break_method(student, "backward", code)
    (backward,) = grade(student, [BACKWARD], timeout=60)
    assert not backward.passed and backward.points == 0 and backward.max_points > 0
    assert re.search(expected, backward.hint), backward.hint


def test_a_segfault_in_one_task_fails_that_task_only_and_shows_the_line(student, unscreened):
    break_method(student, "backward", "import faulthandler; faulthandler._sigsegv()")
    forward, backward = grade(student, DENSE, timeout=60)
    assert forward.passed and not backward.passed  # each task in a process of its own
    assert re.search(r'workbook\.py", line \d+ in backward', backward.details)  # faulthandler's


def test_an_infinite_loop_in_one_task_times_out_and_the_others_are_graded(student):
    break_method(student, "backward", "while True: pass")
    start = time.perf_counter()
    forward, backward = grade(student, DENSE, timeout=2)  # CPU seconds: a busy machine's load
    assert forward.passed                                  # does not count against a task
    assert backward.hint == "timed out after 2 s — an infinite loop?" and backward.points == 0
    assert time.perf_counter() - start < 30  # killed, not waited for


def test_a_loop_in_the_top_level_code_fails_every_task_after_one_timeout(student):
    path = student / "workbook.py"
    code = path.read_text(encoding="utf-8")
    path.write_text(code + "\nwhile True:\n    pass\n", encoding="utf-8")
    start = time.perf_counter()
    results = grade(student, DENSE, timeout=2)
    seconds = time.perf_counter() - start
    assert [r.hint for r in results] == ["timed out after 2 s in the workbook's top-level code "
                                         "— an infinite loop?"] * 2
    # 2 s of CPU time and two process starts for the first task; the second was not run
    # into the same loop (that would take twice as long).
    assert seconds < 2 * 2 + 1.5


def test_what_the_student_prints_does_not_disturb_the_result(student, unscreened):
    noise = 'print(\'{"result": {"points": 99}}\'); import sys; print("}{", file=sys.stderr)'
    break_method(student, "forward", noise)
    (forward,) = grade(student, [FORWARD], timeout=60)
    assert forward.passed and forward.points == get_task(FORWARD).points


def test_a_folder_without_a_workbook_fails_every_task_with_the_reason(tmp_path):
    results = grade(tmp_path, DENSE, timeout=60)
    assert [r.passed for r in results] == [False, False]
    assert all(r.hint.startswith("the workbook cannot be loaded: ") for r in results)
    assert results[0].hint == results[1].hint and "workbook.py" in results[0].hint


def test_bad_arguments_are_refused_before_any_process_runs(tmp_path):
    with pytest.raises(ValueError, match=r"unknown task '9\.9'.*1\.1"):
        grade(tmp_path, ["9.9"])
    with pytest.raises(FileNotFoundError, match="no such folder or file"):
        grade(tmp_path / "missing")


def test_gradescope_json_uses_the_documented_fields():
    results = [TaskResult("1.1", "Dense.forward", 2.0, 2.0, True),
               TaskResult("1.2", "Dense.backward", 0.0, 4.0, False, "dW is averaged", "the table")]
    report = gradescope_json(results)
    assert report["score"] == 2.0 and isinstance(report["output"], str)
    passed, failed = report["tests"]
    assert passed == {"name": "1.1 Dense.forward", "number": "1.1", "score": 2.0, "max_score": 2.0,
                      "status": "passed", "output": "", "visibility": "visible"}
    assert failed["status"] == "failed" and failed["score"] == 0.0 and failed["max_score"] == 4.0
    assert failed["output"] == "dW is averaged\n\nthe table"


def test_write_gradescope_writes_json_that_reads_back(tmp_path):
    results = [TaskResult("1.1", "Dense.forward", 2.0, 2.0, True)]
    path = write_gradescope(results, tmp_path / "results" / "results.json")
    assert json.loads(path.read_text(encoding="utf-8")) == gradescope_json(results)


def test_grade_class_gives_every_student_a_row_whatever_is_in_the_folder(solved, tmp_path):
    submissions = tmp_path / "class"
    shutil.copytree(solved, submissions / "ada")
    (submissions / "bob").mkdir()  # handed in nothing
    (submissions / ".git").mkdir()  # not a student
    (submissions / "notes.txt").write_text("not a student either")
    results = grade_class(submissions, tmp_path / "grades.csv", [FORWARD], timeout=60, seed=3)
    assert list(results) == ["ada", "bob"]
    rows = (tmp_path / "grades.csv").read_text(encoding="utf-8").splitlines()
    points = get_task(FORWARD).points
    assert rows[0] == f"student,{FORWARD},total,out of,notes,lost,file"
    assert rows[1] == f"ada,{points},{points},{points},,,ada/workbook.py"
    assert rows[2].startswith(f"bob,0,0,{points},the workbook cannot be loaded: ")
    assert rows[2].endswith(",")  # no file graded
    assert sorted(p.name for p in (tmp_path / "grades-feedback").iterdir()) == ["ada.md", "bob.md"]


def test_grade_class_needs_submissions(tmp_path):
    (tmp_path / "notes.txt").write_text("not a workbook")
    with pytest.raises(FileNotFoundError, match="holds no submissions: expected one sub-folder"):
        grade_class(tmp_path, tmp_path.parent / "grades.csv")


def test_grading_processes_use_one_blas_thread_unless_the_teacher_chose(monkeypatch):
    from tinyae.workbook.grading import _child_env

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert _child_env(Path("w"))["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert _child_env(Path("w"))["OPENBLAS_NUM_THREADS"] == "2"


def test_grading_elsewhere_than_posix_says_where_it_runs(monkeypatch, tmp_path):
    from tinyae.workbook import grading

    monkeypatch.setattr(grading.os, "name", "nt")
    with pytest.raises(OSError, match="Linux or macOS .*WSL.*check_task"):
        grading.grade_tasks(tmp_path, [get_task(FORWARD)])
