"""Denoising autoencoders (Vincent et al. 2008; the Keras denoising tutorial): clean up noisy digits.

A denoising autoencoder (DAE) is trained on corrupted inputs x̃ against the clean images x:
minimise BCE(decoder(encoder(x̃)), x).  Copying its input is then no longer the answer; it
must learn what digits look like to undo the noise.  We train, all 784-196-784 (ReLU
hidden, sigmoid output), BCE per pixel, Adam, batch 128, the same epochs and seed:

* one plain autoencoder on clean images;
* one DAE per noise level, with that level's noise drawn afresh for every batch (``fit``
  does it, see ``tinyae.noise``): Gaussian σ = 0.1, 0.3, 0.5 (clipped to [0, 1]; the Keras
  tutorial uses 0.5) and masking q = 0.25, 0.5 (each pixel zeroed with probability q,
  Vincent et al.'s corruption).  One DAE per level, trained at that level, is the
  classic setup: each is the best we can do for the noise it will meet.

Then the test images are corrupted once per level (a seeded draw, apart from training's)
and the *same* x̃ go to both networks.  The table gives the MSE per pixel against the
clean test images of: x̃ itself (doing nothing), the plain AE's reconstruction of x̃,
the DAE's, and — the other side of the trade — the DAE given the clean x, and given
E[x̃] (the average of 16 corrupted copies of each image).

What the runs show (full MNIST, 5 epochs each; MSE per pixel against the clean images):

============ ========= ======== ====== ======== ===========
noise        x̃ itself  plain AE DAE    DAE on x DAE on E[x̃]
============ ========= ======== ====== ======== ===========
none         0         0.0021
gaussian:0.1 0.0054    0.0044   0.0032 0.0225   0.0026
gaussian:0.3 0.0467    0.0247   0.0082 0.0407   0.0045
gaussian:0.5 0.1156    0.0508   0.0161 0.0446   0.0080
mask:0.25    0.0286    0.0205   0.0095 0.0083   0.0043
mask:0.5     0.0570    0.0556   0.0155 0.0234   0.0081
============ ========= ======== ====== ======== ===========

The DAE wins at every level, by 1.4× (σ = 0.1) to 3.6× (q = 0.5); the plain AE, which
never saw noise, returns faint, broken digits.  But the Gaussian DAEs are bad on *clean*
images — worse than on the noisy ones they were trained for (σ = 0.3: 0.041 on x against
0.008 on x̃, where the plain AE has 0.002).

The cause is the clipping: on a black pixel (~80 % of MNIST's) the noise σε is cut to
max(σε, 0), whose mean is σ/√(2π) ≈ 0.4σ, so every noisy image the DAE ever saw wore a
grey veil, and it learned to expect one.  A clean image lacks the veil, and every hidden
unit's input is shifted.  Give the DAE E[x̃] — the clean image with the veil but without the
noise — and it is good again.  Masking noise has a smaller mismatch (E[x̃] = (1 − q)·x:
a clean image is just brighter than the DAE expects).  A DAE is a model of its
corruption: for clean inputs, use the plain autoencoder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinyae import plot
from tinyae.experiments.common import ExperimentResult, figure_path, load_images, say
from tinyae.losses import BCE
from tinyae.models import dense_autoencoder
from tinyae.models.autoencoder import Autoencoder
from tinyae.noise import Noise, parse_noise
from tinyae.optim import Adam
from tinyae.text import format_table
from tinyae.train import fit

SPEC = "784-196-784"
LEVELS = ("gaussian:0.1", "gaussian:0.3", "gaussian:0.5", "mask:0.25", "mask:0.5")
LR, BATCH, EPOCHS = 1e-3, 128, 5
# quick: (train images, test images, epochs, batch size, lr).  The DAEs need a few hundred
# steps to overtake the plain AE at mask:0.25, the mildest level: small batches, a larger lr.
QUICK = (4000, 1000, 3, 32, 3e-3)
TEST_NOISE = 2  # the test images' noise draws from default_rng([seed, TEST_NOISE]); fit uses 1
COPIES = 16  # corrupted copies averaged to estimate E[x̃]
SHOWN = 8  # images per row in the figures


def train(noise: str | None, x_train: np.ndarray, epochs: int, batch_size: int, lr: float,
          seed: int) -> Autoencoder:
    """The plain autoencoder (``noise=None``) or the DAE for ``noise``, trained on ``x_train``."""
    ae = dense_autoencoder(SPEC, noise=noise, seed=seed)
    fit(ae, x_train, loss=BCE(), optimizer=Adam(lr), epochs=epochs, batch_size=batch_size,
        seed=seed, verbose=False)
    return ae


def mse(p: np.ndarray, x: np.ndarray) -> float:
    """Mean squared error per pixel of ``p`` against the clean images ``x``, both (N, D)."""
    return float(np.mean(np.square(p - x)))


def mean_corruption(noise: Noise, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """≈ E[x̃ | x], (N, D): the mean of ``COPIES`` corrupted copies of ``x``."""
    return np.mean([noise(x, rng) for _ in range(COPIES)], axis=0)


def level_row(spec: str, plain: Autoencoder, dae: Autoencoder, x_test: np.ndarray,
              rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """One level's MSEs against the clean ``x_test``, and the images its figure shows."""
    noise = parse_noise(spec)
    x_noisy = noise(x_test, rng)
    shown = {"noisy x̃": x_noisy, "plain AE(x̃)": plain.predict(x_noisy),
             "DAE(x̃)": dae.predict(x_noisy), "clean x": x_test, "DAE(x)": dae.predict(x_test)}
    row = {"noise": spec, "noisy_input": mse(x_noisy, x_test),
           "plain_ae": mse(shown["plain AE(x̃)"], x_test), "dae": mse(shown["DAE(x̃)"], x_test),
           "dae_on_clean": mse(shown["DAE(x)"], x_test),
           "dae_on_mean_noisy": mse(dae.predict(mean_corruption(noise, x_test, rng)), x_test)}
    return row, {label: images[:SHOWN] for label, images in shown.items()}


def findings(rows: list[dict[str, Any]], plain_clean: float) -> list[str]:
    """The printed findings: who wins on noisy inputs, and the DAEs on clean inputs and on E[x̃]."""
    levels = [row for row in rows if row["noise"] != "none"]
    won = [row["noise"] for row in levels if row["dae"] < row["plain_ae"]]

    def listed(key: str) -> str:
        return ", ".join(f"{row['noise']} {row[key]:.4f}" for row in levels)

    return [
        f"the denoising AE beats the plain AE on the same noisy inputs at {len(won)} of "
        f"{len(levels)} levels; ratio plain/DAE: "
        + ", ".join(f"{row['noise']} {row['plain_ae'] / row['dae']:.2f}" for row in levels),
        f"on clean images: the plain AE {plain_clean:.4f}, the DAEs {listed('dae_on_clean')}",
        "the DAEs given E[x̃] (clipped Gaussian noise leaves a grey veil of mean ≈ 0.4σ on black "
        f"pixels: E[x̃] has the veil without the noise): {listed('dae_on_mean_noisy')}",
    ]


def run(*, full: bool = False, data_dir: str | None = None, out: str | Path = "tinyae-experiments",
        quick: bool = False, seed: int = 0, verbose: bool = True) -> ExperimentResult:
    """Train a plain AE and one DAE per level of ``LEVELS``; compare them on noisy and clean inputs.

    Default: ``EPOCHS`` (5) epochs of batch 128, Adam 1e-3, on the whole training set;
    ``quick``: ``QUICK``, 4,000 training and 1,000 test images, 3 epochs of batch 32, Adam 3e-3.
    """
    mnist = load_images(full, data_dir, verbose)
    n_train, n_test, epochs, batch_size, lr = QUICK if quick else (None, None, EPOCHS, BATCH, LR)
    x_train, x_test = mnist.x_train[:n_train], mnist.x_test[:n_test]
    say(verbose, f"denoise: {SPEC} (ReLU, sigmoid output), BCE, Adam {lr:g}, batch {batch_size}, "
                 f"{epochs} epochs on {mnist.name} ({len(x_train):,} train / {len(x_test):,} test); "
                 "MSE per pixel against the clean test images")
    plain = train(None, x_train, epochs, batch_size, lr, seed)
    plain_clean = mse(plain.predict(x_test), x_test)
    rows: list[dict[str, Any]] = [{"noise": "none", "noisy_input": 0.0, "plain_ae": plain_clean}]
    figures, rng = [], np.random.default_rng([seed, TEST_NOISE])
    for spec in LEVELS:
        dae = train(spec, x_train, epochs, batch_size, lr, seed)
        row, shown = level_row(spec, plain, dae, x_test, rng)
        rows.append(row)
        say(verbose, f"  {spec}: plain AE {row['plain_ae']:.4f}, DAE {row['dae']:.4f}")
        figures.append(figure_path(out, "denoise", spec.replace(":", "_")))
        plot.image_rows(shown, SHOWN, path=figures[-1],
                        title=f"{spec}: the plain AE and the denoising AE (DAE) on the same noisy "
                              "x̃;\nthe clean x, and the DAE given the clean x")
    notes = findings(rows, plain_clean)
    say(verbose, "", format_table(rows, list(rows[-1])), "", *notes)
    facts = {f"{row['noise']}/{key}": value for row in rows for key, value in row.items()
             if key != "noise"}
    return ExperimentResult("denoise", rows, facts, figures, notes)
