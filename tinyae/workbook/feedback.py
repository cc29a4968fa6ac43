"""What a teacher returns to a student: the results as a Markdown file, and in one CSV cell.

``feedback_markdown`` writes every task of one student: ✓ or ✗, the points, each
sub-check with its points, the hint that says what is wrong and why (for a task that
gave no result, the reason: a workbook that cannot be loaded, a time-out, a borrowed
class) and the check's details (a gradient table) — what ``tinyae workbook check``
shows the student, in a file the teacher can send.  ``lost_points`` sums up the lost
points in one line for the class CSV: which sub-checks, how many points, and the first
sentence of each hint.  ``headline`` is a task's one-line summary.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from tinyae.workbook.task import TaskResult

REASON = 160  # characters of a hint's first sentence kept in the CSV
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"'])")  # ". Don't", not "e.g. the"


def headline(result: TaskResult) -> str:
    """``✗ 1.2 Dense.backward  3.5/4``: the task's line, without the hint printed under it."""
    return str(dataclasses.replace(result, hint=""))


def check_rows(result: TaskResult) -> list[dict[str, Any]]:
    """The result's sub-checks (``TaskResult.checks``), or one row for a result without them."""
    return result.checks or [{"name": "", "points": result.points, "max_points": result.max_points,
                              "passed": result.passed, "hint": result.hint}]


def points(value: float) -> str:
    """Points as a teacher writes them: ``0.67``, ``3.5``, ``4``."""
    return f"{round(value, 2):g}"


def first_sentence(hint: str) -> str:
    """The first sentence of a hint, without its full stop and at most ``REASON`` characters:
    what is wrong, not why."""
    lines = hint.strip().splitlines()
    sentence = SENTENCE_END.split(lines[0] if lines else "", maxsplit=1)[0].removesuffix(".")
    return sentence if len(sentence) <= REASON else sentence[:REASON - 1].rstrip() + "…"


def lost_points(results: Sequence[TaskResult]) -> str:
    """Every point lost, in one line: ``1.2 db (−0.5): db is exactly 1/N … the batch; …``.

    A task's failing sub-checks are grouped by their hint; when all of them failed for
    one reason (a blank exercise, a time-out), the task id stands alone for them.
    """
    parts = []
    for result in results:
        rows = check_rows(result)
        failing: dict[str, list[dict[str, Any]]] = {}  # hint -> the failing rows that gave it
        for row in rows:
            if not row["passed"]:
                failing.setdefault(row["hint"], []).append(row)
        whole = len(failing) == 1 and len(failing[next(iter(failing))]) == len(rows)
        for hint, lost in failing.items():
            names = "" if whole else " " + ", ".join(row["name"] for row in lost)
            missing = sum(row["max_points"] - row["points"] for row in lost)
            parts.append(f"{result.task_id}{names} (−{points(missing)}): {first_sentence(hint)}")
    return "; ".join(parts)


def feedback_markdown(student: str, results: Sequence[TaskResult], graded_file: str = "",
                      seed: int | None = None) -> str:
    """One student's feedback as Markdown: the total, then a section per task.

    ``graded_file`` names the file that was graded (students who handed in several want
    to know which); ``seed`` the checks' inputs, to grade again with the same ones.
    """
    total = sum(result.points for result in results)
    out_of = sum(result.max_points for result in results)
    passed = sum(result.passed for result in results)
    about = [f"{passed} of {len(results)} exercises pass"]
    if graded_file:
        about.append(f"graded file: `{graded_file}`")
    if seed is not None:
        about.append(f"the checks' inputs were drawn with seed {seed}")
    lines = [f"# {student}: {points(total)}/{points(out_of)} points", "", "; ".join(about) + "."]
    for result in results:
        mark = "✓" if result.passed else "✗"
        lines += ["", f"## {mark} {result.task_id} {result.title}: "
                      f"{points(result.points)}/{points(result.max_points)} points"]
        if len(result.checks) > 1:
            lines += [""] + [f"- {'✓' if row['passed'] else '✗'} {row['name']}: "
                             f"{points(row['points'])}/{points(row['max_points'])}"
                             for row in result.checks]
        if result.hint:
            lines += ["", result.hint]
        if result.details and not result.passed:
            lines += ["", *fenced(result.details)]
    return "\n".join(lines) + "\n"


def fenced(text: str) -> list[str]:
    """``text`` as a Markdown code block, fenced with more backticks than it holds in a row."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]
