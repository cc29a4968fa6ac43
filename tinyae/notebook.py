"""Percent-format scripts → Jupyter notebooks (nbformat 4), with the standard library only.

A percent-format script is plain Python whose cells start with a marker line::

    # %% [markdown]
    # # A title
    # Some prose: every line is a comment.

    # %%
    x = 1 + 1

It runs as a script and, cell by cell, in editors that know the markers.  The
tutorials and the classroom workbook are written this way; ``notebook_from_percent``
turns one into the JSON a Jupyter notebook is made of, without outputs, so that the
``.py`` stays the one source and the ``.ipynb`` is generated from it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

MARKER = re.compile(r"^# %%(?P<rest>.*)$")
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def split_cells(source: str) -> list[tuple[str, list[str]]]:
    """``[(kind, lines), …]`` with kind ``"code"`` or ``"markdown"``, in order.

    Lines before the first marker form a code cell of their own (if not blank).
    Blank lines at either end of a cell are dropped.
    """
    cells: list[tuple[str, list[str]]] = [("code", [])]
    for line in source.splitlines():
        marker = MARKER.match(line)
        if marker:
            cells.append(("markdown" if "[markdown]" in marker["rest"] else "code", []))
        else:
            cells[-1][1].append(line)
    return [(kind, _strip_blank(lines)) for kind, lines in cells if _strip_blank(lines)]


def _strip_blank(lines: list[str]) -> list[str]:
    """``lines`` without the blank lines at its start and end."""
    start, stop = 0, len(lines)
    while start < stop and not lines[start].strip():
        start += 1
    while stop > start and not lines[stop - 1].strip():
        stop -= 1
    return lines[start:stop]


def _uncomment(line: str) -> str:
    """A markdown line of a percent script: ``"# text"`` → ``"text"``, ``"#"`` → ``""``."""
    if line.startswith("# "):
        return line[2:]
    return line[1:] if line.startswith("#") else line


def _cell(index: int, kind: str, lines: list[str]) -> dict[str, Any]:
    """Cell ``index`` of a notebook; ``source`` is a list of lines, each but the last ending in ``\\n``.

    The id is the cell's position, not random, so that regenerating a notebook from an
    unchanged script gives the same file.
    """
    if kind == "markdown":
        lines = [_uncomment(line) for line in lines]
    source = [line + "\n" for line in lines[:-1]] + lines[-1:]
    cell: dict[str, Any] = {"id": f"cell-{index}", "cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook_from_percent(source: str) -> dict[str, Any]:
    """The nbformat-4 notebook (a JSON-ready dict, no outputs) of a percent-format script."""
    return {
        "cells": [_cell(i, kind, lines) for i, (kind, lines) in enumerate(split_cells(source))],
        "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebook_json(source: str) -> str:
    """``notebook_from_percent(source)`` as the text of an ``.ipynb`` file (stable, diff-friendly)."""
    return json.dumps(notebook_from_percent(source), indent=1, ensure_ascii=False) + "\n"


def write_notebook(script: str | Path, path: str | Path) -> Path:
    """Write the notebook of the percent-format ``script`` file to ``path``; returns ``path``."""
    path = Path(path)
    path.write_text(notebook_json(Path(script).read_text(encoding="utf-8")), encoding="utf-8")
    return path
