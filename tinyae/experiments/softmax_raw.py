"""Question 2: a softmax output and BCE on raw 0..255 pixels, next to the fixed model.

The model of the question: Dense 784-128-64-28-64-128-784, ReLU hidden layers, a
**softmax** output, BCE, Adam, batch 100, pixels left in 0..255.  Three things are wrong:

1. BCE with targets outside [0, 1] is not a loss any more.  tinyae refuses it; a
   framework that accepts it computes ℓ(p) = −y·log p − (1 − y)·log(1 − p) anyway, and
   for y = 200 that is −200·log p + 199·log(1 − p): it decreases without bound as p → 1
   (its slope (p − y) / (p (1 − p)) is negative on all of (0, 1)), goes negative, and
   has no minimum at p = y — which a probability p cannot even reach.
2. Softmax makes the 784 outputs of an image sum to 1, so each pixel is about
   1/784 ≈ 0.0013 on average, while the mean MNIST pixel is ≈ 0.13: it cannot draw an image.
3. The inputs are not scaled to [0, 1].

The fixed model has a sigmoid output (each pixel its own probability) and pixels ÷ 255.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinyae import plot
from tinyae.diagnostics import doctor
from tinyae.experiments.common import ExperimentResult, figure_path, load_images, say
from tinyae.losses import BCE, MSE
from tinyae.models import Autoencoder, dense_autoencoder
from tinyae.optim import Adam
from tinyae.text import format_table
from tinyae.train import fit

SPEC = "784-128-64-28-64-128-784"
Y_RAW = 200.0  # a bright raw pixel
P_VALUES = (0.5, 0.9, 0.99, 0.999, 1 - 1e-6, 1 - 1e-12)


def raw_bce(p: np.ndarray, y: float) -> np.ndarray:
    """The per-element BCE formula −y·log p − (1 − y)·log(1 − p), evaluated for any y."""
    return -y * np.log(p) - (1 - y) * np.log1p(-p)


def refusal_message(x_raw: np.ndarray) -> str:
    """The error tinyae's BCE raises for raw 0..255 targets (the first finding)."""
    p = np.full_like(x_raw, 0.5)
    try:
        BCE().forward(p, x_raw)
    except ValueError as error:
        return str(error)
    raise AssertionError("BCE accepted targets outside [0, 1]")


def train_and_measure(output: str, x_train: np.ndarray, x_test: np.ndarray, epochs: int,
                      seed: int) -> tuple[Autoencoder, dict[str, float]]:
    """Train the question's architecture with ``output`` on pixels in [0, 1]; measure the test set."""
    model = dense_autoencoder(SPEC, hidden="relu", output=output, seed=seed)
    fit(model, x_train, loss=BCE(), optimizer=Adam(1e-3), epochs=epochs, batch_size=100,
        seed=seed, verbose=False)
    p = model.predict(x_test)
    sums = p.sum(axis=1)
    return model, {"test_mse": MSE().forward(p, x_test), "test_bce": BCE().forward(p, x_test),
                   "pixel_mean": float(p.mean()), "row_sum_mean": float(sums.mean()),
                   "row_sum_spread": float(sums.max() - sums.min())}


def run(*, full: bool = False, data_dir: str | None = None, out: str | Path = "tinyae-experiments",
        quick: bool = False, seed: int = 0, verbose: bool = True) -> ExperimentResult:
    """Show the refusal, the raw-target BCE by hand, and the softmax model beside the sigmoid one.

    5 epochs (the question's); ``quick``: 4,000 training and 500 test images.
    """
    mnist = load_images(full, data_dir, verbose)
    n_train, n_test, epochs = (4000, 500, 5) if quick else (None, None, 5)
    x_train, x_test = mnist.x_train[:n_train], mnist.x_test[:n_test]
    x_raw = x_test * np.float32(255)  # the question's inputs: floats 0..255
    notes = [f"1. tinyae's BCE on raw pixels: ValueError: {refusal_message(x_raw)}"]
    softmax_model = dense_autoencoder(SPEC, hidden="relu", output="softmax", seed=seed)
    codes = [f.code for f in doctor(softmax_model, BCE(), x_raw[:256])]
    notes.append(f"   doctor on the question's configuration finds: {', '.join(codes)}")
    p = np.array(P_VALUES)
    by_hand = raw_bce(p, Y_RAW)
    slope = (p - Y_RAW) / (p * (1 - p))
    notes.append(f"2. what a framework that accepts y = {Y_RAW:g} computes, −y·log p − (1 − y)·log(1 − p):")
    notes += [f"   p = {q:.12g}: loss {value:.4g}, slope {s:.3g}" for q, value, s in zip(p, by_hand, slope)]
    notes.append("   it decreases without bound as p → 1 and goes negative: no minimum at p = y")
    say(verbose, f"softmax-raw: {SPEC}, ReLU, BCE, Adam 1e-3, batch 100, {epochs} epochs on {mnist.name} "
                 f"({len(x_train):,} train / {len(x_test):,} test)", *notes)
    models: dict[str, Autoencoder] = {}
    rows: list[dict[str, Any]] = []
    for label, output in (("question: softmax output", "softmax"), ("fixed: sigmoid output", "sigmoid")):
        models[label], measures = train_and_measure(output, x_train, x_test, epochs, seed)
        rows.append({"model": label, **measures})
    data_mean = float(x_test.mean())
    notes.append(f"3. softmax rows sum to {rows[0]['row_sum_mean']:.4f}, so a pixel is on average "
                 f"{rows[0]['pixel_mean']:.5f} ≈ 1/784 = {1 / 784:.5f}, against the data's mean pixel "
                 f"{data_mean:.4f}: test MSE {rows[0]['test_mse']:.4f} vs {rows[1]['test_mse']:.4f} "
                 "with a sigmoid output")
    say(verbose, "", format_table(rows), "", notes[-1])
    facts = {"raw_bce_decreasing": float(np.all(np.diff(by_hand) < 0)), "raw_bce_min": float(by_hand.min()),
             "raw_bce_slope_max": float(slope.max()), "data_pixel_mean": data_mean,
             "doctor_softmax": float("softmax-per-pixel" in codes),
             "doctor_target_range": float("bce-target-range" in codes)}
    facts.update({f"raw_bce/{q:.12g}": float(v) for q, v in zip(p, by_hand)})
    for key, row in zip(("softmax", "sigmoid"), rows):
        facts.update({f"{key}/{name}": value for name, value in row.items() if name != "model"})
    figures = []
    for key, (label, model) in zip(("softmax", "sigmoid"), models.items()):
        figures.append(figure_path(out, "softmax-raw", f"reconstructions_{key}"))
        plot.reconstructions(x_test[:10], model.predict(x_test[:10]), path=figures[-1],
                             title=f"{label}: originals (top), reconstructions (bottom)")
    return ExperimentResult("softmax-raw", rows, facts, figures, notes)
