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

A wrong gradient often has a shape to its error: when ``a = c·n`` for one constant c
over all entries, the formula is right up to a factor — c = 1/N (a mean where the sum
was meant), −1 (a sign), 2 or ½.  The report shows that ratio, ``GradientCheck.ratio``.

Two more rules of the layer contract are checked, because breaking them gives right
numbers in a single check and wrong training: ``backward`` *adds* into ``dW``
(called twice it must leave twice the gradient — shared weights and accumulated
batches rely on it) and never modifies ``dout`` (the caller still needs it).
Inside a model, ``check_model`` also checks that every ``W`` and ``dW`` is still a
view into the model's flat ``params`` and ``grads``, which the optimizer updates.

What cannot be checked this way is said, not reported as a wrong gradient: a layer
whose forward is random (dropout draws a new mask at every call) has no function to
difference, and parameters must be arrays (the checker perturbs them in place).  A loss
that returns a float32 is checked at float32's precision, with a larger step and a
tolerance set by its rounding; the report says so.

A large model is checked on a sample: each entry costs four forward passes, so all
178,384 of the 784-100-50-100-784 autoencoder take minutes.  ``check_model`` checks
``ENTRIES`` entries of each larger gradient (its first, its last, the rest drawn with
``seed``: the same entries every time), which catches the bugs that touch a whole
formula; ``entries=None`` checks every one, saying first how long that will take.
"""

from __future__ import annotations

import numbers
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tinyae.safeguards import check_count
from tinyae.text import format_table
from tinyae.train import loss_terms

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
# a = c·n "for one constant c" up to this relative residual: a factor bug leaves
# rounding only (~1e-10), an error of any other shape is far larger.
RATIO_TOL = 1e-6
# A loss returning float32 rounds its value to ~1.2e-7 of itself.  A difference over the
# step h then carries up to 1.5·ε·|L|/h of rounding (Richardson's 4·D(h/2) − D(h), over 3),
# so the step is larger, and the tolerance at least LOW_PRECISION_TOL or twice that
# rounding relative to the gradient; above LOW_PRECISION_LIMIT the check could not tell
# a factor of 2 from noise, and is refused.
LOW_PRECISION_STEP = 1e-2
LOW_PRECISION_TOL = 1e-3
LOW_PRECISION_LIMIT = 0.1
# check_model checks this many entries of each larger gradient by default (see the module
# docstring): about 1 s for the 784-100-50-100-784 autoencoder on 2 rows, against 191 s.
ENTRIES = 50
PROGRESS_AFTER = 10.0  # seconds: a longer check_model says how long first, then reports progress


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
    ratio: float | None = None  # c when analytic = c · numerical over every entry, else None
    hint: str = ""  # what a failure of this row means and how to fix it

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

    @property
    def note(self) -> str:
        """Why a failing row failed, when that can be said; ``""`` for a passing row."""
        if self.passed:
            return ""
        if self.hint:
            return self.hint
        if self.ratio == 0:
            return "the analytic gradient is 0 where the numerical one is not: never written?"
        if self.ratio is not None:
            return (f"analytic = {format_ratio(self.ratio)} × numerical everywhere: off by a "
                    "constant factor — a missing/extra 1/N, 2, or a sign")
        return ""


class GradCheckReport(list):
    """A list of ``GradientCheck`` rows that prints as a table.

    ``notes``: what the reader must know about how the rows were checked (a sample of
    the entries, a loss's lower precision), printed under the table.
    """

    def __init__(self, rows: Iterable[GradientCheck] = (), notes: Iterable[str] = ()) -> None:
        super().__init__(rows)
        self.notes = list(notes)

    @property
    def passed(self) -> bool:
        """True if every gradient passed."""
        return all(row.passed for row in self)

    @property
    def max_error(self) -> float:
        """The largest error over all gradients."""
        return max(row.error for row in self)

    def __str__(self) -> str:
        header = ("gradient", "shape", "rel. error", "worst at", "analytic", "numerical",
                  "ratio a/n", "")
        table = format_table([_cells(r) for r in self], header=header, rule=False)
        return "\n".join([table] + [f"{r.name}: {r.note}" for r in self if r.note] + self.notes)

    def raise_if_failed(self) -> None:
        """Raise ``AssertionError`` with the table if any gradient failed."""
        if not self.passed:
            raise AssertionError(f"gradient check failed:\n{self}")


def _cells(r: GradientCheck) -> tuple[str, ...]:
    """One row of the report's table; a ``finding`` has no numbers, so "—" in their place."""
    ratio = "" if r.ratio is None else format_ratio(r.ratio)
    if r.error == np.inf:
        return (r.name, str(r.shape), "—", "", "—", "—", ratio, r.verdict)
    return (r.name, str(r.shape), f"{r.error:.2e}", str(r.worst_index),
            f"{r.analytic:+.6e}", f"{r.numerical:+.6e}", ratio, r.verdict)


def format_ratio(ratio: float) -> str:
    """``"1/4"``, ``"-1"``, ``"2"`` when the ratio is such a fraction, else ``"0.318"``."""
    fraction = Fraction(ratio).limit_denominator(1000)
    if abs(fraction - Fraction(ratio)) <= 1e-8 * abs(ratio):
        return str(fraction)
    return f"{ratio:.3g}"


def constant_ratio(analytic: np.ndarray, numerical: np.ndarray, floor: float) -> float | None:
    """The constant c with ``analytic ≈ c · numerical`` over every entry, or None.

    c is the least-squares fit ``(a · n) / (n · n)``; it counts when the residual
    ``max |a − c·n|`` is below ``RATIO_TOL`` of the gradient's size.  None also when
    every numerical entry is below the floor: then there is nothing to divide by.
    """
    n_max = np.abs(numerical).max(initial=0)
    if n_max <= floor:
        return None
    c = float(np.sum(analytic * numerical) / np.sum(numerical * numerical))
    residual = np.abs(analytic - c * numerical).max()
    return c if residual <= RATIO_TOL * max(np.abs(analytic).max(), abs(c) * n_max) else None


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
    f: Callable[[], Any], theta: np.ndarray, dout: Any = 1.0, h: float = STEP,
    entries: np.ndarray | None = None,
) -> np.ndarray:
    """D(h)_i = Σ (f(θ + h·e_i) − f(θ − h·e_i)) · dout / (2h) for every entry i of θ.

    ``f`` reads ``theta`` (which is perturbed in place, one entry at a time, and
    restored) and returns a scalar or an array shaped like ``dout``.  Subtracting the
    two outputs *before* weighting by ``dout`` avoids cancellation in a large sum.
    Shape: ``theta (any) → D (same shape)``; with ``entries`` (flat indices into θ), only
    those are differenced, and D has shape ``(len(entries),)``.
    """
    if entries is None:
        positions: list[tuple[Any, ...]] = list(np.ndindex(theta.shape))
    else:
        positions = [np.unravel_index(int(e), theta.shape) for e in entries]
    grad = np.zeros(len(positions))
    for k, i in enumerate(positions):
        saved = theta[i]
        theta[i] = saved + h
        f_plus = np.array(f(), dtype=np.float64)  # copy: f may return a cached array
        theta[i] = saved - h
        f_minus = np.array(f(), dtype=np.float64)
        theta[i] = saved
        grad[k] = np.sum((f_plus - f_minus) * dout) / (2 * h)
    return grad.reshape(theta.shape) if entries is None else grad


def numerical_gradient(
    f: Callable[[], Any], theta: np.ndarray, dout: Any = 1.0, h: float = STEP,
    entries: np.ndarray | None = None,
) -> np.ndarray:
    """Gradient of ``Σ f() · dout`` with respect to ``theta``: (4·D(h/2) − D(h)) / 3.

    D(h) = g + c·h² + O(h⁴) and D(h/2) = g + c·h²/4 + O(h⁴), so the combination
    cancels the c·h² term (Richardson extrapolation).  Shape: like ``theta``, or
    ``(len(entries),)`` for the flat indices ``entries`` only.
    """
    return (4 * centred_difference(f, theta, dout, h / 2, entries)
            - centred_difference(f, theta, dout, h, entries)) / 3


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
    where = np.unravel_index(np.argmax(diff), diff.shape) if diff.size else ()
    worst = tuple(int(i) for i in where)
    return GradientCheck(
        name, analytic.shape, float(diff.max(initial=0) / scale), worst,
        float(analytic[worst]) if diff.size else 0.0,
        float(numerical[worst]) if diff.size else 0.0, tol,
        ratio=constant_ratio(analytic, numerical, floor),
    )


def _finding(name: str, shape: tuple[int, ...], hint: str) -> GradientCheck:
    """A failing row for a broken rule of the layer contract: no numbers to compare."""
    return GradientCheck(name, shape, np.inf, (), np.nan, np.nan, 0.0, hint=hint)


def check_layer(
    layer: Any, x: np.ndarray, seed: int = 0, h: float = STEP, tol: float = GOOD
) -> GradCheckReport:
    """Check ``layer.backward`` (dx and every parameter gradient) on the batch ``x``.

    Works for any object with ``forward``, ``backward`` and ``param_names`` (each
    parameter ``W`` with its gradient ``dW``).  ``x``: ``(N, D)`` float64.
    Besides one row per gradient, a failing row reports a ``backward`` that modified
    ``dout`` ("dout modified in place"), whose right gradient ``dW`` did not double
    when called a second time ("dW accumulates": it was overwritten, not added to), or
    that returned None for ``dx`` (a forgotten ``return dx``; only a first layer told
    ``compute_dx = False`` may).  Raises ``TypeError`` for parameters or an output that are
    not arrays, and ``ValueError`` for a forward that is random between calls (dropout):
    neither can be checked by finite differences.
    """
    x = np.array(x)  # our own copy: it gets perturbed
    params = {name: getattr(layer, name) for name in getattr(layer, "param_names", ())}
    _require_arrays(layer, params)
    require_float64(x=x, **params)
    out = _output(layer, x)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    for name in params:
        _gradient_of(layer, name).fill(0)
    dx, changed = _backward(layer, dout)
    first = {name: _gradient_of(layer, name).copy() for name in params}
    layer.forward(x)  # a second batch through the same layer: its gradient adds to the first
    _backward(layer, dout)
    second = {name: _gradient_of(layer, name).copy() for name in params}

    def f() -> np.ndarray:
        return layer.forward(x)

    size = float(np.abs(out * dout).sum())  # the checked scalar is Σ out · dout
    report, broken = GradCheckReport(), []
    if dx is not None:
        report.append(compare("dx", dx, numerical_gradient(f, x, dout, h), tol, size))
    elif getattr(layer, "compute_dx", True):
        report.append(_finding("dx", x.shape, f"{type(layer).__name__}.backward returned None "
                               "instead of ∂L/∂x: end it with `return dx` (only a network's first "
                               "layer, told compute_dx = False, returns None)"))
    for name, value in params.items():
        row = compare("d" + name, first[name], numerical_gradient(f, value, dout, h), tol, size)
        report.append(row)
        twice = compare(f"d{name} accumulates", second[name], 2 * first[name], tol, size)
        # A wrong gradient is reported once, as itself; only a right one is checked for adding up.
        if row.passed and not twice.passed:
            twice.hint = (f"backward must ADD into d{name} (`d{name} += …`), not rebind it "
                          f"(`d{name} = …`): called twice it must leave twice the gradient, "
                          "or shared weights and accumulated batches lose gradient")
            broken.append(twice)
    if changed is not None:
        changed.hint = (f"{type(layer).__name__}.backward changed the dout it was given "
                        "(`dout *= …`, `dout[mask] = 0`), which the caller still needs: "
                        "compute a new array (`dx = dout * …`), or start with "
                        "`dout = dout.copy()`")
        broken.append(changed)
    report.extend(broken)  # after the gradients, which they would otherwise push down
    return report


def _gradient_of(layer: Any, name: str) -> np.ndarray:
    """``layer.d<name>``, or a clear error if the layer never created it."""
    grad = getattr(layer, "d" + name, None)
    if grad is None:
        raise AttributeError(f"{type(layer).__name__} lists {name!r} in param_names but has no "
                             f"d{name}: create it next to {name}, e.g. self.d{name} = "
                             f"np.zeros_like(self.{name})")
    return grad


def _require_arrays(layer: Any, params: dict[str, Any]) -> None:
    """Refuse a parameter or gradient that is not a NumPy array (a Python float, a list).

    The checker perturbs each parameter in place, and ``backward`` adds into each
    gradient in place (``da += …``): on a Python float both would rebind a name instead.
    """
    who = type(layer).__name__
    for name, value in params.items():
        for attr, array in ((name, value), ("d" + name, _gradient_of(layer, name))):
            if not isinstance(array, np.ndarray):
                fix = "" if isinstance(value, np.ndarray) else f"self.{name} = np.array([{value!r}]), "
                raise TypeError(
                    f"{who}.{attr} is a {type(array).__name__} ({array!r}), not a NumPy array: "
                    f"check_layer perturbs each parameter in place and backward adds into its "
                    f"gradient (d{name} += …), so both must be arrays, e.g. "
                    f"{fix}self.d{name} = np.zeros_like(self.{name})"
                )


def _output(layer: Any, x: np.ndarray) -> np.ndarray:
    """``layer.forward(x)``, once it is known to be an array that the same x always gives.

    Finite differences compare the outputs for x and for x nudged by h: a forward that
    draws new random numbers at every call (dropout's mask) changes its output by far
    more than the nudge, and every gradient would look wrong although none is.
    """
    who = type(layer).__name__
    out = layer.forward(x)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{who}.forward returned a {type(out).__name__} ({out!r}), not an array: "
                        f"a layer maps a batch x (N, D) to its output (N, D'), one row per sample; "
                        f"return that array")
    out = out.copy()  # the layer may reuse its buffer
    if not np.array_equal(out, layer.forward(x), equal_nan=True):
        raise ValueError(
            f"{who}.forward gave two different outputs for the same x: it is random between "
            f"calls (like dropout's mask), so its gradient cannot be checked by finite "
            f"differences, which compare outputs for nearby x. Check it with the randomness "
            f"fixed: the same mask at every call (draw it once and reuse it, or reseed its "
            f"generator before each forward), or with the random part switched off (rate 0)"
        )
    return out


def _backward(layer: Any, dout: np.ndarray) -> tuple[Any, GradientCheck | None]:
    """``layer.backward`` on a copy of ``dout``: ``(dx, None)``, or ``(dx, a failing row)``.

    The row appears when backward changed its copy; it compares the copy ("analytic")
    with the untouched ``dout``.
    """
    given = dout.copy()
    dx = layer.backward(given)
    dx = None if dx is None else np.array(dx)  # a copy: the next call may reuse its buffer
    if np.array_equal(given, dout):
        return dx, None
    return dx, compare("dout modified in place", given, dout, tol=0.0)  # any change fails


def check_loss(
    loss: Any, p: np.ndarray, y: np.ndarray, h: float = STEP, tol: float = GOOD
) -> GradCheckReport:
    """Check ``loss.backward()`` (∂L/∂p) at prediction ``p`` and target ``y``, both ``(N, D)`` float64.

    A loss whose forward returns a float32 (or float16) is checked at that precision:
    with the step ``LOW_PRECISION_STEP`` and a tolerance set by its rounding, which the
    report states; a batch too large for that precision to tell a factor of 2 from
    rounding is refused with a ``ValueError``.
    """
    p = np.array(p)
    require_float64(p=p, y=y)
    value = loss.forward(p, y)
    precision = _precision(loss, value)
    size = abs(float(value))
    dp = loss.backward()
    if precision.bits >= 64:
        numerical = numerical_gradient(lambda: loss.forward(p, y), p, 1.0, h)
        return GradCheckReport([compare("dp", dp, numerical, tol, size)])
    h = LOW_PRECISION_STEP
    numerical = numerical_gradient(lambda: loss.forward(p, y), p, 1.0, h)
    gradient = max(np.abs(numerical).max(initial=0), FLOOR * max(1.0, size))
    rounding = 1.5 * float(precision.eps) * size / h / gradient  # relative to the gradient
    low_tol = max(tol, LOW_PRECISION_TOL, 2 * rounding)
    name = f"{type(loss).__name__}.forward"
    if low_tol > LOW_PRECISION_LIMIT:
        raise ValueError(
            f"{name} returns a {precision.dtype}, whose rounding at this batch ({p.shape}, "
            f"loss {size:.3g}) is {rounding:.2g} of the gradient: too coarse to tell a right "
            f"gradient from a wrong one. Return a float64 (compute in float64 and return "
            f"float(value)), or check a smaller batch"
        )
    row = compare("dp", dp, numerical, low_tol, size)
    return GradCheckReport([row], [
        f"{name} returns a {precision.dtype}, not a float64, so dp was checked at "
        f"{precision.dtype} precision: step h = {h:g}, tolerance {low_tol:.2g} instead of "
        f"{tol:g}. Return a float64 (float(value) of a float64 computation) for the full check"
    ])


def _precision(loss: Any, value: Any) -> np.finfo:
    """The float precision of what ``loss.forward`` returned, or a clear error if not a number."""
    name = f"{type(loss).__name__}.forward"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.ndarray)):
        raise TypeError(f"{name} returned {value!r}, not a number: a loss returns the reduced loss, "
                        f"one float (e.g. return float(np.mean((p - y) ** 2)))")
    array = np.asarray(value)
    if array.ndim != 0:
        raise TypeError(f"{name} returned an array of shape {array.shape}, not one number: "
                        f"reduce the elementwise losses (mean or sum) before returning")
    dtype = array.dtype
    return np.finfo(dtype if dtype.kind == "f" else np.float64)


def check_model(
    model: Any, loss: Any, x: np.ndarray, y: np.ndarray, h: float = MODEL_STEP, tol: float = GOOD,
    entries: int | None = ENTRIES, seed: int = 0,
) -> GradCheckReport:
    """Check the gradient of ``loss(model(x), y)`` with respect to every model parameter.

    For a model with ``penalties()`` (sparsity, weight decay, …) the checked objective is
    the one ``fit`` minimises: ``loss(model(x), y) + Σ weight · value``.

    ``model`` needs ``forward``, ``backward``, ``zero_grad`` and ``parameters()``
    returning ``(name, value, grad)``; build it with ``dtype=np.float64``.  A model
    with flat ``params`` and ``grads`` vectors (``Sequential``, the autoencoders) must
    still hold every parameter and gradient in them after ``backward``: a layer that
    rebound one (``self.dW = …``) is reported instead, since the optimizer, which updates
    ``params`` from ``grads``, would never see it.

    ``entries``: how many entries of each gradient to check (``ENTRIES``; a gradient with
    fewer is checked whole): its first, its last, and the rest drawn with ``seed``, the
    same each time.  ``None`` checks every entry; when that is expected to take more than
    ``PROGRESS_AFTER`` seconds, it says how long on stderr first, and reports progress.
    A model whose loss differs between two calls on the same x (random) is refused with a
    ``ValueError``, as in ``check_layer``.
    """
    if entries is not None:
        check_count("entries", entries)
    check_count("seed", seed, minimum=0)
    named = model.parameters()
    require_float64(x=x, y=y, **{name: value for name, value, _ in named})

    def f() -> float:
        return loss_terms(model, loss, model.forward(x), y)["loss"]

    model.zero_grad()
    value = f()
    runs = [_timed(f) for _ in range(3)]  # (seconds, value): the first call warmed up
    if any(abs(again - value) > 1e-9 * max(1.0, abs(value)) for _, again in runs):
        raise ValueError(
            f"the loss of {type(model).__name__} changed between two calls on the same x "
            f"({value!r}, then {runs[0][1]!r}): its forward is random (a VAE's sampled noise, "
            f"dropout), so its gradient cannot be checked by finite differences. Fix the "
            f"randomness for the check, e.g. a VAE's forward(x, eps=…) with one eps"
        )
    size, seconds = abs(value), min(t for t, _ in runs)  # each entry costs four evaluations
    model.backward(loss.backward())
    unbound = _unbound(model)
    if unbound:
        return unbound
    analytic = [(name, value, grad.copy()) for name, value, grad in model.parameters()]
    picks = [_sample(value.size, entries, seed, i) for i, (_, value, _) in enumerate(analytic)]
    checked = sum(value.size if pick is None else len(pick)
                  for (_, value, _), pick in zip(analytic, picks))
    total = sum(value.size for _, value, _ in analytic)
    say = _progress(checked, 4 * checked * seconds, entries)
    report = GradCheckReport()
    for i, ((name, value, grad), pick) in enumerate(zip(analytic, picks), start=1):
        numerical = numerical_gradient(f, value, 1.0, h, pick)
        report.append(_compare_at("d" + name, grad, numerical, pick, tol, size))
        say(f"check_model: d{name} done ({i} of {len(analytic)} gradients)")
    if entries is not None and checked < total:
        report.notes.append(
            f"sampled: each gradient of more than {entries} entries was checked at {entries} of "
            f"them (its first, its last and {max(entries - 2, 0)} drawn with seed {seed}), "
            f"{checked:,} of the {total:,} in all; check_model(..., entries=None) checks every one"
        )
    return report


def _timed(f: Callable[[], Any]) -> tuple[float, Any]:
    """``(seconds, value)`` of one call of ``f``."""
    start = time.perf_counter()
    value = f()
    return time.perf_counter() - start, value


def _sample(size: int, entries: int | None, seed: int, i: int) -> np.ndarray | None:
    """Flat indices of the entries of gradient ``i`` to check, or None for all of them.

    The first and the last entry (where an off-by-one slice goes wrong), the rest drawn
    without replacement from ``default_rng([seed, i])``: reproducible, and independent
    from one gradient to the next.
    """
    if entries is None or size <= entries:
        return None
    ends = [0, size - 1][:entries]
    inner = 1 + np.random.default_rng([seed, i]).choice(size - 2, entries - len(ends), replace=False)
    return np.sort(np.concatenate([ends, inner])).astype(int)


def _compare_at(name: str, analytic: np.ndarray, numerical: np.ndarray, entries: np.ndarray | None,
                tol: float, size: float) -> GradientCheck:
    """``compare`` on the checked ``entries`` only; the row names the full shape and index."""
    if entries is None:
        return compare(name, analytic, numerical, tol, size)
    row = compare(name, analytic.ravel()[entries], numerical, tol, size)
    row.shape = analytic.shape
    if row.worst_index:
        flat = int(entries[row.worst_index[0]])
        row.worst_index = tuple(int(i) for i in np.unravel_index(flat, analytic.shape))
    return row


def _progress(checked: int, expected: float, entries: int | None) -> Callable[[str], None]:
    """Say on stderr how long a check expected to take ``expected`` seconds will take.

    Only for a check longer than ``PROGRESS_AFTER``; then the returned function reports
    each finished gradient, and otherwise it says nothing.
    """
    if expected <= PROGRESS_AFTER:
        return lambda line: None
    sample = ("" if entries is not None else
              f"; entries={ENTRIES} (the default) checks a seeded sample of each gradient instead")
    minutes = f"{expected / 60:.1f} min" if expected >= 120 else f"{expected:.0f} s"
    print(f"check_model: {checked:,} entries to check, four forward passes each: about "
          f"{minutes}{sample}", file=sys.stderr, flush=True)
    return lambda line: print(line, file=sys.stderr, flush=True)


def _unbound(model: Any) -> GradCheckReport:
    """A failing row for each parameter or gradient that is no view of the model's vectors."""
    flat = {"params": getattr(model, "params", None), "grads": getattr(model, "grads", None)}
    if flat["params"] is None or flat["grads"] is None:
        return GradCheckReport()  # a model without flat vectors: nothing to share
    report = GradCheckReport()
    for name, value, grad in model.parameters():
        layer, _, short = name.rpartition(".")  # "0.W" → layer "0", parameter "W"
        for attr, array, vector in ((short, value, "params"), ("d" + short, grad, "grads")):
            if not np.shares_memory(array, flat[vector]):
                report.append(_finding(
                    f"{layer}.{attr} not in model.{vector}".lstrip("."), np.shape(array),
                    f"layer {layer} rebound {attr} (`self.{attr} = …`), so it is no longer a "
                    f"view of model.{vector} and the optimizer, which reads model.grads and "
                    f"updates model.params, never sees it: write into it, `self.{attr} += …` "
                    f"or `self.{attr}[...] = …`"))
    return report
