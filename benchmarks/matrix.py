"""The speed matrix: three models × {one thread, the default threads}, tinyae beside
PyTorch and beside two floors, in one command.

    python benchmarks/matrix.py                            # 3 epochs of full MNIST per cell
    python benchmarks/matrix.py --epochs 2 --limit 10000   # a quick matrix (a few minutes)
    python benchmarks/matrix.py --native-blas              # OpenBLAS's own kernels (blas_env.py)
    python benchmarks/matrix.py --models deep --threads 1  # one cell

The models (all Adam 1e-3, batch 128, sigmoid output, BCE):

* ``seed``: 784-100-50-100-784 all sigmoid (``mnist_ae.py``'s speed run);
* ``deep``: 784-1000-500-250-30-250-500-1000-784, ReLU, linear code (Hinton & Salakhutdinov's
  deep autoencoder);
* ``vae``: the VAE 784-400-20, BCE + KL per image (``vae.py``).

PyTorch fills its columns when this runs on a Python that has torch (never a tinyae
dependency: install it in a separate environment and set ``PYTHONPATH`` to this repository).
Each cell runs in a process of its own, since BLAS reads its thread count when NumPy is
imported; "default" leaves both libraries their own choice.  Within a cell, the epochs of
tinyae, of its matrix products alone and of PyTorch alternate, from the same weights in
the same batch order, so a busy machine slows all alike; we report medians, and the
ratio of each library's fastest epoch (other work on the machine only adds time).

The two floors of an epoch:

* **matmul**: the bare matrix products of the epoch's steps (``mnist_ae.floor_epoch``), in
  the same BLAS with the same threads;
* **traffic**: the bytes Adam must move at each step — read θ, g, m, v and write θ, m, v,
  7 × P floats — at the bandwidth of a large NumPy copy measured in the same process.

tinyae and PyTorch both run the products and the optimizer one after the other, so the
sum of the floors bounds what either can reach with these kernels.  "The rest" is tinyae's
epoch minus both floors (activations, loss, Adam's arithmetic beyond its traffic, Python),
beside what an epoch of 0.7 × PyTorch's would leave for it: where that is near 0 or
negative, the target is out of reach with this BLAS on this machine.  The traffic floor
uses one thread's copy bandwidth.

A third bound holds for NumPy code only: the **NumPy floor** adds to the matmul floor
tinyae's measured Adam step (NumPy's twelve passes of the formula; PyTorch's own Adam is
no faster at one thread, see its column) and the exps and logs the step must evaluate,
timed alone (``exp_log_step_seconds``).  Where it comes near 0.7 × PyTorch's epoch, code
built from NumPy calls cannot reach the target: the step's other passes (clips, ReLUs,
the backward products of elementwise derivatives) and Python's calls need time too.

The table also gives each library's measured Adam step (over an epoch's steps) and the test
loss after the same epochs (BCE per pixel; −ELBO per image for the VAE).  ``pip install
threadpoolctl`` beside PyTorch lets the header name OpenBLAS's kernels and threads.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

MODELS = {
    "seed": "784-100-50-100-784 sigmoid",
    "deep": "784-1000-500-250-30-250-500-1000-784 ReLU, linear code",
    "vae": "VAE 784-400-20",
}
LR, BATCH = 1e-3, 128
RESULT = "RESULT "  # prefix of the line a cell's process reports on


@dataclass
class Cell:
    """One model, trained an epoch at a time in tinyae and (if given) PyTorch."""

    ours: Callable[[int], float]  # epoch index → seconds
    theirs: Callable[[int], float] | None
    floor: Callable[[], float]  # seconds of the bare matrix products of one epoch
    exp_log: float  # seconds of one step's exp and log alone (``exp_log_step_seconds``)
    test: Callable[[], tuple[float, float | None]]  # test loss of (tinyae, PyTorch)
    params: np.ndarray  # tinyae's θ
    torch_params: list | None


def copy_bandwidth(megabytes: int = 256) -> float:
    """Bytes per second a large NumPy copy moves (read + write), median of 9 copies."""
    src = np.ones(megabytes * 2**20 // 4, np.float32)
    dst = np.empty_like(src)
    seconds = []
    for _ in range(9):
        start = time.perf_counter()
        np.copyto(dst, src)
        seconds.append(time.perf_counter() - start)
    return 2 * src.nbytes / statistics.median(seconds)


def adam_step_seconds(params: np.ndarray, torch_params: list | None) -> tuple[float, float | None]:
    """Median seconds of one Adam step on copies of the model's parameters, tinyae and torch."""
    import tinyae

    rng = np.random.default_rng(0)
    theta, g = params.copy(), rng.standard_normal(params.size).astype(params.dtype)
    optimizer = tinyae.Adam(LR)
    ours = median_seconds(lambda: optimizer.step(theta, g))
    if torch_params is None:
        return ours, None
    import torch

    copies = [p.detach().clone().requires_grad_(True) for p in torch_params]
    for p in copies:
        p.grad = torch.randn_like(p)
    return ours, median_seconds(torch.optim.Adam(copies, lr=LR).step)


def exp_log_step_seconds(model: Any) -> float:
    """Median seconds of the transcendental functions one training step must evaluate, alone.

    Every sigmoid unit needs an exp, and BCE two logs per output (log p and log(1 − p)),
    over a batch of ``BATCH``: ``np.exp`` and ``np.log`` on float32 arrays of those sizes,
    written into preallocated outputs.  With the products and Adam, this is work a NumPy
    step cannot avoid: NumPy has no fused kernel that would share one pass between them.
    """
    import tinyae

    sigmoid_units = 0
    for part in (model.encoder, model.decoder):
        width = part.n_in
        for layer in part.layers:
            width = layer.output_dim(width)
            sigmoid_units += width if isinstance(layer, tinyae.Sigmoid) else 0
    outputs = width  # the decoder's last width: the predictions p that BCE scores
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((BATCH, sigmoid_units)).astype(np.float32)
    p = rng.uniform(0.01, 0.99, (BATCH, outputs)).astype(np.float32)
    exp_out, log_out = np.empty_like(logits), np.empty_like(p)

    def step() -> None:
        np.exp(logits, out=exp_out)
        np.log(p, out=log_out)
        np.log(p, out=log_out)

    return median_seconds(step)


def median_seconds(step: Callable[[], Any], repeats: int = 25) -> float:
    """Median wall time of ``step()`` after 3 warm-up calls."""
    for _ in range(3):
        step()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def build(name: str, seed: int) -> tuple[Any, Any]:
    """The model ``name`` (a key of ``MODELS``) with its initial weights from ``seed``, and its loss."""
    import tinyae
    from tinyae.models import dense_autoencoder
    from tinyae.models.vae import dense_vae

    if name == "vae":
        return dense_vae("784-400-20", seed=seed), tinyae.BCE(reduction="batchmean")
    spec, hidden, code = (("784-100-50-100-784", "sigmoid", None) if name == "seed" else
                          ("784-1000-500-250-30-250-500-1000-784", "relu", "identity"))
    return dense_autoencoder(spec, hidden=hidden, code=code, output="sigmoid", seed=seed), tinyae.BCE()


def autoencoder_cell(name: str, x: np.ndarray, x_test: np.ndarray, torch: Any, seed: int) -> Cell:
    """The seed or the deep autoencoder (mnist_ae.py's loop and twin)."""
    from mnist_ae import TorchRun, floor_epoch, tinyae_epoch, tinyae_test_losses
    from vae import dense_widths

    import tinyae

    model, loss = build(name, seed)
    widths = dense_widths(model.encoder) + dense_widths(model.decoder)[1:]  # 784, …, 784
    optimizer = tinyae.Adam(LR)
    twin = TorchRun(model, LR, "bce") if torch else None  # built before tinyae trains: same start

    def order(epoch: int) -> np.ndarray:
        return np.random.default_rng((seed, epoch)).permutation(len(x))

    return Cell(
        ours=lambda epoch: tinyae_epoch(model, optimizer, loss, x, order(epoch), BATCH),
        theirs=(lambda epoch: twin.epoch(x, order(epoch), BATCH)) if twin else None,
        floor=lambda: floor_epoch(widths, len(x), BATCH), exp_log=exp_log_step_seconds(model),
        test=lambda: (tinyae_test_losses(model, x_test)[0],
                      twin.test_losses(x_test)[0] if twin else None),
        params=model.params, torch_params=list(twin.net.parameters()) if twin else None)


def vae_cell(x: np.ndarray, x_test: np.ndarray, torch: Any, seed: int) -> Cell:
    """The VAE 784-400-20 (vae.py's twin and floor; tinyae's own ``fit`` for its epochs)."""
    from vae import TorchVAE, vae_floor_epoch

    import tinyae
    from tinyae.train import evaluate, fit

    model, loss = build("vae", seed)
    optimizer = tinyae.Adam(LR)
    twin = TorchVAE(model, LR) if torch else None

    def ours(epoch: int) -> float:
        history = fit(model, x, loss=loss, optimizer=optimizer, batch_size=BATCH,
                      seed=seed * 1000 + epoch, verbose=False)
        return history["seconds"][0]

    return Cell(
        ours=ours,
        theirs=(lambda epoch: twin.epoch(x, seed * 1000 + epoch, BATCH)[0]) if twin else None,
        floor=lambda: vae_floor_epoch(model, len(x), BATCH), exp_log=exp_log_step_seconds(model),
        test=lambda: (evaluate(model, loss, x_test)["loss"],
                      twin.evaluate(x_test)["loss"] if twin else None),
        params=model.params,
        torch_params=[*twin.encoder.parameters(), *twin.decoder.parameters()] if twin else None)


def run_cell(args: argparse.Namespace) -> None:
    """Train one model in this process (threads set by the parent); print its RESULT line."""
    from blas_env import blas_threads, describe, describe_torch

    import tinyae

    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and args.cell_threads:
        torch.set_num_threads(args.cell_threads)
    data = tinyae.load_mnist("mnist", data_dir=args.data_dir, dtype="uint8", verbose=False)
    x = data.x_train[: args.limit]
    cell = (vae_cell(x, data.x_test, torch, args.seed) if args.cell == "vae" else
            autoencoder_cell(args.cell, x, data.x_test, torch, args.seed))
    print(f"  tinyae: {describe()}")
    print(f"  torch:  {describe_torch(torch) if torch else 'not importable: no PyTorch columns'}")
    ours, theirs, floors = [], [], []
    for epoch in range(args.epochs):
        ours.append(cell.ours(epoch))
        floors.append(cell.floor())
        line = f"  epoch {epoch + 1}: tinyae {ours[-1]:.2f} s   matmul floor {floors[-1]:.2f} s"
        if cell.theirs:
            theirs.append(cell.theirs(epoch))
            line += f"   torch {theirs[-1]:.2f} s"
        print(line, flush=True)
    steps = math.ceil(len(x) / BATCH)
    adam_ours, adam_theirs = adam_step_seconds(cell.params, cell.torch_params)
    bandwidth = copy_bandwidth()
    test_ours, test_theirs = cell.test()
    result = {
        "model": args.cell, "threads": args.cell_threads or "default", "samples": len(x),
        "blas": describe(), "blas_threads": blas_threads(),
        "torch_threads": torch.get_num_threads() if torch else None,
        "ours": ours, "theirs": theirs, "matmul_floor": floors, "params": int(cell.params.size),
        "bandwidth": bandwidth, "traffic_floor": steps * 7 * cell.params.nbytes / bandwidth,
        "exp_log": steps * cell.exp_log, "adam_ours": steps * adam_ours,
        "adam_theirs": steps * adam_theirs if adam_theirs else None,
        "test_ours": test_ours, "test_theirs": test_theirs,
    }
    print(RESULT + json.dumps(result), flush=True)


def cell_environment(threads: int | None, native: bool) -> dict[str, str]:
    """This process's environment with ``threads`` BLAS threads (None: the libraries' default)."""
    from blas_env import FORCING, THREADS

    env = {name: value for name, value in os.environ.items()
           if name not in THREADS and not (native and name in FORCING)}
    if threads:
        env.update({name: str(threads) for name in THREADS})
    return env


def run_matrix(args: argparse.Namespace) -> list[dict]:
    """Run every cell in a child process, streaming its lines; return their results."""
    results = []
    for model in args.models.split(","):
        for threads in args.threads.split(","):
            count = None if threads == "default" else int(threads)
            print(f"\n{model} ({MODELS[model]}), threads {threads}:", flush=True)
            command = [sys.executable, os.path.abspath(__file__), "--cell", model,
                       "--epochs", str(args.epochs), "--seed", str(args.seed)]
            command += ["--cell-threads", str(count)] if count else []
            command += ["--limit", str(args.limit)] if args.limit else []
            command += ["--data-dir", args.data_dir] if args.data_dir else []
            with subprocess.Popen(command, env=cell_environment(count, args.native_blas),
                                  stdout=subprocess.PIPE, text=True) as child:
                for line in child.stdout:
                    if line.startswith(RESULT):
                        results.append(json.loads(line[len(RESULT):]))
                    else:
                        print(line, end="", flush=True)
            if child.returncode:
                sys.exit(f"the cell {model}, threads {threads} failed (exit {child.returncode})")
    return results


def table(results: list[dict]) -> str:
    """The matrix as a Markdown table: medians per cell, ratios to PyTorch and to the floors."""
    rows = ["| model | threads | tinyae s/epoch | PyTorch | ratio | best epochs' ratio "
            "| matmul floor | × floor | traffic floor | Adam per epoch: tinyae / PyTorch "
            "| floors / PyTorch | the rest: tinyae / left at 0.7 | exp & log alone "
            "| NumPy floor / PyTorch | test loss ratio |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        t, f = statistics.median(r["ours"]), statistics.median(r["matmul_floor"])
        p = statistics.median(r["theirs"]) if r["theirs"] else None
        floors = f + r["traffic_floor"]
        # Other work on the machine only ever adds time: the fastest epochs show the code.
        theirs = ([f"{p:.3g}", f"{t / p:.2f}", f"{min(r['ours']) / min(r['theirs']):.2f}"] if p
                  else ["–", "–", "–"])
        adam = f"{r['adam_ours']:.3g} / " + (f"{r['adam_theirs']:.3g}" if p else "–")
        # Everything but the two floors (activations, loss, Adam's arithmetic beyond its
        # traffic, Python), beside what an epoch of 0.7 × PyTorch's would leave for it:
        # negative means the floors alone already exceed the target.
        rest = f"{t - floors:.3g} / " + (f"{0.7 * p - floors:.3g}" if p else "–")
        # The products, tinyae's Adam and the exps and logs, each alone: what a NumPy epoch
        # cannot go below (at one thread PyTorch's Adam is no faster: the Adam column).
        numpy_floor = f"{(f + r['adam_ours'] + r['exp_log']) / p:.2f}" if p else "–"
        quality = f"{r['test_ours'] / r['test_theirs']:.4f}" if r["test_theirs"] else "–"
        threads = str(r["threads"])
        if threads == "default":  # say what it was: (BLAS's / torch's)
            threads += f" ({r['blas_threads'] or '?'}/{r['torch_threads'] or '–'})"
        rows.append(" | ".join(["", MODELS[r["model"]], threads, f"{t:.3g}", *theirs, f"{f:.3g}",
                                f"{t / f:.2f}", f"{r['traffic_floor']:.3g}", adam,
                                f"{floors / p:.2f}" if p else "–", rest, f"{r['exp_log']:.3g}",
                                numpy_floor, quality, ""]).strip())
    return "\n".join(rows)


def cpu_name() -> str:
    """The processor as Linux reports it: model name, family/model and vector width, CPUs.

    A virtual machine's model name can be as vague as "AMD EPYC"; the family and model
    numbers tell the generation (AMD family 25 is Zen 3 and 4, 26 is Zen 5).
    """
    try:
        with open("/proc/cpuinfo") as info:
            fields = [line.split(":", 1) for line in info if ":" in line]
    except OSError:
        fields = []
    first = {key.strip(): value.strip() for key, value in reversed(fields)}  # the first CPU's
    if "model name" not in first:
        import platform

        return platform.processor() or "?"
    count = sum(key.strip() == "processor" for key, _ in fields)
    flags = first.get("flags", "").split()
    vector = "AVX-512" if "avx512f" in flags else "AVX2, no AVX-512" if "avx2" in flags else "no AVX2"
    return (f"{first['model name']} (family {first.get('cpu family', '?')}, model "
            f"{first.get('model', '?')}; {vector}), {count} logical CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="folder with the four MNIST files (default: "
                                           "$TINYAE_DATA_DIR, then the cache, else downloaded)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per cell (default 3)")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated, of {', '.join(MODELS)}")
    parser.add_argument("--threads", default="1,default",
                        help="comma-separated thread counts, or 'default'")
    parser.add_argument("--native-blas", action="store_true",
                        help="unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: this CPU's own kernels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cell", choices=list(MODELS), help=argparse.SUPPRESS)
    parser.add_argument("--cell-threads", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cell:
        run_cell(args)
        return
    unknown = set(args.models.split(",")) - set(MODELS)
    if unknown:
        parser.error(f"unknown model {', '.join(sorted(unknown))}; choose from {', '.join(MODELS)}")
    start, load = time.perf_counter(), os.getloadavg()
    print(f"{cpu_name()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; Adam {LR:g}, "
          f"batch {BATCH}, {args.epochs} epochs per cell"
          + (f", first {args.limit} images" if args.limit else ""))
    results = run_matrix(args)
    load = os.getloadavg()
    bandwidths = ", ".join(f"{r['bandwidth'] / 1e9:.1f}" for r in results)
    print(f"\n{table(results)}\n\nmedians of {args.epochs} epochs; "
          f"{time.perf_counter() - start:.0f} s in all; load average at the end "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; copy bandwidth per cell {bandwidths} GB/s")


if __name__ == "__main__":
    main()
