"""Compare a student's array with the right one and name what is wrong, not just that it is.

``expect_array`` goes from the most specific diagnosis to the least:

1. nothing returned, or the wrong shape (the transpose of the right one, say);
2. NaN or inf;
3. right (a ``tinyae.gradcheck`` comparison in float64) — done;
4. equal to a known wrong answer the task computed (``candidates``: dx = dout @ W, …);
5. the transpose of the right value;
6. a constant multiple of the right value (``GradientCheck.ratio``): −1 is a sign
   error, 1/N an extra average, …  Tasks name the ratios they expect (``ratios``);
7. otherwise: the worst entry, with both values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinyae.gradcheck import GOOD, GradCheckReport, GradientCheck, compare, format_ratio
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


def expect_array(name: str, got: Any, expected: np.ndarray, *,
                 candidates: Iterable[tuple[np.ndarray, str]] = (),
                 ratios: dict[float, str] | None = None, size: float = 1.0,
                 tol: float = GOOD) -> GradientCheck:
    """The comparison row of ``got`` against ``expected``; a ``Mistake`` if it is wrong.

    ``candidates``: ``(wrong value, hint)`` pairs for the classic mistakes of the task.
    ``ratios``: ``{c: hint}`` for a ``got`` that is exactly c × ``expected``.
    ``size``: |f| of the differentiated function, for ``compare``'s floor.
    """
    got = as_array(name, got)
    if got.shape != expected.shape:
        if got.ndim == 2 and got.shape == expected.T.shape:
            raise Mistake(f"{name} has shape {got.shape}, the transpose of the right shape "
                          f"{expected.shape}: {name} is transposed. Each gradient has the shape "
                          f"of what it is the gradient of; write the shapes next to each factor.")
        raise Mistake(f"{name} has shape {got.shape} but must have shape {expected.shape}")
    if not np.isfinite(got).all():
        raise Mistake(f"{name} contains NaN or inf where every right value is finite")
    row = compare(name, got, expected, tol, size)
    if not row.passed:
        raise Mistake(name_the_mistake(name, got, expected, row, candidates, ratios or {}),
                      str(GradCheckReport([row])))
    return row


def name_the_mistake(name: str, got: np.ndarray, expected: np.ndarray, row: GradientCheck,
                     candidates: Iterable[tuple[np.ndarray, str]], ratios: dict[float, str]) -> str:
    """The hint for a ``got`` of the right shape but wrong values (steps 4–7 above)."""
    for value, hint in candidates:
        if matches(got, value):
            return hint
    if got.ndim == 2 and got.shape[0] == got.shape[1] and matches(got, expected.T):
        return (f"{name} is the transpose of the right value: the factors of the product are "
                f"swapped or a .T is in the wrong place.")
    ratio = row.ratio
    if ratio is None:
        index = ", ".join(map(str, row.worst_index))
        return (f"{name} is wrong: at [{index}] it is {row.analytic:+.6g} where "
                f"{row.numerical:+.6g} is right (relative error {row.error:.1e}).")
    for c, hint in ratios.items():
        if np.isclose(ratio, c, rtol=MATCH):
            return hint
    if np.isclose(ratio, -1.0, rtol=MATCH):
        return (f"{name} has the wrong sign: it is exactly −1 × the right value (p − y written "
                f"as y − p, or a subtraction for an addition?). A gradient with the wrong sign "
                f"makes gradient descent climb the loss.")
    if ratio == 0:
        return f"{name} is 0 everywhere: nothing was computed (or added) into it."
    return (f"{name} is exactly {format_ratio(ratio)} × the right value everywhere: the formula "
            f"is right up to a constant factor; look for a missing or extra factor (2, ½, 1/N, …).")


def expect_number(name: str, got: Any, expected: float, *,
                  ratios: dict[float, str] | None = None) -> None:
    """A ``Mistake`` unless ``got`` is a finite number equal to ``expected`` (to 1e-9)."""
    if isinstance(got, np.ndarray) and got.size != 1:
        raise Mistake(f"{name} should be one number, got an array of shape {got.shape}: "
                      f"reduce it (sum or mean over every element)")
    try:
        value = float(got)
    except (TypeError, ValueError):
        raise Mistake(f"{name} should be a number, got {type(got).__name__}") from None
    if not np.isfinite(value):
        raise Mistake(f"{name} is {value} where the right value is {expected:.6g}")
    if np.isclose(value, expected, rtol=1e-9, atol=1e-12):
        return
    for c, hint in (ratios or {}).items():
        if np.isclose(value, c * expected, rtol=1e-9):
            raise Mistake(hint)
    if np.isclose(value, -expected, rtol=1e-9):
        raise Mistake(f"{name} has the wrong sign: {value:.6g} where {expected:.6g} is right.")
    raise Mistake(f"{name} is {value:.6g} where {expected:.6g} is right.")


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
