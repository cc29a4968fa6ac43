"""Running a course: feedback to return, submissions as LMSs deliver them, any encoding, quiet output.

A teacher grades a class and sends each student a feedback file; the CSV says in short
why each point was lost.  Submissions arrive as one folder per student or as a flat
folder of renamed files (``alice_1234_workbook.py``, ``bob.ipynb``, ``Workbook.py``,
``hw1_frank.py``), and both layouts give the same grades.  ``check`` takes a file where
it takes a folder, prints each hint once, stops printing (not grading) when its reader
leaves, and prints on a cp1252 terminal; a workbook saved with a byte-order mark or in
latin-1 is read as Python reads it.  Only the two Dense tasks are graded, to stay fast.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from keys import blank, honest_key
from tinyae.cli import main
from tinyae.notebook import notebook_json
from tinyae.workbook import PARTS, get_task
from tinyae.workbook.grading import grade, students

DENSE = [task.id for task in PARTS[0].tasks]  # "1.1" Dense.forward, "1.2" Dense.backward
FORWARD, BACKWARD = DENSE
POINTS = {task_id: get_task(task_id).points for task_id in DENSE}
AVERAGED_DB = honest_key().replace("self.db += dout.sum(axis=0)", "self.db += dout.mean(axis=0)")
BORROWED = honest_key() + "\n\nclass Dense(tinyae.Dense):\n    pass\n"
# What each student of the class hands in, as a flat folder's file and as a folder's workbook.
CLASS = {"alice_1234": ("alice_1234_workbook.py", "workbook.py", AVERAGED_DB),
         "bob": ("bob.ipynb", "workbook.ipynb", notebook_json(honest_key(notebook=True))),
         "Workbook": ("Workbook.py", "workbook.py", blank()),
         "hw1_frank": ("hw1_frank.py", "Workbook.py", BORROWED)}
SCORES = {"alice_1234": {FORWARD: POINTS[FORWARD], BACKWARD: POINTS[BACKWARD] - 0.5},
          "bob": POINTS, "Workbook": {FORWARD: 0, BACKWARD: 0}, "hw1_frank": {FORWARD: 0, BACKWARD: 0}}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("TINYAE_OFFLINE", "1")  # inherited by the grading processes


def run(argv: list[str]) -> tuple[int, str]:
    """(status, stdout) of ``tinyae *argv``, run in-process."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main(argv)
    return status, stdout.getvalue()


def tinyae(*argv: str, **kwargs) -> subprocess.Popen:
    """``tinyae *argv`` in a process of its own (what a shell runs)."""
    env = {**os.environ, "TINYAE_OFFLINE": "1", **kwargs.pop("env", {})}
    return subprocess.Popen([sys.executable, "-m", "tinyae", *argv], env=env, **kwargs)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, Path]:
    """The class graded twice with seed 7: as a flat folder of files (feedback in the default
    folder, flat-feedback/), and a folder per student (feedback in returned/)."""
    root = tmp_path_factory.mktemp("course")
    (root / "flat").mkdir()
    for student, (flat_name, folder_name, text) in CLASS.items():
        (root / "flat" / flat_name).write_text(text, encoding="utf-8")
        (root / "folders" / student).mkdir(parents=True)
        (root / "folders" / student / folder_name).write_text(text, encoding="utf-8")
    (root / "flat" / "README.txt").write_text("not a student")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TINYAE_OFFLINE", "1")
        for layout, feedback in (("flat", []), ("folders", ["--feedback", str(root / "returned")])):
            status, out = run(["workbook", "grade", str(root / layout), "--csv",
                               str(root / f"{layout}.csv"), "--seed", "7", *feedback,
                               *(f"--task={task_id}" for task_id in DENSE)])
            assert status == 0 and "a feedback file per student in" in out, out
    return root


def rows(path: Path) -> dict[str, dict[str, str]]:
    """The CSV's rows by student."""
    with path.open(encoding="utf-8", newline="") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


# --- submissions as they arrive --------------------------------------------------------------


def test_a_flat_folder_of_renamed_files_grades_like_one_folder_per_student(graded):
    flat, folders = rows(graded / "flat.csv"), rows(graded / "folders.csv")
    assert sorted(flat) == sorted(folders) == sorted(CLASS)  # named from the files; no README
    for student, scores in SCORES.items():
        for task_id, points in scores.items():
            assert float(flat[student][task_id]) == float(folders[student][task_id]) == points
    assert flat["alice_1234"]["file"] == "alice_1234_workbook.py"
    assert folders["hw1_frank"]["file"] == "hw1_frank/Workbook.py"  # found whatever its case


def test_student_names_from_files_are_unique_and_leave_out_what_is_not_a_student(tmp_path):
    for name in ("alice.py", "Alice_workbook.ipynb", "Workbook.py", "_workbook.py", "hw1_frank.py",
                 "notes.txt", ".hidden.py", "grades.csv"):
        (tmp_path / name).write_text("")
    for folder in ("carol", "__MACOSX", "__pycache__", ".git"):
        (tmp_path / folder).mkdir()
    assert {name: path.name for name, path in students(tmp_path).items()} == {
        "alice": "alice.py", "Alice-2": "Alice_workbook.ipynb", "_workbook": "_workbook.py",
        "carol": "carol", "hw1_frank": "hw1_frank.py", "Workbook": "Workbook.py"}


def test_check_takes_the_file_itself_and_gradescopes_submission_folder(tmp_path):
    """/autograder/submission holds whatever the student uploaded, renamed or not."""
    submission = tmp_path / "autograder" / "submission"
    submission.mkdir(parents=True)
    (submission / "hw1_frank.py").write_text(AVERAGED_DB, encoding="utf-8")
    results = tmp_path / "autograder" / "results" / "results.json"
    status, out = run(["workbook", "check", str(submission), "--gradescope", str(results),
                       "--task", FORWARD, "--task", BACKWARD])
    assert status == 1 and json.loads(results.read_text(encoding="utf-8"))["score"] == 5.5
    assert run(["workbook", "check", str(submission / "hw1_frank.py"),
                "--task", FORWARD, "--task", BACKWARD]) == (status, out.split("wrote")[0])


def test_two_workbooks_in_a_folder_say_which_to_keep_in_advice_the_cli_takes(tmp_path):
    (tmp_path / "workbook.py").write_text(blank(), encoding="utf-8")
    (tmp_path / "workbook.ipynb").write_text(notebook_json(honest_key(notebook=True)),
                                             encoding="utf-8")
    status, out = run(["workbook", "check", str(tmp_path), "--task", FORWARD])
    assert status == 1 and "holds both workbook.py and workbook.ipynb: keep the one you" in out
    advice = re.findall(r"`(tinyae workbook check [^`]+)`", out)
    assert advice[:2] == [f"tinyae workbook check {shlex.quote(str(tmp_path / name))}"
                          for name in ("workbook.ipynb", "workbook.py")]
    assert run([*shlex.split(advice[0])[1:], "--task", FORWARD])[0] == 0  # the notebook, graded


@pytest.mark.parametrize("layout", ["flat", "folders"])
def test_no_student_reads_the_submissions_in_either_layout(tmp_path, layout, unscreened):
    """Only the workbook is copied into the child's folder; the submissions stay out of reach."""
    submissions = tmp_path / "class"
    victim = submissions / ("ada.py" if layout == "flat" else "ada/workbook.py")
    thief = submissions / ("eve.py" if layout == "flat" else "eve/workbook.py")
    for path, text in ((victim, honest_key()),
                       (thief, honest_key() + f"\nstolen = open({str(victim)!r}).read()\n")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    status, _ = run(["workbook", "grade", str(submissions), "--csv", str(tmp_path / "g.csv"),
                     "--task", FORWARD, "--seed", "1"])
    assert status == 0
    eve, ada = rows(tmp_path / "g.csv")["eve"], rows(tmp_path / "g.csv")["ada"]
    assert ada["total"] == str(POINTS[FORWARD]) and eve["total"] == "0"
    assert "the grader does not let a workbook read" in eve["notes"]


# --- feedback to return ----------------------------------------------------------------------


def test_each_student_gets_a_feedback_file_with_every_check_its_points_and_hint(graded):
    assert sorted(p.name for p in (graded / "flat-feedback").iterdir()) == sorted(
        f"{student}.md" for student in CLASS)
    alice = (graded / "flat-feedback" / "alice_1234.md").read_text(encoding="utf-8")
    assert alice.startswith("# alice_1234: 5.5/6 points\n\n1 of 2 exercises pass; graded file: "
                            "`alice_1234_workbook.py`; the checks' inputs were drawn with seed 7.")
    assert f"## ✓ {FORWARD} Dense.forward: 2/2 points" in alice
    assert f"## ✗ {BACKWARD} Dense.backward: 3.5/4 points" in alice
    assert "- ✓ dW: 1/1\n- ✗ db: 0/0.5\n- ✓ dx: 1/1\n" in alice
    assert re.search(r"\ndb: db is exactly 1/N = 1/\d+ of the right gradient: you averaged over the "
                     r"batch\. Don't: .*\n\n```\ngradient .*\ndb .* WRONG\n", alice)
    assert alice.count("you averaged over the batch") == 1
    folders = (graded / "returned" / "alice_1234.md").read_text(encoding="utf-8")
    assert folders == alice.replace("`alice_1234_workbook.py`", "`alice_1234/workbook.py`")


def test_feedback_gives_the_reason_a_task_was_zeroed(graded):
    frank = (graded / "flat-feedback" / "hw1_frank.md").read_text(encoding="utf-8")
    assert frank.startswith("# hw1_frank: 0/6 points")
    assert re.search(rf"## ✗ {FORWARD} Dense.forward: 0/2 points\n\n(- ✗ .*: 0/.*\n)+\n"
                     r"hw1_frank\.py, line \d+: `class Dense\(tinyae\.Dense\)` inherits tinyae's "
                     r"own Dense", frank)


def test_the_csv_says_in_short_why_each_point_was_lost(graded):
    lost = {student: row["lost"] for student, row in rows(graded / "flat.csv").items()}
    assert lost["bob"] == ""
    assert re.fullmatch(rf"{BACKWARD} db \(−0\.5\): db is exactly 1/N = 1/\d+ of the right "
                        r"gradient: you averaged over the batch", lost["alice_1234"])
    assert re.fullmatch(rf"{FORWARD} \(−2\): Dense\.forward is not written yet \(.*\); "
                        rf"{BACKWARD} \(−4\): Dense\.backward is not written yet \(.*\)",
                        lost["Workbook"])


# --- check's output: each hint once, a reader that leaves, python workbook.py -------------------


def test_check_prints_each_hint_once_under_a_short_line_per_task(tmp_path):
    (tmp_path / "workbook.py").write_text(AVERAGED_DB, encoding="utf-8")
    status, out = run(["workbook", "check", str(tmp_path / "workbook.py"),
                       "--task", FORWARD, "--task", BACKWARD])
    assert status == 1
    assert out.startswith(f"✓ {FORWARD} Dense.forward  2/2\n✗ {BACKWARD} Dense.backward  3.5/4\n\n"
                          f"{BACKWARD} Dense.backward:\n  ✓ dW  ✗ db  ✓ dx")
    assert out.count("you averaged over the batch") == 1


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_SETPIPE_SZ"), reason="Linux's pipe size")
def test_check_piped_into_head_stops_printing_and_writes_its_file(tmp_path):
    """``tinyae workbook check … | head -1``: the reader leaves while the report is being written."""
    import fcntl

    crash = honest_key().replace("return x @ self.W + self.b", 'raise SystemExit("the end " * 400)')
    (tmp_path / "workbook.py").write_text(crash, encoding="utf-8")  # its message: a long report
    read, write = os.pipe()
    fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 4096)  # smaller than the report
    process = tinyae("workbook", "check", str(tmp_path), "--task", FORWARD, "--task", BACKWARD,
                     "--gradescope", str(tmp_path / "results.json"), stdout=write,
                     stderr=subprocess.PIPE)
    os.close(write)
    first = b""
    while not first.endswith(b"\n"):  # byte by byte: the rest stays in the pipe, unread
        first += os.read(read, 1)
    os.close(read)
    _, err = process.communicate(timeout=60)
    assert first.decode() == f"✗ {FORWARD} Dense.forward  0/2\n"
    assert process.returncode == 1 and err.decode() == ""  # no "[Errno 32] Broken pipe"
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["score"] == 0


def test_python_workbook_py_ends_with_the_total(tmp_path):
    cells = blank().split("\n\n\n# %%")
    answered = honest_key().split("\n\n\n# %%")
    dense = next(i for i, cell in enumerate(cells) if "class Dense(" in cell)
    cells[dense] = answered[dense]  # Dense written, every other exercise blank
    (tmp_path / "workbook.py").write_text("\n\n\n# %%".join(cells), encoding="utf-8")
    out = subprocess.run([sys.executable, "workbook.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "TINYAE_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"✓ {FORWARD} Dense.forward  2/2")
    total = sum(POINTS.values())
    assert lines[-1] == f"total: {total}/{sum(t.points for p in PARTS for t in p.tasks)} points"


def test_a_cp1252_terminal_gets_the_report_and_gradescope_its_utf8_file(tmp_path):
    (tmp_path / "workbook.py").write_text(AVERAGED_DB, encoding="utf-8")
    process = tinyae("workbook", "check", str(tmp_path), "--task", FORWARD, "--task", BACKWARD,
                     "--gradescope", str(tmp_path / "results.json"), stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, env={"PYTHONIOENCODING": "cp1252"})
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1 and err == b""
    report = out.decode("cp1252")
    assert report.startswith(f"ok {FORWARD} Dense.forward  2/2\nx {BACKWARD} Dense.backward  3.5/4")
    assert "total: 5.5/6 points" in report
    written = (tmp_path / "results.json").read_bytes().decode("utf-8")
    assert json.loads(written)["score"] == 5.5 and "1/N" in written and "×" in written


# --- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize("encode", [
    lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
    lambda text: ("# -*- coding: latin-1 -*-\n# Dense by René\n" + text).encode("latin-1"),
], ids=["utf-8 with a byte-order mark", "latin-1 with its coding line"])
def test_a_workbook_is_read_as_python_reads_it(tmp_path, encode):
    text = AVERAGED_DB.encode("latin-1", "replace").decode("latin-1")  # "σ" -> "?" in docstrings
    (tmp_path / "workbook.py").write_bytes(encode(text))
    points = [result.points for result in grade(tmp_path, DENSE, timeout=30)]
    assert points == [POINTS[FORWARD], POINTS[BACKWARD] - 0.5]


def test_a_notebook_cell_that_is_not_text_is_named_with_the_reason(tmp_path):
    notebook = json.loads(notebook_json(honest_key(notebook=True)))
    index = next(i for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code")
    notebook["cells"][index]["source"] = 42
    (tmp_path / "workbook.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    (result,) = grade(tmp_path, [FORWARD])
    assert result.hint == (f"the workbook cannot be loaded: workbook.ipynb, cell {index + 1}: its "
                           f"source is int, not text; a cell's \"source\" is text or a list of "
                           f"lines: fix that cell in a text editor, or copy your code into a new "
                           f"notebook")
