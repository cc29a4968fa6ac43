"""The teacher's rubric: which tasks are graded, their points, the time limit and the seed.

A rubric is one TOML file.  ``write_rubric`` writes today's settings as a start, each
explained in a comment; ``load_rubric`` reads one back, checking everything::

    seed = 2718                      # draws every check's inputs: same seed, same grades
    timeout = 30                     # CPU seconds each task may use
    jobs = 2                         # tasks checked at a time (default: one per core)
    include = ["1.1", "1.2", "6.1"]  # the tasks graded (default: every task)

    [tasks."1.2"]
    points = 6                       # the task's points (default: the workbook's)
    checks = { db = 2 }              # a sub-check's own points; the others share the rest

Two keys, two jobs: ``include`` chooses the tasks and a ``[tasks."<id>"]`` table sets
one task's points.  Giving one task new points therefore never drops the others, and a
rubric without ``include`` grades every task, a task added to the workbook later too.

A task's points are a whole number (the workbook shows "(6 points)").  Its sub-checks
share them in proportion to their weights (``Task.subchecks``); a sub-check given
points of its own under ``checks`` keeps them, and the others share what is left.
``Rubric.apply`` puts these points on the results the checks return, which always
carry the workbook's points.  TOML is read with the standard library's ``tomllib``, so
a rubric needs Python 3.11 or newer; without one, everything works on 3.10.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import secrets
import sys
import textwrap
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tinyae.workbook import parts
from tinyae.workbook.grading import DEFAULT_TIMEOUT
from tinyae.workbook.task import END, SOLUTION, Part, Task, TaskResult

if sys.version_info >= (3, 11):  # Python 3.10 has no tomllib, and needs none without a rubric
    import tomllib

MAX_SEED = 2**32 - 1  # NumPy's seeds, and the CLI's --seed, go up to here
SETTINGS = ("seed", "timeout", "jobs", "include", "tasks")  # the keys of a rubric
TASK_SETTINGS = ("points", "checks")  # the keys of a [tasks."<id>"] table
WIDTH = 88  # the comments of a written rubric, wrapped


class RubricError(ValueError):
    """A rubric that cannot be used; the message names the file, each wrong key and its fix."""


@dataclass(frozen=True)
class Rubric:
    """The settings of one course's grading.

    ``tasks`` are the ids graded, in workbook order; ``points`` each one's points;
    ``checks`` the sub-checks given points of their own (task id → {sub-check: points});
    ``timeout`` the CPU seconds each task may use; ``seed`` draws the checks' inputs
    (``None``: ``check`` uses 0, ``grade`` draws a new one); ``jobs`` tasks are checked at
    a time (``None``: one per core).  ``source`` names the rubric in messages.
    """

    tasks: tuple[str, ...]
    points: dict[str, int]
    checks: dict[str, dict[str, float]] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    seed: int | None = None
    jobs: int | None = None
    source: str = field(default="the default rubric", compare=False)

    @property
    def total(self) -> int:
        """The points of the whole workbook: what "out of" means."""
        return sum(self.points.values())

    def check_points(self, task_id: str) -> dict[str, float]:
        """Every sub-check of the task → its points under this rubric.

        A sub-check given points keeps them; the others share the rest of the task's
        points in proportion to their weights.
        """
        given = self.checks.get(task_id, {})
        shared = [(name, weight) for name, weight in _task(task_id).subchecks if name not in given]
        left = self.points[task_id] - sum(given.values())
        total = sum(weight for _, weight in shared)
        return {name: given[name] if name in given else left * weight / total
                for name, weight in _task(task_id).subchecks}

    def apply(self, results: Sequence[TaskResult]) -> list[TaskResult]:
        """``results`` with this rubric's points: each sub-check row and each task's total.

        A row keeps its share of its points (a passed row earns all of its new points, a
        failed one none) and the task's points are the sum of its rows; a result without
        rows is scaled as a whole.  A result of a task this rubric does not grade raises
        ``RubricError``.
        """
        unknown = [result.task_id for result in results if result.task_id not in self.points]
        if unknown:
            raise RubricError(f"{self.source} does not grade {', '.join(unknown)}: it grades "
                              f"{', '.join(self.tasks)}")
        return [self._rescored(result) for result in results]

    def _rescored(self, result: TaskResult) -> TaskResult:
        out_of = self.points[result.task_id]
        if not result.checks:
            return replace(result, points=result.points * out_of / result.max_points,
                           max_points=float(out_of))
        worth = self.check_points(result.task_id)
        rows = [{**row, "points": worth[row["name"]] * row["points"] / row["max_points"],
                 "max_points": worth[row["name"]]} for row in result.checks]
        return replace(result, points=round(sum(row["points"] for row in rows), 6),
                       max_points=float(out_of), checks=rows)

    def only(self, task_ids: Iterable[str]) -> Rubric:
        """This rubric for some of its tasks (``check --task 1.2``); a ``RubricError`` for a
        task it does not grade."""
        wanted = set(task_ids)
        missing = sorted(wanted - set(self.tasks))
        if missing:
            raise RubricError(f"{self.source} does not grade {', '.join(missing)}: it grades "
                              f"{', '.join(self.tasks)}; add it to the rubric's include first")
        return replace(self, tasks=tuple(task_id for task_id in self.tasks if task_id in wanted),
                       points={k: v for k, v in self.points.items() if k in wanted},
                       checks={k: v for k, v in self.checks.items() if k in wanted})

    def workbook_parts(self) -> tuple[Part, ...]:
        """The workbook's parts, for ``render``: its exercises are this rubric's tasks, with
        this rubric's points.

        Every part stays, so that every class is still defined (the capstone trains with
        all of them): a task the rubric leaves out is given — its blanks hold the answer,
        and its part's introduction says so.
        """
        return tuple(self._part(part) for part in parts.PARTS)

    def _part(self, part: Part) -> Part:
        graded = tuple(replace(task, points=self.points[task.id]) for task in part.tasks
                       if task.id in self.points)
        given = [task for task in part.tasks if task.id not in self.points]
        if not given:
            return replace(part, tasks=graded)
        names = ", ".join(f"{task.id} `{task.title}`" for task in given)
        return replace(part, tasks=graded, code=given_code(part.code, {task.id for task in given}),
                       intro=f"{part.intro}\n\nWritten out for you, and not graded this "
                             f"time: {names}.")


def given_code(code: str, task_ids: Collection[str]) -> str:
    """``code`` with the blanks of ``task_ids`` given: their markers dropped, the answers kept.

    The other blanks keep their ``# solution <id>`` … ``# end`` markers, for ``render``.
    """
    out, block = [], ""
    for line in code.splitlines():
        if start := SOLUTION.match(line):
            block = start["id"]
        if not (block in task_ids and (start or END.match(line))):
            out.append(line)
        if END.match(line):
            block = ""
    return "\n".join(out)


def default_rubric() -> Rubric:
    """Today's settings: every task with the workbook's points, the default time limit,
    no seed of its own, one job per core."""
    return Rubric(tasks=tuple(task.id for task in parts.TASKS),
                  points={task.id: task.points for task in parts.TASKS})


def _task(task_id: str) -> Task:
    """The task ``task_id``; ``parts.TASKS`` is read at each call (not imported by name), so
    a task registered in ``parts.PARTS``, or one a test adds, is seen."""
    return {task.id: task for task in parts.TASKS}[task_id]


# --- reading a rubric ----------------------------------------------------------------------

def load_rubric(path: str | os.PathLike) -> Rubric:
    """Read and check the rubric in ``path`` (TOML).

    Everything is checked before anything is graded: a ``RubricError`` names the file,
    then each problem with its key and its fix — an unknown task id (listing the ids),
    an unknown sub-check (listing the task's), points that are not a whole number ≥ 1,
    sub-checks' points that leave none for the others, a seed outside 0 … 2³² − 1, a time
    limit ≤ 0, an unknown key.
    """
    path = Path(path)
    data = _read(path)
    problems: list[str] = []
    known = {task.id: task for task in parts.TASKS}
    _unknown_keys(data, SETTINGS, "", problems)
    seed = _whole(data, "seed", 0, MAX_SEED, "e.g. seed = 2718", problems)
    jobs = _whole(data, "jobs", 1, None, "or leave jobs out: one per core", problems)
    timeout = _timeout(data, problems)
    included = _included(data.get("include"), known, problems)
    points = {task_id: known[task_id].points for task_id in included}
    checks: dict[str, dict[str, float]] = {}
    tables = data.get("tasks", {})
    if not isinstance(tables, dict):
        problems.append(f"tasks: got {_shown(tables)}; each task's points go in a table of its "
                        f'own, [tasks."1.2"] with points = 6 under it')
        tables = {}
    for task_id, table in tables.items():
        key = f'tasks."{task_id}"'
        if task_id not in known:
            problems.append(f"{key}: {_no_task(task_id, table, known)}")
        elif not isinstance(table, dict):
            problems.append(f"{key}: got {_shown(table)}; write a table, [tasks.\"{task_id}\"] "
                            f"with points = {known[task_id].points} under it")
        elif task_id not in points:
            problems.append(f'{key}: {task_id} is not in include, so it is not graded; add '
                            f'"{task_id}" to include, or delete [tasks."{task_id}"]')
        else:
            _unknown_keys(table, TASK_SETTINGS, key, problems, known[task_id])
            points[task_id] = _points(table, key, known[task_id].points, problems)
            given = _check_points(table.get("checks", {}), key, known[task_id], problems)
            if given and _shares(given, points[task_id], key, known[task_id], problems):
                checks[task_id] = given
    if problems:
        heading = f"{path}: " if len(problems) == 1 else f"{path} has {len(problems)} problems:\n  "
        raise RubricError(heading + "\n  ".join(problems))
    return Rubric(tasks=tuple(task_id for task_id in known if task_id in points), points=points,
                  checks=checks, timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
                  seed=seed, jobs=jobs, source=str(path))


def _read(path: Path) -> dict[str, Any]:
    """The TOML table in ``path``; a ``RubricError`` if there is none to read."""
    if sys.version_info >= (3, 11):
        try:
            text = path.read_text(encoding="utf-8-sig")  # -sig: a BOM, as Windows editors write
        except FileNotFoundError:
            raise RubricError(f"{path}: no such file; `tinyae workbook rubric {path}` writes one "
                              f"to start from") from None
        except (OSError, UnicodeDecodeError) as error:
            raise RubricError(f"{path}: cannot be read as UTF-8 text: {error}") from None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise RubricError(f"{path} is not valid TOML: {error}") from None
    raise RubricError(f"{path}: reading a rubric needs Python 3.11 or newer (its standard library "
                      f"reads TOML); this is Python {sys.version_info[0]}."
                      f"{sys.version_info[1]}. Use a newer Python, or grade without --rubric "
                      f"and give --task, --timeout and --seed instead")


def _shown(value: Any) -> str:
    """``value`` as TOML writes it (``true``, ``"1.2"``), or what kind of value it is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _is_number(value: Any) -> bool:
    """True for a finite TOML integer or float (``true`` is not a number; ``inf`` is not finite)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _unknown_keys(table: dict[str, Any], allowed: Sequence[str], where: str,
                  problems: list[str], task: Task | None = None) -> None:
    """A problem for each key of ``table`` that is not ``allowed``, with the likeliest fix."""
    for key in table:
        if key in allowed:
            continue
        name = f"{where}.{key}" if where else key
        close = difflib.get_close_matches(key, allowed, n=1)
        if task is not None and key in SETTINGS:
            fix = (f"{key} is a setting of the whole rubric: move it above the first [tasks…] "
                   f"line (a key below a [table] line belongs to that table)")
        elif task is not None and key in dict(task.subchecks):
            fix = f"a sub-check's points go under checks: checks = {{ {_key(key)} = 1 }}"
        elif task is None and re.fullmatch(r"[\d.]+", key):
            fix = 'a task\'s settings go in a [tasks."<id>"] table, e.g. [tasks."1.2"], the id in quotes'
        else:
            fix = f"did you mean {close[0]}?" if close else f"the keys are {', '.join(allowed)}"
        problems.append(f"{name}: not a rubric setting; {fix}")


def _whole(data: dict[str, Any], key: str, low: int, high: int | None, example: str,
           problems: list[str]) -> int | None:
    """``data[key]``, a whole number from ``low`` to ``high`` (``None``: no limit); ``None``
    if it is not given or wrong (then a problem is recorded)."""
    if key not in data:
        return None
    value = data[key]
    if (isinstance(value, int) and not isinstance(value, bool) and value >= low
            and (high is None or value <= high)):
        return value
    span = f"from {low} to {high}" if high is not None else f"≥ {low}"
    problems.append(f"{key}: got {_shown(value)}; {key} is a whole number {span}, {example}")
    return None


def _timeout(data: dict[str, Any], problems: list[str]) -> float | None:
    """The time limit: CPU seconds > 0; ``None`` if it is not given or wrong."""
    if "timeout" not in data:
        return None
    value = data["timeout"]
    if _is_number(value) and value > 0:
        return float(value)
    problems.append(f"timeout: got {_shown(value)}; the time limit is the CPU seconds each task "
                    f"may use, a number > 0 (the checks take about a second; the default is "
                    f"{DEFAULT_TIMEOUT:g})")
    return None


def _included(include: Any, known: dict[str, Task], problems: list[str]) -> list[str]:
    """The ids ``include`` lists (every task's if it is not given), each a known task once."""
    if include is None:
        return list(known)
    if not isinstance(include, list) or not include:
        got = f"got {_shown(include)}" if include != [] else "lists no task"
        problems.append(f"include: {got}; include is a list of task ids, e.g. include = "
                        f'["1.1", "1.2"], or leave it out to grade every task')
        return []
    ids: list[str] = []
    for task_id in include:
        if not isinstance(task_id, str):
            problems.append(f"include: got {_shown(task_id)}; write each task id in quotes, "
                            f'"{task_id}"')
        elif task_id not in known:
            problems.append(f"include: {_no_task(task_id, None, known)}")
        elif task_id in ids:
            problems.append(f'include: "{task_id}" is listed twice; list each task once')
        else:
            ids.append(task_id)
    return ids


def _no_task(task_id: str, table: Any, known: dict[str, Task]) -> str:
    """Why ``task_id`` is not a task: an unquoted id (``[tasks.1.2]``) is named as such."""
    if isinstance(table, dict):
        meant = [f"{task_id}.{key}" for key in table if f"{task_id}.{key}" in known]
        if meant:
            return f'an id without quotes is split at its dot: write [tasks."{meant[0]}"], in quotes'
    return f"no task {_shown(task_id)}; the tasks are {', '.join(known)}"


def _points(table: dict[str, Any], key: str, default: int, problems: list[str]) -> int:
    """The task's points: a whole number ≥ 1 (``default`` if not given, or wrong)."""
    value = table.get("points", default)
    if _is_number(value) and value >= 1 and float(value).is_integer():
        return int(value)
    problems.append(f"{key}.points: got {_shown(value)}; a task's points are a whole number ≥ 1 "
                    f"(to leave the task out, delete it from include)")
    return default


def _check_points(checks: Any, key: str, task: Task, problems: list[str]) -> dict[str, float]:
    """The sub-checks given points, each a number > 0 and a sub-check of ``task``."""
    names = dict(task.subchecks)
    if not isinstance(checks, dict):
        problems.append(f"{key}.checks: got {_shown(checks)}; write a table of sub-check "
                        f"points, checks = {{ {_key(next(iter(names)))} = 1 }}")
        return {}
    given: dict[str, float] = {}
    for name, value in checks.items():
        if name not in names:
            problems.append(f"{key}.checks: {task.id} has no sub-check {_shown(name)}; its "
                            f"sub-checks are {', '.join(map(_key, names))}")
        elif not (_is_number(value) and value > 0):
            problems.append(f"{key}.checks.{_key(name)}: got {_shown(value)}; a sub-check's "
                            f"points are a number > 0 (to give it none, lower its task's points)")
        else:
            given[name] = float(value)
    return given


def _shares(given: dict[str, float], points: int, key: str, task: Task,
            problems: list[str]) -> bool:
    """True if the sub-checks' own points leave the others a share > 0 (or, all given, add
    up to the task's points); else a problem is recorded."""
    total = sum(given.values())
    rest = [name for name, _ in task.subchecks if name not in given]
    if (rest and total < points) or (not rest and math.isclose(total, points)):
        return True
    if rest:
        problems.append(f"{key}.checks: their points add up to {total:g} of the task's {points}, "
                        f"leaving nothing for {', '.join(map(_key, rest))}; raise points, or "
                        f"lower theirs")
    else:
        problems.append(f"{key}.checks: every sub-check has points, adding up to {total:g}, but "
                        f"the task has {points}; make them add up to {points}, or set points = "
                        f"{total:g} if that is a whole number")
    return False


# --- writing one to start from ---------------------------------------------------------------

def write_rubric(path: str | os.PathLike) -> Path:
    """Write the default rubric to ``path``, commented for a teacher to edit; never overwrites.

    The seed is drawn afresh: the file fixes the course's inputs, which students' own
    checks (seed 0) do not show them.
    """
    path = Path(path)
    try:
        with path.open("x", encoding="utf-8") as file:
            file.write(_text(default_rubric(), secrets.randbelow(MAX_SEED + 1)))
    except FileExistsError:
        raise FileExistsError(f"{path} already exists; a new rubric would overwrite it. Choose "
                              f"another name, or move the old one away first.") from None
    return path


def _key(name: str) -> str:
    """``name`` as a TOML key: bare if it can be (``dW``), else quoted (``"dout left alone"``)."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def _comment(text: str) -> str:
    """``text`` as comment lines, wrapped; a non-breaking space (``\\u00a0``) joins words
    that stay on one line."""
    return "\n".join(f"# {line}".replace("\u00a0", " ") for line in textwrap.wrap(text, WIDTH - 2))


def _text(rubric: Rubric, seed: int) -> str:
    """``rubric`` as the commented TOML file ``write_rubric`` writes, with ``seed``."""
    lines = [
        _comment("The rubric of a tinyae workbook: the tasks graded, their points, the time "
                 "limit and the seed. Use it with"),
        "#     tinyae workbook new DIR --rubric rubric.toml       (a workbook of these tasks)",
        "#     tinyae workbook check DIR --rubric rubric.toml",
        "#     tinyae workbook grade SUBMISSIONS --csv grades.csv --rubric rubric.toml",
        _comment("A flag given on the command line (--task, --timeout, --seed, --jobs) wins "
                 "over this file."),
        "",
        _comment("The seed draws the inputs of every check: the same seed gives the same "
                 "inputs, and so the same grades. Students' own checks use seed 0; keep this one "
                 f"to yourself. A whole number from 0 to {MAX_SEED}."),
        f"seed = {seed}",
        "",
        _comment("The CPU seconds each task may use before it counts as hanging (the checks "
                 "take about a second, the capstone a few); the wall clock allows three times "
                 "as long."),
        f"timeout = {rubric.timeout:g}",
        "",
        _comment("Tasks checked at a time (default: one per core)."),
        "# jobs = 2",
        "",
        _comment("The tasks graded, and the exercises of a new workbook. A task left out is "
                 "given in the workbook, written out, so that the tasks built on it still work. "
                 "Without include, every task is graded."),
        "include = [",
        *(f'    "{task_id}",  # {_task(task_id).title}' for task_id in rubric.tasks),
        "]",
        "",
        _comment("Each task's points, a whole number. Its sub-checks share them in proportion "
                 "to their weights (their points now are listed). To give a sub-check points of "
                 "its own, uncomment the checks line and edit it: the sub-checks not named there "
                 "share what is left."),
    ]
    for task_id in rubric.tasks:
        worth = rubric.check_points(task_id)
        first = next(iter(worth))
        shares = ", ".join(f"{_key(name)} {value:.3g}".replace(" ", "\u00a0")
                           for name, value in worth.items())
        lines += ["", f'[tasks."{task_id}"]  # {_task(task_id).title}',
                  f"points = {rubric.points[task_id]}",
                  _comment(f"sub-checks: {shares}"),
                  f"# checks = {{ {_key(first)} = {worth[first]:.3g} }}"]
    return "\n".join(lines) + "\n"
