"""Plain-text tables (``Sequential.summary``, the gradient-check report, experiment results),
and plain characters for a terminal that cannot print tinyae's mathematics.

tinyae prints "−", "β", "≥", "ρ̂"…  A terminal whose encoding lacks them (Windows' cp1252,
``PYTHONIOENCODING=ascii``) would raise ``UnicodeEncodeError`` in the middle of a run.
The codec error handler ``PLAIN_ERRORS`` prints each one as plain ASCII instead ("-",
"beta", ">=", "rho^"), and anything else as its ``\\uXXXX`` code; the command line
installs it on stdout and stderr (``tinyae.cli``).
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def format_cell(value: Any) -> str:
    """A float with 4 significant digits, an integer in full, anything else as ``str``."""
    if isinstance(value, (bool, np.bool_)):  # before int: True is an int in Python
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def format_table(rows: Sequence[Sequence[Any] | Mapping[str, Any]],
                 header: Sequence[str] | None = None, *, rule: bool = True) -> str:
    """Rows as left-aligned columns two spaces apart, under a header.

    rows : one sequence of cells per row, or one dict (column name → cell) per row, where a
        missing column is left blank;
    header : the column names; for dict rows it also picks and orders the columns, and
        defaults to the first row's keys;
    rule : draw a line of dashes, as wide as the header line, under the header.

    Cells go through ``format_cell``.  Trailing spaces are stripped from every line.
    """
    if header is None:
        if not rows:
            return "(no rows)"
        if not isinstance(rows[0], Mapping):
            raise ValueError("rows of cells need column names: format_table(rows, header=[...])")
        header = list(rows[0])
    lines = [list(header)]
    for i, row in enumerate(rows):
        if isinstance(row, Mapping):
            row = [row.get(name, "") for name in header]
        elif isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise TypeError(f"row {i} is {row!r}, not a sequence of cells or a dict; give "
                            "each row as a list or a dict, e.g. "
                            "format_table([[1, 2]], header=['a', 'b'])")
        elif len(row) != len(header):
            raise ValueError(f"row {i} has {len(row)} cells but the header has {len(header)} "
                             f"columns ({list(header)}); give every row one cell per column")
        lines.append([format_cell(value) for value in row])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
            for line in lines]
    if rule:
        text.insert(1, "-" * len(text[0]))
    return "\n".join(text)


PLAIN_ERRORS = "tinyae-plain"  # the codec error handler's name: stream.reconfigure(errors=PLAIN_ERRORS)
PLAIN = {
    "−": "-", "–": "-", "—": "--", "·": "*", "×": "x", "÷": "/", "±": "+/-", "…": "...",
    "≥": ">=", "≤": "<=", "≈": "~", "≠": "!=", "≪": "<<", "→": "->", "←": "<-", "▶": ">", "─": "-",
    "β": "beta", "ρ": "rho", "σ": "sigma", "θ": "theta", "ε": "eps", "λ": "lambda", "μ": "mu",
    "τ": "tau", "π": "pi", "δ": "delta", "Δ": "Delta", "Σ": "sum", "Φ": "Phi", "∂": "d", "√": "sqrt",
    "‖": "||", "²": "^2", "½": "1/2", "ᵀ": "^T", "ⱼ": "_j", "ᵢ": "_i", "ₙ": "_n", "₀": "_0", "₁": "_1",
    "₂": "_2", "\u0302": "^", "\u0303": "~", "\u0304": "-", "′": "'", "✓": "ok", "✗": "x", "ℓ": "l",
    "∈": "in", "⊙": "*",
}


def plain_fallback(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: what the encoding lacks, as ``PLAIN``'s ASCII (else ``\\uXXXX``)."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    bad = error.object[error.start:error.end]
    plain = "".join(PLAIN.get(char, char.encode("ascii", "backslashreplace").decode("ascii"))
                    for char in bad)
    return plain, error.end


codecs.register_error(PLAIN_ERRORS, plain_fallback)
