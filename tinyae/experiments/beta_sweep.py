"""Question 4: how much should the KL term weigh?  A sweep over β, and KL annealing.

A dense VAE (784-400-20 by default) is trained with the per-sample objective

    L = recon + β · KL,    recon = Σ_k BCE(p_k, x_k),   KL = −½ Σ_j (1 + log σ_j² − mu_j² − σ_j²)

both averaged over the batch ("batchmean"; β = 1 is the ELBO).  For each β we measure on
the test set the reconstruction term, the KL and the number of active latent units
(``active_units``: Var over the data of mu_j > 0.01).  Larger β buys a posterior closer
to the prior (smaller KL, fewer active units) with worse reconstructions.  The
question's normalised weight, recon/K + w·KL/J, is β = w·K/J; ``beta_norm`` = β·J/K
is printed beside β.

Then, at β = 1 and at the largest β, a run whose KL weight rises from 0 to β along a
sigmoid over the first half of training (Bowman et al. 2015, ``KLAnnealing``) is set
against the sweep's run with β from the first step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinyae import plot
from tinyae.diagnostics import active_units
from tinyae.experiments.common import ExperimentResult, figure_path, load_images, say
from tinyae.losses import BCE
from tinyae.models.vae import beta_norm, dense_vae
from tinyae.optim import Adam
from tinyae.schedules import KLAnnealing, sigmoid_anneal
from tinyae.text import format_table
from tinyae.train import evaluate, fit

BETAS = (0.1, 0.5, 1.0, 4.0, 16.0)
ANNEALED = (1.0, 16.0)  # β values also trained with annealing
BATCH = 128


def train(spec: str, beta: float, x_train: np.ndarray, epochs: int, seed: int,
          anneal: bool = False) -> tuple[Any, Any]:
    """Train a VAE with KL weight ``beta``; with ``anneal`` it rises from 0 over the first half."""
    # He init, not dense_vae's default (Glorot): the README's and the tests' numbers for
    # this sweep were measured with it.
    vae = dense_vae(spec, beta=beta, seed=seed, init="he")
    half = max(1, epochs * -(-len(x_train) // BATCH) // 2)
    # float(): for one int step sigmoid_anneal returns one number; its signature also allows arrays
    callbacks = [KLAnnealing(lambda t: sigmoid_anneal(t, half, end=beta))] if anneal else []
    history = fit(vae, x_train, loss=BCE(reduction="batchmean"), optimizer=Adam(1e-3), epochs=epochs,
                  batch_size=BATCH, callbacks=callbacks, seed=seed, verbose=False)
    return vae, history


def measure(vae: Any, x_test: np.ndarray) -> dict[str, float]:
    """Test recon and KL (nats per image, z sampled as in training) and the active units."""
    terms = evaluate(vae, BCE(reduction="batchmean"), x_test)
    mu, _ = vae.encode(x_test)
    return {"recon": terms["recon"], "kl": terms["kl"], "elbo_loss": terms["recon"] + terms["kl"],
            "active": float(active_units(mu))}


def run(*, full: bool = False, data_dir: str | None = None, out: str | Path = "tinyae-experiments",
        quick: bool = False, seed: int = 0, verbose: bool = True) -> ExperimentResult:
    """Sweep β over ``BETAS``; set sigmoid KL annealing against none at each β of ``ANNEALED``.

    Default: 784-400-20, 10 epochs (full MNIST: 5); ``quick``: 784-128-8 on 2,000 images, 3 epochs.
    """
    mnist = load_images(full, data_dir, verbose)
    spec, n_train, n_test, epochs = (("784-128-8", 2000, 500, 3) if quick else
                                     ("784-400-20", None, None, 5 if full else 10))
    x_train, x_test = mnist.x_train[:n_train], mnist.x_test[:n_test]
    K, J = x_train.shape[1], int(spec.split("-")[-1])
    say(verbose, f"beta-sweep: VAE {spec} (K = {K}, J = {J}), BCE and KL per image, Adam 1e-3, "
                 f"batch {BATCH}, {epochs} epochs on {mnist.name} ({len(x_train):,} train / "
                 f"{len(x_test):,} test)")
    rows: list[dict[str, Any]] = []
    histories: dict[str, list[float]] = {}
    for beta in BETAS:
        vae, history = train(spec, beta, x_train, epochs, seed)
        histories[f"β = {beta:g}"] = history["kl"]
        rows.append({"run": f"beta {beta:g}", "beta": beta, "beta_norm": beta_norm(beta, J, K),
                     **measure(vae, x_test)})
        say(verbose, f"  β = {beta:g}: recon {rows[-1]['recon']:.2f}, KL {rows[-1]['kl']:.2f}, "
                     f"active {rows[-1]['active']:.0f}/{J}")
    sweep = {row["beta"]: row for row in rows}
    notes = [f"from β = {BETAS[0]:g} to β = {BETAS[-1]:g}: recon {rows[0]['recon']:.1f} → "
             f"{rows[-1]['recon']:.1f}, KL {rows[0]['kl']:.1f} → {rows[-1]['kl']:.1f}, active units "
             f"{rows[0]['active']:.0f} → {rows[-1]['active']:.0f} of {J}",
             f"the question's w = 0.1 on recon/K + w·KL/J is β = 0.1·K/J = {0.1 * K / J:.2f} here"]
    anneal_curves = {}
    for beta in ANNEALED:
        vae, history = train(spec, beta, x_train, epochs, seed, anneal=True)
        anneal_curves[f"β = {beta:g} from the start"] = histories[f"β = {beta:g}"]
        anneal_curves[f"β = {beta:g} annealed"] = history["kl"]
        row = {"run": f"beta {beta:g} annealed", "beta": beta, "beta_norm": beta_norm(beta, J, K),
               **measure(vae, x_test), "beta_epoch1": history["beta"][0]}
        rows.append(row)
        plain = sweep[beta]
        notes.append(f"annealing to β = {beta:g} (mean weight {row['beta_epoch1']:.3g} in epoch 1): "
                     f"KL {row['kl']:.2f} vs {plain['kl']:.2f} without, active "
                     f"units {row['active']:.0f} vs {plain['active']:.0f}, recon {row['recon']:.2f} vs "
                     f"{plain['recon']:.2f}")
    facts = {f"{row['run']}/{k}": v for row in rows for k, v in row.items() if k != "run"}
    say(verbose, "", format_table(rows, list(rows[-1])), "", *notes)
    figures = [figure_path(out, "beta-sweep", "beta_sweep"), figure_path(out, "beta-sweep", "annealing_kl")]
    plot.beta_sweep(BETAS, [sweep[b]["recon"] for b in BETAS], [sweep[b]["kl"] for b in BETAS],
                    path=figures[0])
    plot.epoch_curves(anneal_curves, "KL per image (nats), training", path=figures[1],
                      title="the KL during training, β from the first step or annealed from 0")
    return ExperimentResult("beta-sweep", rows, facts, figures, notes)
