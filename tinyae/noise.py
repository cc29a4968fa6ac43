"""Input noise for denoising autoencoders (Vincent et al. 2008): corrupt x, keep x the target.

A denoising autoencoder sees a corrupted copy x̃ of each image and is trained to
reconstruct the clean x:  minimise L(decoder(encoder(x̃)), x).  It cannot just copy its
input, so it must learn what images look like.  Two corruptions, written as specs::

    "gaussian:0.3"   x̃ = clip(x + σ·ε, 0, 1),  ε ~ N(0, 1) per pixel,  σ = 0.3
    "mask:0.25"      x̃ = m ⊙ x,  m ~ Bernoulli(1 − q) per pixel,        q = 0.25

Gaussian noise is clipped to [0, 1] because pixels are intensities in [0, 1]: the
corrupted input stays an image (one can show it, and a sigmoid output could reach it),
as in the Keras denoising tutorial.  Clipping does shrink the noise on black pixels
(half of the draws there are cut to 0), which is the corruption a real dark pixel can
suffer anyway.

Noise enters only the input: x̃ is data, not a function of θ, so the gradient with
respect to θ is that of the plain autoencoder evaluated at x̃ (with target x).  ``fit``
draws it per batch from a Generator derived from its seed (see ``tinyae.train``).
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np


class Noise(Protocol):
    """A corruption ``x̃ = noise(x, rng)``, ``(N, D) → (N, D)``, drawn from ``rng``."""

    spec: str

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...


class GaussianNoise:
    """``x̃ = clip(x + σ·ε, 0, 1)`` with ε ~ N(0, 1) per pixel.  ``(N, D) → (N, D)``, x's dtype."""

    def __init__(self, sigma: float) -> None:
        if not (math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"Gaussian noise needs a standard deviation σ > 0, got {sigma}")
        self.sigma = sigma
        self.spec = f"gaussian:{sigma:g}"

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A corrupted copy of ``x``; ``x`` itself is not changed."""
        noisy = x + self.sigma * rng.standard_normal(x.shape, dtype=x.dtype)
        return np.clip(noisy, 0, 1, out=noisy)


class MaskingNoise:
    """``x̃ = m ⊙ x`` with m ~ Bernoulli(1 − q) per pixel: each pixel is zeroed with probability q."""

    def __init__(self, q: float) -> None:
        if not (0 < q < 1):
            raise ValueError(f"masking noise needs a probability 0 < q < 1 of zeroing a pixel, "
                             f"got {q}")
        self.q = q
        self.spec = f"mask:{q:g}"

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A corrupted copy of ``x``; ``x`` itself is not changed."""
        return x * (rng.random(x.shape) >= self.q)


KINDS: dict[str, type[GaussianNoise] | type[MaskingNoise]] = {
    "gaussian": GaussianNoise, "mask": MaskingNoise}


def parse_noise(spec: str) -> Noise:
    """``"gaussian:0.3"`` → ``GaussianNoise(0.3)``, ``"mask:0.25"`` → ``MaskingNoise(0.25)``.

    Raises ValueError, naming the spec and the accepted forms, for anything else.
    """
    kind, _, number = str(spec).partition(":")
    try:
        level = float(number)
    except ValueError:
        level = math.nan
    if kind not in KINDS or not math.isfinite(level):
        raise ValueError(f"noise {spec!r} must be 'gaussian:SIGMA' (e.g. gaussian:0.3) or "
                         f"'mask:Q' (e.g. mask:0.25)")
    return KINDS[kind](level)
