"""Check analytic gradients against centred finite differences, in float64.

For a function f and a small h, the centred difference

    ∂f/∂θ_i ≈ (f(θ + h·e_i) − f(θ − h·e_i)) / (2h)

has two errors: truncation, c·h² (c depends on the third derivative), and rounding,
about ε_machine·|f|/h.  Small h shrinks the first and grows the second.  We remove the
h² term instead of fighting it (Richardson extrapolation): with D(h) the centred
difference, (4·D(h/2) − D(h)) / 3 has truncation error of order h⁴, so h can be
large enough to keep rounding tiny.  In float64 a correct gradient then agrees to about
1e-9.  In float32, rounding alone is ~1e-3 of the gradient: a float32 check cannot tell
a bug from noise, so it is refused.

For a layer with a vector output we check the *vector-Jacobian product*: pick a random
upstream gradient ``dout``, then the scalar ``Σ out · dout`` has gradient
``backward(dout)``.  One random ``dout`` exercises every entry of the Jacobian, and the
same code checks any layer that follows the contract — including your own.

The error we report for a parameter is

    max_i |a_i − n_i| / max(max_i |a_i|, max_i |n_i|, floor)

(a analytic, n numerical): the worst disagreement relative to the gradient's size.
An elementwise ratio would explode on entries that are 0 up to rounding; the floor
keeps an all-zero gradient from doing the same.  Rounding grows with the size of f,
so the floor does too: ``floor = FLOOR · max(1, |f|)`` (|f| summed over the entries of
a vector output, each weighted by its ``dout``).
Scale (as in CS231n): above ``WRONG`` the gradient is wrong; below ``GOOD`` it is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tinyae.text import format_table

GOOD = 1e-7  # a correct gradient of a smooth function in float64 passes this
WRONG = 1e-2  # above this, the analytic gradient is certainly wrong
# Guards the denominator: a gradient whose entries are all below the floor (say, exactly
# 0 while the numerical one is 1e-12 of rounding noise) has no size to be relative to,
# so its disagreement is measured against the floor instead.  The differences round to
# about ε·|f| / h (× 3 from Richardson's 4·D(h/2)): 7e-11 per unit of |f| at h = 1e-5,
# which is why the floor is scaled by |f| (a BCE summed to |f| = 3.77 at p = y, where the
# gradient is exactly 0, leaves 1.04e-10 of rounding).
FLOOR = 1e-3  # × GOOD = 1e-10 per unit of |f|: the absolute accuracy of the differences
STEP = 1e-5  # the step h for a layer or a loss: small next to where BCE curves (p ≈ 0.01)
# A whole model's loss sums many rounded terms, so its rounding error is larger; a
# larger step keeps ε·|L| / h small, and Richardson keeps the truncation small.
MODEL_STEP = 1e-3


@dataclass
class GradientCheck:
    """The check of one gradient: how far analytic and numerical values disagree."""

    name: str
    shape: tuple[int, ...]
    error: float
    worst_index: tuple[int, ...]
    analytic: float  # the analytic value at the worst index
    numerical: float  # the numerical value at the worst index
    tol: float

    @property
    def passed(self) -> bool:
        """True if ``error < tol``."""
        return self.error < self.tol

    @property
    def verdict(self) -> str:
        """``"ok"``, ``"WRONG"`` (error > WRONG) or ``"check"`` (in between)."""
        if self.passed:
            return "ok"
        return "WRONG" if self.error > WRONG else "check"


class GradCheckReport(list):
    """A list of ``GradientCheck`` rows that prints as a table."""

    @property
    def passed(self) -> bool:
        """True if every gradient passed."""
        return all(row.passed for row in self)

    @property
    def max_error(self) -> float:
        """The largest error over all gradients."""
        return max(row.error for row in self)

    def __str__(self) -> str:
        header = ("gradient", "shape", "rel. error", "worst at", "analytic", "numerical", "")
        rows = [header] + [
            (r.name, str(r.shape), f"{r.error:.2e}", str(r.worst_index),
             f"{r.analytic:+.6e}", f"{r.numerical:+.6e}", r.verdict)
            for r in self
        ]
        return format_table(rows[1:], header=header, rule=False)

    def raise_if_failed(self) -> None:
        """Raise ``AssertionError`` with the table if any gradient failed."""
        if not self.passed:
            raise AssertionError(f"gradient check failed:\n{self}")


def require_float64(**arrays: Any) -> None:
    """Refuse anything that is not float64: float32 rounding swamps the differences."""
    for name, array in arrays.items():
        dtype = np.asarray(array).dtype
        if dtype != np.float64:
            raise TypeError(
                f"gradient checks need float64, but {name} is {dtype}: float32 rounding "
                f"(~1e-7 relative) divided by h makes the numerical gradient meaningless. "
                f"Use x.astype(np.float64) and Sequential(..., dtype=np.float64)."
            )


def centred_difference(
    f: Callable[[], Any], theta: np.ndarray, dout: Any = 1.0, h: float = STEP
) -> np.ndarray:
    """D(h)_i = Σ (f(θ + h·e_i) − f(θ − h·e_i)) · dout / (2h) for every entry i of θ.

    ``f`` reads ``theta`` (which is perturbed in place, one entry at a time, and
    restored) and returns a scalar or an array shaped like ``dout``.  Subtracting the
    two outputs *before* weighting by ``dout`` avoids cancellation in a large sum.
    Shape: ``theta (any) → D (same shape)``.
    """
    grad = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        saved = theta[i]
        theta[i] = saved + h
        f_plus = np.array(f(), dtype=np.float64)  # copy: f may return a cached array
        theta[i] = saved - h
        f_minus = np.array(f(), dtype=np.float64)
        theta[i] = saved
        grad[i] = np.sum((f_plus - f_minus) * dout) / (2 * h)
    return grad


def numerical_gradient(
    f: Callable[[], Any], theta: np.ndarray, dout: Any = 1.0, h: float = STEP
) -> np.ndarray:
    """Gradient of ``Σ f() · dout`` with respect to ``theta``: (4·D(h/2) − D(h)) / 3.

    D(h) = g + c·h² + O(h⁴) and D(h/2) = g + c·h²/4 + O(h⁴), so the combination
    cancels the c·h² term (Richardson extrapolation).  Shape: like ``theta``.
    """
    return (4 * centred_difference(f, theta, dout, h / 2) - centred_difference(f, theta, dout, h)) / 3


def compare(name: str, analytic: np.ndarray, numerical: np.ndarray, tol: float = GOOD,
            size: float = 1.0) -> GradientCheck:
    """Compare two gradients of the same shape; see the module docstring for the error.

    ``size``: |f|, the magnitude of the differentiated function, which sets the floor
    ``FLOOR · max(1, size)`` below which a gradient counts as 0 up to rounding.
    """
    analytic, numerical = np.asarray(analytic, float), np.asarray(numerical, float)
    if analytic.shape != numerical.shape:
        raise ValueError(f"{name}: analytic gradient has shape {analytic.shape}, expected {numerical.shape}")
    diff = np.abs(analytic - numerical)
    floor = FLOOR * max(1.0, size)
    scale = max(np.abs(analytic).max(initial=0), np.abs(numerical).max(initial=0), floor)
    worst = np.unravel_index(np.argmax(diff), diff.shape) if diff.size else ()
    worst = tuple(int(i) for i in worst)
    return GradientCheck(
        name, analytic.shape, float(diff.max(initial=0) / scale), worst,
        float(analytic[worst]) if diff.size else 0.0,
        float(numerical[worst]) if diff.size else 0.0, tol,
    )


def check_layer(
    layer: Any, x: np.ndarray, seed: int = 0, h: float = STEP, tol: float = GOOD
) -> GradCheckReport:
    """Check ``layer.backward`` (dx and every parameter gradient) on the batch ``x``.

    Works for any object with ``forward``, ``backward`` and ``param_names`` (each
    parameter ``W`` with its gradient ``dW``).  ``x``: ``(N, D)`` float64.
    """
    x = np.array(x)  # our own copy: it gets perturbed
    params = {name: getattr(layer, name) for name in getattr(layer, "param_names", ())}
    require_float64(x=x, **params)
    out = layer.forward(x)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    dout_before = dout.copy()
    for name in params:
        getattr(layer, "d" + name).fill(0)
    dx = layer.backward(dout)
    if not np.array_equal(dout, dout_before):
        raise AssertionError(f"{type(layer).__name__}.backward modified dout in place; work on a copy")
    analytic = {name: getattr(layer, "d" + name).copy() for name in params}

    def f() -> np.ndarray:
        return layer.forward(x)

    size = float(np.abs(out * dout).sum())  # the checked scalar is Σ out · dout
    report = GradCheckReport()
    if dx is not None:
        report.append(compare("dx", dx, numerical_gradient(f, x, dout, h), tol, size))
    for name, value in params.items():
        report.append(compare("d" + name, analytic[name], numerical_gradient(f, value, dout, h), tol, size))
    return report


def check_loss(loss: Any, p: np.ndarray, y: np.ndarray, h: float = STEP, tol: float = GOOD) -> GradCheckReport:
    """Check ``loss.backward()`` (∂L/∂p) at prediction ``p`` and target ``y``, both ``(N, D)`` float64."""
    p = np.array(p)
    require_float64(p=p, y=y)
    size = abs(loss.forward(p, y))
    dp = loss.backward()
    numerical = numerical_gradient(lambda: loss.forward(p, y), p, 1.0, h)
    return GradCheckReport([compare("dp", dp, numerical, tol, size)])


def check_model(
    model: Any, loss: Any, x: np.ndarray, y: np.ndarray, h: float = MODEL_STEP, tol: float = GOOD
) -> GradCheckReport:
    """Check the gradient of ``loss(model(x), y)`` with respect to every model parameter.

    ``model`` needs ``forward``, ``backward``, ``zero_grad`` and ``parameters()``
    returning ``(name, value, grad)``; build it with ``dtype=np.float64``.
    """
    named = model.parameters()
    require_float64(x=x, y=y, **{name: value for name, value, _ in named})

    def f() -> float:
        return loss.forward(model.forward(x), y)

    model.zero_grad()
    size = abs(f())
    model.backward(loss.backward())
    analytic = [(name, value, grad.copy()) for name, value, grad in named]
    return GradCheckReport(
        compare("d" + name, grad, numerical_gradient(f, value, 1.0, h), tol, size)
        for name, value, grad in analytic
    )
