"""Seed experiments: each reproduces one of the four learner questions, or a classic variant, on MNIST.

=============== ======== ==================================================================
name            question what it shows
=============== ======== ==================================================================
``blob``        1        the mean-image plateau of an all-sigmoid autoencoder, and the fixes
``bce-curves``  1, 2     BCE's minimum at p = y, its floor H(y), its asymmetry; MSE beside it
``softmax-raw`` 2        softmax output + BCE on raw 0..255 pixels, next to the fixed model
``identity``    3        a linear 84 → 84 layer that "cannot learn the identity", and the fix
``beta-sweep``  4        the VAE's reconstruction-vs-KL trade-off over β, and KL annealing
``denoise``     variant  denoising AEs against a plain AE on noisy digits; the clean-input cost
``sparse``      variant  UFLDL's sparse AE: ρ̂ against ρ, and what localises the filters
``deep``        variant  Hinton & Salakhutdinov's deep autoencoder against PCA-30 and a shallow one
=============== ======== ==================================================================

``run_experiment("blob")`` runs one, prints its tables and findings and returns an
``ExperimentResult`` (``rows``: the table; ``facts``: named numbers; ``figures``: the PNGs
written under ``out/<name>/``; ``notes``: the printed findings).  By default an experiment
uses the bundled subset ``mnist-mini``; ``full=True`` loads full MNIST, ``quick=True``
shrinks the budget to seconds (the tests use it).  Each module's docstring explains the
phenomenon and what the numbers show.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinyae.experiments import bce_curves, beta_sweep, blob, deep, denoise, identity, softmax_raw, sparse
from tinyae.experiments.common import ExperimentResult, check_writable
from tinyae.registry import lookup

EXPERIMENTS: dict[str, Callable[..., ExperimentResult]] = {
    "blob": blob.run,
    "bce-curves": bce_curves.run,
    "softmax-raw": softmax_raw.run,
    "identity": identity.run,
    "beta-sweep": beta_sweep.run,
    "denoise": denoise.run,
    "sparse": sparse.run,
    "deep": deep.run,
}


def run_experiment(name: str, *, full: bool = False, data_dir: str | None = None,
                   out: str | Path = "tinyae-experiments", quick: bool = False, seed: int = 0,
                   verbose: bool = True) -> ExperimentResult:
    """Run the experiment ``name`` (a key of ``EXPERIMENTS``) and return its result.

    full : full MNIST (``load_mnist("mnist", data_dir=data_dir)``) instead of ``mnist-mini``;
    out : folder for the figures (``out/<name>/*.png``);
    quick : a small budget (seconds), as the tests use;
    seed : seeds every weight initialisation and shuffle;
    verbose : print the tables and explanations.
    """
    run = lookup(EXPERIMENTS, name, "experiment")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a whole number (it seeds np.random.default_rng), "
                        f"got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be ≥ 0 (np.random.default_rng takes no negative seed), "
                         f"got {seed}")
    check_writable(Path(out) / str(name).lower())  # before minutes of training, not after
    return run(full=full, data_dir=data_dir, out=out, quick=quick, seed=seed, verbose=verbose)


__all__ = ["EXPERIMENTS", "ExperimentResult", "run_experiment"]
