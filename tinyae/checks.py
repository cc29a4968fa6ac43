"""Argument checks shared by the package, so that every refusal reads the same way.

A refused value gets one message in three parts: what was wrong (with the value),
why it matters, and what to do instead, e.g.::

    Adam(eps=0): eps must be in [1e-30, 1]; √v̂ + eps can be 0 or negative: a weight
    whose gradient has always been 0 gets the step 0/0 = NaN. Use the default eps=1e-08

Checks run where a value enters (a constructor, a function's arguments).  In the
training loop they cost O(1) per batch: the rows holding a NaN are searched for only
once a loss has come out non-finite.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def real_number(who: str, name: str, value: Any) -> float:
    """``value`` as a float, or a ``TypeError`` unless it is a real number.

    ``True`` is refused although Python counts it as 1: ``lr=True`` is a slip, not a rate.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        fix = "write it without quotes" if isinstance(value, str) else "pass a float"
        raise TypeError(f"{who}: {name} must be a number, got {value!r} "
                        f"({type(value).__name__}); {fix}, e.g. {name}=0.1")
    return float(value)


def as_generator(who: str, name: str, value: Any) -> np.random.Generator:
    """``value`` as a ``np.random.Generator``: a Generator itself, or a seed ≥ 0 drawn into one.

    NumPy's own refusal of ``-1`` or ``1.5`` speaks of SeedSequence entropy and names no
    argument; this one names the argument, the value and what to pass instead.
    """
    if isinstance(value, np.random.Generator):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{who}: {name} must be a whole number ≥ 0 (a seed) or a "
                        f"np.random.Generator, got {value!r} ({type(value).__name__}); e.g. "
                        f"{name}=0, or {name}=np.random.default_rng(0)")
    if value < 0:
        raise ValueError(f"{who}: {name} must be a whole number ≥ 0 (a seed) or a "
                         f"np.random.Generator, got {value!r}: NumPy's seeds are not negative; "
                         f"e.g. {name}={-int(value)}")
    return np.random.default_rng(int(value))


def non_finite_rows(a: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``a`` (N, D) holding a NaN or ±inf."""
    return np.flatnonzero(~np.isfinite(a).all(axis=tuple(range(1, a.ndim))))


def describe_rows(rows: np.ndarray, n_rows: int) -> str:
    """``"2 of its 128 rows (first: 5, 17)"``: where bad values are, for a message."""
    first = ", ".join(str(i) for i in rows[:5])
    return f"{len(rows)} of its {n_rows} rows (first: {first})"
