"""Speed and quality of an MNIST autoencoder in tinyae, beside its matrix-product floor
and (optionally) the same model in PyTorch.

    python benchmarks/mnist_ae.py                       # speed: 784-100-50-100-784 all sigmoid
    python benchmarks/mnist_ae.py --compare-torch       # the same, side by side with PyTorch
    python benchmarks/mnist_ae.py --quality --compare-torch   # 10 epochs, ReLU hidden, test BCE/MSE
    python benchmarks/mnist_ae.py --native-blas ...     # OpenBLAS's own kernels for this CPU (blas_env.py)

PyTorch is never a dependency of tinyae; install it in a separate environment to compare
(``pip install torch==2.13.0`` there, plus ``pip install -e . --no-deps``).

Speed: epochs of tinyae and PyTorch alternate, on the same initial weights and the
same batch order, so a noisy shared machine slows both alike; we report medians and
ratios.  The "floor" is the time of the bare matrix products of one epoch (the same
shapes in the same float32 BLAS): no implementation can do the epoch faster.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np
from blas_env import describe, describe_torch, restart_with
from torch_twin import to_torch

import tinyae
from tinyae.models import dense_autoencoder
from tinyae.train import as_float_batch, evaluate


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tinyae_epoch(model, optimizer, loss, x, order, batch_size) -> float:
    """One epoch of tinyae's training step over ``x`` in the given order; returns seconds."""
    start = time.perf_counter()
    for idx in batches_in(order, batch_size):
        xb = as_float_batch(x[idx], model.dtype)
        model.zero_grad()
        loss.forward(model.forward(xb), xb)
        model.backward(loss.backward())
        optimizer.step(model.params, model.grads)
    return time.perf_counter() - start


def batches_in(order: np.ndarray, batch_size: int):
    """Consecutive slices of a fixed sample order."""
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def floor_epoch(widths: list[int], n: int, batch_size: int, input_grad: bool = False) -> float:
    """Seconds for the matrix products alone of one epoch: forward x@W, backward xᵀ@dout
    and dout@Wᵀ (none for the first layer unless ``input_grad``: data needs no gradient)."""
    rng = np.random.default_rng(0)
    acts = [rng.random((batch_size, w), dtype=np.float32) for w in widths]
    Ws = [rng.random((a, b), dtype=np.float32) for a, b in zip(widths, widths[1:])]
    start = time.perf_counter()
    for _ in range(0, n, batch_size):
        for i, W in enumerate(Ws):
            acts[i] @ W
        for i, W in reversed(list(enumerate(Ws))):
            acts[i].T @ acts[i + 1]
            if i > 0 or input_grad:
                acts[i + 1] @ W.T
    return time.perf_counter() - start


class TorchRun:
    """The same autoencoder in PyTorch, starting from tinyae's initial weights."""

    def __init__(self, model, lr: float, loss_name: str):
        import torch

        self.torch = torch
        self.net = to_torch(model.encoder.layers + model.decoder.layers, torch)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.loss = torch.nn.BCELoss() if loss_name == "bce" else torch.nn.MSELoss()

    def epoch(self, x: np.ndarray, order: np.ndarray, batch_size: int) -> float:
        """One epoch in the given order; returns seconds."""
        torch = self.torch
        start = time.perf_counter()
        for idx in batches_in(order, batch_size):
            xb = torch.from_numpy(x[idx]).float().div_(255)
            self.optimizer.zero_grad()
            self.loss(self.net(xb), xb).backward()
            self.optimizer.step()
        return time.perf_counter() - start

    def test_losses(self, x: np.ndarray) -> tuple[float, float]:
        """(BCE, MSE) per pixel on ``x``."""
        torch = self.torch
        with torch.no_grad():
            xt = torch.from_numpy(x).float().div_(255)
            p = self.net(xt)
            return (torch.nn.functional.binary_cross_entropy(p, xt).item(),
                    torch.nn.functional.mse_loss(p, xt).item())


def tinyae_test_losses(model, x) -> tuple[float, float]:
    """(BCE, MSE) per pixel on ``x``."""
    result = evaluate(model, tinyae.BCE(), x, metrics={"mse": tinyae.MSE()})
    return result["loss"], result["mse"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", help="folder with the four MNIST files (default: $TINYAE_DATA_DIR, "
                                           "then the cache, else they are downloaded)")
    parser.add_argument("--arch", default="784-100-50-100-784")
    parser.add_argument("--hidden", default=None,
                        help="hidden activation (default: sigmoid for speed, relu for --quality)")
    parser.add_argument("--epochs", type=int, default=None, help="default: 3 for speed, 10 for --quality")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--quality", action="store_true",
                        help="10 epochs with ReLU hidden layers; report test losses")
    parser.add_argument("--compare-torch", action="store_true")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--native-blas", action="store_true",
                        help="unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE "
                             "so OpenBLAS picks this CPU's kernels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    restart_with(None, args.native_blas)  # BLAS reads its settings when numpy is imported
    hidden = args.hidden or ("relu" if args.quality else "sigmoid")
    epochs = args.epochs or (10 if args.quality else 3)

    data = tinyae.load_mnist("mnist", data_dir=args.data_dir, dtype="uint8", verbose=False)
    model = dense_autoencoder(args.arch, hidden=hidden, output="sigmoid", seed=args.seed)
    optimizer, loss = tinyae.Adam(1e-3), tinyae.BCE()
    torch_run = None
    if args.compare_torch:
        try:
            torch_run = TorchRun(model, 1e-3, "bce")  # built before tinyae trains: same start
        except ImportError:
            print("PyTorch is not importable here: comparison skipped")
        else:
            if args.torch_threads:
                torch_run.torch.set_num_threads(args.torch_threads)
    n = len(data.x_train)
    print(f"{args.arch} hidden={hidden} output=sigmoid, BCE, Adam 1e-3, batch {args.batch_size}, "
          f"{n} samples, {epochs} epochs")
    print(f"tinyae: {describe()}")
    if torch_run:
        print(f"torch:  {describe_torch(torch_run.torch)}")
    rng = np.random.default_rng(args.seed)
    ours, theirs, floors = [], [], []
    for epoch in range(epochs):
        order = rng.permutation(n)
        ours.append(tinyae_epoch(model, optimizer, loss, data.x_train, order, args.batch_size))
        floors.append(floor_epoch(tinyae.models.autoencoder.parse_spec(args.arch), n, args.batch_size))
        if torch_run:
            theirs.append(torch_run.epoch(data.x_train, order, args.batch_size))
        line = f"epoch {epoch + 1}: tinyae {ours[-1]:.2f} s   floor {floors[-1]:.2f} s"
        print(line + (f"   torch {theirs[-1]:.2f} s" if theirs else ""), flush=True)
    t, f = statistics.median(ours), statistics.median(floors)
    print(f"\ntinyae: {t:.2f} s/epoch (median), {n / t:,.0f} samples/s, "
          f"{t / f:.2f} × the matrix-product floor ({f:.2f} s)")
    if torch_run is None:  # with PyTorch loaded, the process's peak would be mostly PyTorch's
        print(f"peak memory (whole process, data included): {peak_rss_mb():.0f} MB")
    if theirs:
        p = statistics.median(theirs)
        print(f"torch:  {p:.2f} s/epoch (median, {torch_run.torch.get_num_threads()} threads); "
              f"tinyae / torch = {t / p:.2f}")
    if args.quality:
        bce, mse = tinyae_test_losses(model, data.x_test)
        print(f"\ntest per pixel after {epochs} epochs: tinyae BCE {bce:.4f}  MSE {mse:.4f}")
        if torch_run:
            tb, tm = torch_run.test_losses(data.x_test)
            print(f"{'torch':>37}  BCE {tb:.4f}  MSE {tm:.4f}   (BCE ratio {bce / tb:.4f})")


if __name__ == "__main__":
    main()
