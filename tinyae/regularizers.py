"""Penalties an autoencoder adds to its loss: sparsity (KL to ρ) and L2 weight decay.

Each is a ``Penalty`` in the sense of ``tinyae.train``: built from the last forward,
it holds ``name``, ``weight`` and ``value`` (``fit`` adds ``weight · value`` to the
loss and records ``value`` under ``name``) and the gradient of ``weight · value``,
computed together with the value; the model's ``backward`` adds that gradient where
the term enters the network.

Sparsity (Ng, CS294A lecture notes "Sparse autoencoder")
--------------------------------------------------------
With sigmoid hidden units a (N, J), ρ̂ⱼ = (1/N) Σₙ a[n, j] is unit j's mean activation
over the batch.  The penalty pulls every ρ̂ⱼ towards a small target ρ (e.g. 0.1)::

    value = Σⱼ KL(ρ ‖ ρ̂ⱼ) = Σⱼ [ρ log(ρ/ρ̂ⱼ) + (1−ρ) log((1−ρ)/(1−ρ̂ⱼ))]
    ∂(β·value)/∂a[n, j] = β · (−ρ/ρ̂ⱼ + (1−ρ)/(1−ρ̂ⱼ)) / N

(∂ρ̂ⱼ/∂a[n, j] = 1/N, so every sample of the batch gets the same share.)  Each unit is
then active on few images, which turns its weights into a detector of one local
feature (a pen stroke) instead of a blurry whole digit.

Weight decay
------------
``value = ½ Σ ‖W‖²`` over the Dense weights, weight λ, gradient ``λ·W``.  Biases are
left out: a bias shifts a unit's input without making the unit depend more on any
pixel, so shrinking it does not make the function smoother, and a unit may need a large
bias to be off by default (the sparse units do).  See ``WeightDecay`` for how this
differs from AdamW's decoupled decay.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def check_rho(rho: float) -> float:
    """``rho`` if it is a target activation strictly between 0 and 1 (KL(ρ ‖ ·) needs it)."""
    if not (isinstance(rho, (int, float)) and 0 < rho < 1):
        raise ValueError(f"the sparsity target ρ must lie strictly between 0 and 1 (a mean "
                         f"sigmoid activation, e.g. 0.1), got {rho!r}")
    return float(rho)


class SparsityPenalty:
    """β · Σⱼ KL(ρ ‖ ρ̂ⱼ) for hidden activations ``a`` (N, J) in (0, 1); gradient ``da`` (N, J).

    ``value`` is Σⱼ KL(ρ ‖ ρ̂ⱼ) (a sum over units, not a mean: the CS294A convention,
    for which β = 3 is the classic weight), ``weight`` is β, ``rho_hat`` (J,) the mean
    activations.  ``da = β · (−ρ/ρ̂ + (1−ρ)/(1−ρ̂)) / N``, broadcast to every row.
    """

    name = "sparsity"

    def __init__(self, a: np.ndarray, rho: float, beta: float) -> None:
        self.weight = beta
        # A saturated unit (ρ̂ = 0 or 1 in floating point) would make the KL infinite:
        # keep ρ̂ a hair inside (0, 1), where the formula and its derivative are finite.
        eps = np.finfo(a.dtype).eps
        self.rho_hat = np.clip(a.mean(axis=0), eps, 1 - eps)
        r = self.rho_hat
        self.value = float(np.sum(rho * np.log(rho / r) + (1 - rho) * np.log((1 - rho) / (1 - r))))
        d_rho_hat = beta * (-rho / r + (1 - rho) / (1 - r))  # (J,)
        self.da = np.broadcast_to(d_rho_hat / len(a), a.shape).astype(a.dtype)


class WeightDecay:
    """λ · ½ Σ ‖W‖² over the weights of ``layers`` (their ``W``; biases excluded).

    ``value`` = ½ Σ ‖W‖², ``weight`` = λ; ``add_gradient()`` adds ∂(λ·value)/∂W = λ·W
    into each ``dW`` (``+=``, like every other gradient: call it once per backward).

    L2 in the loss versus decoupled decay (AdamW, Loshchilov & Hutter 2019): with plain
    SGD both shrink θ by lr·λ·θ per step and are the same thing.  With Adam they are not:
    the L2 term's gradient λ·W is added to dW *before* Adam divides by √v̂, so a weight
    with large gradients (large v̂) is decayed less, and one with tiny gradients more,
    than λ says.  AdamW instead leaves the gradient alone and subtracts lr·λ·θ from θ
    directly, decaying every weight at the same rate (``Adam(weight_decay=λ)``).  This
    class is the L2 kind: the classic sparse-autoencoder objective is written that way, and
    its gradient can be checked like any other loss term.

    One more difference, of speed: under Adam a weight whose only gradient is λ·W (a dead
    ReLU unit's) moves by about lr·λ·W/ε per step and shrinks geometrically into float32's
    subnormal numbers, on which the processor computes many times slower.  Measured on the
    deep autoencoder 784-1000-…-784 with λ = 1e-5: 144,000 subnormal weights after 8
    epochs, and epochs 2.8× slower.  Prefer AdamW for deep ReLU networks trained with Adam.
    """

    name = "weight_decay"

    def __init__(self, layers: Sequence[Any], lam: float) -> None:
        self.weight = lam
        self.layers = [layer for layer in layers if "W" in getattr(layer, "param_names", ())]
        self.value = 0.5 * float(sum(np.sum(layer.W * layer.W) for layer in self.layers))

    def add_gradient(self) -> None:
        """``dW += λ·W`` for every weighted layer."""
        for layer in self.layers:
            layer.dW += self.weight * layer.W
