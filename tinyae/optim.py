"""Optimizers: ``SGD`` (with momentum) and ``Adam``.

An optimizer knows nothing about layers.  ``step(params, grads)`` receives a model's
flat parameter vector θ and its gradient g (see ``tinyae.model``) and updates θ
**in place**, so every layer's ``W`` and ``b`` — views into θ — change with it.

The update rules and defaults are those of the references (and of ``torch.optim``),
so you can compare numbers step by step.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from tinyae.checks import real_number
from tinyae.registry import lookup
from tinyae.slices import for_each_slice

# Learning rates accepted: the normal float32 numbers.  Below, lr is 0 (or a denormal)
# in float32 and a step lr·g vanishes beside any weight; above, lr is inf in float32.
# Useful values lie far inside; a large lr inside the range diverges, which fit reports.
LR_RANGE = (float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max))
# Adam's ε: it must keep √v̂ + ε > 0 in float32 when a weight's gradient has always been
# 0 (v̂ = 0: the step is 0/ε), and stay below the gradients' RMS √v̂, or the step
# lr·m̂/(√v̂ + ε) shrinks to lr·m̂/ε and the weights barely move.
ADAM_EPS_RANGE = (1e-30, 1.0)


# Every FLUSH_EVERY steps the optimizer state is flushed of subnormal numbers
# (``flush_subnormals``): a flush of Adam's m and v for 2.83 M parameters takes 6.4 ms, so
# 0.4 ms per step at 16; the subnormals that enter between two flushes cost about as much.
FLUSH_EVERY = 16


def flush_subnormals(state: np.ndarray) -> None:
    """Set every entry of ``state`` (1-D) whose size is below the smallest normal float to 0.

    A running mean whose gradient has become exactly 0 — a dead ReLU unit's weights, or
    the first layer's weights from a pixel that is black in every image — decays by a
    factor β each step, down into the subnormal numbers (below 1.2e-38 in float32), and
    sticks there: 0.9 × the smallest subnormal rounds back to itself.  Arithmetic on
    subnormals takes a slow path in the processor.  Measured on the deep autoencoder
    784-1000-…-784 (one core, Intel Xeon): 20 % of Adam's m subnormal after two epochs, its
    step 10.5 → 30 ms and the epoch 12 → 21 s; PyTorch's Adam slows the same way.  A
    processor's flush-to-zero mode does this in hardware, but NumPy does not expose it.
    Setting these entries to 0 changes θ by nothing: their steps lr·m̂/(√v̂ + ε) are
    themselves subnormal, below any weight's rounding.
    """
    tiny = np.finfo(state.dtype).tiny

    def flush(s: slice) -> None:
        part = state[s]
        part[np.abs(part) < tiny] = 0

    for_each_slice(flush, state)


class Optimizer:
    """Base class: checks the learning rate and keeps per-parameter state."""

    def __init__(self, lr: float) -> None:
        lr = real_number(type(self).__name__, "lr", lr)
        low, high = LR_RANGE
        if not low <= lr <= high:
            effect = ("every weight becomes NaN" if math.isnan(lr) else
                      "lr is inf in float32: the first step makes every weight ±inf or NaN"
                      if lr > high else
                      "the steps climb the loss instead of descending it" if lr < 0 else
                      "the weights never move")
            raise ValueError(
                f"{type(self).__name__}(lr={lr:g}): the learning rate must be a positive number in "
                f"[{low:.2g}, {high:.2g}]; at lr={lr:g} {effect}. Usual values: SGD 0.01 to 1, "
                "Adam 1e-4 to 1e-2"
            )
        self.lr = lr
        self.t = 0  # number of steps taken
        self.params: np.ndarray | None = None  # the parameter vector it updates
        self.state: dict[str, np.ndarray] = {}

    def _buffers(self, params: np.ndarray, grads: np.ndarray, *names: str) -> list[np.ndarray]:
        """Check one step's arguments, count the step, and return the named state vectors.

        The first step binds the optimizer to its parameter vector: its state (step
        count, Adam's ``m`` and ``v``) means nothing for any other model's.  State
        vectors are created as zeros then; the step is counted once the arguments fit.
        """
        _check_parameter_vector(params, grads, type(self).__name__)
        if params.shape != grads.shape:
            raise ValueError(f"params {params.shape} and grads {grads.shape} must have the same "
                             "shape: pass model.params and model.grads of one model")
        if self.params is None:
            self.params = params
        elif params is not self.params:
            raise ValueError(
                f"{type(self).__name__} was used with another parameter vector ({self.params.size} "
                f"parameters; now {params.size}) and its state belongs to that model; create a new "
                f"optimizer for each model"
            )
        for name in names:
            if name not in self.state:
                self.state[name] = np.zeros_like(params)
        self.t += 1
        if self.t % FLUSH_EVERY == 0:
            for name in names:
                flush_subnormals(self.state[name])
        return [self.state[name] for name in names]

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Update ``params`` in place from ``grads`` (same shape)."""
        raise NotImplementedError


def _check_parameter_vector(params: np.ndarray, grads: np.ndarray, who: str) -> None:
    """θ and g must be float arrays, θ writable (it is updated in place): O(1) per step."""
    for name, a in (("params", params), ("grads", grads)):
        if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
            kind = f"dtype {a.dtype}" if isinstance(a, np.ndarray) else type(a).__name__
            raise TypeError(f"{who}.step: {name} must be a float NumPy array, got {kind}; pass "
                            "model.params and model.grads (an integer θ cannot take a "
                            "fractional step)")
    if not params.flags.writeable:
        raise ValueError(f"{who}.step: params is read-only, so it cannot be updated in place; "
                         "pass model.params itself, not a read-only view of it")


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    Without momentum:   θ ← θ − lr · g
    With momentum μ:    v ← μ · v + g,   θ ← θ − lr · v
    Nesterov:           v ← μ · v + g,   θ ← θ − lr · (g + μ · v)

    (The velocity convention of PyTorch's ``torch.optim.SGD``; Sutskever et al. 2013.)
    Momentum averages gradients over about 1 / (1 − μ) steps, which speeds progress
    along directions where the gradient is small but consistent.
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(lr)
        momentum = real_number("SGD", "momentum", momentum)
        if not 0 <= momentum < 1:
            raise ValueError(
                f"SGD(momentum={momentum:g}): momentum must be in [0, 1); the velocity is a "
                "decaying sum of about 1 / (1 − momentum) gradients: at 1 or above it never "
                "forgets one and grows without bound, below 0 it flips sign at every step. "
                "Usual values: 0.9, or 0 for plain SGD"
            )
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"SGD: nesterov must be True or False, got {nesterov!r}")
        if nesterov and momentum == 0:
            raise ValueError("SGD(nesterov=True, momentum=0): nesterov=True needs a momentum > 0; "
                             "Nesterov's look-ahead is along the velocity, e.g. momentum=0.9")
        self.momentum, self.nesterov = momentum, nesterov

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        """One SGD update of ``params`` in place."""
        if self.momentum == 0:
            self._buffers(params, grads)
            params -= self.lr * grads
            return
        (v,) = self._buffers(params, grads, "v")
        mu = self.momentum

        def update(s: slice) -> None:  # on one slice of θ (``tinyae.slices``)
            g = grads[s]
            v[s] = mu * v[s] + g
            params[s] -= self.lr * (g + mu * v[s] if self.nesterov else v[s])

        for_each_slice(update, params)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov})"


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), with bias correction.

    m ← β₁ m + (1 − β₁) g           running mean of the gradient
    v ← β₂ v + (1 − β₂) g²          running mean of its square
    m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)   (both start at 0: undo that bias)
    θ ← θ − lr · m̂ / (√v̂ + ε)

    ε is added to √v̂ (outside the square root), as in the paper and PyTorch.
    Dividing by √v̂ gives every parameter a step of about ``lr`` whatever the size of
    its gradient — which is why Adam escapes the tiny gradients of saturated sigmoids.

    ``weight_decay`` λ > 0 makes it AdamW (Loshchilov & Hutter 2019, "Decoupled Weight
    Decay Regularization"): before the step above, every parameter shrinks by

        θ ← (1 − lr · λ) θ

    apart from the gradient, as ``torch.optim.AdamW`` does (all of θ, biases included).
    An L2 term λ·½‖W‖² in the loss (``tinyae.regularizers.WeightDecay``) is not the same
    under Adam: its gradient λW is divided by √v̂ like any other, so a weight with large
    gradients is barely decayed, and a weight with none (a dead ReLU unit's) is driven to
    0 geometrically — through float32's subnormal range, where arithmetic is many times
    slower.  Decoupled decay shrinks every weight at the same slow rate.
    """

    def __init__(
        self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr)
        beta1, beta2 = real_number("Adam", "beta1", beta1), real_number("Adam", "beta2", beta2)
        eps = real_number("Adam", "eps", eps)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(
                f"Adam(beta1={beta1:g}, beta2={beta2:g}): beta1 and beta2 must be in [0, 1); they "
                "are the decay rates of running means (β = 0.9 averages about 10 steps): at 1 or "
                "above the bias correction divides by 1 − βᵗ ≤ 0, below 0 the means flip sign. "
                "Usual values: beta1=0.9, beta2=0.999"
            )
        low, high = ADAM_EPS_RANGE
        if not low <= eps <= high:
            effect = (f"eps={eps:g} dwarfs the gradients' RMS √v̂, so the step "
                      "lr·m̂/(√v̂ + eps) is nearly 0 and the weights never move" if eps > high else
                      "√v̂ + eps can be 0 or negative: a weight whose gradient has always been 0 "
                      "gets the step 0/0 = NaN")
            raise ValueError(f"Adam(eps={eps:g}): eps must be in [{low:g}, {high:g}]; {effect}. "
                             "Use the default eps=1e-08")
        weight_decay = real_number("Adam", "weight_decay", weight_decay)
        if not 0 <= weight_decay * lr < 1:
            raise ValueError(f"Adam(weight_decay={weight_decay:g}): lr·weight_decay must be in "
                             f"[0, 1), got {weight_decay * lr:g}: each step multiplies θ by "
                             "1 − lr·weight_decay. Usual values: 1e-4 to 0.1")
        self.beta1, self.beta2, self.eps, self.weight_decay = beta1, beta2, eps, weight_decay

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        """One Adam (AdamW, with ``weight_decay``) update of ``params`` in place."""
        m, v = self._buffers(params, grads, "m", "v")
        beta1, beta2 = self.beta1, self.beta2
        # lr · m̂ / (√v̂ + ε) = lr_t · m / (√v + ε_t), with both bias corrections moved into
        # the scalars lr_t = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ) and ε_t = ε · √(1 − β₂ᵗ) — the
        # "more efficient" order of Kingma & Ba's Algorithm 1.  They are Python floats: a
        # NumPy float64 scalar would silently promote the float32 arithmetic.
        root_bias2 = math.sqrt(1 - beta2**self.t)
        lr_t, eps_t = self.lr * root_bias2 / (1 - beta1**self.t), self.eps * root_bias2
        shrink = 1 - self.lr * self.weight_decay  # AdamW's decay, at this step's lr

        def update(s: slice) -> None:  # on one slice of θ (``tinyae.slices``)
            theta, g, m_s, v_s = params[s], grads[s], m[s], v[s]  # views: writes go to θ, m, v
            if self.weight_decay:
                theta *= shrink
            # The formulas, each written in place (a *= b; a += c): the same roundings, so the
            # same numbers as m_s[...] = β₁m + (1 − β₁)g, with two fewer passes over the slice
            # per line — 6.3–6.8 against 6.7–8.5 ms per step for 2.83 M parameters (one core).
            m_s *= beta1
            m_s += (1 - beta1) * g                  # m ← β₁m + (1 − β₁)g
            v_s *= beta2
            v_s += (1 - beta2) * (g * g)            # v ← β₂v + (1 − β₂)g²
            step = np.sqrt(v_s)
            step += eps_t
            np.divide(m_s, step, out=step)
            step *= lr_t
            theta -= step                           # θ ← θ − lr_t · m / (√v + ε_t)

        for_each_slice(update, params)

    def __repr__(self) -> str:
        decay = f", weight_decay={self.weight_decay}" if self.weight_decay else ""
        return f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps}{decay})"


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}


def get_optimizer(name: str, lr: float, **kwargs: float) -> Optimizer:
    """An optimizer by name (``"sgd"`` or ``"adam"``) with learning rate ``lr``."""
    cls = lookup(OPTIMIZERS, name, "optimizer")
    settings = list(inspect.signature(cls).parameters)
    unknown = sorted(set(kwargs) - set(settings))
    if unknown:
        raise TypeError(f"{cls.__name__} has no setting {', '.join(unknown)}; its settings are "
                        f"{', '.join(settings)}")
    return cls(lr=lr, **kwargs)
