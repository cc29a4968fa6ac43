"""Where one training step's time goes, call by call, for the models of ``matrix.py``.

    python benchmarks/step_parts.py                          # the VAE 784-400-20, one thread
    python benchmarks/step_parts.py --model deep --threads 2

``tinyae.fit`` trains the model (Adam 1e-3, batch 128, BCE) on the first ``--limit``
MNIST images for ``--epochs`` epochs.  Every layer's ``forward`` and ``backward``, the
loss's, the model's ``zero_grad`` and the optimizer's ``step`` are timed where ``fit``
calls them (each method is wrapped on its instance), and the table gives each call's
median, per step.  Beside it, the same work timed alone, over and over on the same arrays:

* for a ``Dense`` layer, its bare matrix products of the same shapes (forward ``x @ W``;
  backward ``xᵀ @ dout`` and, when the layer passes a gradient on, ``dout @ Wᵀ``);
* for the optimizer, its step repeated on copies of θ and of a gradient.

A large difference says that the step around a call slows it (data pushed out of the
caches, BLAS threads spinning on the other core); none says the call itself is the cost.

"the rest" is the part of a step that no timed call covers: ``fit``'s own work, and a
VAE's sampling of z and its KL term.  The README's "Speed and quality" quotes this table
for the VAE.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from functools import wraps
from typing import Any

import numpy as np
from blas_env import describe, restart_with
from matrix import BATCH, LR, MODELS, adam_step_seconds, build, median_seconds

import tinyae
import tinyae.train

STEP = "one step (fit's _train_step)"


def timed(owner: Any, method: str, label: str, seconds: dict[str, list[float]]) -> None:
    """Wrap ``owner.method`` so that the seconds of each call go to ``seconds[label]``."""
    call = getattr(owner, method)

    @wraps(call)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            seconds[label].append(time.perf_counter() - start)

    setattr(owner, method, wrapper)


def products_alone(layer: Any, batch: int, dtype: Any) -> tuple[float, float]:
    """Median seconds of a Dense layer's bare products, (forward, backward), timed alone."""
    rng = np.random.default_rng(0)
    x, dout = rng.random((batch, layer.n_in), dtype=dtype), rng.random((batch, layer.n_out), dtype=dtype)
    W = rng.random((layer.n_in, layer.n_out), dtype=dtype)

    def backward() -> None:
        x.T @ dout
        if layer.compute_dx:
            dout @ W.T

    return median_seconds(lambda: x @ W), median_seconds(backward)


def watch(model: Any, loss: Any, optimizer: Any, seconds: dict[str, list[float]]) -> dict[str, float]:
    """Wrap every call worth timing; return each Dense call's products timed alone, by label."""
    yardsticks: dict[str, float] = {}
    for part in ("encoder", "decoder"):
        for i, layer in enumerate(getattr(model, part).layers):
            name = f"{part} {i} {type(layer).__name__}"
            for method in ("forward", "backward"):
                timed(layer, method, f"{name} {method}", seconds)
            if isinstance(layer, tinyae.Dense):
                forward, backward = products_alone(layer, BATCH, model.dtype)
                yardsticks[f"{name} forward"], yardsticks[f"{name} backward"] = forward, backward
    for owner, method, label in ((model, "zero_grad", "zero_grad"), (loss, "forward", "loss forward"),
                                 (loss, "backward", "loss backward"), (optimizer, "step", "optimizer step"),
                                 (tinyae.train, "_train_step", STEP)):
        timed(owner, method, label, seconds)
    return yardsticks


def table(seconds: dict[str, list[float]], yardsticks: dict[str, float], steps: int) -> str:
    """Milliseconds per step of every timed call (median call × calls per step), and the rest."""
    def per_step(label: str) -> float:
        return statistics.median(seconds[label]) * len(seconds[label]) / steps * 1e3

    rows = [f"| {'call':34s} | ms per step |    alone |", f"|{'-' * 36}|-------------|----------|"]
    covered = 0.0
    for label in seconds:
        if label == STEP:
            continue
        covered += per_step(label)
        alone = f"{yardsticks[label] * 1e3:8.3f}" if label in yardsticks else " " * 8
        rows.append(f"| {label:34s} | {per_step(label):11.3f} | {alone} |")
    rows.append(f"| {'the rest':34s} | {per_step(STEP) - covered:11.3f} | {' ' * 8} |")
    rows.append(f"| {STEP:34s} | {per_step(STEP):11.3f} | {' ' * 8} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vae", choices=list(MODELS))
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=25_600, help="train on the first N images")
    parser.add_argument("--data-dir", help="folder with the four MNIST files")
    args = parser.parse_args()
    # BLAS read its thread count when NumPy loaded: this re-runs the script with it set
    restart_with(args.threads, native=False)
    data = tinyae.load_mnist("mnist", data_dir=args.data_dir, dtype="uint8", verbose=False)
    x = data.x_train[: args.limit]
    model, loss = build(args.model, seed=0)
    optimizer = tinyae.Adam(LR)

    def fit(images: int, seed: int) -> None:
        tinyae.fit(model, x[:images], loss=loss, optimizer=optimizer, batch_size=BATCH, seed=seed,
                   verbose=False)

    fit(20 * BATCH, seed=0)  # warm up: the first calls allocate, and Adam creates m and v
    seconds: dict[str, list[float]] = defaultdict(list)
    yardsticks = watch(model, loss, optimizer, seconds)
    yardsticks["optimizer step"] = adam_step_seconds(model.params, None)[0]
    for epoch in range(args.epochs):
        fit(len(x), seed=1 + epoch)
    steps = len(seconds[STEP])
    print(f"{MODELS[args.model]}: {steps} steps of batch {BATCH}; {describe()}\n")
    print(table(seconds, yardsticks, steps))


if __name__ == "__main__":
    main()
