"""Figures of numbers against time or a setting: losses, KL schedules, β sweeps, monitors, units."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tinyae.losses import EPS, binary_entropy
from tinyae.plot.base import SavePath, _check_count, _finish, _is_number_list, _pyplot

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike


def loss_curves(history: Mapping[str, Sequence[float]], path: SavePath = None,
                keys: Sequence[str] | None = None, logy: bool = False, *, ylabel: str = "loss",
                names: Mapping[str, str] | None = None, validation: str = "validation",
                title: str | None = None) -> Figure:
    """Training (solid) and ``val_*`` (dashed, same colour) curves against the epoch (1-based).

    history: {"loss": [...], "val_loss": [...], "kl": [...], ...}, one value per epoch.
    keys: which entries to draw; default every list of numbers except ``seconds``,
    ``beta`` and the measurements of a ``Monitor`` (``plot.monitors`` draws those).
    ylabel: the quantity and its unit, e.g. "BCE per pixel" or "nats per image".
    names: legend names of the keys, e.g. {"kl": "KL"} (default: the key itself).
    validation: what the ``val_*`` data are called in the legend, e.g. "test".
    title: default "training and <validation> loss per epoch" (naming what is drawn).

    A training value is the mean over the epoch's batches, taken while the weights were
    still improving; a ``val_*`` value is measured once, after the epoch: that is why the
    second can be the lower, and the figure says so.  A ``beta`` entry (the mean KL weight
    β of each epoch, recorded by ``KLAnnealing``) is drawn in a panel below: a VAE's loss
    recon + β·KL rises while β does, which is not divergence.
    """
    if not isinstance(history, Mapping):
        raise TypeError(f"history must be a dict of lists, got {type(history).__name__}")
    numeric = {k: v for k, v in history.items() if _is_number_list(v)}
    if keys is None:
        from tinyae.diagnostics.monitors import is_monitor_key

        keys = [k for k in numeric if k not in ("seconds", "beta")
                and not is_monitor_key(k.removeprefix("val_"))]
        if not keys:
            raise ValueError(f"history has no list of numbers to plot (keys: {list(history)})")
    for k in keys:
        if k not in numeric:
            raise ValueError(f"history key {k!r} is missing or not a list of numbers; "
                             f"plottable keys: {list(numeric)}")
        if logy and min(numeric[k]) <= 0:
            raise ValueError(f"logy=True needs values > 0 but {k!r} has min {min(numeric[k])}; "
                             "use logy=False")
    names = names or {}
    beta = numeric.get("beta")
    plt = _pyplot()
    if beta is None:
        fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    else:
        fig, (ax, ax_beta) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True, layout="constrained",
                                          height_ratios=(3, 1))
    colours: dict[str, str] = {}
    bases = list(dict.fromkeys(k.removeprefix("val_") for k in keys))
    # each training curve then its val_* twin, so the legend lists them in pairs
    pairs = sorted(keys, key=lambda k: (bases.index(k.removeprefix("val_")), k.startswith("val_")))
    for k in pairs:
        base = k.removeprefix("val_")
        label = f"{names.get(base, base)}, " + (validation if k != base else "training")
        line, = ax.plot(_epochs(numeric[k]), numeric[k], label=label, marker=".",
                        linestyle="--" if k != base else "-", color=colours.get(base))
        colours.setdefault(base, line.get_color())
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    kinds = {k.startswith("val_") for k in keys}  # False: training, True: validation
    which = [name for name, kind in (("training", False), (validation, True)) if kind in kinds]
    fig.suptitle(title or f"{' and '.join(which)} loss per epoch")
    if len(which) == 2:
        ax.set_title(f"training: averaged over the epoch, while the weights still improved\n"
                     f"{validation}: measured after the epoch, so it can be the lower",
                     fontsize="small")
    _legend_outside(ax)
    if beta is not None:
        ax_beta.plot(_epochs(beta), beta, marker=".", color="black")
        ax_beta.set_ylabel("β")
        ax_beta.set_title("KL weight β in the training loss (mean over the epoch)",
                          fontsize="small")
        ax = ax_beta
    _epoch_axis(ax)
    return _finish(fig, path)


def _epochs(values: Sequence[float]) -> np.ndarray:
    """1, 2, …, len(values): epochs are counted from 1, as ``fit`` prints them."""
    return np.arange(1, len(values) + 1)


def _epoch_axis(ax) -> None:
    """Label the x axis "epoch", with whole-number ticks only (no epoch 2.5)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")


def _legend_outside(ax, **options) -> None:
    """The legend to the right of the axes, where it can never hide a curve."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, **options)


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
    fig, ax = _pyplot().subplots(figsize=(8, 4), layout="constrained")
    for name, schedule in schedules.items():
        ax.plot(t, _curve(schedule, t), label=name)
    ax.set_xlabel("training step t (batches)")
    ax.set_ylabel("KL weight w(t)")
    ax.set_title("KL weight schedules: the weight of the KL term at each step")
    _legend_outside(ax)
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


def beta_sweep(betas: ArrayLike, recon: ArrayLike, kl: ArrayLike,
               path: SavePath = None, unit: str = "nats per image") -> Figure:
    """Reconstruction loss (left panel) and KL (right panel) against β, log x axis.

    betas, recon, kl: (K,) one value per trained model.  Higher β: larger recon,
    smaller KL — the trade-off of question 4.  Each measured point is marked.
    unit: the unit of recon and KL (a BCE summed over the pixels is in nats, like the KL).
    """
    beta_values, recon_values, kl_values = (np.asarray(a, dtype=np.float64)
                                            for a in (betas, recon, kl))
    if not (beta_values.ndim == 1 and beta_values.shape == recon_values.shape == kl_values.shape
            and beta_values.size):
        raise ValueError(f"betas {beta_values.shape}, recon {recon_values.shape} and kl "
                         f"{kl_values.shape} must be non-empty 1-D arrays of the same length "
                         "(one entry per β)")
    if np.any(beta_values <= 0):
        raise ValueError(f"every β must be > 0 for the log axis, got {beta_values.min()}")
    order = np.argsort(beta_values)
    fig, (ax_r, ax_k) = _pyplot().subplots(1, 2, figsize=(10, 4), layout="constrained")
    for ax, values, name in ((ax_r, recon_values, "reconstruction loss"), (ax_k, kl_values, "KL")):
        ax.plot(beta_values[order], values[order], marker="o")
        ax.set_xscale("log")
        # Label exactly the β values swept; the log axis's own minor labels overlap.
        ax.set_xticks(beta_values[order], [f"{b:g}" for b in beta_values[order]])
        ax.minorticks_off()
        ax.set_xlabel("β, the weight of the KL term")
        ax.set_ylabel(f"{name} ({unit})")
        ax.set_title(f"{name} vs β")
    fig.suptitle("VAEs trained with different β: a larger β buys a smaller KL with a worse "
                 "reconstruction")
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
    fig, (ax_l, ax_r) = _pyplot().subplots(1, 2, figsize=(11, 5), layout="constrained")
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
    ax_l.set_ylabel("loss per pixel")
    ax_r.set_ylabel("BCE per pixel (nats)")
    for ax in (ax_l, ax_r):
        ax.set_xlabel("prediction p")
        # below the axes: the curves fill the whole plot area
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=3, fontsize="small")
    fig.suptitle("the loss of one pixel against the prediction p")
    return _finish(fig, path)


# Marker and dash of the k-th line (``epoch_curves``, ``monitors``): two lines with the
# same numbers still show both (one hollow marker around the other), so no legend entry
# is invisible.
MARKERS = ("o", "s", "^", "v", "D", "<", ">", "p", "h", "*")
DASHES = ("-", "--", "-.")  # dotted is kept for thresholds

# What each Monitor measure is, in words: (panel title, y label with the unit).
# tinyae.diagnostics.measures defines the measures; a key missing here is shown as it is.
MONITOR_LABELS: dict[str, tuple[str, str]] = {
    "mean_abs": ("mean size of each layer's output a", "mean |a|"),
    "max_abs": ("largest output of each layer", "max |a|"),
    "saturated": ("saturated sigmoid/tanh outputs (no gradient)", "fraction of outputs"),
    "dead": ("dead ReLUs (0 for every probe image)", "fraction of units"),
    "weight_norm": ("weight norm of each layer", "‖W‖ (Frobenius norm)"),
    "grad_norm": ("gradient norm of each layer", "‖∂L/∂W‖ (Frobenius norm)"),
    "update_ratio": ("update ratio: relative size of the last step", "‖ΔW‖ / ‖W‖"),
    "collapse_ratio": ("collapse to the mean image (1: every p = x̄)", "collapse ratio, 0 to 1"),
    "relative_error": ("relative error (1: no better than x̄)", "MSE ÷ variance of the data"),
    "active_units": ("active latent units (Var of mu_j > 0.01)", "number of units"),
    "kl": ("KL of each latent dimension z_j, one line each", "nats per image"),
}


def monitors(history: Mapping[str, Sequence[float]], path: SavePath = None) -> Figure:
    """A ``Monitor``'s records per epoch: one panel per measure, one line per layer.

    history: a ``History`` with keys such as ``"layer2/dead"`` (measure ``dead``, line
    ``layer2``) and ``"collapse_ratio"`` (see ``tinyae.diagnostics.measures``).  Each panel
    is titled in words with its unit on the y axis (``MONITOR_LABELS``); layer k has the
    same colour in every panel, named once in the figure's legend.  A panel whose values
    are all > 0 and span more than a factor 100 (gradient norms, update ratios) gets a
    log y axis.
    """
    from tinyae.diagnostics.monitors import monitor_series

    series = monitor_series(history)
    if not series:
        raise ValueError(f"history has no monitor records (keys: {list(history)}); train with "
                         "callbacks=[Monitor(x[:256], loss)] from tinyae.diagnostics")
    n_cols = min(3, len(series))
    n_rows = math.ceil(len(series) / n_cols)
    fig, axes = _pyplot().subplots(n_rows, n_cols, figsize=(4.2 * n_cols + 1.2, 3 * n_rows + 0.6),
                                   squeeze=False, layout="constrained")
    for ax in axes.flat[len(series):]:
        fig.delaxes(ax)
    layers = {}
    for ax, (measure, lines) in zip(axes.flat, series.items()):
        for where, values in lines.items():
            style = {"marker": ".", **_monitor_style(where, len(lines))}
            line, = ax.plot(_epochs(values), values, **style)
            if where.startswith("layer"):
                layers[where] = line
        pooled = np.concatenate([np.asarray(v, dtype=np.float64) for v in lines.values()])
        if np.all(pooled > 0) and pooled.max() > 100 * pooled.min():
            ax.set_yscale("log")
        title, ylabel = MONITOR_LABELS.get(measure, (measure, measure))
        ax.set_title(title, fontsize="medium")
        ax.set_ylabel(ylabel)
        _epoch_axis(ax)
    if layers:
        order = sorted(layers, key=lambda where: int(where.removeprefix("layer")))
        fig.legend([layers[k] for k in order], [f"layer {k.removeprefix('layer')}" for k in order],
                   loc="outside right upper")
    fig.suptitle("network health after each epoch, measured on a fixed probe batch")
    return _finish(fig, path)


def _monitor_style(where: str, n_lines: int) -> dict[str, Any]:
    """Line style of one monitor series: a colour per layer, black for a whole-model measure.

    ``layerk`` is drawn in colour ``Ck-1`` with its own hollow marker in every panel, so
    one legend names them all and overlapping layers stay visible; a latent dimension
    ``zj`` (there are many) is a thin grey line.
    """
    if where.startswith("layer") and where.removeprefix("layer").isdigit():
        k = int(where.removeprefix("layer")) - 1
        return {"color": f"C{k % 10}", "marker": MARKERS[k % len(MARKERS)], "fillstyle": "none"}
    if n_lines > 1:
        return {"color": "grey", "linewidth": 0.8, "markersize": 3}
    return {"color": "black"}


def epoch_curves(curves: Mapping[str, Sequence[float]], ylabel: str, path: SavePath = None,
                 threshold: float | None = None, threshold_label: str = "threshold",
                 logy: bool = False, title: str | None = None) -> Figure:
    """One line per named run of any per-epoch measure (not only a loss), epochs 1-based.

    curves: {run name: [value after epoch 1, after epoch 2, …]}; ylabel names the
    measure and its unit.  ``threshold`` draws a dotted horizontal line, e.g. the "on the
    mean image" level of the blob experiment (question 1).  Each run has its own hollow
    marker and dash pattern (``MARKERS``, ``DASHES``), so runs that coincide stay visible.
    title: default "<ylabel> per epoch".
    """
    if not curves or not all(_is_number_list(v) for v in curves.values()):
        raise ValueError("curves must map each run's name to a non-empty list of numbers, one per epoch")
    if logy and min(min(v) for v in curves.values()) <= 0:
        raise ValueError("logy=True needs every value > 0; use logy=False")
    fig, ax = _pyplot().subplots(figsize=(9, 4.5), layout="constrained")
    for k, (name, values) in enumerate(curves.items()):
        ax.plot(_epochs(values), values, label=name, marker=MARKERS[k % len(MARKERS)],
                linestyle=DASHES[k % len(DASHES)], fillstyle="none", markersize=7 - 2 * (k % 2))
    if threshold is not None:
        ax.axhline(threshold, color="black", linestyle=":", linewidth=1.5, label=threshold_label)
    _epoch_axis(ax)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.set_title(title or f"{ylabel} per epoch")
    _legend_outside(ax, fontsize="small")
    return _finish(fig, path)


def unit_activations(rho_hat: Mapping[str, ArrayLike], rho: float, path: SavePath = None,
                     title: str | None = None) -> Figure:
    """Each hidden unit's mean activation ρ̂ⱼ, sorted from the largest, one line per network.

    rho_hat: {network name: (J,) mean activation of every hidden unit over a data set,
    values in [0, 1]}; rho: the sparsity target ρ, drawn as a dotted horizontal line.  A
    sparse network's line lies along ρ (every unit active on a fraction ρ of the images);
    a network without the penalty lies wherever its units settled.
    """
    values = {name: np.sort(np.asarray(v, dtype=np.float64))[::-1] for name, v in rho_hat.items()}
    if not values or not all(v.ndim == 1 and v.size for v in values.values()):
        raise ValueError("rho_hat must map each network's name to a non-empty 1-D array of "
                         "mean activations, one per hidden unit")
    if not all(np.all((v >= 0) & (v <= 1)) for v in values.values()) or not 0 < rho < 1:
        raise ValueError(f"mean activations and rho must lie in [0, 1] (sigmoid units), got rho = "
                         f"{rho!r}; pass the code's mean over the images, code.mean(axis=0)")
    fig, ax = _pyplot().subplots(figsize=(9, 4.5), layout="constrained")
    for k, (name, v) in enumerate(values.items()):
        ax.plot(np.arange(1, v.size + 1), v, label=name, linestyle=DASHES[k % len(DASHES)])
    ax.axhline(rho, color="black", linestyle=":", linewidth=1.5, label=f"target ρ = {rho:g}")
    ax.set_ylim(0, 1)
    ax.set_xlabel("hidden unit j, sorted by its mean activation (rank)")
    ax.set_ylabel("mean activation ρ̂ⱼ over the images")
    ax.set_title(title or "mean activation of each hidden unit against the sparsity target ρ")
    _legend_outside(ax, fontsize="small")
    return _finish(fig, path)
