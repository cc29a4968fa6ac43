"""What a wrong answer's error looks like, in words: the hint when no known mistake fits.

A value that matches none of a task's known mistakes still shows how it went wrong.
``describe`` looks at the error e = got − right of an array, in this order:

* nearly right (relative error below ``NEAR``): a small extra term, an eps, float32;
* a constant factor, got = c · right: c = −1 is a sign, 0 is nothing computed, any
  other c a missing or extra factor (2, ½, 1/N) — ``GradientCheck.ratio``;
* wrong only in some entries: where a region the task names holds ("where the input
  x < 0"), or in one row (one sample) or one column (one feature);
* a factor per row or per column, got[n, d] = c_n · right[n, d]: something computed
  per sample (or per feature) multiplies it;
* an error that repeats: the same number everywhere (a constant added or dropped),
  the same in every row (a term that does not depend on the sample, like the bias),
  or one number per row (a per-sample sum added or subtracted);
* the opposite sign in every entry without being −1 × right: a sign inside the formula;
* otherwise how large it is overall, ‖got‖ / ‖right‖.

``describe_number`` does the same for one number (a loss): nearly right, a small
fraction of the right value (2, 1/2, 3/4), or the opposite sign.

No hint states the right values themselves — only shapes, the student's own numbers,
factors, offsets and relative errors — so that a hint never hands over an answer to copy.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from tinyae.gradcheck import GradientCheck, format_ratio

NEAR = 1e-3  # a relative error below this is "nearly right": a small term, not a wrong formula
SAME = 1e-6  # entries (or factors) that agree to this, relative to the array's size, are equal
Regions = dict[str, np.ndarray]  # "where the input x < 0" -> a boolean mask of the array's shape


def describe(name: str, got: np.ndarray, right: np.ndarray, row: GradientCheck,
             regions: Regions | None = None) -> str:
    """A hint for ``got`` (the shape of ``right``, but wrong): what its error looks like.

    ``row`` is the comparison of the two (``tinyae.gradcheck.compare``); ``regions`` name
    masks of entries that a mistake may be confined to.
    """
    index = ", ".join(map(str, row.worst_index))
    worst = (f"At [{index}], where it is furthest off, it is {row.analytic:+.6g} (relative error "
             f"{row.error:.1e}).")  # never the right value: the hint must not give the answer
    if row.error < NEAR:
        return (f"{name} is nearly right but not exactly: a small extra term changes it a little — "
                f"an eps added inside a formula, float32 arithmetic, or a finite difference in "
                f"place of the derivative? Write the exact formula. {worst}")
    if row.ratio is not None:
        return factor(name, row.ratio)
    scale = max(np.abs(right).max(), np.abs(got).max())
    wrong = np.abs(got - right) > SAME * scale
    found = (where(name, wrong, regions or {}) or per_axis_factor(name, got, right, scale)
             or repeated_error(name, got - right, scale) or opposite_sign(name, got, right, scale)
             or size(name, got, right))
    return f"{found} {worst}"


def factor(name: str, ratio: float) -> str:
    """The hint for ``got = ratio · right`` over every entry."""
    if np.isclose(ratio, -1.0, rtol=SAME):
        return (f"{name} has the wrong sign: it is exactly −1 × the right value (a − b written as "
                f"b − a, or a minus dropped?). A gradient with the wrong sign makes gradient "
                f"descent climb the loss.")
    if ratio == 0:
        return (f"{name} is 0 everywhere: nothing was added into it — is the line that computes "
                f"it missing, or is it multiplied by something that is 0?")
    return (f"{name} is exactly {format_ratio(ratio)} × the right value everywhere: the formula is "
            f"right up to a constant factor; look for a missing or extra factor (2, ½, 1/N, …).")


def where(name: str, wrong: np.ndarray, regions: Regions) -> str:
    """``name`` is wrong only inside one of ``regions``, or in one row or one column."""
    for label, mask in regions.items():
        if (~mask).any() and not wrong[~mask].any():
            return (f"{name} is right except {label}, where it is wrong: look at what your code "
                    f"does for those entries.")
    if wrong.ndim == 2 and wrong.shape[0] > 1 and wrong.any(axis=1).sum() == 1:
        n = int(np.flatnonzero(wrong.any(axis=1))[0])
        return (f"{name} is wrong only in row {n}, one sample of the batch: is an index or a loop "
                f"treating that sample differently?")
    if wrong.ndim == 2 and wrong.shape[1] > 1 and wrong.any(axis=0).sum() == 1:
        d = int(np.flatnonzero(wrong.any(axis=0))[0])
        return (f"{name} is wrong only in column {d}, one feature: is an index or a loop "
                f"treating that column differently?")
    return ""


def per_axis_factor(name: str, got: np.ndarray, right: np.ndarray, scale: float) -> str:
    """``got[n, d] = c_n · right[n, d]`` (one factor per row) or ``c_d · …`` (per column)."""
    if got.ndim != 2 or min(got.shape) < 2:
        return ""
    for axis, what in ((1, "row (sample)"), (0, "column (feature)")):
        norms = np.sum(right * right, axis=axis, keepdims=True)
        c = np.sum(got * right, axis=axis, keepdims=True) / np.where(norms > 0, norms, 1)
        if np.abs(got - c * right).max() <= SAME * scale:
            return (f"{name} is the right value times a factor that is the same along each "
                    f"{what} but differs from one {what.split()[0]} to the next: something "
                    f"computed per {what.split()[0]} (a sum, a norm, a count) multiplies or "
                    f"divides it where it should not.")
    return ""


def repeated_error(name: str, error: np.ndarray, scale: float) -> str:
    """The error ``got − right`` repeats: one constant, the same in every row, one per row."""
    def same(a: np.ndarray, b: np.ndarray | float) -> bool:
        return bool(np.abs(a - b).max() <= SAME * scale)

    if same(error, error.flat[0]):
        return (f"{name} is off by the same amount, {error.flat[0]:+.6g}, in every entry: a "
                f"constant term is added or missing (a 1, a ½, an eps?).")
    if error.ndim == 2 and error.shape[0] > 1 and same(error, error[:1]):
        return (f"{name}'s error is the same in every row (every sample): a term that does not "
                f"depend on the sample is wrong — the bias b, or something summed over the batch.")
    if error.ndim == 2 and error.shape[1] > 1 and same(error, error[:, :1]):
        return (f"{name}'s error is one number per row, the same across each row: a per-sample "
                f"term (a sum or a mean over the row) is added or subtracted where it should "
                f"not be.")
    return ""


def opposite_sign(name: str, got: np.ndarray, right: np.ndarray, scale: float) -> str:
    """Every clearly non-zero entry of ``got`` has the opposite sign of ``right``'s."""
    clear = np.abs(right) > NEAR * scale
    if clear.any() and bool((got[clear] * right[clear] < 0).all()):
        return (f"{name} has the opposite sign of the right value in every entry, though it is not "
                f"exactly −1 × it: a sign inside the formula — a term subtracted that should be "
                f"added, or (a − b) written as (b − a).")
    return ""


def size(name: str, got: np.ndarray, right: np.ndarray) -> str:
    """How large ``got`` is overall, compared with ``right``."""
    rho = float(np.linalg.norm(got) / max(np.linalg.norm(right), np.finfo(float).tiny))
    if 1 / 3 < rho < 3:
        return (f"{name} is wrong, though about the right size overall ({rho:.2g} × the right "
                f"norm): a term or a factor of the formula is wrong.")
    return (f"{name} is wrong and about {rho:.2g} × the right size overall: a factor that should "
            f"not be there, or one that is missing.")


def describe_number(name: str, value: float, right: float) -> str:
    """A hint for the number ``value`` where ``right`` is right (a loss, a KL).

    Like every hint, it never states ``right`` itself: only how ``value`` relates to it.
    """
    if right == 0:
        return f"{name} is {value:.6g} where it should be exactly 0."
    error = abs(value - right) / abs(right)
    if error <= NEAR:
        return (f"{name} is {value:.8g}, nearly right but not exactly (relative error {error:.1e}): "
                f"a small extra term changes it a little — an eps added inside a log or a "
                f"division, or float32 arithmetic? Write the exact formula.")
    if value != 0:
        # A small fraction (2, 1/2, 3/4) is a formula's factor; 17/10 would be a coincidence.
        fraction = Fraction(value / right).limit_denominator(4)
        if 0 < fraction <= 8 and np.isclose(float(fraction), value / right, rtol=1e-9):
            return (f"{name} is exactly {fraction} × the right value: a missing or extra factor "
                    f"in the formula.")
        if value * right < 0:
            return (f"{name} is {value:.6g}, of the opposite sign of the right value, and not only "
                    f"that — check the sign of each term.")
    return (f"{name} is {value:.6g}, wrong by a relative error of {error:.2g}: a term or a factor "
            f"of the formula is wrong.")
