"""What every experiment shares: its result, its data, and how it prints a table.

An experiment returns an ``ExperimentResult``: the rows of the table it printed, the
named numbers (``facts``) that its tests assert on, and the figures it wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tinyae.datasets import load_mnist


@dataclass
class ExperimentResult:
    """The outcome of one experiment.

    name : the experiment's name in ``EXPERIMENTS`` (``"blob"``, …);
    rows : the printed table, one dict per row (column name → value);
    facts : named numbers that state the phenomenon (tests assert on them);
    figures : the PNG files written;
    notes : the one-line findings printed under the table (error messages, explanations).
    """

    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, float] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_images(full: bool, data_dir: str | None, verbose: bool) -> Any:
    """Real MNIST as float32 in [0, 1]: the full set if ``full``, else the bundled ``mnist-mini``."""
    if full:
        return load_mnist("mnist", data_dir=data_dir, verbose=verbose)
    return load_mnist("mnist-mini", verbose=verbose)


def say(verbose: bool, *lines: str) -> None:
    """Print the lines when ``verbose``."""
    if verbose:
        print("\n".join(lines), flush=True)


def _cell(value: Any) -> str:
    """A number with 4 significant digits (integers as they are); anything else as str."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows of dicts as aligned text columns under a header (``columns``: which keys, in order)."""
    if not rows:
        return "(no rows)"
    columns = list(columns or rows[0])
    cells = [columns] + [[_cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = ["  ".join(text.ljust(w) for text, w in zip(line, widths)).rstrip() for line in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def figure_path(out: str | Path, name: str, figure: str) -> Path:
    """Where experiment ``name`` saves ``figure``: ``out/name/figure.png``."""
    return Path(out) / name / f"{figure}.png"
