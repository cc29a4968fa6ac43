"""Question 1: "cross-entropy gives me a blob" — the mean-image plateau and what gets out of it.

The network of the question, 784-100-50-100-784 with a sigmoid after every layer, is
trained with BCE and with MSE, with plain SGD, and next to it the candidate fixes
(Adam, momentum, ReLU hidden layers).  After every epoch we measure how far the
reconstructions p are from the mean training image x̄:

    d_mean = mean over test images n and pixels k of (p[n, k] − x̄[k])²

d_mean ≤ ``PLATEAU`` (0.005, under a tenth of the data's own spread ≈ 0.067) means every
reconstruction is the blob x̄, whatever the input.  The blob is a real minimum of sorts:
the mean image is the best *constant* prediction, and its test loss (BCE ≈ 0.26, MSE ≈
0.067 per pixel) is the plateau's signature in the loss curves.

Why plain SGD sits there: at initialisation each sigmoid layer multiplies the gradient
on its way back by σ′ ≤ 1/4, so layer 1 gets ~100× less gradient per weight than the
output layer (``measure`` reports it).  The output layer's bias alone can reach the
mean image, so it does, quickly; the hidden layers, which would have to tell the digits
apart, barely move.  Adam divides each weight's step by its own gradient size; ReLU
passes gradients back undiminished where it is active.

What the runs show (full MNIST, 10 epochs of batch 128): all-sigmoid with plain SGD
(lr 0.1 or 1.0, BCE or MSE) or with momentum ends on the mean image; Adam reaches it in
the first epoch and leaves it; ReLU with SGD 0.1 reaches it and is still near it after
10 epochs; ReLU with Adam never gets there.  Two claims of the question's thread are
*not* what we measure: at initialisation no sigmoid is saturated (the gradient shrinks
through σ′ ≤ 1/4, not through units stuck at 0 or 1), and ‖W1‖ does not drift to 0 —
under plain SGD layer 1 barely moves at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyae import plot
from tinyae.diagnostics import collapse_ratio, measure
from tinyae.diagnostics.measures import numbered_layers
from tinyae.diagnostics.monitors import gradient_per_weight
from tinyae.experiments.common import ExperimentResult, figure_path, load_images, say
from tinyae.losses import BCE, MSE, get_loss
from tinyae.models import dense_autoencoder
from tinyae.optim import SGD, Adam, Optimizer
from tinyae.text import format_table
from tinyae.train import EpochHook, fit

SPEC = "784-100-50-100-784"
PLATEAU = 0.005  # d_mean at or below this: the reconstructions are the mean image
PROBE = 256  # training images measured at initialisation (saturation, gradient norms)
# quick: (train images, test images, epochs, batch size).  Leaving the plateau takes a
# number of *steps* (Adam: ~500–900 on full MNIST), so small batches keep them up.
QUICK = (2000, 500, 6, 8)


@dataclass(frozen=True)
class Config:
    """One training configuration: hidden activation, loss, optimizer, and why it should (not) work."""

    label: str
    hidden: str
    loss: str
    optimizer: str
    lr: float
    momentum: float = 0.0
    mechanism: str = ""

    def make_optimizer(self) -> Optimizer:
        """A fresh optimizer for this configuration."""
        if self.optimizer == "adam":
            return Adam(self.lr)
        return SGD(self.lr, momentum=self.momentum)


SGD_STALLS = ("SGD's step is lr × gradient, and layer 1's gradient per weight is ~{ratio:.0f}× smaller than "
              "the output layer's: the output layer reaches the mean image long before the encoder "
              "learns to tell digits apart")
CONFIGS = (
    Config("sigmoid BCE SGD 0.1", "sigmoid", "bce", "sgd", 0.1, mechanism=SGD_STALLS),
    Config("sigmoid MSE SGD 0.1", "sigmoid", "mse", "sgd", 0.1, mechanism=SGD_STALLS),
    Config("sigmoid BCE SGD 1.0", "sigmoid", "bce", "sgd", 1.0, mechanism=SGD_STALLS),
    Config("sigmoid MSE SGD 1.0", "sigmoid", "mse", "sgd", 1.0, mechanism=SGD_STALLS),
    Config("sigmoid BCE SGD 0.1 momentum 0.9", "sigmoid", "bce", "sgd", 0.1, momentum=0.9,
           mechanism="momentum adds up ~10 consistent steps (a 10× larger effective lr), but each is "
                     "still lr × a gradient ~{ratio:.0f}× smaller in layer 1"),
    Config("sigmoid BCE Adam 1e-3", "sigmoid", "bce", "adam", 1e-3,
           mechanism="Adam scales each weight's step by its own gradient size, so layer 1's ~{ratio:.0f}× "
                     "smaller gradient no longer means a smaller step"),
    Config("sigmoid MSE Adam 1e-3", "sigmoid", "mse", "adam", 1e-3,
           mechanism="as with BCE: the per-weight step size, not the loss, gets layer 1 moving"),
    Config("ReLU BCE SGD 0.1", "relu", "bce", "sgd", 0.1,
           mechanism="ReLU with He init passes the gradient back undiminished (output/layer-1 ratio "
                     "{ratio:.2f}), but the mean image is still the first thing SGD finds, and plain "
                     "SGD 0.1 leaves it slowly"),
    Config("ReLU BCE Adam 1e-3", "relu", "bce", "adam", 1e-3,
           mechanism="undiminished gradients and per-weight steps: both fixes at once"),
)
FIXES = ("sigmoid BCE Adam 1e-3", "ReLU BCE Adam 1e-3")


def mean_image_losses(x_train: np.ndarray, x_test: np.ndarray) -> dict[str, float]:
    """Test BCE and MSE per pixel of the constant prediction p = x̄ (the plateau's signature)."""
    p = np.broadcast_to(x_train.mean(axis=0), x_test.shape).astype(x_test.dtype)
    return {"bce": BCE().forward(p, x_test), "mse": MSE().forward(p, x_test)}


def init_measures(model: Any, config: Config, x_probe: np.ndarray) -> dict[str, float]:
    """Per-layer saturation and gradient RMS per weight at initialisation, and their ratio."""
    measures = measure(model, x_probe, loss=get_loss(config.loss))
    rms = gradient_per_weight(model, measures)
    # a sigmoid layer's problem is saturation, a ReLU layer's is dying: one column each layer
    row = {f"sat/dead{k}": measures.get(f"layer{k}/saturated",
                                        measures.get(f"layer{k}/dead", math.nan))
           for k in range(1, 5)}
    row.update({f"grad{k}": value for k, value in enumerate(rms, start=1)})
    row["out/layer1"] = rms[-1] / rms[0] if rms[0] > 0 else float("inf")
    return row


def train(config: Config, data: dict[str, np.ndarray], epochs: int, batch_size: int, seed: int,
          verbose: bool) -> tuple[Any, dict[str, list[float]], dict[str, float]]:
    """Train one configuration; return the model, per-epoch test measures and the init measures."""
    x_train, x_test, x_mean = data["x_train"], data["x_test"], data["x_mean"]
    model = dense_autoencoder(SPEC, hidden=config.hidden, output="sigmoid", seed=seed)
    at_init = init_measures(model, config, x_train[:PROBE])
    layer1, _ = numbered_layers(model)[0]
    at_init["W1_norm"] = float(np.linalg.norm(layer1.W))
    curves: dict[str, list[float]] = {"d_mean": [], "bce": [], "mse": [], "collapse": []}

    def track_test_set(model: Any, epoch: int, record: dict[str, float]) -> None:
        p = model.predict(x_test)
        curves["d_mean"].append(float(np.mean(np.square(p - x_mean))))
        curves["bce"].append(BCE().forward(p, x_test))
        curves["mse"].append(MSE().forward(p, x_test))
        curves["collapse"].append(collapse_ratio(p, x_test, x_mean))

    fit(model, x_train, loss=get_loss(config.loss), optimizer=config.make_optimizer(), epochs=epochs,
        batch_size=batch_size, callbacks=[EpochHook(track_test_set)], seed=seed, verbose=False)
    say(verbose, f"  {config.label:34s} d_mean per epoch: "
                 + " ".join(f"{d:.4f}" for d in curves["d_mean"]))
    return model, curves, at_init


def fact_key(label: str) -> str:
    """``"sigmoid BCE SGD 0.1"`` → ``"sigmoid bce sgd 0.1"``: the prefix of its facts."""
    return label.lower()


def summarise(config: Config, model: Any, curves: dict[str, list[float]],
              at_init: dict[str, float], blob_mse: float) -> dict[str, Any]:
    """The configuration's row: final d_mean, epochs on the plateau, test losses, ‖W1‖, why."""
    return {"configuration": config.label, "d_mean": curves["d_mean"][-1],
            "on_plateau": float(sum(d <= PLATEAU for d in curves["d_mean"])),
            "test_bce": curves["bce"][-1], "test_mse": curves["mse"][-1],
            "collapse": curves["collapse"][-1], "W1_init": at_init["W1_norm"],
            "W1_end": float(np.linalg.norm(model.encoder.layers[0].W)),
            "why": explain(config, curves, at_init, blob_mse)}


def explain(config: Config, curves: dict[str, list[float]], at_init: dict[str, float],
            blob_mse: float) -> str:
    """One line: where the configuration ended and the mechanism behind it."""
    d = curves["d_mean"]
    on = [e + 1 for e, value in enumerate(d) if value <= PLATEAU]
    if d[-1] <= PLATEAU:
        outcome = f"on the mean image ({len(on)} of {len(d)} epochs)"
    elif on:
        outcome = f"left the mean image after epoch {on[-1]}"
    elif curves["mse"][-1] >= blob_mse:
        outcome = "not even at the mean image yet (test MSE above the blob's)"
    else:
        outcome = "never on the mean image"
    return f"{outcome}: {config.mechanism.format(ratio=at_init['out/layer1'])}"


def run(*, full: bool = False, data_dir: str | None = None, out: str | Path = "tinyae-experiments",
        quick: bool = False, seed: int = 0, verbose: bool = True) -> ExperimentResult:
    """Train every configuration in ``CONFIGS``; tabulate plateau, test losses, init health.

    Default: 10 epochs, batch 128 on the whole training set; ``quick``: ``QUICK``, 2,000
    training and 500 test images, 6 epochs of batch 8 (1,500 steps: enough for Adam to
    reach and leave the mean image).
    """
    mnist = load_images(full, data_dir, verbose)
    n_train, n_test, epochs, batch_size = QUICK if quick else (None, None, 10, 128)
    x_train, x_test = mnist.x_train[:n_train], mnist.x_test[:n_test]
    data = {"x_train": x_train, "x_test": x_test, "x_mean": x_train.mean(axis=0)}
    blob = mean_image_losses(x_train, x_test)
    say(verbose, f"blob: {SPEC} on {mnist.name} ({len(x_train):,} train / {len(x_test):,} test), "
                 f"{epochs} epochs, batch {batch_size}",
        f"the mean image x̄ as every reconstruction: test BCE {blob['bce']:.4f}, MSE {blob['mse']:.4f} "
        f"per pixel — the plateau's signature; d_mean ≤ {PLATEAU} means 'on the mean image'")
    rows, health, curves_by_label, models = [], [], {}, {}
    facts = {"blob_bce": blob["bce"], "blob_mse": blob["mse"]}
    for config in CONFIGS:
        model, curves, at_init = train(config, data, epochs, batch_size, seed, verbose)
        models[config.label], curves_by_label[config.label] = model, curves["d_mean"]
        row = summarise(config, model, curves, at_init, blob["mse"])
        rows.append(row)
        health.append({"configuration": config.label, **{k: v for k, v in at_init.items() if k != "W1_norm"}})
        facts.update({f"{fact_key(config.label)}/{name}": value for name, value in row.items()
                      if isinstance(value, float)})
        facts[f"{fact_key(config.label)}/grad_ratio"] = at_init["out/layer1"]
        facts[f"{fact_key(config.label)}/d_mean_min"] = min(curves["d_mean"])
    say(verbose, "", "at initialisation, on 256 training images: fraction of saturated sigmoid outputs or "
                     "dead ReLUs per layer (sat/dead1..4), gradient RMS per weight (grad1..4), "
                     "output/layer-1 ratio",
        format_table(health), "", format_table(rows, [c for c in rows[0] if c != "why"]), "",
        *(f"{row['configuration']}: {row['why']}" for row in rows))
    figures = [figure_path(out, "blob", "distance_to_mean_image")]
    plot.epoch_curves(curves_by_label, "mean (p − x̄)² per pixel, test set", path=figures[0],
                      threshold=PLATEAU, threshold_label="on the mean image", logy=True,
                      title="distance of the reconstructions to the mean image")
    for label in (CONFIGS[0].label, *FIXES):
        path = figure_path(out, "blob", "reconstructions_" + label.replace(" ", "_"))
        plot.reconstructions(x_test[:10], models[label].predict(x_test[:10]), path=path,
                             title=f"{label}: originals (top), reconstructions (bottom)")
        figures.append(path)
    return ExperimentResult("blob", rows, facts, figures)
