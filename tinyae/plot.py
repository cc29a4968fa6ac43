"""Every figure of tinyae, drawn from plain NumPy arrays and dicts.

Each function returns the matplotlib ``Figure``.  Given ``path``, it also saves a PNG
(creating the folder) and closes the figure so that long runs do not pile up open
figures; the returned object can still be saved again with ``fig.savefig``.

matplotlib is imported inside the functions, never at module level, so that
``import tinyae`` stays fast and works where matplotlib is slow to load.  On a machine
without a display (or under CI) the non-interactive "Agg" backend is selected first.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # only for type hints; never imported at run time
    from matplotlib.figure import Figure

EPS = 1e-7
"""Probabilities are clipped to [EPS, 1 − EPS] before ``log``, so that BCE stays finite
at p = 0 or 1 (−log EPS ≈ 16.1 is the largest value a single pixel can contribute)."""

DPI = 100
SavePath = str | os.PathLike | None  # where to save the PNG; None: keep the figure open
MAX_FILTERS = 100  # filters() draws at most this many units by default: 100 axes already take ~1 s


def _pyplot():
    """Import and return ``matplotlib.pyplot``, choosing "Agg" first when there is no screen.

    No screen means: Linux without $DISPLAY or $WAYLAND_DISPLAY, or $CI set (GitHub Actions,
    GitLab, ... set CI=true).  An explicit $MPLBACKEND, or a pyplot that is already
    imported (e.g. in a notebook), is left alone.
    """
    import matplotlib

    no_screen = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    on_ci = os.environ.get("CI", "").lower() not in ("", "0", "false")
    user_choice = os.environ.get("MPLBACKEND") or "matplotlib.pyplot" in sys.modules
    if (no_screen or on_ci) and not user_choice:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(fig: Figure, path: SavePath) -> Figure:
    """Save ``fig`` as a PNG at ``path`` (making the folder) and close it; no-op for None."""
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI, format="png")
        _pyplot().close(fig)
    return fig


def _as_images(x: np.ndarray, name: str) -> np.ndarray:
    """Images as (N, H, W) from (N, H*W) with a square side, or from (N, H, W) with H = W.

    Raises ValueError naming ``name`` if the array is empty, not square or not finite.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3 and x.shape[1] == x.shape[2]:
        x = x.reshape(len(x), -1)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(
            f"{name} must have shape (N, H*W) or (N, H, H) with N >= 1, got {x.shape}; "
            "for a single image use x[None]"
        )
    side = math.isqrt(x.shape[1])
    if side * side != x.shape[1]:
        raise ValueError(
            f"{name} has {x.shape[1]} values per image, which is not a square number "
            "(784 = 28 x 28); pass flattened square images"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf: the model has probably diverged")
    return x.reshape(-1, side, side)


def _check_count(name: str, n: int) -> None:
    """Raise unless ``n`` is an int >= 1 (a number of images, columns or steps)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be an int >= 1, got {n!r}")


def _grey(ax, image: np.ndarray) -> None:
    """Draw one image in grey on the fixed scale [0, 1] (black = 0) without ticks."""
    ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0)
    ax.set_xticks([])
    ax.set_yticks([])


def _grid(n: int, n_cols: int):
    """A figure with ``n`` small axes on a grid of ``n_cols`` columns (unused cells removed)."""
    n_cols = min(n_cols, n)
    n_rows = math.ceil(n / n_cols)
    fig, axes = _pyplot().subplots(n_rows, n_cols, figsize=(n_cols, n_rows + 0.4), squeeze=False)
    for ax in axes.flat[n:]:
        fig.delaxes(ax)
    return fig, axes.flat[:n]


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
    _check_count("n", n)
    x, p = _as_images(x, "x"), _as_images(p, "p")
    n = min(n, len(x))
    fig, axes = _pyplot().subplots(2, n, figsize=(n, 2.3), squeeze=False)
    for j in range(n):
        _grey(axes[0, j], x[j])
        _grey(axes[1, j], p[j])
    axes[0, 0].set_ylabel("x")
    axes[1, 0].set_ylabel("p")
    fig.suptitle(title or "originals x (top) and reconstructions p (bottom)")
    return _finish(fig, path)


def loss_curves(history: Mapping[str, Sequence[float]], path: SavePath = None,
                keys: Sequence[str] | None = None, logy: bool = False) -> Figure:
    """One line per history key against the epoch (1-based), with a legend.

    history: {"loss": [...], "val_loss": [...], "kl": [...], ...}, one value per epoch.
    keys: which entries to draw; default every list of numbers except ``seconds`` and
    the measurements of a ``Monitor`` (``plot.monitors`` draws those).
    A ``val_*`` curve is dashed and shares the colour of its training curve.
    """
    if not isinstance(history, Mapping):
        raise TypeError(f"history must be a dict of lists, got {type(history).__name__}")
    numeric = {k: v for k, v in history.items() if _is_number_list(v)}
    if keys is None:
        from tinyae.diagnostics.monitors import is_monitor_key

        keys = [k for k in numeric if k != "seconds" and not is_monitor_key(k.removeprefix("val_"))]
        if not keys:
            raise ValueError(f"history has no list of numbers to plot (keys: {list(history)})")
    for k in keys:
        if k not in numeric:
            raise ValueError(f"history key {k!r} is missing or not a list of numbers; "
                             f"plottable keys: {list(numeric)}")
        if logy and min(numeric[k]) <= 0:
            raise ValueError(f"logy=True needs values > 0 but {k!r} has min {min(numeric[k])}; "
                             "use logy=False")
    from matplotlib.ticker import MaxNLocator

    fig, ax = _pyplot().subplots(figsize=(6, 4))
    colours = {}
    for k in keys:
        base = k.removeprefix("val_")
        line, = ax.plot(np.arange(1, len(numeric[k]) + 1), numeric[k], label=k,
                        linestyle="--" if k != base else "-", color=colours.get(base))
        colours.setdefault(base, line.get_color())
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 2.5
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return _finish(fig, path)


def _is_number_list(values) -> bool:
    """True for a non-empty 1-D sequence of real numbers (skips nested monitor records)."""
    try:
        arr = np.asarray(values)
    except ValueError:  # ragged nested lists
        return False
    return arr.ndim == 1 and arr.size > 0 and np.issubdtype(arr.dtype, np.number)


def latent_scatter(z: np.ndarray, labels: np.ndarray, path: SavePath = None,
                   dims: tuple[int, int] = (0, 1)) -> Figure:
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
    ax.set_title("latent codes z" + extra)
    return _finish(fig, path)


def filters(W: np.ndarray, n: int | None = None, path: SavePath = None) -> Figure:
    """The first layer's weights, one image per hidden unit: W[:, j] reshaped to 28 x 28.

    W: (D, n_hidden) with D a square (784).  n: how many units (default all, at most
    ``MAX_FILTERS``).  Each filter has its own symmetric colour scale
    [−max|W[:, j]|, +max|W[:, j]|] (red > 0, blue < 0), so the title gives the overall
    max |W|: tiny weights are otherwise invisible (question 1: first-layer weights
    drifting to zero).
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
    fig, axes = _grid(len(images), math.ceil(math.sqrt(len(images))))
    for ax, image in zip(axes, images):
        scale = np.abs(image).max() or 1.0  # an all-zero filter gets any non-empty scale
        ax.imshow(image, cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest")
        ax.set_axis_off()
    fig.suptitle(f"first-layer filters ({len(images)} of {W.shape[1]}), "
                 f"max |W| = {np.abs(W).max():.3g}")
    return _finish(fig, path)


def image_grid(images: np.ndarray, n_cols: int = 10, path: SavePath = None,
               title: str | None = None) -> Figure:
    """Images on a grid of ``n_cols`` columns, e.g. samples decoded from the VAE prior.

    images: (N, H*W) with a square side or (N, H, W), values in [0, 1] shown in grey.
    """
    _check_count("n_cols", n_cols)
    images = _as_images(images, "images")
    fig, axes = _grid(len(images), n_cols)
    for ax, image in zip(axes, images):
        _grey(ax, image)
    if title:
        fig.suptitle(title)
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
    mosaic = images.reshape(n, n, side, side).transpose(0, 2, 1, 3).reshape(n * side, n * side)
    fig, ax = _pyplot().subplots(figsize=(6, 6))
    ax.imshow(mosaic, cmap="gray", vmin=0.0, vmax=1.0)
    ticks = np.unique(np.linspace(0, n - 1, min(n, 5)).round().astype(int))
    ax.set_xticks(ticks * side + side / 2, [f"{values[i]:.2g}" for i in ticks])
    ax.set_yticks(ticks * side + side / 2, [f"{values[::-1][i]:.2g}" for i in ticks])
    ax.set_xlabel("z[:, 0]")
    ax.set_ylabel("z[:, 1]")
    ax.set_title("decoded latent plane" + (" (N(0, 1) quantiles)" if quantiles else ""))
    return _finish(fig, path)


def schedules(schedules: Mapping[str, Callable], total_steps: int,
              path: SavePath = None) -> Figure:
    """One line per named KL-weight schedule w(t) over the steps t = 0..total_steps.

    schedules: {"sigmoid": SigmoidAnneal(1000), ...}; each value maps a step to a
    weight, called on the whole ``np.arange`` at once when it supports arrays.
    """
    _check_count("total_steps", total_steps)
    if not schedules:
        raise ValueError("schedules is empty; pass e.g. {'linear': LinearWarmup(100)}")
    t = np.arange(total_steps + 1)
    fig, ax = _pyplot().subplots(figsize=(6, 4))
    for name, schedule in schedules.items():
        ax.plot(t, _curve(schedule, t), label=name)
    ax.set_xlabel("step t")
    ax.set_ylabel("KL weight w(t)")
    ax.legend()
    return _finish(fig, path)


def _curve(schedule: Callable, t: np.ndarray) -> np.ndarray:
    """schedule(t) for every step: one vectorised call, or step by step if that fails."""
    try:
        w = np.asarray(schedule(t), dtype=np.float64)
        if w.shape == t.shape:
            return w
    except (TypeError, ValueError):  # a callable written for one int step at a time
        pass
    return np.array([schedule(int(i)) for i in t], dtype=np.float64)


def beta_sweep(betas: Sequence[float], recon: Sequence[float], kl: Sequence[float],
               path: SavePath = None) -> Figure:
    """Reconstruction loss (left panel) and KL (right panel) against β, log x axis.

    betas, recon, kl: (K,) one value per trained model.  Higher β: larger recon,
    smaller KL — the trade-off of question 4.  Each measured point is marked.
    """
    betas, recon, kl = (np.asarray(a, dtype=np.float64) for a in (betas, recon, kl))
    if not (betas.ndim == 1 and betas.shape == recon.shape == kl.shape and betas.size):
        raise ValueError(f"betas {betas.shape}, recon {recon.shape} and kl {kl.shape} must be "
                         "non-empty 1-D arrays of the same length (one entry per β)")
    if np.any(betas <= 0):
        raise ValueError(f"every β must be > 0 for the log axis, got {betas.min()}")
    order = np.argsort(betas)
    fig, (ax_r, ax_k) = _pyplot().subplots(1, 2, figsize=(10, 4))
    for ax, values, name in ((ax_r, recon, "reconstruction loss"), (ax_k, kl, "KL")):
        ax.plot(betas[order], values[order], marker="o")
        ax.set_xscale("log")
        ax.set_xlabel("β")
        ax.set_ylabel(name)
        ax.set_title(f"{name} vs β")
    return _finish(fig, path)


def _bce(p: np.ndarray, y: float) -> np.ndarray:
    """BCE(p, y) = −y log p − (1 − y) log(1 − p), with p clipped to [EPS, 1 − EPS]."""
    p = np.clip(p, EPS, 1 - EPS)
    return -y * np.log(p) - (1 - y) * np.log(1 - p)


def loss_vs_target(y: float = 0.8, targets: Sequence[float] = (0.1, 0.5, 0.8, 1.0),
                   path: SavePath = None) -> Figure:
    """BCE against MSE for one grey target (left) and raw BCE for several targets (right).

    Left: BCE(p, y) − H(y) and (p − y)² for p in (0, 1).  Both are 0 at p = y (marked),
    but BCE is asymmetric around y and MSE symmetric (question 1).  Right: BCE(p, y)
    for each target with its floor H(y) = BCE(y, y) = −y log y − (1 − y) log(1 − y)
    dashed: BCE never reaches 0 for a grey target (question 2).  H uses the same
    EPS-clipped formula, which gives H(0) = H(1) ≈ 1e-7 instead of exactly 0.
    """
    for target in (y, *targets):
        if not 0 <= target <= 1:
            raise ValueError(f"target {target} is outside [0, 1]: BCE needs targets in [0, 1] "
                             "(divide uint8 pixels by 255)")
    p = np.linspace(0, 1, 501)[1:-1]
    fig, (ax_l, ax_r) = _pyplot().subplots(1, 2, figsize=(11, 4))
    ax_l.plot(p, _bce(p, y) - _bce(y, y), label="BCE(p, y) − H(y)")
    ax_l.plot(p, (p - y) ** 2, label="MSE (p − y)²")
    ax_l.axvline(y, color="grey", linestyle=":", label=f"minimum at p = y = {y:g}")
    ax_l.set_ylim(0, 1)
    ax_l.set_title(f"loss against prediction p, target y = {y:g}")
    for target in targets:
        line, = ax_r.plot(p, _bce(p, target), label=f"y = {target:g}")
        ax_r.axhline(_bce(target, target), color=line.get_color(), linestyle="--")
    ax_r.set_ylim(0, 3)
    ax_r.set_title("BCE(p, y); dashed: its floor H(y)")
    for ax in (ax_l, ax_r):
        ax.set_xlabel("prediction p")
        ax.set_ylabel("loss")
        ax.legend()
    return _finish(fig, path)


def monitors(history: Mapping[str, Sequence[float]], path: SavePath = None) -> Figure:
    """A ``Monitor``'s records per epoch: one panel per measure, one line per layer.

    history: a ``History`` with keys such as ``"layer2/dead"`` (measure ``dead``, line
    ``layer2``) and ``"collapse_ratio"`` (see ``tinyae.diagnostics.measures``).  A panel
    whose values are all > 0 and span more than a factor 100 (gradient norms, update
    ratios) gets a log y axis.
    """
    from matplotlib.ticker import MaxNLocator

    from tinyae.diagnostics.monitors import monitor_series

    series = monitor_series(history)
    if not series:
        raise ValueError(f"history has no monitor records (keys: {list(history)}); train with "
                         "callbacks=[Monitor(x[:256], loss)] from tinyae.diagnostics")
    n_cols = min(3, len(series))
    n_rows = math.ceil(len(series) / n_cols)
    fig, axes = _pyplot().subplots(n_rows, n_cols, figsize=(4 * n_cols, 3 * n_rows), squeeze=False)
    for ax in axes.flat[len(series):]:
        fig.delaxes(ax)
    for ax, (measure, lines) in zip(axes.flat, series.items()):
        for where, values in lines.items():
            ax.plot(np.arange(1, len(values) + 1), values, label=where)
        values = np.concatenate([np.asarray(v, dtype=np.float64) for v in lines.values()])
        if np.all(values > 0) and values.max() > 100 * values.min():
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(measure)
        ax.set_xlabel("epoch")
        if len(lines) > 1:
            ax.legend(fontsize="small")
    fig.tight_layout()
    return _finish(fig, path)


def epoch_curves(curves: Mapping[str, Sequence[float]], ylabel: str, path: SavePath = None,
                 threshold: float | None = None, threshold_label: str = "threshold",
                 logy: bool = False, title: str | None = None) -> Figure:
    """One line per named run of any per-epoch measure (not only a loss), epochs 1-based.

    curves: {run name: [value after epoch 1, after epoch 2, …]}; ylabel names the
    measure.  ``threshold`` draws a dotted horizontal line, e.g. the "on the mean
    image" level of the blob experiment (question 1).
    """
    if not curves or not all(_is_number_list(v) for v in curves.values()):
        raise ValueError("curves must map each run's name to a non-empty list of numbers, one per epoch")
    if logy and min(min(v) for v in curves.values()) <= 0:
        raise ValueError("logy=True needs every value > 0; use logy=False")
    from matplotlib.ticker import MaxNLocator

    fig, ax = _pyplot().subplots(figsize=(7, 4.5))
    for name, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name, marker=".")
    if threshold is not None:
        ax.axhline(threshold, color="grey", linestyle=":", label=threshold_label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return _finish(fig, path)
