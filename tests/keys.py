"""Workbooks the grading tests hand in: an honest answer key, the blank workbook.

The answer key exactly as ``tinyae workbook new --solved`` writes it earns nothing when
handed in (its comments mark it as the key); ``honest_key`` is the same code as a student
who wrote it would hand it in — the key's comments inside the solutions removed.
"""

from __future__ import annotations

from tinyae.workbook import PARTS, render


def honest_key(notebook: bool = False) -> str:
    """The answer key's code without the key's comments (a right answer, in a student's words)."""
    return "\n".join(line.split("  # ")[0].rstrip() if "  # " in line else line
                     for line in render(PARTS, solved=True, notebook=notebook).splitlines()) + "\n"


def blank() -> str:
    """The workbook as handed out: every exercise raises NotImplementedError."""
    return render(PARTS, solved=False)
