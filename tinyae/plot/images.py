"""Figures of images and codes: reconstructions, grids, first-layer filters, latent space."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from tinyae.plot.base import SavePath, _as_images, _check_count, _finish, _grey, _pyplot

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_FILTERS = 100  # filters() draws at most this many units by default


def _white_gaps(cmap: str):
    """The colour map ``cmap`` with NaN drawn white: the gaps between the tiles of ``_tiles``."""
    from matplotlib import colormaps

    return colormaps[cmap].with_extremes(bad="white")


def reconstructions(x: np.ndarray, p: np.ndarray, n: int = 10, path: SavePath = None,
                    title: str | None = None) -> Figure:
    """Originals (top row) above their reconstructions (bottom row).

    x, p: (N, H*W) with a square side (e.g. (N, 784)) or (N, H, W), values in [0, 1]
    (shown in grey on a fixed 0..1 scale, so values outside saturate).  The first
    ``min(n, N)`` pairs are shown: 2 rows of image axes.
    """
    if np.shape(x) != np.shape(p):
        raise ValueError(
            f"x {np.shape(x)} and p {np.shape(p)} must have the same shape: "
            "p should be model.forward(x) for exactly these inputs"
        )
    return image_rows({"x": x, "p": p}, n, path,
                      title or "originals x (top) and reconstructions p (bottom)")


def image_rows(rows: Mapping[str, np.ndarray], n: int = 10, path: SavePath = None,
               title: str | None = None) -> Figure:
    """One row of images per entry of ``rows`` (label → images), column j showing image j.

    Each value: (N, H*W) with a square side or (N, H, W), values in [0, 1] shown in grey
    on a fixed 0..1 scale; all with the same N.  The first ``min(n, N)`` images of each are
    shown, the label at the left of its row — e.g. noisy input / reconstruction / clean,
    or originals / deep autoencoder / PCA.
    """
    _check_count("n", n)
    if not rows:
        raise ValueError("rows must hold at least one label → images entry")
    images = {label: _as_images(x, label) for label, x in rows.items()}
    counts = {label: len(x) for label, x in images.items()}
    if len(set(counts.values())) > 1:
        raise ValueError(f"every row must hold the same number of images (column j shows image "
                         f"j of each), got {counts}")
    n = min(n, *counts.values())
    fig, axes = _pyplot().subplots(len(images), n, figsize=(n, 1.15 * len(images) + 0.4),
                                   squeeze=False)
    for row, (label, x) in zip(axes, images.items()):
        for ax, image in zip(row, x):
            _grey(ax, image)
        row[0].set_ylabel(label)
    fig.suptitle(title or ", ".join(images) + " (one row each)")
    return _finish(fig, path)


def latent_scatter(z: np.ndarray, labels: np.ndarray, path: SavePath = None,
                   dims: tuple[int, int] = (0, 1), title: str = "latent codes z, coloured by digit"
                   ) -> Figure:
    """Scatter of the latent codes z[:, i] against z[:, j], (i, j) = ``dims``, coloured by digit.

    z: (N, J) with J >= 2 (when J > 2 only the two ``dims`` are drawn, and the title says
    so); labels: (N,) integers 0..9.  The figure has 2 axes (plot, colour bar).
    """
    z, labels = np.asarray(z, dtype=np.float64), np.asarray(labels)
    if z.ndim != 2 or z.shape[1] < 2 or len(z) == 0:
        raise ValueError(f"z must have shape (N, J) with N >= 1 and J >= 2 latent dimensions, "
                         f"got {z.shape}")
    if labels.shape != (len(z),):
        raise ValueError(f"labels must have shape ({len(z)},), one per row of z, "
                         f"got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() > 9:
        raise ValueError("labels must be integer digits 0..9 (the MNIST labels)")
    i, j = dims
    if not (0 <= i < z.shape[1] and 0 <= j < z.shape[1] and i != j):
        raise ValueError(f"dims must be two different latent dimensions in 0..{z.shape[1] - 1}, got {dims}")
    fig, ax = _pyplot().subplots(figsize=(6, 5))
    points = ax.scatter(z[:, i], z[:, j], c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, s=6)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    ax.set_xlabel(f"z[:, {i}]")
    ax.set_ylabel(f"z[:, {j}]")
    extra = f" ({i} and {j} of {z.shape[1]} dimensions)" if z.shape[1] > 2 else ""
    ax.set_title(title + extra)
    return _finish(fig, path)


def filters(W: np.ndarray, n: int | None = None, path: SavePath = None,
            title: str | None = None) -> Figure:
    """The first layer's weights, one image per hidden unit: W[:, j] reshaped to 28 x 28.

    W: (D, n_hidden) with D a square (784).  n: how many units (default all, at most
    ``MAX_FILTERS``).  Each filter has its own symmetric colour scale
    [−max|W[:, j]|, +max|W[:, j]|] (red > 0, blue < 0), so that a filter of tiny weights
    still shows its pattern; the colour bar reads in those units (−1 … +1 of the
    filter's own max), and the title gives the overall max |W| (question 1: first-layer
    weights drifting to zero).  title: a first line naming the network, if given.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must have shape (D, n_hidden), got {W.shape}")
    if math.isqrt(W.shape[0]) ** 2 != W.shape[0]:
        hint = " — did you pass W.T?" if math.isqrt(W.shape[1]) ** 2 == W.shape[1] else ""
        raise ValueError(f"W has shape {W.shape}; expected (D, n_hidden) with D a square "
                         f"such as 784{hint}")
    n = min(W.shape[1], MAX_FILTERS) if n is None else n
    _check_count("n", n)
    images = _as_images(W[:, :n].T, "W")
    scales = np.abs(images).max(axis=(1, 2), keepdims=True)
    scales[scales == 0] = 1.0  # an all-zero filter gets any non-empty scale
    n_cols = math.ceil(math.sqrt(len(images)))
    n_rows = math.ceil(len(images) / n_cols)
    # One image of all the filters side by side, not one axes per filter: an axes costs
    # matplotlib tens of ms (100 filters, drawn and saved: 7.7 s as 100 axes, 1.2 s as one
    # image; AMD EPYC Zen 3).
    fig, ax = _pyplot().subplots(figsize=(max(n_cols + 1.5, 6), n_rows + 1.2), layout="constrained")
    drawn = ax.imshow(_tiles(images / scales, n_cols), cmap=_white_gaps("RdBu_r"), vmin=-1, vmax=1,
                      interpolation="nearest")
    ax.set_axis_off()
    bar = fig.colorbar(drawn, ax=ax, ticks=[-1, 0, 1], shrink=0.6)
    bar.set_label("weight ÷ max |weight| of its filter")
    bar.ax.set_yticklabels(["−max", "0", "+max"])
    side = f"{images.shape[1]}×{images.shape[2]}"
    fig.suptitle(("" if title is None else f"{title}\n")
                 + f"first-layer weights W[:, j] of {len(images)} of {W.shape[1]} hidden units as "
                 f"{side} images\nred: positive, blue: negative; overall max |W| = "
                 f"{np.abs(W).max():.3g}")
    return _finish(fig, path)


def _tiles(images: np.ndarray, n_cols: int, gap: int = 2) -> np.ndarray:
    """``images`` (N, H, W) in rows of ``n_cols``, ``gap`` pixels of NaN (drawn white) apart.

    Returns a (rows·(H + gap) − gap, n_cols·(W + gap) − gap) array; tile k's top-left
    corner is at row (k // n_cols)·(H + gap), column (k % n_cols)·(W + gap).  With
    ``gap=0`` the tiles touch.
    """
    n, height, width = images.shape
    n_rows = math.ceil(n / n_cols)
    out = np.full((n_rows * (height + gap), n_cols * (width + gap)), np.nan)
    for k, image in enumerate(images):
        top, left = (k // n_cols) * (height + gap), (k % n_cols) * (width + gap)
        out[top : top + height, left : left + width] = image
    return out[: -gap or None, : -gap or None]


def image_grid(images: np.ndarray, n_cols: int = 10, path: SavePath = None,
               title: str | None = None) -> Figure:
    """Images on a grid of ``n_cols`` columns, e.g. samples decoded from the VAE prior.

    images: (N, H*W) with a square side or (N, H, W), values in [0, 1] shown in grey.
    title: what the images are (default: how many there are).
    """
    _check_count("n_cols", n_cols)
    images = _as_images(images, "images")
    n_cols = min(n_cols, len(images))
    n_rows = math.ceil(len(images) / n_cols)
    # one image of tiles, not one axes per image: as fast as in filters()
    fig, ax = _pyplot().subplots(figsize=(n_cols, n_rows + 0.4), layout="constrained")
    ax.imshow(_tiles(images, n_cols), cmap=_white_gaps("gray"), vmin=0.0, vmax=1.0)
    ax.set_axis_off()
    fig.suptitle(title or f"{len(images)} images")
    return _finish(fig, path)


def latent_manifold(decode: Callable[[np.ndarray], np.ndarray], n: int = 15, limit: float = 3.0,
                    quantiles: bool = False, path: SavePath = None) -> Figure:
    """Decode an n x n grid of points of a 2-D latent plane into one mosaic image.

    decode: maps z (n*n, 2) to images (n*n, H*W).  The grid spans [−limit, limit] on
    both axes, evenly spaced; with ``quantiles=True`` the points are instead the N(0, 1)
    quantiles Φ⁻¹(q) for q evenly spaced in [Φ(−limit), Φ(limit)] (Kingma & Welling
    2014), so each cell covers the same prior probability.  z[:, 1] increases upwards.
    """
    _check_count("n", n)
    if not limit > 0:
        raise ValueError(f"limit must be > 0, got {limit}")
    if quantiles:
        normal = NormalDist()
        q = np.linspace(normal.cdf(-limit), normal.cdf(limit), n)
        values = np.array([normal.inv_cdf(v) for v in q])
    else:
        values = np.linspace(-limit, limit, n)
    z0, z1 = np.meshgrid(values, values[::-1])  # first row = largest z[:, 1]: top of picture
    z = np.column_stack([z0.ravel(), z1.ravel()])
    decoded = np.asarray(decode(z))
    if decoded.ndim != 2 or decoded.shape[0] != n * n:
        raise ValueError(f"decode(z) must return ({n * n}, H*W) images for z of shape {z.shape}, "
                         f"got {decoded.shape}")
    images = _as_images(decoded, "decode(z)")
    side = images.shape[1]
    mosaic = _tiles(images, n, gap=0)  # cells touch: the decoded plane reads as one picture
    fig, ax = _pyplot().subplots(figsize=(6, 6))
    ax.imshow(mosaic, cmap="gray", vmin=0.0, vmax=1.0)
    ticks = np.unique(np.linspace(0, n - 1, min(n, 5)).round().astype(int))
    ax.set_xticks(ticks * side + side / 2, [f"{values[i]:.2g}" for i in ticks])
    ax.set_yticks(ticks * side + side / 2, [f"{values[::-1][i]:.2g}" for i in ticks])
    ax.set_xlabel("z[:, 0]")
    ax.set_ylabel("z[:, 1]")
    ax.set_title("the decoder's output on a grid of codes z"
                 + (" (N(0, 1) quantiles)" if quantiles else ""))
    return _finish(fig, path)
