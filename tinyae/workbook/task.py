"""What an exercise is, what checking it returns, and how a student's crash reads.

A ``Task`` is one exercise: an id ("1.2"), a title, its points, the tutorial that
derives it, the workbook name it checks (``"Dense"``), the formula to implement, and
its ``check``.  A check calls the student's code and either returns details (the
gradient-check table, a measured loss, …) or raises ``Mistake`` with a hint that says
*what* is wrong and *why*.  ``attempt`` runs one piece of student code and turns any
exception it raises into such a ``Mistake``, naming the exception and the line.

A task's points are split over its sub-checks (``Task.subchecks``: for
``Dense.backward`` dW, db, dx, accumulation, dout left alone): a check records each with
``Checks.sub`` and every failing one is named in the same run, with its hint.  The inputs
a check draws come from ``Checks.rng``, seeded by whoever runs the check (``check`` and a
notebook use seed 0; the grader uses the teacher's seed), so a hard-coded output fails.

A ``Part`` is one code cell of the workbook: a class or function written out in full
(the answer), with the lines a student writes between ``# solution <id>`` and
``# end`` markers.  The skeleton, the answer key and the notebook are all made from it.
"""

from __future__ import annotations

import ast
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import tinyae

SOLUTION = re.compile(r"^(?P<indent>[ ]*)# solution (?P<id>\S+)$")
END = re.compile(r"^[ ]*# end$")
# Frames in these folders are library code; the student's line is the last frame outside.
LIBRARY_DIRS = (str(Path(tinyae.__file__).parent), str(Path(np.__file__).parent))


class Mistake(Exception):
    """A check found something wrong: ``hint`` says what and why; ``details`` may add a table.

    ``about`` names the value (``"dx"``, ``"L"``) of a hint that could not name the
    mistake: ``check_task`` then quotes that value's formula from the docstring.
    """

    def __init__(self, hint: str, details: str = "", about: str = "") -> None:
        super().__init__(hint)
        self.hint, self.details, self.about = hint, details, about


@dataclass(frozen=True)
class SubCheck:
    """One sub-check's outcome: ``weight`` is its share of the task's points."""

    name: str
    weight: float
    passed: bool
    hint: str = ""
    details: str = ""


class Checks:
    """The sub-checks of one run of a task, and the random numbers its inputs come from.

    ``names`` are the task's sub-checks with their weights (``Task.subchecks``).  A check
    calls ``sub(name, fn)`` for each: ``fn()`` returns details or raises ``Mistake``; a
    failure is recorded and the check goes on to the next sub-check.
    """

    def __init__(self, names: tuple[tuple[str, float], ...], rng: np.random.Generator,
                 formula: str = "") -> None:
        self.weights, self.rng, self.formula = dict(names), rng, formula
        self.done: dict[str, SubCheck] = {}

    def hint_of(self, mistake: Mistake) -> str:
        """The mistake's hint; one that could not name the mistake quotes the formula."""
        quoted = quote_formula(self.formula, mistake.about) if mistake.about else ""
        return mistake.hint + (f" The docstring's formula: {quoted}." if quoted else "")

    def sub(self, name: str, fn: Callable[[], str | None]) -> bool:
        """Run sub-check ``name``; True if it passed.  A second run of a name keeps the first
        failure (a sub-check checked on two inputs fails if either fails)."""
        if name not in self.weights:
            raise KeyError(f"{name!r} is not a sub-check of this task: {list(self.weights)}")
        try:
            result = SubCheck(name, self.weights[name], True, details=fn() or "")
        except Mistake as mistake:
            result = SubCheck(name, self.weights[name], False, self.hint_of(mistake),
                              mistake.details)
        previous = self.done.get(name)
        if previous is None or (previous.passed and not result.passed):
            self.done[name] = result
        elif previous.passed:  # both runs passed: keep both runs' details
            self.done[name] = SubCheck(name, result.weight, True, details="\n\n".join(
                filter(None, [previous.details, result.details])))
        return result.passed

    def failed(self, name: str) -> bool:
        """True if sub-check ``name`` ran and failed."""
        return name in self.done and not self.done[name].passed


@dataclass(frozen=True)
class Task:
    """One exercise of the workbook.

    ``check(obj, checks) -> details`` receives the student's class or function (``name``
    in the workbook) and a ``Checks``: it records each sub-check there, draws its inputs
    from ``checks.rng``, and raises ``Mistake`` for a failure that stops the whole task
    (the class cannot even be made).  ``subchecks`` name the parts of the task with
    their weights; the points are split in proportion.
    """

    id: str
    title: str
    points: int
    tutorial: str
    name: str
    formula: str
    check: Callable[[Any, Checks], str] = field(repr=False, compare=False)
    subchecks: tuple[tuple[str, float], ...] = (("all", 1.0),)


@dataclass(frozen=True)
class Part:
    """One code cell of the workbook and the tasks whose blanks it holds.

    ``code`` is the answer, with each blank between ``# solution <id>`` and ``# end``.
    """

    heading: str
    intro: str
    code: str
    tasks: tuple[Task, ...]


@dataclass
class TaskResult:
    """The outcome of one task; ``dataclasses.asdict`` makes it JSON-ready.

    ``points`` are the points earned (the sum over the passing sub-checks), ``hint``
    says what is wrong and why, one paragraph per failing sub-check (``""`` when passed),
    ``details`` may hold a gradient-check table; ``checks`` lists the sub-checks as
    dicts (name, points, max_points, passed, hint).
    """

    task_id: str
    title: str
    points: float
    max_points: float
    passed: bool
    hint: str = ""
    details: str = ""
    checks: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        mark = "✓" if self.passed else "✗"
        line = f"{mark} {self.task_id} {self.title}  {self.points:g}/{self.max_points:g}"
        if self.hint:
            line += f"  — {self.hint.splitlines()[0]}"
        return line


def blank_code(code: str, solved: bool) -> str:
    """``code`` with each ``# solution <id>`` … ``# end`` block filled in or blanked.

    Solved: the marker lines are dropped and the answer stays.  Blank: the block becomes
    one ``raise NotImplementedError("Exercise <id>: …")`` at the block's indentation.
    """
    out: list[str] = []
    owner, function, block = "", "", None
    for line in code.splitlines():
        start, stop = SOLUTION.match(line), END.match(line)
        if m := re.match(r"^class (\w+)", line):
            owner = m[1] + "."
        elif m := re.match(r"^def (\w+)", line):
            owner, function = "", m[1]
        elif m := re.match(r"^\s+def (\w+)", line):
            function = owner + m[1]
        if start:
            block = start
            if not solved:
                message = f"Exercise {start['id']}: {function} is not written yet"
                out.append(f'{start["indent"]}raise NotImplementedError("{message}")')
        elif stop and block:
            block = None
        elif solved or block is None:
            out.append(line)
    if block is not None:
        raise ValueError(f"'# solution {block['id']}' has no '# end'")
    return "\n".join(out)


def formula(code: str, task_id: str) -> str:
    """The docstrings of the functions in ``code`` holding a blank of ``task_id``, joined.

    This is the formula and the shapes the student implements, stated once: in the
    docstring the student reads above the blank.
    """
    marks = [number for number, line in enumerate(code.splitlines(), start=1)
             if (m := SOLUTION.match(line)) and m["id"] == task_id]
    if not marks:
        raise ValueError(f"the code has no '# solution {task_id}' block")
    docs = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.FunctionDef) and any(
                node.lineno <= mark <= (node.end_lineno or 0) for mark in marks):
            docs.append(f"{node.name}: {ast.get_docstring(node) or ''}")
    return "\n\n".join(docs)


def quote_formula(docs: str, about: str) -> str:
    """The formula of ``about`` (``"dx"``, ``"the loss L"``) in ``docs``, a task's docstrings.

    That is the first ````…```` literal whose left-hand side names ``about``
    (````dx = dout @ Wᵀ````, ````(dmu, dlog_var) = …````), with the rest of its line;
    else the first docstring line that starts with it (``θ ← θ − lr · m̂ / (√v̂ + ε)``);
    ``""`` if there is none.
    """
    for word in about.split():  # "the loss L at p = 0": the first word with a formula
        quoted = formula_of(docs, re.escape(word))
        if quoted:
            return quoted
    return ""


def formula_of(docs: str, symbol: str) -> str:
    """``quote_formula`` for one symbol (a regular expression)."""
    literal = re.search(rf"``([^`=←]*(?<![\w.]){symbol}(?![\w(])[^`=←]*(?:\+?=|←)[^`]*)``"
                        r"([^\n]*)", docs)
    if literal:
        rest = re.split(r"\.\s\s|\.$", literal[2].replace("``", ""))[0].rstrip(" .")
        return re.sub(r"\s+", " ", literal[1] + ("" if rest.startswith((",", ":")) else " ")
                      + rest.strip()).strip()
    line = re.search(rf"^\s*({symbol} (?:←|=) .*)$", docs, re.MULTILINE)
    return line[1].strip() if line else ""


def attempt(doing: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``: the student's code; any exception becomes a ``Mistake``.

    ``doing`` names what was called (``"Dense.backward"``) for the hint.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as error:  # a student's bug of any kind is a result, never a crash
        raise Mistake(crash_hint(error, doing)) from error


def attempt_pure(doing: str, fn: Callable[..., Any], **inputs: np.ndarray) -> Any:
    """``attempt(doing, fn, *copies of the inputs)``; also a ``Mistake`` if fn changed one.

    ``inputs`` are passed positionally, in order; their names are for the hint.
    """
    copies = {name: value.copy() for name, value in inputs.items()}
    out = attempt(doing, fn, *copies.values())
    for name, value in inputs.items():
        if not np.array_equal(copies[name], value, equal_nan=True):
            raise Mistake(f"{doing} changed its input {name} in place (`{name} -= …`, "
                          f"`{name}[…] = …`, `out={name}`): {name} belongs to the caller, which "
                          f"may still need it — the layer before cached it for its own backward. "
                          f"Compute a new array instead.")
    return out


def shapes_hint(message: str) -> str:
    """What a NumPy shape error usually means; a missing or extra ``keepdims=True`` is named."""
    shapes = [tuple(int(n) for n in re.findall(r"\d+", s)) for s in re.findall(r"\([\d,\s]*\)",
                                                                             message)]
    pairs = [(a, b) for a in shapes for b in shapes if len(a) == 2 and len(b) == 1]
    if any(a[0] == b[0] != a[1] for a, b in pairs):
        return ("An (N, D) array meets an (N,) one: a sum or max over axis=1 without "
                "keepdims=True gives (N,), which lines up with the columns, not the rows. "
                "Write keepdims=True, giving (N, 1): one number per row.")
    if any(a == (1, b[0]) for a, b in pairs):
        return ("A (1, D) array meets a (D,) one: keepdims=True keeps the summed axis (as "
                "length 1), but this result has one axis fewer — leave keepdims out.")
    return ("The shapes do not fit: write the shape of every array next to the formula in "
            "the docstring and check each product.")


def crash_hint(error: BaseException, doing: str) -> str:
    """What crashed, where (file and line, with its text) and what that usually means."""
    # An error from the student's process (remote.StudentError) carries its own frames.
    frames = getattr(error, "frames", None) or traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if not f.filename.startswith(LIBRARY_DIRS)]
    frame = (own or frames)[-1]  # never empty: the exception passed through `attempt`
    # A Jupyter cell's file is a temporary ipykernel_<pid>/<hash>.py: name the cell instead.
    file = "your cell" if "ipykernel_" in frame.filename else Path(frame.filename).name
    where = f"{file}, line {frame.lineno}"
    line = f": `{frame.line.strip()}`" if frame.line else ""
    if isinstance(error, NotImplementedError):
        return (f"{doing} is not written yet (NotImplementedError, {where}). Replace the "
                f"`raise NotImplementedError(…)` with your code; its docstring gives the "
                f"formula and the shapes.")
    hint = f"{doing} crashed with {type(error).__name__}: {error} (at {where}{line})"
    cls, _, method = doing.partition(".")
    if (isinstance(error, AttributeError) and method == "backward"
            and (getattr(error, "obj_type", "") or type(getattr(error, "obj", None)).__name__) == cls):
        hint += (f". backward reads self.{error.name}, which forward did not set: forward must "
                 f"cache what backward needs (self.{error.name} = …, as its docstring says); "
                 f"backward runs after forward, on the same object, and sees only what forward "
                 f"stored on self.")
    elif isinstance(error, ValueError) and re.search(r"shape|broadcast|matmul|dimension",
                                                     str(error)):
        hint += ". " + shapes_hint(str(error))
    return hint
