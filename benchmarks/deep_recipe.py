"""The deep autoencoder's recipe (``tinyae.experiments.deep``) in tinyae and in PyTorch, side by side.

    python benchmarks/deep_recipe.py --data-dir DIR             # the full recipe, both libraries
    python benchmarks/deep_recipe.py --epochs 2 --limit 5000     # a smoke run (a minute)

Run it with a Python that has torch (never a tinyae dependency: a separate environment with
``pip install torch==2.13.0`` and ``PYTHONPATH`` set to this repository).

Both libraries start from the same initial weights (tinyae's, copied by
``torch_twin.to_torch``), see the same batches in the same order (``fit``'s shuffle, drawn
from the same seed), follow the same learning rate at every step (``deep.learning_rate``)
and use the same loss (BCE per pixel) and optimizer (Adam with the recipe's decoupled
weight decay: AdamW).  Each trains in a process of its
own with one BLAS thread, both at once, so the comparison costs the time of the slower
one.  Printed: the test squared error per image (Σ over 784 pixels, mean over the 10,000
test images) after every epoch for both, their relative difference, and each side's
CPU-minutes.  float32 sums in a different order make the two runs drift apart step by
step, so equal numbers are not expected — equal quality is.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
from matrix import RESULT, cell_environment, cpu_name

import tinyae
from tinyae.experiments import deep
from tinyae.train import batches


def run_tinyae(x: np.ndarray, x_test: np.ndarray, recipe: deep.Recipe, seed: int) -> dict:
    """The experiment's own training run: ``deep.train``."""
    _, curve, cpu = deep.train(deep.DEEP, recipe, x, x_test, seed, verbose=True)
    return {"curve": curve, "cpu_seconds": cpu}


def run_torch(x: np.ndarray, x_test: np.ndarray, recipe: deep.Recipe, seed: int) -> dict:
    """The same run in PyTorch: same weights, batches, learning rates, loss and optimizer."""
    import torch
    from torch_twin import to_torch

    torch.set_num_threads(1)
    model = deep.autoencoder(deep.DEEP, seed)
    net = to_torch([*model.encoder.layers, *model.decoder.layers], torch)
    # tinyae's Adam(weight_decay=λ) is AdamW, decaying all of θ: torch's AdamW does the same
    optimizer = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    lr, rng, step, curve = deep.learning_rate(recipe, len(x)), np.random.default_rng(seed), 0, []
    test = torch.from_numpy(x_test)
    start = time.process_time()
    for epoch in range(recipe.epochs):
        for idx in batches(len(x), recipe.batch, rng):  # fit's order: the same generator calls
            for group in optimizer.param_groups:
                group["lr"] = lr(step)
            xb = torch.from_numpy(x[idx])
            optimizer.zero_grad()
            torch.nn.functional.binary_cross_entropy(net(xb), xb).backward()
            optimizer.step()
            step += 1
        with torch.no_grad():
            curve.append(float(((net(test) - test) ** 2).sum(dim=1).mean()))
        print(f"epoch {epoch + 1}/{recipe.epochs}  test squared error {curve[-1]:.4f}", flush=True)
    return {"curve": curve, "cpu_seconds": time.process_time() - start}


def run_side(args: argparse.Namespace) -> None:
    """One library's run in this process; its result goes out on the RESULT line."""
    data = tinyae.load_mnist("mnist", data_dir=args.data_dir, verbose=False)
    recipe = replace(deep.RECIPE, epochs=args.epochs or deep.RECIPE.epochs)
    side = run_torch if args.side == "torch" else run_tinyae
    print(RESULT + json.dumps(side(data.x_train[: args.limit], data.x_test, recipe, args.seed)),
          flush=True)


def run_both(args: argparse.Namespace) -> dict[str, dict]:
    """Start both sides at once, one thread each; relay their lines; collect their results."""
    children = {}
    for side in ("tinyae", "torch"):
        command = [sys.executable, os.path.abspath(__file__), "--side", side, "--seed", str(args.seed)]
        command += ["--epochs", str(args.epochs)] if args.epochs else []
        command += ["--limit", str(args.limit)] if args.limit else []
        command += ["--data-dir", args.data_dir] if args.data_dir else []
        children[side] = subprocess.Popen(command, env=cell_environment(1, native=False),
                                          stdout=subprocess.PIPE, text=True)
    results = {}
    for side, child in children.items():  # tinyae's lines first, then torch's (both ran at once)
        for line in child.stdout:
            if line.startswith(RESULT):
                results[side] = json.loads(line[len(RESULT):])
            else:
                print(f"[{side}] {line}", end="", flush=True)
        if child.wait():
            sys.exit(f"the {side} run failed (exit {child.returncode})")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="folder with the four MNIST files (default: "
                                           "$TINYAE_DATA_DIR, then the cache, else downloaded)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"default: the recipe's {deep.RECIPE.epochs}; the schedule is "
                             "stretched over the epochs given")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--side", choices=("tinyae", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        run_side(args)
        return
    print(f"deep autoencoder {deep.DEEP}, recipe {deep.RECIPE}, on {cpu_name()}", flush=True)
    results = run_both(args)
    ours, theirs = results["tinyae"]["curve"], results["torch"]["curve"]
    print("\n| epoch | tinyae | PyTorch | tinyae / PyTorch − 1 |\n|---|---|---|---|")
    for epoch, (a, b) in enumerate(zip(ours, theirs), start=1):
        print(f"| {epoch} | {a:.3f} | {b:.3f} | {a / b - 1:+.2%} |")
    print(f"\nCPU-minutes: tinyae {results['tinyae']['cpu_seconds'] / 60:.1f}, "
          f"PyTorch {results['torch']['cpu_seconds'] / 60:.1f} (one thread each, run at the same time)")


if __name__ == "__main__":
    main()
