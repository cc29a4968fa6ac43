"""Named weight initialisers, each drawing from an explicit ``np.random.Generator``.

Why initialisation matters: the scale of ``W`` decides whether the signal keeps its
size as it passes through the layers.  Too small and activations (and gradients)
shrink towards 0; too large and sigmoids saturate, their derivative σ(1 − σ) drops to
≈ 0 and learning stalls — one of the causes of the "blob" in question 1 of
``docs/questions.md``.

Every initialiser has the signature ``init(shape, rng) -> W`` with ``shape = (n_in, n_out)``,
two whole numbers ≥ 1, and ``rng`` a ``np.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinyae.registry import lookup

Initializer = Callable[[tuple[int, int], np.random.Generator], np.ndarray]


def _fans(shape: Any, rng: Any) -> tuple[int, int]:
    """``(n_in, n_out)`` from ``shape``, or a clear error; ``rng`` must be a Generator."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator, got {rng!r}; "
                        "pass np.random.default_rng(seed)")
    if len(np.shape(shape)) != 1 or len(shape) != 2:
        raise ValueError(f"shape must be (n_in, n_out), the shape of a Dense layer's W, "
                         f"got {shape!r}")
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"shape (n_in, n_out) must hold whole numbers of units, got {shape!r}")
    n_in, n_out = (int(n) for n in shape)
    if n_in < 1 or n_out < 1:
        raise ValueError(f"shape (n_in, n_out) = {shape!r}: a layer needs at least 1 input and "
                         "1 output unit (the scale of W divides by them)")
    return n_in, n_out


def glorot(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Glorot/Xavier uniform (Glorot & Bengio 2010), the default for sigmoid and tanh.

    W ~ U(−a, a) with a = sqrt(6 / (n_in + n_out)), so Var(W) = 2 / (n_in + n_out):
    the variance of activations and of gradients both stay roughly constant.
    """
    n_in, n_out = _fans(shape, rng)
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def he(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """He/Kaiming normal (He et al. 2015), for ReLU layers.

    W ~ N(0, 2 / n_in).  ReLU zeroes half of its inputs on average, so the variance
    needs the extra factor 2 to keep the signal's size from layer to layer.
    """
    n_in, n_out = _fans(shape, rng)
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


def identity(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The identity matrix (ones on the diagonal of a rectangular W); ``rng`` is unused.

    A square linear layer initialised this way reproduces its input exactly — the
    zero-loss starting point of question 3 in ``docs/questions.md``.
    """
    return np.eye(*_fans(shape, rng))


def zeros(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """All zeros; ``rng`` is unused.

    Fine for biases, fatal for weights of hidden layers: every unit then computes the
    same thing and receives the same gradient, so they can never become different.
    """
    return np.zeros(_fans(shape, rng))


INITIALIZERS: dict[str, Initializer] = {
    "glorot": glorot,
    "xavier": glorot,
    "he": he,
    "kaiming": he,
    "identity": identity,
    "zeros": zeros,
}


def get_initializer(name: str) -> Initializer:
    """Look an initialiser up by name (``"glorot"``, ``"he"``, ``"identity"``, ``"zeros"``)."""
    return lookup(INITIALIZERS, name, "initialiser")
