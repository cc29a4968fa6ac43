"""Cheating submissions, each tried for real: none earns a point, none changes a file.

Every attack here worked against the grader before its student code was walled off
(a user report).  Each is a planted submission graded by ``grade`` or ``grade_class``;
the test asserts the points it earns (none it did not work for), that the files of every
submission are byte-identical afterwards, and that what the results files say is what the
grader computed.  The walls are tested with the source screen switched off too
(``unscreened``): if a trick ever got past the screen, the process walls must still hold.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from keys import blank, honest_key
from tinyae.workbook import get_task, write_workbook
from tinyae.workbook import grading as grading_module
from tinyae.workbook.grading import grade, grade_class, write_gradescope

FORWARD, BACKWARD = "1.1", "1.2"
DENSE = [FORWARD, BACKWARD]
DENSE_POINTS = sum(get_task(t).points for t in DENSE)


def submission(folder: Path, code: str, extra: str = "") -> Path:
    """A student folder holding ``code`` (+ ``extra`` appended) as workbook.py."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "workbook.py").write_text(code + "\n" + textwrap.dedent(extra), encoding="utf-8")
    return folder


def digests(root: Path) -> dict[str, str]:
    """Every file below ``root`` and the hash of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def points(results) -> float:
    return sum(r.points for r in results)


def test_an_honest_key_earns_every_point_and_the_raw_key_earns_none(tmp_path):
    honest = grade(submission(tmp_path / "honest", honest_key()), DENSE, timeout=30)
    assert points(honest) == DENSE_POINTS, [r.hint for r in honest]
    write_workbook(tmp_path / "key", solved=True)  # what `tinyae workbook new --solved` writes
    copied = grade(tmp_path / "key", DENSE, timeout=30)
    assert points(copied) == 0 and all("answer key" in r.hint for r in copied)


# --- the walls: what a blank workbook's top-level code tries ---------------------------------

WALL_ATTACKS = {
    # replace the grader's pieces inside the student's process
    "replace _result": """
        import tinyae.workbook as w
        w._result = lambda task, *a, **k: w.TaskResult(task.id, task.title, task.points,
                                                      task.points, True)
        for t in w.TASKS:
            object.__setattr__(t, "check", lambda obj, checks: "ok")
        """,
    "replace BCE": """
        import tinyae
        tinyae.BCE = lambda: None
        """,
    "write a report and exit": """
        import sys, os, json
        for path in sys.argv[1:]:
            try:
                open(path, "a").write(json.dumps({"result": {"points": 99}}) + "\\n")
            except Exception:
                pass
        os._exit(0)
        """,
    "a detached process rewrites results.json": """
        import os, sys
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                import time, glob, json
                time.sleep(1.0)
                for path in glob.glob("/**/results*.json", recursive=True):
                    open(path, "w").write(json.dumps({"score": 99.0}))
                os._exit(0)
            os._exit(0)
        """,
    "subprocess": """
        import subprocess
        subprocess.Popen(["sh", "-c", "sleep 1; echo 99 > /tmp/tinyae-attack"])
        """,
    "a thread that never ends": """
        import threading, time
        threading.Thread(target=lambda: time.sleep(10**6)).start()
        """,
    "zero random numbers": """
        import numpy as np
        class Zeros:
            def __getattr__(self, name):
                return lambda *a, size=None, **k: np.zeros(size if size is not None else a[-1])
        np.random.default_rng = lambda *a, **k: Zeros()
        """,
}


@pytest.mark.parametrize("attack", sorted(WALL_ATTACKS))
def test_a_blank_workbook_earns_nothing_whatever_its_code_tries(attack, tmp_path, unscreened):
    student = submission(tmp_path / "class" / "eve", blank(), WALL_ATTACKS[attack])
    results_json = tmp_path / "results.json"
    before = digests(tmp_path / "class")
    start = time.perf_counter()
    results = grade(student, DENSE, timeout=20)
    assert time.perf_counter() - start < 20  # nothing it left behind kept the task waiting
    write_gradescope(results, results_json)
    if "detached" in attack:
        time.sleep(1.5)  # time for a detached process to act, had one survived
    assert points(results) == 0
    assert json.loads(results_json.read_text())["score"] == 0.0
    assert digests(tmp_path / "class") == before
    assert not Path("/tmp/tinyae-attack").exists()


def test_a_do_nothing_dense_with_zeroed_random_numbers_fails(tmp_path, unscreened):
    """The grader draws the inputs in its own process: the student cannot make them zeros."""
    code = honest_key().replace("return x @ self.W + self.b", "return np.zeros((len(x), self.n_out))")
    student = submission(tmp_path / "eve", code, WALL_ATTACKS["zero random numbers"])
    forward, backward = grade(student, DENSE, timeout=20)
    assert not forward.passed and forward.points == 0


def test_modules_beside_the_workbook_are_never_imported(tmp_path, unscreened):
    honest = submission(tmp_path / "ada", honest_key())
    (honest / "numpy.py").write_text("raise SystemExit('a stray numpy.py')\n")
    assert points(grade(honest, DENSE, timeout=30)) == DENSE_POINTS
    cheat = submission(tmp_path / "eve", blank())
    fake = cheat / "tinyae" / "workbook"
    fake.mkdir(parents=True)
    for folder in (cheat / "tinyae", fake):
        (folder / "__init__.py").write_text("")
    (fake / "grading.py").write_text("print('40/40')\n")
    assert points(grade(cheat, DENSE, timeout=30)) == 0


def test_one_students_code_cannot_touch_or_read_another_students_files(tmp_path, unscreened):
    submissions = tmp_path / "class"
    submission(submissions / "aaa", blank(), f"""
        for victim in ("../bbb/workbook.py", "{submissions}/bbb/workbook.py"):
            try:
                open(victim, "w").write("raise SystemExit")
            except OSError:
                pass
            try:
                Dense_copied = open(victim).read()
            except OSError:
                pass
        """)
    submission(submissions / "bbb", honest_key())
    before = digests(submissions)
    results = grade_class(submissions, tmp_path / "grades.csv", DENSE, timeout=20, seed=5)
    assert digests(submissions) == before
    assert points(results["bbb"]) == DENSE_POINTS and points(results["aaa"]) == 0


def test_a_change_that_got_through_would_be_undone_and_reported(tmp_path, monkeypatch):
    """The last line of defence: grading compares every submission's bytes before and after."""
    submissions = tmp_path / "class"
    submission(submissions / "aaa", honest_key())
    victim = submission(submissions / "bbb", honest_key()) / "workbook.py"
    original = victim.read_bytes()
    real = grading_module.grade_tasks

    def leaky(folder, *args, **kwargs):  # as if a process had written through the walls
        victim.write_text("stolen")
        return real(folder, *args, **kwargs)

    monkeypatch.setattr(grading_module, "grade_tasks", leaky)
    grade_class(submissions, tmp_path / "grades.csv", [FORWARD], timeout=20, seed=1)
    assert victim.read_bytes() == original
    notes = (tmp_path / "grades.csv").read_text()
    assert "changed bbb/workbook.py" in notes and "restored" in notes


def test_the_supervisor_kills_a_double_forked_process(tmp_path):
    """What a process that escaped its session meets: the subreaper finds and kills it."""
    marker = tmp_path / "alive"
    script = textwrap.dedent(f"""
        import subprocess, sys, time
        from tinyae.workbook.sandbox import become_subreaper, reap_all
        assert become_subreaper()
        subprocess.run(["sh", "-c", "(setsid sh -c 'sleep 2; touch {marker}' &) ; exit 0"])
        time.sleep(0.3)
        print(reap_all())
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) >= 1  # it found the orphan
    time.sleep(2.5)
    assert not marker.exists()


def test_cpu_time_is_limited_and_so_is_waiting(tmp_path, unscreened):
    spin = submission(tmp_path / "spin", honest_key().replace(
        "return dout @ self.W.T", "while True: pass"))
    start = time.perf_counter()
    forward, backward = grade(spin, DENSE, timeout=2)
    assert forward.passed and "timed out after 2 s — an infinite loop?" in backward.hint
    sleep = submission(tmp_path / "sleep", honest_key().replace(
        "return x @ self.W + self.b", "import time; time.sleep(600)"))
    (forward,) = grade(sleep, [FORWARD], timeout=1)
    assert "timed out after 3 s of waiting" in forward.hint
    assert time.perf_counter() - start < 60


def test_memory_is_limited(tmp_path, unscreened):
    """6 GB of address space is refused in the child (np.empty would not even touch it)."""
    greedy = submission(tmp_path / "greedy", honest_key().replace(
        "return x @ self.W + self.b", "np.empty(6 * 2**30 // 8)\n        return x @ self.W + self.b"))
    (forward,) = grade(greedy, [FORWARD], timeout=20)
    assert not forward.passed and "MemoryError" in forward.hint


def test_the_class_csv_cannot_hold_a_formula(tmp_path):
    submissions = tmp_path / "class"
    submission(submissions / '=HYPERLINK("http://x","y")', blank())
    submission(submissions / "+cmd", blank())
    grade_class(submissions, tmp_path / "grades.csv", [FORWARD, FORWARD], timeout=20, seed=1)
    rows = (tmp_path / "grades.csv").read_text().splitlines()
    assert rows[0].split(",")[:3] == ["student", FORWARD, "total"]  # the task once
    for row in rows[1:]:
        assert not row.lstrip('"').startswith(("=", "+", "-", "@")), row


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the subreaper is Linux's")
def test_no_process_of_a_task_outlives_its_grading(tmp_path, unscreened, monkeypatch):
    """Every process of the task carries a marker in its environment (TINYAE_* variables
    reach the child): after grading, no live process holds it."""
    marker = f"{os.getpid()}-{time.monotonic_ns()}"
    monkeypatch.setenv("TINYAE_TEST_MARKER", marker)
    student = submission(tmp_path / "eve", blank(), """
        import os
        try:
            os.fork()
        except OSError as error:
            open("refused.txt", "w").write(str(error))
        """)
    grade(student, [FORWARD], timeout=20)
    time.sleep(0.2)

    def marked(pid: str) -> bool:
        try:
            return f"TINYAE_TEST_MARKER={marker}".encode() in Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            return False

    assert not [pid for pid in os.listdir("/proc") if pid.isdigit() and pid != str(os.getpid())
                and marked(pid)]
