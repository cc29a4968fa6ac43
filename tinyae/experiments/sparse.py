"""The sparse autoencoder of Ng's CS294A notes (the UFLDL exercise), and what localises its filters.

The exercise's network is 784-196-784 with sigmoid hidden *and* output units, trained on
MNIST to minimise, over m images,

    J = (1/m) Σᵢ ½‖x̂⁽ⁱ⁾ − x⁽ⁱ⁾‖² + (λ/2) Σ W² + β Σⱼ KL(ρ ‖ ρ̂ⱼ),   ρ = 0.1, λ = 3e-3, β = 3

(the squared error summed over the 784 pixels and halved, averaged over the images;
ΣW² over both weight matrices, not the biases; ρ̂ⱼ the mean activation of hidden unit j).
tinyae has no ½ in its squared error: ``MSE(reduction="batchmean")`` is (1/m) Σᵢ ‖x̂ − x‖²,
``WeightDecay(λ')`` adds λ'·½ΣW² and ``SparsityPenalty(β')`` adds β'·Σⱼ KL.  So we
minimise 2J, with ``weight_decay`` = 2λ = 6e-3 and ``sparsity_weight`` = 2β = 6: the
same minimum, and the same β and λ *relative to the reconstruction term* as UFLDL's.
(This scale matters: against a BCE summed per image, ~80 nats, β = 3 is so light that
the units end 39 % away from ρ on average.)  Two differences from the exercise: ρ̂ⱼ is
the mean over each batch of 128 images, not over the whole training set; and the
optimiser is Adam (lr 1e-3), not L-BFGS on the full batch (minFunc, 400 iterations).

Four networks, the same but for the two penalties, show what each one does:

================== ===== ====== =============================================================
network            β     λ      role
================== ===== ====== =============================================================
``sparse``         3     3e-3   the exercise
``decay only``     0     3e-3   the same without the sparsity penalty (weight decay kept on)
``sparsity only``  3     0      the penalty without weight decay
``neither``        0     0      the plain sigmoid autoencoder
================== ===== ====== =============================================================

Measured on the test set: the mean activation of every hidden unit, ρ̂ⱼ, against ρ, both
as |mean_j ρ̂ⱼ − ρ|/ρ (the layer on average) and as mean_j |ρ̂ⱼ − ρ|/ρ (each unit, the
stricter); and the localisation of the first-layer filters W[:, j]: the share of a
filter's energy W² inside its brightest 7×7 window (``filter_localisation``; 1 = all in
one window, 49/784 = 0.0625 = spread evenly), averaged over the 196 filters.

What the runs show (full MNIST, 10 epochs each; test set):

============= ========= ===== ================== ================== ============
network       MSE/pixel ρ̂     |mean_j ρ̂ⱼ − ρ|/ρ  mean_j |ρ̂ⱼ − ρ|/ρ  localisation
============= ========= ===== ================== ================== ============
sparse        0.0243    0.107 0.073              0.081              0.411
decay only    0.0126    0.530 4.30               4.30               0.377
sparsity only 0.0093    0.103 0.030              0.058              0.167
neither       0.0034    0.523 4.23               4.23               0.166
============= ========= ===== ================== ================== ============

(ρ̂: mean_j ρ̂ⱼ.)

* The penalty sets the activations: every sparse unit's mean activation is near ρ
  (within 8 % of it on average).  Without the penalty the units sit near 0.5, the
  sigmoid's nearly linear middle.  The penalty alone, without weight decay, reaches ρ
  too, and reconstructs better — but its filters are not local.
* Weight decay, more than the sparsity penalty, is what localises the filters: 0.41
  and 0.38 with it, 0.17 without, penalty or not.  What the penalty adds on top is small
  in this number (+0.03 here, +0.05 with seed 1; it shrinks with longer training — after
  30 epochs the two are level, 0.59 and 0.61 — and on the quick budget the decay-only
  filters are the more local) but plain in the filter images: each sparse unit is one
  smooth pen stroke with a faint surround, while the decay-only units are of two kinds,
  high-frequency speckle over the whole digit and single spots a few pixels wide (which
  score near 1 and lift that network's mean).
* The price of sparsity: twice the decay-only network's reconstruction error, as each
  unit must stay near 0 on most images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinyae import plot
from tinyae.diagnostics import filter_localisation
from tinyae.experiments.common import ExperimentResult, figure_path, load_images, say
from tinyae.losses import MSE
from tinyae.models import dense_autoencoder
from tinyae.models.autoencoder import Autoencoder
from tinyae.optim import Adam
from tinyae.text import format_table
from tinyae.train import fit

SPEC = "784-196-784"
RHO, LAMBDA, BETA = 0.1, 3e-3, 3.0  # the UFLDL exercise's values, for its objective J
RUNS = {"sparse": (BETA, LAMBDA), "decay only": (0.0, LAMBDA), "sparsity only": (BETA, 0.0),
        "neither": (0.0, 0.0)}  # network → (β, λ)
LR, BATCH, EPOCHS = 1e-3, 128, 10
# quick: (train images, test images, epochs, batch size, lr): a few hundred steps, larger ones
QUICK = (5000, 1000, 3, 32, 3e-3)
SHOWN = {False: 196, True: 36}  # filters drawn by default and in quick mode (196: the UFLDL figure)


def sparse_autoencoder(beta: float, lam: float, seed: int) -> Autoencoder:
    """UFLDL's 784-196-784 sigmoid network for J with weights β, λ (β = 0: no penalty).

    tinyae minimises 2J (its squared error has no ½, see the module), so β and λ are
    passed doubled.
    """
    penalty: dict[str, Any] = {"sparsity": RHO, "sparsity_weight": 2 * beta} if beta else {}
    return dense_autoencoder(SPEC, hidden="sigmoid", output="sigmoid", seed=seed,
                             weight_decay=2 * lam, **penalty)


def measure(ae: Autoencoder, x_test: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """Test MSE per pixel, ρ̂'s distance to ρ, the filters' localisation; and ρ̂ (J,)."""
    code = ae.encode(x_test)  # (N, J) sigmoid activations
    rho_hat = code.mean(axis=0)
    p = ae.decode(code)
    return {"test_mse": float(np.mean(np.square(p - x_test))),
            "mean_rho_hat": float(rho_hat.mean()),
            "dev_of_mean": float(abs(rho_hat.mean() - RHO) / RHO),
            "mean_unit_dev": float(np.mean(np.abs(rho_hat - RHO)) / RHO),
            "localisation": float(filter_localisation(ae.encoder.layers[0].W).mean())}, rho_hat


def findings(by_name: dict[str, dict[str, Any]]) -> list[str]:
    """The printed findings: ρ̂ against ρ, and what each penalty does to the localisation."""
    sparse, loc = by_name["sparse"], {name: row["localisation"] for name, row in by_name.items()}
    return [
        f"sparse: mean ρ̂ = {sparse['mean_rho_hat']:.3f} against ρ = {RHO}; |mean ρ̂ − ρ|/ρ = "
        f"{sparse['dev_of_mean']:.3f}, per unit mean |ρ̂ⱼ − ρ|/ρ = {sparse['mean_unit_dev']:.3f}",
        f"without the penalty the units average ρ̂ = {by_name['decay only']['mean_rho_hat']:.3f} "
        f"(decay only) and {by_name['neither']['mean_rho_hat']:.3f} (neither)",
        "localisation (share of W[:, j]² in the brightest 7×7 window, mean over units; an even "
        "spread scores 0.0625): " + ", ".join(f"{name} {value:.3f}" for name, value in loc.items()),
        f"weight decay changes it by {loc['sparse'] - loc['sparsity only']:+.3f} with the sparsity "
        f"penalty and {loc['decay only'] - loc['neither']:+.3f} without; the penalty by "
        f"{loc['sparse'] - loc['decay only']:+.3f} with weight decay and "
        f"{loc['sparsity only'] - loc['neither']:+.3f} without",
        f"the price: test MSE {sparse['test_mse']:.4f} per pixel (sparse) against "
        f"{by_name['decay only']['test_mse']:.4f} (decay only)",
    ]


def run(*, full: bool = False, data_dir: str | None = None, out: str | Path = "tinyae-experiments",
        quick: bool = False, seed: int = 0, verbose: bool = True) -> ExperimentResult:
    """Train the four networks of ``RUNS``; tabulate ρ̂ against ρ and the filters' localisation.

    Default: ``EPOCHS`` (10) epochs of batch 128, Adam 1e-3, on the whole training set;
    ``quick``: ``QUICK``, 5,000 training and 1,000 test images, 3 epochs of batch 32, Adam 3e-3.
    """
    mnist = load_images(full, data_dir, verbose)
    n_train, n_test, epochs, batch_size, lr = QUICK if quick else (None, None, EPOCHS, BATCH, LR)
    x_train, x_test = mnist.x_train[:n_train], mnist.x_test[:n_test]
    say(verbose, f"sparse: {SPEC}, sigmoid hidden and output, ρ = {RHO}, UFLDL's J with λ and β "
                 f"as listed (tinyae minimises 2J: weight_decay 2λ, sparsity_weight 2β), Adam {lr:g}, "
                 f"batch {batch_size}, {epochs} epochs on {mnist.name} ({len(x_train):,} train / "
                 f"{len(x_test):,} test)")
    rows: list[dict[str, Any]] = []
    rho_hats, filters = {}, {}
    for name, (beta, lam) in RUNS.items():
        ae = sparse_autoencoder(beta, lam, seed)
        fit(ae, x_train, loss=MSE(reduction="batchmean"), optimizer=Adam(lr), epochs=epochs,
            batch_size=batch_size, seed=seed, verbose=False)
        numbers, rho_hats[name] = measure(ae, x_test)
        filters[name] = ae.encoder.layers[0].W
        rows.append({"network": name, "beta": beta, "lambda": lam, **numbers})
        say(verbose, f"  {name}: mean ρ̂ {numbers['mean_rho_hat']:.3f}, localisation "
                     f"{numbers['localisation']:.3f}")
    by_name = {row["network"]: row for row in rows}
    notes = findings(by_name)
    say(verbose, "", format_table(rows), "", *notes)
    facts = {f"{row['network']}/{key}": value for row in rows for key, value in row.items()
             if key != "network"}
    figures = [figure_path(out, "sparse", "filters_sparse"), figure_path(out, "sparse", "filters_decay_only"),
               figure_path(out, "sparse", "mean_activations")]
    for name, path in zip(("sparse", "decay only"), figures):
        plot.filters(filters[name], SHOWN[quick], path=path, title=f"{name}: β = {RUNS[name][0]:g}, "
                                                    f"λ = {RUNS[name][1]:g}")
    plot.unit_activations(rho_hats, RHO, path=figures[2],
                          title=f"mean activation ρ̂ⱼ of each hidden unit on the test set, target ρ = {RHO}")
    return ExperimentResult("sparse", rows, facts, figures, notes)
