"""What every experiment shares: its result, its data, where its figures go.

An experiment returns an ``ExperimentResult``: the rows of the table it printed, the
named numbers (``facts``) that its tests assert on, and the figures it wrote.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def check_writable(folder: Path) -> None:
    """Raise an ``OSError`` naming ``folder`` unless it exists or can be created, writable.

    Nothing is created: the nearest existing ancestor must be a folder we may write in.
    """
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(f"cannot write the figures to {folder}: {existing} is a file, "
                                 "not a folder; choose another output folder (out=, or --out)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write the figures to {folder}: {existing} is not writable; "
                              "choose another output folder (out=, or --out)")


def figure_path(out: str | Path, name: str, figure: str) -> Path:
    """Where experiment ``name`` saves ``figure``: ``out/name/figure.png``."""
    return Path(out) / name / f"{figure}.png"
