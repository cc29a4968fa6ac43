"""Questions 1 and 2: where BCE is smallest, how small it gets, and how it differs from MSE.

For a target y ∈ [0, 1] and a prediction p ∈ (0, 1), per pixel:

    BCE(p, y) = −y·log p − (1 − y)·log(1 − p)        MSE(p, y) = (p − y)²

dBCE/dp = (p − y) / (p (1 − p)) vanishes only at p = y, so BCE is smallest exactly where
the prediction equals the target, grey targets included; its smallest value is the
binary entropy H(y) > 0 (``binary_entropy``): on grey images BCE never reaches 0.
Shifted by H(y), BCE is 0 at p = y like MSE, but it is asymmetric: for y = 0.8,
predicting 0.9 costs more than predicting 0.7, while MSE charges both 0.01.

Everything here is evaluated on a fine grid of p; the mean H of the MNIST test pixels
gives the BCE a perfect reconstruction would have.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyae import plot
from tinyae.experiments.common import ExperimentResult, figure_path, load_images, say
from tinyae.losses import BCE, binary_entropy
from tinyae.text import format_table

TARGETS = (0.1, 0.3, 0.5, 0.8, 0.9)
Y = 0.8  # the target of question 1's figure
GRID_STEP = 1e-4


def bce(p: np.ndarray, y: float) -> np.ndarray:
    """BCE(p, y) = −y·log p − (1 − y)·log(1 − p) elementwise, for p strictly inside (0, 1)."""
    return -y * np.log(p) - (1 - y) * np.log1p(-p)


def run(*, full: bool = False, data_dir: str | None = None, out: str | Path = "tinyae-experiments",
        quick: bool = False, seed: int = 0, verbose: bool = True) -> ExperimentResult:
    """Tabulate argmin and floor of BCE per target, the asymmetry at y = 0.8, MNIST's floor.

    ``quick`` and ``seed`` change nothing (there is no training); ``full`` only decides
    which test set the MNIST floor is measured on.
    """
    p = np.arange(GRID_STEP, 1, GRID_STEP)  # the open interval (0, 1): no clipping needed
    rows, facts = [], {}
    for y in TARGETS:
        argmin = float(p[np.argmin(bce(p, y))])
        floor = float(binary_entropy(y))
        rows.append({"y": y, "argmin_p BCE": argmin, "argmin_p MSE": float(p[np.argmin((p - y) ** 2)]),
                     "H(y) = min BCE": floor, "BCE(y, y)": float(bce(np.array(y), y))})
        facts[f"argmin/{y:g}"], facts[f"floor/{y:g}"] = argmin, floor
    h = float(binary_entropy(Y))
    for q in (Y + 0.1, Y - 0.1):
        facts[f"bce_minus_floor/{q:.1f}"] = float(bce(np.array(q), Y)) - h
        facts[f"mse/{q:.1f}"] = (q - Y) ** 2
    x_test = load_images(full, data_dir, verbose).x_test
    facts["mnist_floor"] = float(np.mean(binary_entropy(x_test)))
    facts["mnist_floor_check"] = BCE().forward(x_test, x_test)  # the library's BCE at p = y
    notes = [
        f"y = {Y}: BCE − H(y) is {facts['bce_minus_floor/0.9']:.4f} at p = 0.9 but "
        f"{facts['bce_minus_floor/0.7']:.4f} at p = 0.7 (asymmetric); MSE is "
        f"{facts['mse/0.9']:.4f} at both",
        f"a perfect reconstruction of the MNIST test images still has BCE = mean H(x) = "
        f"{facts['mnist_floor']:.4f} per pixel (tinyae's BCE at p = x: {facts['mnist_floor_check']:.4f}): "
        "the floor, not a bug",
    ]
    say(verbose, f"bce-curves: BCE(p, y) and MSE on a grid of p with step {GRID_STEP}",
        format_table(rows), "", *notes)
    figures = [figure_path(out, "bce-curves", "bce_vs_mse")]
    plot.loss_vs_target(Y, targets=TARGETS, path=figures[0])
    return ExperimentResult("bce-curves", rows, facts, figures, notes)
