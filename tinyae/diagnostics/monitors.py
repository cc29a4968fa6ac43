"""``Monitor``: watch a network's health during ``fit``, and warn when something goes wrong.

At the end of every epoch the monitor runs one forward and backward pass on a fixed
probe batch (see ``measures.measure`` for what is measured), adds the numbers to the
epoch's record — so they land in the ``History`` next to the loss — and checks them
against the thresholds below.  The first time a problem appears it prints one warning;
it does not repeat it every epoch.

=========================== =========================================================
problem (code)              fires when
=========================== =========================================================
``mean-collapse``           ``collapse_ratio`` > ``COLLAPSE_THRESHOLD``
``dead-relus``              a hidden layer's ``dead`` > ``DEAD_THRESHOLD``
``saturated``               a hidden layer's ``saturated`` > ``SATURATED_THRESHOLD``
``vanishing-gradients``     per-weight gradient of layer 1 < ``VANISHING_RATIO`` × the output layer's
``kl-collapse``             a VAE has 0 active latent units
=========================== =========================================================

The output layer is measured but never warned about: a sigmoid output that draws black
pixels must sit near 0, and with BCE that costs no gradient (∂L/∂z = p − y).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tinyae.checks import describe_rows, non_finite_rows
from tinyae.diagnostics.findings import Finding
from tinyae.diagnostics.measures import (
    SATURATION_MARGIN,
    measure,
    numbered_layers,
    snapshot_weights,
)
from tinyae.layers import Sigmoid, Tanh
from tinyae.losses import Loss
from tinyae.train import Callback

COLLAPSE_THRESHOLD = 0.9  # D_self ≥ 9 × D_mean: the outputs sit 3× closer to ȳ than to their targets
DEAD_THRESHOLD = 0.5  # more than half of a hidden layer's ReLUs never fire
SATURATED_THRESHOLD = 0.5  # more than half of a hidden layer's sigmoid/tanh outputs are flat
VANISHING_RATIO = 0.02  # layer 1 gets < 1/50 of the output layer's gradient per weight
# (measured at initialisation on MNIST: 784-100-50-100-784 all-sigmoid 0.0084, one sigmoid
# hidden layer 0.14, ReLU or tanh hidden layers > 1)

MEAN_COLLAPSE = "mean-collapse"
DEAD_RELUS = "dead-relus"
SATURATED = "saturated"
VANISHING_GRADIENTS = "vanishing-gradients"
KL_COLLAPSE = "kl-collapse"

GLOBAL_MEASURES = ("collapse_ratio", "relative_error", "active_units")


def check_measures(model: Any, measures: Mapping[str, float]) -> list[Finding]:
    """The problems that the measurements of ``measure(model, …)`` show, as warnings."""
    n_layers = len(numbered_layers(model))
    checks = (_collapse(measures), _dead(measures, n_layers), _saturated(model, measures, n_layers),
              _vanishing(model, measures), _kl_collapse(model, measures))
    return [finding for finding in checks if finding is not None]


def _worst_hidden(measures: Mapping[str, float], measure: str, n_layers: int) -> tuple[int, float]:
    """``(k, value)`` of the hidden layer with the largest ``layerk/measure`` (0, 0 if none)."""
    values = [(measures.get(f"layer{k}/{measure}", 0.0), k) for k in range(1, n_layers)]
    value, k = max(values, default=(0.0, 0))
    return k, value


def _collapse(measures: Mapping[str, float]) -> Finding | None:
    ratio = measures.get("collapse_ratio", math.nan)
    if not ratio > COLLAPSE_THRESHOLD:
        return None
    return Finding(
        MEAN_COLLAPSE, "warning",
        f"the outputs are collapsing to the mean image (collapse ratio {ratio:.2f}, relative error "
        f"{measures.get('relative_error', math.nan):.2f}): about the same output whatever the input — "
        "normal for the first few hundred steps, a problem if it lasts",
        "train longer or with Adam; if it persists, look for saturated or dead layers "
        "and vanishing gradients")


def _dead(measures: Mapping[str, float], n_layers: int) -> Finding | None:
    k, dead = _worst_hidden(measures, "dead", n_layers)
    if not dead > DEAD_THRESHOLD:
        return None
    return Finding(
        DEAD_RELUS, "warning",
        f"{dead:.0%} of layer {k}'s ReLUs are dead: their input is negative for every probe "
        "sample, so they output 0, pass back no gradient and cannot recover",
        "lower the learning rate and scale the inputs to [0, 1]; keep He initialisation for ReLU layers")


def _saturated(model: Any, measures: Mapping[str, float], n_layers: int) -> Finding | None:
    k, saturated = _worst_hidden(measures, "saturated", n_layers)
    if not saturated > SATURATED_THRESHOLD:
        return None
    act = numbered_layers(model)[k - 1][1]
    kind, bounds = ("sigmoids", "0 or 1") if isinstance(act, Sigmoid) else ("tanh units", "−1 or 1")
    return Finding(
        SATURATED, "warning",
        f"{saturated:.0%} of layer {k}'s {kind} are saturated (output within {SATURATION_MARGIN} of "
        f"{bounds}), where their derivative is nearly 0: almost no gradient gets through",
        "use ReLU hidden layers, scale the inputs to [0, 1], keep Glorot initialisation for sigmoid/tanh")


def gradient_per_weight(model: Any, measures: Mapping[str, float]) -> list[float]:
    """RMS of dW for each layer, ‖dW‖ / √(size of W): comparable between layers of any size."""
    return [measures[f"layer{k}/grad_norm"] / math.sqrt(dense.W.size)
            for k, (dense, _) in enumerate(numbered_layers(model), start=1)]


def _vanishing(model: Any, measures: Mapping[str, float]) -> Finding | None:
    if "layer1/grad_norm" not in measures or len(numbered_layers(model)) < 2:
        return None
    rms = gradient_per_weight(model, measures)
    if not (rms[-1] > 0 and rms[0] / rms[-1] < VANISHING_RATIO):
        return None
    kinds = [type(act).__name__.lower() for _, act in numbered_layers(model)[:-1]
             if isinstance(act, (Sigmoid, Tanh))]
    cause = (f"; each of the {len(kinds)} {'/'.join(sorted(set(kinds)))} hidden layers multiplies it "
             "by its derivative (at most 1/4 for a sigmoid)" if len(kinds) >= 2 else "")
    chain = ", ".join(f"{value:.1e}" for value in rms)
    factor = rms[-1] / rms[0] if rms[0] > 0 else math.inf
    return Finding(
        VANISHING_GRADIENTS, "warning",
        f"the gradient vanishes on its way back: per weight, layer 1 gets {factor:.0f}× less than the "
        f"output layer (RMS of dW, layers 1 to {len(rms)}: {chain}){cause}, so the output layer settles "
        "on the mean image long before layer 1 learns anything",
        "use ReLU hidden layers (He init), or Adam, which scales each weight's step by its own gradient")


def _kl_collapse(model: Any, measures: Mapping[str, float]) -> Finding | None:
    if measures.get("active_units", 1) > 0:
        return None
    return Finding(
        KL_COLLAPSE, "warning",
        f"KL collapsed: 0 of {model.latent_dim} latent units active (Var of mu_j over the probe ≤ "
        "0.01): every x gets the same posterior, so the decoder ignores z",
        "lower β (check the reductions of the loss and the KL), or anneal the KL weight up from 0 "
        "(Bowman et al. 2015)")


class Monitor(Callback):
    """A ``fit`` callback that measures the network on a probe batch after every epoch.

    Parameters
    ----------
    x_probe : (N, D) a fixed batch, N ≥ 2 (e.g. 256 training images); uint8 pixels are scaled.
    loss : the training loss, to measure gradients (without it: no ``grad_norm``).
    y_probe : targets of the probe (default ``x_probe``).
    y_mean : the mean target ȳ (D,) for ``collapse_ratio``, e.g. ``x_train.mean(axis=0)``, in
        the units the model sees (for uint8 pixels: ``x_train.mean(axis=0) / 255``);
        default the probe's own mean.
    verbose : print a warning the first time each problem appears.

    The probe pass does not disturb training: the gradients are zeroed before and after
    it, the optimizer is never touched and the model's random stream is restored.  To
    measure ``update_ratio`` the monitor copies every ``W`` before each batch, so at the
    end of an epoch it knows the size of the epoch's last step.

    After training, ``findings`` lists ``(epoch, Finding)`` for each problem's first appearance.
    """

    def __init__(self, x_probe: np.ndarray, loss: Loss | None = None, y_probe: np.ndarray | None = None,
                 y_mean: np.ndarray | None = None, verbose: bool = True) -> None:
        x_probe = np.asarray(x_probe)
        if x_probe.ndim != 2 or len(x_probe) < 2:
            raise ValueError(f"x_probe must be a batch of shape (N, D) with N ≥ 2 (variances need "
                             f"several samples), got {x_probe.shape}; e.g. x_train[:256]")
        for name, probe in (("x_probe", x_probe), ("y_probe", y_probe)):
            if probe is None:
                continue
            rows = non_finite_rows(np.asarray(probe, dtype=float))
            if len(rows):
                raise ValueError(f"{name} contains NaN or inf in "
                                 f"{describe_rows(rows, len(x_probe))}: every measurement on it "
                                 "would be NaN; probe with finite samples")
        self.x_probe, self.y_probe, self.y_mean = x_probe, y_probe, y_mean
        self.loss, self.verbose = loss, verbose
        self.findings: list[tuple[int, Finding]] = []
        self._weights: list[np.ndarray] = []
        self._before: list[np.ndarray] | None = None

    def on_train_begin(self, model: Any) -> None:
        """Find the weights to watch and make room for their copies."""
        self._weights = [dense.W for dense, _ in numbered_layers(model)]
        self._before = snapshot_weights(model)

    def on_batch_begin(self, model: Any, step: int) -> None:
        """Copy every ``W`` (in place, no new arrays) before the optimizer changes it."""
        assert self._before is not None, "fit calls on_train_begin before on_batch_begin"
        for before, W in zip(self._before, self._weights):
            np.copyto(before, W)

    def on_epoch_end(self, model: Any, epoch: int, record: dict[str, float]) -> None:
        """Measure the probe, extend ``record`` and warn about new problems."""
        measures = measure(model, self.x_probe, self.y_probe, self.loss, y_mean=self.y_mean,
                           previous_weights=self._before)
        record.update(measures)
        seen = {finding.code for _, finding in self.findings}
        for finding in check_measures(model, measures):
            if finding.code in seen:
                continue
            self.findings.append((epoch, finding))
            if self.verbose:
                print(f"monitor, epoch {epoch + 1}: {finding.message}\n    fix: {finding.fix}",
                      file=sys.stdout, flush=True)


def is_monitor_key(key: str) -> bool:
    """True for the history keys a ``Monitor`` adds (``layer2/dead``, ``collapse_ratio``, …)."""
    return "/" in key or key in GLOBAL_MEASURES


def monitor_series(history: Mapping[str, Sequence[float]]) -> dict[str, dict[str, list[float]]]:
    """Group monitor keys as ``{measure: {where: values}}``, e.g. ``{"dead": {"layer1": […]}}``.

    ``"layer2/dead"`` goes to measure ``dead``, line ``layer2``; a global measure such as
    ``collapse_ratio`` is its own measure with one line.  Other keys (``loss``) are skipped.
    """
    series: dict[str, dict[str, list[float]]] = {}
    for key, values in history.items():
        if not is_monitor_key(key):
            continue
        where, measure = key.split("/", 1) if "/" in key else (key, key)
        series.setdefault(measure, {})[where] = list(values)
    return series
