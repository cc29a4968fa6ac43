"""Optimizers: ``SGD`` (with momentum) and ``Adam``.

An optimizer knows nothing about layers.  ``step(params, grads)`` receives a model's
flat parameter vector θ and its gradient g (see ``tinyae.model``) and updates θ
**in place**, so every layer's ``W`` and ``b`` — views into θ — change with it.

The update rules and defaults are those of the references (and of ``torch.optim``),
so you can compare numbers step by step.
"""

from __future__ import annotations

import numpy as np


class Optimizer:
    """Base class: checks the learning rate and keeps per-parameter state."""

    def __init__(self, lr: float) -> None:
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got lr={lr}")
        self.lr = lr
        self.t = 0  # number of steps taken
        self.state: dict[str, np.ndarray] = {}

    def _buffer(self, name: str, params: np.ndarray) -> np.ndarray:
        """The state vector ``name`` (e.g. Adam's ``m``), created as zeros at the first step."""
        if name not in self.state:
            self.state[name] = np.zeros_like(params)
        buffer = self.state[name]
        if buffer.shape != params.shape:
            raise ValueError(
                f"{type(self).__name__} was used with {buffer.size} parameters and now gets "
                f"{params.size}; create a new optimizer for each model"
            )
        return buffer

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Update ``params`` in place from ``grads`` (same shape)."""
        raise NotImplementedError

    def _check(self, params: np.ndarray, grads: np.ndarray) -> None:
        if params.shape != grads.shape:
            raise ValueError(f"params {params.shape} and grads {grads.shape} must have the same shape")
        self.t += 1


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
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0")
        self.momentum, self.nesterov = momentum, nesterov

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        """One SGD update of ``params`` in place."""
        self._check(params, grads)
        if self.momentum == 0:
            params -= self.lr * grads
            return
        v = self._buffer("v", params)
        v *= self.momentum
        v += grads
        params -= self.lr * (grads + self.momentum * v if self.nesterov else v)

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
    """

    def __init__(
        self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        super().__init__(lr)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"beta1 and beta2 must be in [0, 1), got {beta1}, {beta2}")
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        """One Adam update of ``params`` in place."""
        self._check(params, grads)
        m, v = self._buffer("m", params), self._buffer("v", params)
        m *= self.beta1
        m += (1 - self.beta1) * grads
        v *= self.beta2
        v += (1 - self.beta2) * np.square(grads)
        m_hat_scale = 1 / (1 - self.beta1**self.t)
        v_hat_sqrt_scale = 1 / np.sqrt(1 - self.beta2**self.t)
        denominator = np.sqrt(v)
        denominator *= v_hat_sqrt_scale
        denominator += self.eps
        params -= (self.lr * m_hat_scale) * m / denominator

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps})"


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}


def get_optimizer(name: str, lr: float, **kwargs: float) -> Optimizer:
    """An optimizer by name (``"sgd"`` or ``"adam"``) with learning rate ``lr``."""
    try:
        cls = OPTIMIZERS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}") from None
    return cls(lr=lr, **kwargs)
