"""Speed and quality of tinyae's VAE on MNIST, optionally beside the same VAE in PyTorch,
and the reconstruction-vs-KL trade-off over a sweep of β (question 4 of docs/questions.md).

    python benchmarks/vae.py                          # 784-400-20, 10 epochs: s/epoch, test −ELBO
    python benchmarks/vae.py --compare-torch          # the same run in PyTorch, side by side
    python benchmarks/vae.py --threads 1 ...          # one BLAS / torch thread
    python benchmarks/vae.py --native-blas ...        # OpenBLAS's own kernels for this CPU (blas_env.py)
    python benchmarks/vae.py --beta-sweep --out figs  # recon and KL for β = 0.25 … 4, and a figure

The model: ReLU hidden layers, sigmoid output (Bernoulli decoder), BCE summed over the
784 pixels plus the KL summed over the J latent dimensions, both averaged over the batch
(``BCE(reduction="batchmean")``, ``VAE(reduction="batchmean")``), Adam 1e-3, batch 128.
With β = 1 the loss is −ELBO in nats per sample, the number MNIST papers report.

PyTorch is never a dependency of tinyae: run this with a Python that has both (e.g.
``pip install torch`` in a separate environment, plus ``pip install -e . --no-deps``).
The PyTorch model starts from tinyae's initial weights, sees the same batches in the same
order and the same noise ε (drawn from a copy of the VAE's generator), so both runs
compute the same thing up to float32 rounding.  Epochs of the two alternate, so a busy
shared machine slows both alike; we report medians and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from blas_env import describe, describe_torch, restart_with
from mnist_ae import floor_epoch
from torch_twin import to_torch

import tinyae
from tinyae import plot
from tinyae.models.vae import beta_norm, dense_vae
from tinyae.train import batches, evaluate, fit


class TorchVAE:
    """The same VAE in PyTorch, with tinyae's initial weights and its stream of ε."""

    def __init__(self, vae, lr: float) -> None:
        import torch

        self.torch, self.latent_dim = torch, vae.latent_dim
        self.encoder, self.decoder = to_torch(vae.encoder.layers, torch), to_torch(vae.decoder.layers, torch)
        params = list(self.encoder.parameters()) + list(self.decoder.parameters())
        self.optimizer = torch.optim.Adam(params, lr=lr)
        self.eps_rng = np.random.default_rng(vae.seed)  # built before tinyae draws: the same ε

    def terms(self, x_uint8: np.ndarray) -> tuple:
        """(loss, recon, kl) per sample for a uint8 batch, as tensors; ε from the copied generator."""
        torch, J = self.torch, self.latent_dim
        x = torch.from_numpy(x_uint8).float().div_(255)
        eps = torch.from_numpy(self.eps_rng.standard_normal((len(x), J), dtype=np.float32))
        h = self.encoder(x)
        mu, log_var = h[:, :J], h[:, J:]
        p = self.decoder(mu + torch.exp(0.5 * log_var) * eps)
        recon = torch.nn.functional.binary_cross_entropy(p, x, reduction="sum") / len(x)
        kl = -0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp()) / len(x)
        return recon + kl, recon, kl

    def epoch(self, x: np.ndarray, seed: int, batch_size: int) -> tuple[float, float]:
        """One epoch in the batch order of ``fit(seed=seed)``; returns (seconds, mean loss)."""
        start, total = time.perf_counter(), 0.0
        for idx in batches(len(x), batch_size, np.random.default_rng(seed)):
            loss = self.terms(x[idx])[0]
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(idx)
        return time.perf_counter() - start, total / len(x)

    def evaluate(self, x: np.ndarray, batch_size: int = 1000) -> dict[str, float]:
        """Mean loss, recon and KL per sample over ``x``, like ``tinyae.evaluate``."""
        sums = np.zeros(3)
        with self.torch.no_grad():
            for idx in batches(len(x), batch_size, None):
                sums += [t.item() * len(idx) for t in self.terms(x[idx])]
        return dict(zip(("loss", "recon", "kl"), sums / len(x)))


def dense_widths(part) -> list[int]:
    """The widths a ``Sequential``'s Dense layers chain through, e.g. [784, 400, 40]."""
    return [part.n_in] + [layer.n_out for layer in part.layers if isinstance(layer, tinyae.Dense)]


def vae_floor_epoch(vae, n: int, batch_size: int) -> float:
    """Seconds for the bare matrix products of one VAE epoch: the encoder's chain K → … → 2J,
    then the decoder's J → … → K, whose input z needs its gradient (it flows on to the encoder)."""
    return (floor_epoch(dense_widths(vae.encoder), n, batch_size)
            + floor_epoch(dense_widths(vae.decoder), n, batch_size, input_grad=True))


def speed_and_quality(args: argparse.Namespace, data) -> None:
    """Train the VAE for ``args.epochs`` (alternating with PyTorch), print s/epoch and test −ELBO."""
    vae = dense_vae(args.spec, seed=args.seed)
    optimizer, loss = tinyae.Adam(args.lr), tinyae.BCE(reduction="batchmean")
    torch_vae = None
    if args.compare_torch:
        try:
            torch_vae = TorchVAE(vae, args.lr)
        except ImportError:
            print("PyTorch is not importable here: comparison skipped")
        else:
            if args.threads:
                torch_vae.torch.set_num_threads(args.threads)
    print(f"VAE {args.spec}: ReLU hidden, sigmoid output, BCE + KL per sample (batchmean), "
          f"Adam {args.lr:g}, batch {args.batch_size}, {len(data.x_train):,} samples, {args.epochs} epochs")
    print(f"tinyae: {describe()}")
    if torch_vae:
        print(f"torch:  {describe_torch(torch_vae.torch)}")
    ours, theirs, floors = [], [], []
    for epoch in range(args.epochs):
        seed = args.seed * 1000 + epoch  # one batch order per epoch, shared by both
        history = fit(vae, data.x_train, loss=loss, optimizer=optimizer, batch_size=args.batch_size,
                      seed=seed, verbose=False)
        ours.append(history["seconds"][0])
        floors.append(vae_floor_epoch(vae, len(data.x_train), args.batch_size))
        line = (f"epoch {epoch + 1:2d}: tinyae {ours[-1]:6.2f} s  loss {history['loss'][0]:7.2f}  "
                f"floor {floors[-1]:5.2f} s")
        if torch_vae:
            seconds, torch_loss = torch_vae.epoch(data.x_train, seed, args.batch_size)
            theirs.append(seconds)
            line += f"   |  torch {seconds:6.2f} s  loss {torch_loss:7.2f}"
        print(line, flush=True)
    test = evaluate(vae, loss, data.x_test)
    t, f = statistics.median(ours), statistics.median(floors)
    print(f"\ntinyae: {t:.2f} s/epoch (median), {t / f:.2f} × the matrix-product floor ({f:.2f} s); "
          f"test −ELBO {test['loss']:.2f} nats per sample "
          f"(recon {test['recon']:.2f} + KL {test['kl']:.2f})  [target ≤ 106]")
    if torch_vae:
        p, test_torch = statistics.median(theirs), torch_vae.evaluate(data.x_test)
        print(f"torch:  {p:.2f} s/epoch (median, {torch_vae.torch.get_num_threads()} threads); "
              f"test −ELBO {test_torch['loss']:.2f} "
              f"(recon {test_torch['recon']:.2f} + KL {test_torch['kl']:.2f})")
        print(f"tinyae / torch epoch time = {t / p:.2f}  [target ≤ 0.7]")
    if args.out:
        path = Path(args.out) / "vae_samples.png"
        plot.image_grid(vae.sample(100, rng=0), path=path, title=f"VAE {args.spec}: z ~ N(0, I) decoded")
        print(f"samples from the prior: {path}")


def beta_sweep(args: argparse.Namespace, data) -> None:
    """Train one VAE per β; print test recon and KL per β and save the trade-off figure."""
    betas = [float(b) for b in args.betas.split(",")]
    print(f"\nβ sweep: VAE {args.spec}, {args.sweep_epochs} epochs each on {data.name} "
          f"({len(data.x_train):,} samples), test recon and KL in nats per sample")
    print(f"{'beta':>6} {'beta_norm':>9} {'recon':>8} {'KL':>7} {'recon+β·KL':>11} {'s':>6}")
    loss, recon, kl = tinyae.BCE(reduction="batchmean"), [], []
    for beta in betas:
        vae = dense_vae(args.spec, beta=beta, seed=args.seed)
        start = time.perf_counter()
        fit(vae, data.x_train, loss=loss, optimizer=tinyae.Adam(args.lr), epochs=args.sweep_epochs,
            batch_size=args.batch_size, seed=args.seed, verbose=False)
        test = evaluate(vae, loss, data.x_test)
        recon.append(test["recon"])
        kl.append(test["kl"])
        print(f"{beta:6g} {beta_norm(beta, vae.latent_dim, vae.input_dim):9.4f} {test['recon']:8.2f} "
              f"{test['kl']:7.2f} {test['loss']:11.2f} {time.perf_counter() - start:6.1f}", flush=True)
    rising, falling = all(np.diff(recon) > 0), all(np.diff(kl) < 0)
    print(f"as β rises: recon rises monotonically: {rising}; KL falls monotonically: {falling}")
    if args.out:
        path = Path(args.out) / "beta_sweep.png"
        plot.beta_sweep(betas, recon, kl, path=path)
        print(f"figure: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", help="folder with the four MNIST files (default: $TINYAE_DATA_DIR, "
                                           "then the cache, else they are downloaded)")
    parser.add_argument("--spec", default="784-400-20", help="encoder half 'input-hidden…-latent'")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare-torch", action="store_true", help="run the same VAE in PyTorch too")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (OPENBLAS_NUM_THREADS) and torch.set_num_threads; default: theirs")
    parser.add_argument("--native-blas", action="store_true",
                        help="unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE "
                             "so OpenBLAS picks this CPU's kernels")
    parser.add_argument("--beta-sweep", action="store_true", help="only the β sweep")
    parser.add_argument("--betas", default="0.25,0.5,1,2,4")
    parser.add_argument("--sweep-epochs", type=int, default=3)
    parser.add_argument("--sweep-data", default="mnist", choices=["mnist", "mnist-mini"])
    parser.add_argument("--out", default=None, help="folder for the figures")
    args = parser.parse_args()
    restart_with(args.threads, args.native_blas)  # BLAS reads its settings when numpy is imported
    if args.beta_sweep:
        name = args.sweep_data
        beta_sweep(args, tinyae.load_mnist(name, data_dir=args.data_dir, dtype="uint8", verbose=False))
        return
    speed_and_quality(args, tinyae.load_mnist("mnist", data_dir=args.data_dir, dtype="uint8", verbose=False))


if __name__ == "__main__":
    main()
