"""Figures of numbers against time or a setting: losses, KL schedules, β sweeps, monitors."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np

from tinyae.losses import EPS, binary_entropy
from tinyae.plot.base import SavePath, _check_count, _finish, _is_number_list, _pyplot

if TYPE_CHECKING:
    from matplotlib.figure import Figure



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


def schedules(schedules: Mapping[str, Callable], total_steps: int,
              path: SavePath = None) -> Figure:
    """One line per named KL-weight schedule w(t) over the steps t = 0..total_steps.

    schedules: {"sigmoid": lambda t: sigmoid_anneal(t, 1000), ...}; each value maps a step
    to a weight, called on the whole ``np.arange`` at once when it supports arrays.
    """
    _check_count("total_steps", total_steps)
    if not schedules:
        raise ValueError("schedules is empty; pass e.g. "
                         "{'linear': lambda t: linear_warmup(t, 100)}")
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
        # Label exactly the β values swept; the log axis's own minor labels overlap.
        ax.set_xticks(betas[order], [f"{b:g}" for b in betas[order]])
        ax.minorticks_off()
        ax.set_xlabel("β")
        ax.set_ylabel(name)
        ax.set_title(f"{name} vs β")
    return _finish(fig, path)


def _bce(p: np.ndarray, y: float) -> np.ndarray:
    """Elementwise BCE(p, y) = −y log p − (1 − y) log(1 − p), p clipped as ``losses.BCE`` does."""
    p = np.clip(p, EPS, 1 - EPS)
    return -y * np.log(p) - (1 - y) * np.log(1 - p)


def loss_vs_target(y: float = 0.8, targets: Sequence[float] = (0.1, 0.5, 0.8, 1.0),
                   path: SavePath = None) -> Figure:
    """BCE against MSE for one grey target (left) and raw BCE for several targets (right).

    Left: BCE(p, y) − H(y) and (p − y)² for p in (0, 1).  Both are 0 at p = y (marked),
    but BCE is asymmetric around y and MSE symmetric (question 1).  Right: BCE(p, y)
    for each target with its floor H(y) = −y log y − (1 − y) log(1 − y) dashed
    (``losses.binary_entropy``): BCE never reaches 0 for a grey target (question 2).
    """
    for target in (y, *targets):
        if not 0 <= target <= 1:
            raise ValueError(f"target {target} is outside [0, 1]: BCE needs targets in [0, 1] "
                             "(divide uint8 pixels by 255)")
    p = np.linspace(0, 1, 501)[1:-1]
    fig, (ax_l, ax_r) = _pyplot().subplots(1, 2, figsize=(11, 4))
    ax_l.plot(p, _bce(p, y) - binary_entropy(y), label="BCE(p, y) − H(y)")
    ax_l.plot(p, (p - y) ** 2, label="MSE (p − y)²")
    ax_l.axvline(y, color="grey", linestyle=":", label=f"minimum at p = y = {y:g}")
    ax_l.set_ylim(0, 1)
    ax_l.set_title(f"loss against prediction p, target y = {y:g}")
    for target in targets:
        line, = ax_r.plot(p, _bce(p, target), label=f"y = {target:g}")
        ax_r.axhline(binary_entropy(target), color=line.get_color(), linestyle="--")
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
