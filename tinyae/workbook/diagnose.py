"""Compare a student's array with the right one and name what is wrong, not just that it is.

``expect_array`` goes from the most specific diagnosis to the least:

1. nothing returned;
2. right (a ``tinyae.gradcheck`` comparison in float64) — done;
3. equal to a known wrong answer the task computed (``candidates``: dx = dout @ W,
   np.max(x, 0) for np.maximum(x, 0), …), whatever its shape;
4. the wrong shape: the transpose of the right one, one number, the batch axis gone;
5. NaN or inf (and where: "only where log_var < 0");
6. the transpose of the right value; a constant multiple of it that the task names
   (``ratios``: 1/N is an extra average, …);
7. otherwise ``patterns.describe`` says what the error looks like (a sign, a factor,
   which entries are wrong), and the hint quotes the formula from the docstring.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinyae.gradcheck import GOOD, GradCheckReport, GradientCheck, compare
from tinyae.workbook.patterns import Regions, describe, describe_number
from tinyae.workbook.task import Mistake

MATCH = 1e-6  # relative error below which a value "is" a candidate (they differ by far more)


def as_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a float array, or a ``Mistake`` saying what came back instead."""
    if value is None:
        raise Mistake(f"{name} is None: the function must return it (a `return` is missing?)")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Mistake(f"{name} should be an array of numbers, got {type(value).__name__}: "
                      f"{value!r:.80}") from None


def matches(got: np.ndarray, value: np.ndarray) -> bool:
    """True if ``got`` has ``value``'s shape and agrees with it to ``MATCH``."""
    value = np.asarray(value, dtype=np.float64)
    return (got.shape == value.shape and bool(np.isfinite(value).all())
            and compare("", got, value).error < MATCH)


Known = Iterable[tuple[np.ndarray, str]]  # (a known wrong value, the hint that names it)


def known_mistake(got: np.ndarray, candidates: Known) -> str | None:
    """The hint of the first candidate that ``got`` matches (shape and values), or None."""
    for value, hint in candidates:
        if matches(got, value):
            return hint
    return None


def expect_array(name: str, got: Any, expected: np.ndarray, *, candidates: Known = (),
                 ratios: dict[float, str] | None = None, regions: Regions | None = None,
                 size: float = 1.0, tol: float = GOOD) -> GradientCheck:
    """The comparison row of ``got`` against ``expected``; a ``Mistake`` if it is wrong.

    ``candidates``: ``(wrong value, hint)`` pairs for the classic mistakes of the task.
    ``ratios``: ``{c: hint}`` for a ``got`` that is exactly c × ``expected``.
    ``regions``: ``{"where the input x < 0": mask}``, sets of entries a mistake may be
    confined to, for the hint.  ``size``: |f| of the differentiated function, for
    ``compare``'s floor.  A hint that cannot name the mistake is marked to quote the
    formula of ``name`` (``Mistake.about``).
    """
    got = as_array(name, got)
    finite = np.isfinite(got)
    row = compare(name, got, expected, tol, size) if got.shape == expected.shape else None
    if row is not None and finite.all() and row.passed:
        return row
    hint = known_mistake(got, candidates)  # only now: a hint never fires on a right answer
    if hint:
        raise Mistake(hint)
    if row is None:
        raise Mistake(shape_hint(name, got.shape, expected.shape), about=name)
    if not finite.all():
        raise Mistake(nonfinite_hint(name, finite, regions or {}), about=name)
    details = str(GradCheckReport([row]))
    hint = name_the_mistake(name, got, expected, row, ratios or {})
    if hint:
        raise Mistake(hint, details)
    raise Mistake(describe(name, got, expected, row, regions), details, about=name)


def shape_hint(name: str, shape: tuple[int, ...], right: tuple[int, ...]) -> str:
    """Why ``name`` has ``shape`` where ``right`` is right, when the two shapes say it."""
    if len(shape) == 2 and shape == right[::-1]:
        return (f"{name} has shape {shape}, the transpose of the right shape {right}: {name} is "
                f"transposed. Each gradient has the shape of what it is the gradient of; write "
                f"the shapes next to each factor.")
    if int(np.prod(shape)) == 1 and int(np.prod(right)) > 1:
        return (f"{name} is one number, but it has one entry per element of what it belongs "
                f"to, shape {right}: do not sum or average it (no np.sum / np.mean / .mean()).")
    if len(shape) == 1 and len(right) == 2 and shape[0] < np.prod(right) and shape[0] not in right:
        return (f"{name} is a flat array of {shape[0]} entries where shape {right} is right: "
                f"indexing with a boolean mask (a[mask]) keeps only the selected entries, "
                f"flattened. Keep every entry: multiply by the mask (a * mask), or "
                f"np.where(mask, a, 0).")
    if len(right) == 2 and shape in (right[1:], (right[0],)):
        axis = 0 if shape == right[1:] else 1
        return (f"{name} has shape {shape} but must have shape {right}: axis {axis} was reduced "
                f"away — a sum, mean or max over axis={axis} where none belongs (or a keepdims "
                f"missing)?")
    return f"{name} has shape {shape} but must have shape {right}."


def nonfinite_hint(name: str, finite: np.ndarray, regions: Regions) -> str:
    """``name`` holds NaN or inf; where, if one of ``regions`` holds them all."""
    for label, mask in regions.items():
        if (~mask).any() and (finite | mask).all():
            return (f"{name} is NaN or inf only {label}, finite elsewhere: something is undefined "
                    f"there — a square root or a log of a negative number, or a division by 0?")
    return f"{name} contains NaN or inf where every right value is finite"


def name_the_mistake(name: str, got: np.ndarray, expected: np.ndarray, row: GradientCheck,
                     ratios: dict[float, str]) -> str | None:
    """The hint for a transposed value or a named constant factor (step 6 above), or None."""
    if got.ndim == 2 and got.shape[0] == got.shape[1] and matches(got, expected.T):
        return (f"{name} is the transpose of the right value: the factors of the product are "
                f"swapped or a .T is in the wrong place.")
    for c, hint in ratios.items():
        if row.ratio is not None and np.isclose(row.ratio, c, rtol=MATCH):
            return hint
    return None


def expect_number(name: str, got: Any, expected: float, *, ratios: dict[float, str] | None = None,
                  candidates: Iterable[tuple[float, str]] = (), nonfinite: str = "",
                  otherwise: str = "") -> None:
    """A ``Mistake`` unless ``got`` is a finite number equal to ``expected`` (to 1e-9).

    ``ratios`` and ``candidates`` name the wrong values a task knows; ``nonfinite`` is
    the hint for a NaN or inf, ``otherwise`` the hint for any other wrong value (else
    ``patterns.describe_number`` says what it can).
    """
    if isinstance(got, np.ndarray) and got.size != 1:
        raise Mistake(f"{name} should be one number, got an array of shape {got.shape}: "
                      f"reduce it (sum or mean over every element)")
    try:
        value = float(got)
    except (TypeError, ValueError):
        raise Mistake(f"{name} should be a number, got {type(got).__name__}") from None
    if not np.isfinite(value):
        raise Mistake(nonfinite or f"{name} is {value} where the right value is finite")
    if np.isclose(value, expected, rtol=1e-9, atol=1e-12):
        return
    wrong = [(c * expected, hint) for c, hint in (ratios or {}).items()] + list(candidates)
    for wrong_value, hint in wrong:
        if np.isclose(value, wrong_value, rtol=1e-9, atol=1e-12):
            raise Mistake(hint)
    if np.isclose(value, -expected, rtol=1e-9):
        raise Mistake(f"{name} has the wrong sign: it is exactly −1 × the right value.", about=name)
    if otherwise:
        raise Mistake(otherwise)
    raise Mistake(describe_number(name, value, expected), about=name)


def reduction_ratios(what: str, N: int, D: int) -> dict[float, str]:
    """Hints for a value of a mean-reduced loss (or its gradient) off by N, D or N·D."""
    why = (f"the loss is the mean over all N·D = {N * D} elements (N = {N} samples × D = {D} "
           f"features), so it, and its gradient, divide by N·D exactly once")
    return {
        N * D: f"{what} is N·D = {N * D} times too large: the division by N·D is missing (that "
               f"is the 'sum' reduction) — {why}.",
        N: f"{what} is N = {N} times too large: you divided by D but not by N, the 1/N is "
           f"missing — {why}.",
        D: f"{what} is D = {D} times too large: you divided by N only (the mean per sample, "
           f"'batchmean'), the wrong reduction — {why}.",
        1 / N: f"{what} is 1/N = 1/{N} of the right value: you divided by N once too often — "
               f"{why}.",
    }
