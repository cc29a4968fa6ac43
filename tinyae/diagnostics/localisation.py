"""How local a first-layer filter is: the share of its energy inside its brightest window.

A hidden unit's filter is its column W[:, j] of the first Dense, seen as a 28 × 28 image.
Its energy at pixel k is W[k, j]²; the filter is *local* when that energy sits in one
small region (a pen stroke) rather than all over the digit::

    localisation_j = max over k × k windows w of  Σ_{pixels in w} W[·, j]²  /  Σ_{all pixels} W[·, j]²

1 means all the energy fits in one k × k window; a filter whose energy is spread evenly
over an s × s image scores k²/s² (49/784 = 0.0625 for k = 7 on MNIST), the floor of the
measure.  The window sums come from a summed-area table: S[r, c] = Σ of the energies
above and to the left of (r, c), so each window's sum is four look-ups,
S[r+k, c+k] − S[r, c+k] − S[r+k, c] + S[r, c].
"""

from __future__ import annotations

import math

import numpy as np

WINDOW = 7  # a quarter of MNIST's 28-pixel side: about one pen stroke


def filter_localisation(W: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """(J,) share of each filter's energy W[:, j]² inside its brightest ``window``² square.

    W : (D, J), one filter per column, D = s² a square number of pixels (784 = 28²), as
    in ``Dense.W`` of the first layer.  Values lie in [window²/D, 1] (see the module).
    Raises ValueError for a W that is not (D, J) with D square, a window that is not an
    int in 1..s, or a filter with no energy (all weights 0: it has no place to be).
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[1] == 0:
        raise ValueError(f"W must have shape (D, J), one filter per column, got {W.shape}")
    side = math.isqrt(W.shape[0])
    if side * side != W.shape[0]:
        raise ValueError(f"W has shape {W.shape}: its {W.shape[0]} rows are not a square image "
                         f"(784 = 28 × 28); pass the first layer's W, not W.T")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or not 1 <= window <= side:
        raise ValueError(f"window must be an int between 1 and the image side {side}, got {window!r}")
    energy = np.square(W.T).reshape(-1, side, side)  # (J, s, s)
    total = energy.sum(axis=(1, 2))
    if np.any(total == 0):
        raise ValueError(f"filters {np.flatnonzero(total == 0).tolist()} are all zeros: a filter "
                         "without energy has no location; leave those columns out")
    table = np.zeros((len(energy), side + 1, side + 1))
    table[:, 1:, 1:] = energy.cumsum(axis=1).cumsum(axis=2)
    k = window
    sums = table[:, k:, k:] - table[:, :-k, k:] - table[:, k:, :-k] + table[:, :-k, :-k]
    return sums.reshape(len(energy), -1).max(axis=1) / total
