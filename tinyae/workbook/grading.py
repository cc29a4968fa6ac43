"""Grade a workbook: the student's code in a walled process, every verdict here.

For each task the grader starts a supervised child (``sandbox.py``) that holds a copy of
the workbook in an empty folder of its own, loads it, and then only answers requests:
the task's checks run *here*, in the grader's process, on a ``remote.Remote`` of the
student's class, with inputs drawn here from the teacher's ``seed``.  The student's
code can therefore compute wrong numbers, loop, crash or print anything, but it never
sees the checks, the reference code or the report, and a grade is never something it
writes.  Before anything runs, ``screen.py`` reads the source: a task whose class is
borrowed from tinyae (or copied from the answer key) scores 0 with the reason, and code
that defeats reading (``exec``, ``getattr(tinyae, …)``, ``import os`` …) scores 0 on
every task.  After grading, every file of the submissions is compared with its bytes
before (``Guard``): a change is undone and reported.

A task whose process hangs (``timeout`` seconds of CPU time, or three times as long on
the wall clock), crashes or exits fails with a hint saying how; a workbook that cannot
be loaded fails every task the same way, and is loaded only once.
``write_gradescope`` writes Gradescope's ``results.json``; ``grade_class`` grades a
folder of submissions (a sub-folder or a file per student, ``students``) into one CSV
row and one feedback file per student.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from tinyae.workbook import TASKS, Task, TaskResult, check_task, get_task
from tinyae.workbook.feedback import check_rows, feedback_markdown, lost_points
from tinyae.workbook.remote import ChildGone, Connection, StudentError, receive
from tinyae.workbook.sandbox import GRACE, command
from tinyae.workbook.screen import screen, zeroed
from tinyae.workbook.source import SUFFIXES, WorkbookError, code_cells, find_workbook

DEFAULT_TIMEOUT = 60.0  # CPU seconds per task: the checks take ~1 s, a student's loop forever
WALL = 3.0  # × timeout: the wall-clock limit, for code that sleeps or waits instead of computing
STDERR_TAIL = 2000  # characters of a crashed process's stderr kept as the task's details
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
              "MKL_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
NOT_STUDENTS = ("__pycache__", "__MACOSX")  # folders Python and macOS's zip leave in an export
WORKBOOK_WORD = re.compile(r"[\s_.-]*workbook$", re.IGNORECASE)  # "alice_1234_workbook" -> "alice_1234"


class Graded(NamedTuple):
    """One task's result and, if the check gave none, a note for the teacher saying why."""

    result: TaskResult
    note: str  # "" for a result the check gave; "1.3: timed out …", or why the workbook failed


def grade(workbook: str | os.PathLike, task_ids: Sequence[str] | None = None,
          timeout: float = DEFAULT_TIMEOUT, seed: int = 0,
          jobs: int | None = None) -> list[TaskResult]:
    """Check the tasks ``task_ids`` (default: all of ``TASKS``) of a workbook.

    ``workbook`` is the workbook file, or a folder holding it (``find_workbook`` says
    which file counts).  Each task runs in its own walled process for at most ``timeout``
    CPU seconds; a task whose process hangs or crashes fails with a hint saying so, and
    the others are still graded.  ``seed`` draws the checks' inputs; ``jobs`` tasks run at
    a time (default: one per core).  Unknown task ids raise ``ValueError`` (listing the
    ids) before any runs.
    """
    path = Path(workbook).resolve()
    if not path.exists():
        new = "" if path.suffix.lower() in SUFFIXES else (
            f"; make a workbook there with `tinyae workbook new {shlex.quote(str(path))}`")
        raise FileNotFoundError(f"{path}: no such folder or file{new}")
    tasks = _tasks(task_ids)
    with Guard(path) as guard:
        graded = grade_tasks(path, tasks, timeout, seed, deny=[], jobs=jobs)
    return [g.result for g in _guarded(graded, guard.changed)]


def grade_tasks(folder: Path, tasks: Iterable[Task], timeout: float = DEFAULT_TIMEOUT,
                seed: int = 0, deny: Sequence[Path] = (), jobs: int | None = None) -> list[Graded]:
    """``Graded`` for each task, ``jobs`` tasks at a time (default: one per core).

    ``folder`` holds the workbook or is the file itself (``find_workbook``).  The first
    task runs alone: a workbook that cannot be loaded is found once and fails the other
    tasks without running them.  ``deny`` are folders (or files) the student's process may
    not read (the other submissions, the grader's outputs).  Running tasks side by side is
    fair because a task's limit is its own CPU time, which the others' load does not consume.
    """
    _posix()
    try:
        path = find_workbook(folder)
        screening = screen(code_cells(path))
    except WorkbookError as error:
        problem = f"the workbook cannot be loaded: {error}"
        return [Graded(_failed(task, problem), problem) for task in tasks]
    graded: dict[str, Graded] = {}
    todo = []
    for task in tasks:
        reason = zeroed(screening, task.id)
        if reason:
            graded[task.id] = Graded(_failed(task, reason), f"{task.id}: {reason}")
        else:
            todo.append(task)
    if todo:
        first, loaded = _run(path, todo[0], timeout, seed, deny)
        graded[todo[0].id] = first
        if not loaded:
            graded.update({task.id: Graded(_failed(task, first.note), first.note)
                           for task in todo[1:]})
        else:
            with ThreadPoolExecutor(jobs or os.cpu_count() or 1) as pool:
                runs = pool.map(lambda task: _run(path, task, timeout, seed, deny)[0], todo[1:])
                graded.update({task.id: run for task, run in zip(todo[1:], runs)})
    return [graded[task.id] for task in tasks if task.id in graded]


def _tasks(task_ids: Sequence[str] | None) -> list[Task]:
    """The tasks to grade, in workbook order, each once; ``get_task`` refuses an unknown id."""
    if task_ids is None:
        return list(TASKS)
    wanted = {get_task(task_id).id for task_id in task_ids}
    return [task for task in TASKS if task.id in wanted]


def _posix() -> None:
    """Grading's walls need POSIX processes and pipes (Linux, macOS): elsewhere, say so."""
    if os.name != "posix":
        raise OSError("grading runs the student's code in walled POSIX processes: run "
                      "`tinyae workbook check` on Linux or macOS (on Windows, inside WSL); "
                      "in a notebook, check_task(\"1.2\", Dense) checks one exercise anywhere")


def _run(path: Path, task: Task, timeout: float, seed: int,
         deny: Sequence[Path]) -> tuple[Graded, bool]:
    """Check ``task`` against a child holding the workbook: ``(graded, whether it loaded)``."""
    wall = WALL * timeout
    with tempfile.TemporaryDirectory(prefix="tinyae-grade-") as tmp:
        work = Path(tmp, "work")
        work.mkdir()
        shutil.copyfile(path, work / path.name)
        to_child, child_reads = os.pipe()[::-1]
        child_writes, from_child = os.pipe()[::-1]
        config: dict[str, Any] = {
            "work": str(work), "workbook": path.name, "fds": [child_reads, child_writes],
            "cpu": timeout, "wall": wall, "env": _child_env(work), "deny": [str(d) for d in deny]}
        errors = Path(tmp, "stderr.txt")
        with errors.open("wb") as stderr:
            supervisor = subprocess.Popen(
                command("supervise", config), pass_fds=(child_reads, child_writes),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, cwd=work,
                env=config["env"], start_new_session=True)
        os.close(child_reads)
        os.close(child_writes)
        try:
            outcome = _converse(Connection(to_child, from_child, time.monotonic() + wall),
                                task, seed)
        finally:
            os.close(to_child)
            os.close(from_child)
        report = _wait(supervisor, wall)
        tail = _tail(errors)
    if isinstance(outcome, TaskResult):
        return Graded(outcome, ""), True
    loaded, gone = outcome
    if gone.startswith("load_error:"):
        problem = f"the workbook cannot be loaded: {gone.removeprefix('load_error:')}"
        return Graded(_failed(task, problem), problem), False
    where = "" if loaded else " in the workbook's top-level code"
    status = report.get("status")
    if report.get("wall") or gone == "timed out":
        problem = f"timed out after {wall:g} s of waiting{where} — sleeping, or waiting for input?"
    elif status in (-signal.SIGXCPU, -signal.SIGKILL) and not report.get("stopped"):
        problem = f"timed out after {timeout:g} s{where} — an infinite loop?"
    elif status is None or gone.startswith("broke"):
        problem = f"the process {gone}{where}"
    else:
        problem = f"the process crashed{where}: {_exit_reason(status, tail)}"
    # A problem in the top-level code is the workbook's, not this task's: noted without the id.
    note = f"{task.id}: {problem}" if loaded else problem
    return Graded(_failed(task, problem, tail), note), loaded


def _converse(connection: Connection, task: Task, seed: int) -> TaskResult | tuple[bool, str]:
    """The task's result, or ``(loaded, how the child went)`` if it stopped answering."""
    loaded = False
    try:
        first = receive(connection.from_child, connection.deadline)
        if "load_error" in first:
            return False, f"load_error:{first['load_error']}"
        loaded = True
        try:
            obj = connection.request("name", name=task.name)
        except StudentError:
            return check_task(task.id, namespace={}, seed=seed)  # "the workbook defines no …"
        return check_task(task.id, obj, seed=seed)
    except ChildGone as gone:
        return loaded, str(gone)


def _wait(supervisor: subprocess.Popen, wall: float) -> dict[str, Any]:
    """The supervisor's report, once it and every process of the task are gone."""
    try:
        out, _ = supervisor.communicate(timeout=wall + 4 * GRACE)
    except subprocess.TimeoutExpired:  # the supervisor itself is stuck: end it the hard way
        supervisor.send_signal(signal.SIGTERM)
        try:
            out, _ = supervisor.communicate(timeout=2 * GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(supervisor.pid, signal.SIGKILL)
            out, _ = supervisor.communicate()
    try:
        return json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"status": supervisor.returncode}


def _child_env(work: Path) -> dict[str, str]:
    """The environment of a grading process: little of the grader's.

    Figures are drawn without a window (``plt.show()`` must not wait for someone to
    close it), matplotlib keeps its cache in the work folder, and BLAS uses one thread
    unless the teacher set another number: the checks multiply small matrices, and on a
    busy machine BLAS threads waiting for a core made the capstone 6-18 times slower.
    tinyae's own settings (``TINYAE_*``: the data folder, offline mode) pass through.
    """
    env = {name: value for name, value in os.environ.items()
           if name in PASSED_ENV or name.startswith("TINYAE_")}
    env.update(MPLBACKEND="Agg", MPLCONFIGDIR=str(work / ".matplotlib"), HOME=str(work),
               TMPDIR=str(work))
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


class Guard:
    """Every file below ``root`` (or ``root`` itself, a file), its bytes kept, to find and undo
    any change grading made.

    The walls should make this find nothing; it is the check that they held.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.single = root.is_file()
        self.base = root.parent if self.single else root  # changed files are named from here
        self.files: dict[Path, bytes] = {}
        self.changed: list[str] = []

    def __enter__(self) -> Guard:
        self.files = {path: path.read_bytes() for path in self.now()}
        return self

    def __exit__(self, *_: Any) -> None:
        self.changed = self.restore()

    def now(self) -> set[Path]:
        """The files being guarded, as they are now."""
        if self.single:
            return {self.root} if self.root.is_file() else set()
        return {path for path in self.root.rglob("*") if path.is_file()}

    def restore(self) -> list[str]:
        """The files changed, removed or added since ``__enter__``, each put back as it was."""
        now = self.now()
        changed = []
        for path, data in self.files.items():
            if path not in now or _digest(path.read_bytes()) != _digest(data):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                changed.append(str(path.relative_to(self.base)))
        for path in now - set(self.files):
            path.unlink()
            changed.append(str(path.relative_to(self.base)))
        return changed


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _guarded(graded: list[Graded], changed: list[str]) -> list[Graded]:
    """``graded``, with a note on the first task if grading changed a file (then undone)."""
    if not changed or not graded:
        return graded
    note = (f"a grading process changed {', '.join(changed)}; the files were restored "
            f"from before grading")
    first = graded[0]
    return [Graded(first.result, "; ".join(filter(None, [first.note, note]))), *graded[1:]]


def _tail(path: Path) -> str:
    """The last ``STDERR_TAIL`` characters of a file (a looping student may have written MBs)."""
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
    """A failed result with no points for ``task``: every sub-check failed with ``hint``."""
    total = sum(weight for _, weight in task.subchecks)
    checks = [{"name": name, "points": 0.0, "max_points": task.points * weight / total,
               "passed": False, "hint": hint} for name, weight in task.subchecks]
    return TaskResult(task_id=task.id, title=task.title, points=0.0,
                      max_points=float(task.points), passed=False, hint=hint, details=details,
                      checks=checks)


# --- Gradescope and class CSV ----------------------------------------------------------

def gradescope_json(results: Sequence[TaskResult], seed: int | None = None) -> dict[str, Any]:
    """The results in Gradescope's autograder format (``results.json``).

    Top level: ``score`` (the total) and ``output``; ``tests``: one per sub-check of each
    task, with ``name`` ("1.2 Dense.backward: db"), ``number`` (the task id), ``score``,
    ``max_score``, ``status`` ("passed"/"failed") and ``output`` (the hint a student sees;
    the task's details on its first failing sub-check).
    """
    passed = sum(result.passed for result in results)
    tests = []
    for result in results:
        rows = check_rows(result)
        shown = False
        for row in rows:
            details = result.details if not row["passed"] and not shown else ""
            shown = shown or not row["passed"]
            tests.append({
                "name": f"{result.task_id} {result.title}" + (f": {row['name']}"
                                                               if len(rows) > 1 else ""),
                "number": result.task_id,
                "score": float(row["points"]),
                "max_score": float(row["max_points"]),
                "status": "passed" if row["passed"] else "failed",
                "output": "\n\n".join(filter(None, [row["hint"], details])),
                "visibility": "visible",
            })
    seeded = f" (inputs drawn with seed {seed})" if seed is not None else ""
    return {"score": float(sum(result.points for result in results)),
            "output": f"{passed} of {len(results)} tasks pass{seeded}", "tests": tests}


def write_gradescope(results: Sequence[TaskResult], path: str | os.PathLike,
                     seed: int | None = None) -> Path:
    """Write ``gradescope_json(results)`` to ``path`` (e.g. /autograder/results/results.json).

    Written to a new file, then renamed over ``path``: a reader never sees half a file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(gradescope_json(results, seed), indent=2, ensure_ascii=False)
                       + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def cell(text: str) -> str:
    """``text`` safe in a spreadsheet cell: one starting with = + - @ (a formula) gets a '."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def students(folder: Path) -> dict[str, Path]:
    """The students in ``folder``, each with what they handed in: ``{"ada": …/ada, …}``.

    A sub-folder is one student, named after it (the workbook inside is found by
    ``find_workbook``); so is each ``.py`` or ``.ipynb`` file of a flat folder (an LMS's
    export), named after the file without its extension and a trailing "workbook":
    ``alice_1234_workbook.py`` is "alice_1234", ``hw1_frank.py`` "hw1_frank", and
    ``Workbook.py`` keeps "Workbook".  Hidden entries and ``NOT_STUDENTS`` are skipped, and
    so are other files (a README, a CSV).  A name taken already — ignoring case, so that
    the feedback files differ on any file system — gets "-2", "-3", … in order (sorted, ignoring case).
    Every name is part of a file name in ``folder``, so ``<name>.md`` stays in its folder.
    """
    names: dict[str, Path] = {}
    taken: set[str] = set()
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name.casefold()):
        if entry.name.startswith(".") or entry.name in NOT_STUDENTS:
            continue
        if entry.is_dir():
            base = entry.name
        elif entry.is_file() and entry.suffix.lower() in SUFFIXES:
            base = WORKBOOK_WORD.sub("", entry.stem) or entry.stem
        else:
            continue
        name, count = base, 1
        while name.casefold() in taken:
            count += 1
            name = f"{base}-{count}"
        taken.add(name.casefold())
        names[name] = entry
    return names


def grade_class(submissions: str | os.PathLike, csv_path: str | os.PathLike,
                task_ids: Sequence[str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                seed: int = 0, jobs: int | None = None,
                feedback: str | os.PathLike | None = None,
                progress: Callable[[str], Any] | None = None,
                rescore: Callable[[list[TaskResult]], list[TaskResult]] | None = None,
                ) -> dict[str, list[TaskResult]]:
    """Grade every student of ``submissions`` into ``csv_path`` and a feedback folder.

    The students are the sub-folders or the workbook files of the folder (``students``).
    The CSV has one row per student: ``student``, the points of each task (a column per
    task id), ``total``, ``out of``, ``notes`` (why tasks gave no result: a workbook that
    cannot be loaded, a time-out, a crash, a borrowed class; a file grading changed),
    ``lost`` (each lost point and its reason, ``feedback.lost_points``) and ``file`` (the
    workbook graded, from ``submissions``).  ``feedback`` (default: the CSV's
    name + "-feedback", beside it) gets ``<student>.md`` for each student: every task
    and sub-check, with its points and hint (``feedback.feedback_markdown``).

    A broken submission only fills its own row; no process of one student's can read
    another's submission or the grader's outputs, and every file of the submissions is
    the same after grading as before (a change is undone and noted).  Rows and feedback
    are written as students finish, so a run cut short keeps them.  ``progress`` is
    called with a line per student ("ada: 40/40").  ``rescore`` (a rubric's ``apply``) puts
    the teacher's points on each student's results before anything is written.  Returns
    the results by student.
    """
    folder = Path(submissions).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder; SUBMISSIONS is the folder holding "
                                f"one sub-folder or one workbook file per student")
    handed_in = students(folder)
    if not handed_in:
        raise FileNotFoundError(f"{folder} holds no submissions: expected one sub-folder per "
                                f"student (holding the workbook), or one .py or .ipynb file each")
    csv_path, notes_folder = class_outputs(folder, csv_path, feedback)
    notes_folder.mkdir(parents=True, exist_ok=True)
    tasks = _tasks(task_ids)
    results: dict[str, list[TaskResult]] = {}
    with Guard(folder) as guard, csv_path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", *(task.id for task in tasks), "total", "out of", "notes",
                         "lost", "file"])
        for name, submission in handed_in.items():
            graded = grade_tasks(submission, tasks, timeout, seed,
                                 deny=[folder, csv_path, notes_folder], jobs=jobs)
            graded = _guarded(graded, guard.restore())
            if rescore:
                graded = [g._replace(result=result)
                          for g, result in zip(graded, rescore([g.result for g in graded]))]
            results[name] = [g.result for g in graded]
            out_of = sum(g.result.max_points for g in graded)
            total = sum(g.result.points for g in graded)
            notes = "; ".join(dict.fromkeys(g.note for g in graded if g.note))  # each once
            workbook = _graded_file(submission, folder)
            writer.writerow([cell(text) for text in (
                name, *(f"{g.result.points:g}" for g in graded), f"{total:g}", f"{out_of:g}",
                notes, lost_points(results[name]), workbook)])
            file.flush()
            (notes_folder / f"{name}.md").write_text(
                feedback_markdown(name, results[name], workbook, seed), encoding="utf-8")
            if progress:
                progress(f"{name}: {total:g}/{out_of:g}" + (f"  ({notes})" if notes else ""))
    return results


def class_outputs(submissions: str | os.PathLike, csv_path: str | os.PathLike,
                  feedback: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """Where ``grade_class`` writes: the CSV and the feedback folder (default: beside the CSV,
    its name + "-feedback"), as absolute paths.

    Raises ``ValueError`` if either is inside ``submissions``: grading keeps that folder
    exactly as it was, so it would delete them again.
    """
    folder, csv_path = Path(submissions).resolve(), Path(csv_path).resolve()
    notes = Path(feedback).resolve() if feedback is not None else csv_path.with_name(
        csv_path.stem + "-feedback")
    for output, what in ((csv_path, "the CSV"), (notes, "the feedback")):
        if output.is_relative_to(folder):
            raise ValueError(f"{output} is inside {folder}: write {what} outside the submissions "
                             f"(grading keeps that folder exactly as it was)")
    return csv_path, notes


def _graded_file(handed_in: Path, folder: Path) -> str:
    """The workbook of a submission, named from ``folder``; "" if it has none."""
    try:
        return str(find_workbook(handed_in).relative_to(folder))
    except WorkbookError:
        return ""
