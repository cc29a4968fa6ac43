"""Grade a workbook: every task in a process of its own, with a time limit.

A student's code can loop forever or end the interpreter (``sys.exit``, ``os._exit``,
a segmentation fault in a C extension).  Checked in the grader's own process, one such
task would take the grades of all the others with it.  So each task runs in a fresh

    python -m tinyae.workbook.grading FOLDER TASK_ID REPORT_FILE

which loads the workbook (``load_workbook``), checks the one task (``check_task``) and
writes JSON lines into REPORT_FILE — a file, not stdout, because the student's code
may print anything there.  The lines are ``{"loaded": true}`` once the workbook's
top-level code has run, then ``{"result": <TaskResult>}``; or ``{"load_error": …}``.
The parent waits ``timeout`` seconds, then kills the process: a missing result becomes
a failed task that says why ("timed out after 5 s — an infinite loop?", "the process
crashed: killed by SIGSEGV").  A workbook that cannot be loaded at all (missing, a
syntax error, a crash or a loop in its top-level code) fails every task the same way,
so its other tasks are not run again.

``write_gradescope`` writes Gradescope's ``results.json``; ``grade_class`` grades a
folder of submissions into one CSV row per student.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import tinyae
from tinyae.workbook import (
    TASKS,
    Task,
    TaskResult,
    WorkbookError,
    check_task,
    get_task,
    load_workbook,
)

DEFAULT_TIMEOUT = 60.0  # seconds per task: the checks take ~1 s, a student's loop forever
STDERR_TAIL = 2000  # characters of a crashed process's stderr kept as the task's details


class Graded(NamedTuple):
    """One task's result and, if its process gave none, a note for the teacher saying why."""

    result: TaskResult
    note: str  # "" for a result the check gave; "1.3: timed out …", or why the workbook failed


def grade(folder: str | os.PathLike, task_ids: Sequence[str] | None = None,
          timeout: float = DEFAULT_TIMEOUT) -> list[TaskResult]:
    """Check the tasks ``task_ids`` (default: all of ``TASKS``) of the workbook in ``folder``.

    Each task runs in its own process for at most ``timeout`` seconds; a task whose
    process hangs or crashes fails with a hint saying so, and the others are still
    graded.  Unknown task ids raise ``ValueError`` (listing the ids) before any runs.
    """
    return [graded.result for graded in grade_tasks(folder, _tasks(task_ids), timeout)]


def grade_tasks(folder: str | os.PathLike, tasks: Iterable[Task],
                timeout: float = DEFAULT_TIMEOUT) -> list[Graded]:
    """``Graded`` for each task; a workbook that failed to load is loaded only once."""
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder; make one with "
                                f"`tinyae workbook new {folder.name}`")
    graded: list[Graded] = []
    unloadable = ""  # why the workbook cannot be loaded, once a task has found out
    for task in tasks:
        if unloadable:
            graded.append(Graded(_failed(task, unloadable), unloadable))
            continue
        outcome, loaded = _run(folder, task, timeout)
        graded.append(outcome)
        if not loaded:
            unloadable = outcome.note
    return graded


def _tasks(task_ids: Sequence[str] | None) -> list[Task]:
    """The tasks to grade, in workbook order; ``get_task`` refuses an unknown id."""
    return list(TASKS) if task_ids is None else [get_task(task_id) for task_id in task_ids]


def _run(folder: Path, task: Task, timeout: float) -> tuple[Graded, bool]:
    """Check ``task`` in a child process: ``(graded, whether the workbook loaded)``."""
    with tempfile.TemporaryDirectory(prefix="tinyae-grade-") as tmp:
        report, errors = Path(tmp, "report.jsonl"), Path(tmp, "stderr.txt")
        # -X faulthandler: a segmentation fault prints the Python line it happened at.
        command = [sys.executable, "-X", "faulthandler", "-m", "tinyae.workbook.grading",
                   str(folder), task.id, str(report)]
        with errors.open("wb") as stderr:
            try:
                status: int | None = subprocess.run(
                    command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=stderr, cwd=folder, env=_child_env(), timeout=timeout).returncode
            except subprocess.TimeoutExpired:  # run() has killed the child
                status = None
        lines = _read_report(report)
        tail = _tail(errors)
    if "result" in lines:
        return Graded(TaskResult(**lines["result"]), ""), True
    if "load_error" in lines:
        problem = f"the workbook cannot be loaded: {lines['load_error']}"
        return Graded(_failed(task, problem), problem), False
    loaded = "loaded" in lines
    where = "" if loaded else " in the workbook's top-level code"
    if status is None:
        problem = f"timed out after {timeout:g} s{where} — an infinite loop?"
    else:
        problem = f"the process crashed{where}: {_exit_reason(status, tail)}"
    # A problem in the top-level code is the workbook's, not this task's: noted without the id.
    note = f"{task.id}: {problem}" if loaded else problem
    return Graded(_failed(task, problem, tail), note), loaded


def _child_env() -> dict[str, str]:
    """The environment of a grading process.

    The child imports this very tinyae (its folder goes first on PYTHONPATH, wherever
    the child's working directory is), and draws figures without a window: ``plt.show()``
    in a student's code must not wait for someone to close it.  One BLAS thread unless
    the teacher set another number: the checks multiply small matrices, and on a busy
    machine BLAS threads waiting for a core made the capstone 6-18 times slower, close to
    the time limit.
    """
    env = dict(os.environ, MPLBACKEND="Agg")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    root = str(Path(tinyae.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH", "")]))
    return env


def _read_report(path: Path) -> dict[str, Any]:
    """The child's JSON lines merged into one dict; a line cut short by a crash is skipped."""
    merged: dict[str, Any] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                merged.update(json.loads(line))
            except (ValueError, TypeError):  # JSONDecodeError is a ValueError
                continue
    return merged


def _tail(path: Path) -> str:
    """The last ``STDERR_TAIL`` characters of a file (a looping student may have written GBs)."""
    with path.open("rb") as file:
        file.seek(max(0, path.stat().st_size - 4 * STDERR_TAIL))
        return file.read().decode("utf-8", errors="replace")[-STDERR_TAIL:].strip()


def _exit_reason(status: int, stderr: str) -> str:
    """Why a process ended without a result, from its exit status and its stderr."""
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        segfault = name == "SIGSEGV"
        return f"killed by {name}" + (" (a segmentation fault, in C code)" if segfault else "")
    if stderr:
        return f"exit status {status}, {stderr.splitlines()[-1]}"
    return (f"it exited with status {status} before reporting a result: sys.exit() or "
            "os._exit() in the code?")


def _failed(task: Task, hint: str, details: str = "") -> TaskResult:
    """A failed result with no points for ``task``."""
    return TaskResult(task_id=task.id, title=task.title, points=0.0,
                      max_points=float(task.points), passed=False, hint=hint, details=details)


# --- Gradescope and class CSV ----------------------------------------------------------

def gradescope_json(results: Sequence[TaskResult]) -> dict[str, Any]:
    """The results in Gradescope's autograder format (``results.json``).

    Top level: ``score`` (the total) and ``output``; ``tests``: one per task with
    ``name``, ``number`` (the task id), ``score``, ``max_score``, ``status``
    ("passed"/"failed") and ``output`` (the hint and details a student sees).
    """
    passed = sum(result.passed for result in results)
    return {
        "score": float(sum(result.points for result in results)),
        "output": f"{passed} of {len(results)} tasks pass",
        "tests": [{
            "name": f"{result.task_id} {result.title}",
            "number": result.task_id,
            "score": float(result.points),
            "max_score": float(result.max_points),
            "status": "passed" if result.passed else "failed",
            "output": "\n\n".join(filter(None, [result.hint, result.details])),
            "visibility": "visible",
        } for result in results],
    }


def write_gradescope(results: Sequence[TaskResult], path: str | os.PathLike) -> Path:
    """Write ``gradescope_json(results)`` to ``path`` (e.g. /autograder/results/results.json)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(gradescope_json(results), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def grade_class(submissions: str | os.PathLike, csv_path: str | os.PathLike,
                task_ids: Sequence[str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                verbose: bool = False) -> dict[str, list[TaskResult]]:
    """Grade every sub-folder of ``submissions`` (one per student) into ``csv_path``.

    The CSV has one row per student: ``student`` (the folder's name), the points of
    each task (a column per task id), ``total``, ``out of`` and ``notes`` (why tasks
    gave no result: a workbook that cannot be loaded, a time-out, a crash).  A broken
    submission only fills its own row.  Rows are written as students finish, so a run
    cut short keeps them.  ``verbose`` prints a line per student.  Returns the results
    by student.
    """
    folder = Path(submissions)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder: expected one sub-folder per student")
    students = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise FileNotFoundError(f"{folder} has no sub-folders: expected one per student, "
                                "each holding the student's workbook")
    tasks = _tasks(task_ids)
    out_of = sum(task.points for task in tasks)
    results: dict[str, list[TaskResult]] = {}
    with open(csv_path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", *(task.id for task in tasks), "total", "out of", "notes"])
        for student in students:
            graded = grade_tasks(student, tasks, timeout)
            results[student.name] = [g.result for g in graded]
            total = sum(g.result.points for g in graded)
            notes = "; ".join(dict.fromkeys(g.note for g in graded if g.note))  # each once
            writer.writerow([student.name, *(f"{g.result.points:g}" for g in graded),
                             f"{total:g}", f"{out_of:g}", notes])
            file.flush()
            if verbose:
                print(f"{student.name}: {total:g}/{out_of:g}" + (f"  ({notes})" if notes else ""))
    return results


# --- the grading process ---------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """The child: load FOLDER's workbook, check TASK_ID, write the JSON lines to REPORT_FILE."""
    folder, task_id, report_path = argv if argv is not None else sys.argv[1:]
    with open(report_path, "w", encoding="utf-8") as report:  # opened first: the code may chdir
        def write(**entry: Any) -> None:
            report.write(json.dumps(entry) + "\n")
            report.flush()  # what is written survives a crash in what follows

        try:
            namespace = load_workbook(folder)
        except WorkbookError as error:
            write(load_error=str(error))
            return 0
        write(loaded=True)
        write(result=asdict(check_task(task_id, namespace=namespace)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
