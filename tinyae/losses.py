"""Losses with analytic gradients: ``MSE``, ``BCE`` and ``BCEWithLogits``.

Each loss compares a prediction ``p`` with a target ``y`` of the same shape ``(N, D)``:

* ``forward(p, y) -> float`` computes the loss and caches what ``backward`` needs;
* ``backward() -> dp`` returns ∂L/∂p, shape ``(N, D)``.

Reductions — how the N·D elementwise losses ℓ[n, d] become one number:

========== ============================== =========================================
reduction  L                              use
========== ============================== =========================================
"mean"     (1 / (N·D)) Σ_n Σ_d ℓ[n, d]    Keras and PyTorch default; "per pixel"
"sum"      Σ_n Σ_d ℓ[n, d]                the whole batch
"batchmean" (1 / N) Σ_n Σ_d ℓ[n, d]       per sample: the VAE's convention (nats)
========== ============================== =========================================

So ``batchmean = D · mean`` and ``sum = N · batchmean``.  The division happens exactly
once, in ``_scale``, and the gradient is multiplied by the same factor.

What a loss refuses, and why: p and y must be real-valued batches of one shape
``(N, D)`` with N, D ≥ 1 (a mean over no samples is 0/0); targets must be finite (a NaN
target is bad data that no learning rate can fix).  Their types follow the rule of the
whole package (``tinyae.safeguards.loss_arrays``): uint8 pixels are scaled to [0, 1],
other integers refused, float16 computed in float32.  A non-finite *prediction* is not
refused: its loss is NaN or inf, which ``fit`` reports as a diverging run.
"""

from __future__ import annotations

import math

import numpy as np

from tinyae.checks import describe_rows, non_finite_rows, real_number
from tinyae.layers import ShapeError, sigmoid
from tinyae.registry import lookup
from tinyae.safeguards import loss_arrays

REDUCTIONS = ("mean", "sum", "batchmean")
EPS = 1e-7  # BCE clips p to [EPS, 1 − EPS]: Keras' value; −log EPS ≈ 16.1 caps one element's loss
# BCE's eps: from the smallest step below 1 that float64 can represent (a smaller eps
# rounds 1 − eps to 1, and log(1 − p) becomes −inf) up to a clip that only touches
# saturated predictions.
EPS_RANGE = (float(np.finfo(np.float64).epsneg), 0.1)
ROUNDING = 1e-5  # targets outside [0, 1] by less than this: float error, e.g. after x·σ + μ


def binary_entropy(y: np.ndarray | float) -> np.ndarray:
    """H(y) = −y·log y − (1 − y)·log(1 − y) in nats, with 0·log 0 = 0.

    This is BCE's floor: min over p of BCE(p, y) = H(y), reached at p = y.
    H(0) = H(1) = 0 and H(0.5) = log 2 ≈ 0.693.
    """
    y = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(y * np.log(y) + (1 - y) * np.log1p(-y))
    return np.where((y == 0) | (y == 1), 0.0, h)


class Loss:
    """Base class: validates p and y, applies the reduction, guards ``backward``."""

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = lookup(REDUCTIONS, reduction, "reduction")
        self.scale: float | None = None  # set by forward: backward needs a forward first

    def _scale(self, shape: tuple[int, ...]) -> float:
        """The factor that turns a sum over all elements into the chosen reduction."""
        n_samples, n_elements = shape[0], int(np.prod(shape))
        return {"sum": 1.0, "mean": 1.0 / n_elements, "batchmean": 1.0 / n_samples}[self.reduction]

    def _check(self, p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(p, y)`` as float arrays, or a clear error: real numbers, one shape (N, D), N·D ≥ 1."""
        self.scale = None  # a refused batch must not leave the previous one's gradient behind
        name = type(self).__name__
        p, y = loss_arrays(name, p, y)
        if p.shape != y.shape:
            raise ShapeError(
                f"{name}: prediction p has shape {p.shape} but target y has shape {y.shape}; "
                "they must match element for element (an autoencoder's target is its input x)"
            )
        if p.ndim != 2:
            raise ShapeError(
                f"{name}: p and y must be batches of shape (N, D), got shape {p.shape}; the "
                "reductions count samples along axis 0: one sample is p[None, :], "
                "one value per sample p[:, None]"
            )
        if p.size == 0:
            raise ValueError(
                f"{name}: the batch is empty (p and y have shape {p.shape}); a mean over no "
                "elements is 0/0: check the slice that made it (an empty validation split?)"
            )
        return p, y

    def _forward_scale(self) -> float:
        """The reduction's factor of the last successful ``forward``; an error if there was none."""
        if self.scale is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() was called without a forward: it returns "
                "∂L/∂p for the p and y of the last successful forward(p, y); call "
                "loss.forward(p, y) first"
            )
        return self.scale

    def forward(self, p: np.ndarray, y: np.ndarray) -> float:
        """The reduced loss for prediction ``p`` and target ``y``, both ``(N, D)``."""
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """∂L/∂p for the last ``forward``, shape ``(N, D)``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class MSE(Loss):
    """Squared error: ℓ = (p − y)², ∂ℓ/∂p = 2 (p − y).

    Symmetric around the target: predicting y + 0.1 costs the same as y − 0.1.
    Its minimum is 0, reached at p = y, for any real-valued target.
    """

    def forward(self, p: np.ndarray, y: np.ndarray) -> float:
        """Reduced Σ (p − y)²."""
        p, y = self._check(p, y)
        diff = p - y
        value = float(np.vdot(diff, diff))
        if not math.isfinite(value):  # only then look for its cause: no cost per good batch
            _check_finite_targets(y, "MSE")
        scale = self._scale(p.shape)
        self.diff, self.scale = diff, scale
        return value * scale

    def backward(self) -> np.ndarray:
        """``2 (p − y) · scale``."""
        scale = self._forward_scale()  # first: it raises if there was no forward
        return self.diff * (2.0 * scale)


def _check_finite_targets(y: np.ndarray, who: str) -> None:
    """Raise if the targets hold NaN or inf: bad data, not a diverging model."""
    rows = non_finite_rows(y)
    if len(rows):
        raise ValueError(
            f"{who}: the targets y contain NaN or inf in {describe_rows(rows, len(y))}; a "
            "loss against them is NaN or inf whatever the model does, so no learning rate "
            "can fix it: remove or repair those samples (np.isfinite(y).all(axis=1) keeps the "
            "good ones)"
        )


def _check_targets_in_unit_interval(y: np.ndarray, who: str) -> None:
    low, high = float(y.min()), float(y.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        _check_finite_targets(y, who)
    if low < 0.0 or high > 1.0:
        if -ROUNDING <= low and high <= 1 + ROUNDING:
            hint = " Only by rounding error? np.clip(y, 0, 1) puts them back."
        else:
            hint = " Pixels in 0..255? Divide them by 255." if high > 1.0 else ""
        raise ValueError(
            f"{who} needs targets y in [0, 1] (probabilities), got values from {low:.8g} to "
            f"{high:.8g}.{hint} For real-valued targets outside [0, 1] use MSE."
        )


class BCE(Loss):
    """Binary cross-entropy on probabilities p ∈ (0, 1) with targets y ∈ [0, 1].

    ℓ(p) = −y·log p − (1 − y)·log(1 − p)

    **Where is it smallest?**  Hold y fixed and differentiate:

        dℓ/dp = −y/p + (1 − y)/(1 − p) = (p − y) / (p (1 − p))

    The denominator is positive on (0, 1), so the slope is negative for p < y, zero
    only at p = y, and positive for p > y.  The second derivative
    d²ℓ/dp² = y/p² + (1 − y)/(1 − p)² is positive, so ℓ is convex and p = y is its
    unique minimum — for *any* target in [0, 1], grey pixels included.

    **What is the smallest value?**  Put p = y:
    ℓ(y) = −y·log y − (1 − y)·log(1 − y) = H(y), the binary entropy of y
    (``binary_entropy``).  H(y) > 0 whenever 0 < y < 1, so on grey-level images the
    loss never reaches 0 even for a perfect reconstruction.  That is expected, not a
    bug; subtract the mean H(y) of the data to see how far from perfect you are.

    Unlike MSE, BCE is asymmetric around y: for y = 0.8, p = 0.9 and p = 0.7 cost
    different amounts.  With targets outside [0, 1] the derivation breaks (the loss can
    be negative and has no minimum at p = y), so such targets are refused.

    ``eps``: p is clipped to [eps, 1 − eps] so that log p stays finite when a sigmoid
    rounds to exactly 0 or 1 (it does, in float32, for |x| > 17).  1e-7 is Keras'
    value; it caps each element's loss at −log(1e-7) ≈ 16.1.  ``EPS_RANGE`` bounds it:
    below, 1 − eps rounds to 1 and the loss becomes inf or NaN at p = 1; above, the clip
    changes ordinary predictions and the loss stops moving when p leaves [eps, 1 − eps].
    For float32 predictions eps must also be at least float32's step below 1, 6e-8.
    """

    def __init__(self, reduction: str = "mean", eps: float = EPS) -> None:
        super().__init__(reduction)
        self.eps = _check_eps(real_number("BCE", "eps", eps))

    def forward(self, p: np.ndarray, y: np.ndarray) -> float:
        """Reduced Σ −y·log p − (1 − y)·log(1 − p), with p clipped to [eps, 1 − eps]."""
        p, y = self._check(p, y)
        _check_targets_in_unit_interval(y, "BCE")
        low, high = float(p.min()), float(p.max())
        if low < 0 or high > 1:
            raise ValueError(
                f"BCE needs predictions p in [0, 1] (probabilities), got values from {low:.8g} to "
                f"{high:.8g}; put a Sigmoid on the output layer, or feed the raw scores to "
                "BCEWithLogits"
            )
        if p.dtype.kind == "f":
            _check_eps(self.eps, p.dtype)
        self.p, self.y = np.clip(p, self.eps, 1 - self.eps), y
        self.scale = self._scale(p.shape)
        # log(1 − p) rather than log1p(−p): p ≥ eps already bounds the rounding of 1 − p,
        # and NumPy's float32 log is several times faster than its log1p.
        log_likelihood = np.vdot(y, np.log(self.p)) + np.vdot(1 - y, np.log(1 - self.p))
        return -float(log_likelihood) * self.scale

    def backward(self) -> np.ndarray:
        """``(p − y) / (p (1 − p)) · scale``."""
        scale, p = self._forward_scale(), self.p
        return (p - self.y) / (p * (1 - p)) * scale


class BCEWithLogits(Loss):
    """Binary cross-entropy on logits z (p = σ(z)), computed without overflow.

    ℓ(z) = −y·log σ(z) − (1 − y)·log(1 − σ(z)) simplifies to
    ℓ(z) = log(1 + e^z) − z·y, and to stay finite for large |z| we write
    log(1 + e^z) = max(z, 0) + log(1 + e^(−|z|)):

        ℓ(z) = max(z, 0) − z·y + log1p(e^(−|z|))

    Its gradient is simply ∂ℓ/∂z = σ(z) − y: the σ′(z) = p (1 − p) of the sigmoid
    cancels BCE's denominator p (1 − p).  That is why a sigmoid output trained with
    BCE never suffers a saturated output unit, while with MSE it does.
    """

    def forward(self, z: np.ndarray, y: np.ndarray) -> float:
        """Reduced Σ max(z, 0) − z·y + log1p(e^(−|z|))."""
        z, y = self._check(z, y)
        _check_targets_in_unit_interval(y, "BCEWithLogits")
        self.z, self.y, self.scale = z, y, self._scale(z.shape)
        elementwise = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        return float(elementwise.sum()) * self.scale

    def backward(self) -> np.ndarray:
        """``(σ(z) − y) · scale``."""
        scale = self._forward_scale()
        return (sigmoid(self.z) - self.y) * scale


def _check_eps(eps: float, dtype: np.dtype | None = None) -> float:
    """``eps`` if BCE can clip predictions of ``dtype`` with it (None: at construction, float64).

    Otherwise a ValueError naming the valid range and what this eps would do.
    """
    precision = np.dtype(np.float64 if dtype is None else dtype)
    low, high = max(EPS_RANGE[0], float(np.finfo(precision).epsneg)), EPS_RANGE[1]
    if low <= eps <= high:
        return eps
    if math.isnan(eps):
        why = "a NaN eps turns every clipped p into NaN, and the loss with it"
    elif eps >= 0.5:
        why = ("the clip range [eps, 1 − eps] is empty or a single point: every p is scored "
               "alike and the loss never moves")
    elif eps > high:
        why = ("the clip changes ordinary predictions, and once p leaves [eps, 1 − eps] the "
               "loss stops moving while its gradient keeps pushing")
    else:  # too small, zero or negative
        why = (f"1 − eps rounds to 1 in {precision.name}, so a prediction of exactly 0 or 1 "
               "gives log 0: an infinite or NaN loss")
    where = "" if dtype is None else f" with {precision.name} predictions"
    # Advise a value that works here: the default, unless it is the one that failed.
    fix = (f"Use the default eps={EPS:g}" if low <= EPS <= high else
           f"Use eps={low:.2g} or more, or predictions in float32 or float64")
    raise ValueError(f"BCE(eps={eps:g}){where}: eps must be in [{low:.2g}, {high:g}]; {why}. {fix}")


LOSSES: dict[str, type[Loss]] = {"mse": MSE, "bce": BCE, "bce_logits": BCEWithLogits}


def get_loss(name: str, reduction: str = "mean") -> Loss:
    """A loss by name: ``"mse"``, ``"bce"`` or ``"bce_logits"``."""
    return lookup(LOSSES, name, "loss")(reduction=reduction)
