"""``tinyae train``: train an autoencoder on MNIST and write the model, history and figures."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinyae.cli.errors import check_folder, user_values
from tinyae.cli.options import (
    add_common_flags,
    add_output_flags,
    arch_of,
    build_model,
    check_fits_mnist,
    load_data,
    make_kl_schedule,
    make_loss,
    make_metrics,
    make_optimizer,
    per_pixel,
    summed_per_image,
)
from tinyae.cli.output import check_out_name, note_backend, output_folder
from tinyae.diagnostics import Monitor
from tinyae.diagnostics.monitors import is_monitor_key
from tinyae.io import save
from tinyae.losses import Loss
from tinyae.schedules import KLAnnealing
from tinyae.train import Callback, History, as_float_batch, evaluate, fit

N_RECONSTRUCTIONS = 10  # test images shown in reconstructions.png

TRAIN_EXAMPLES = """\
examples:
  tinyae train                                     784-100-50-100-784, ReLU/sigmoid, BCE, Adam, 5 epochs
  tinyae train --loss mse --out runs/mse           the same network trained with squared error
  tinyae train --arch 784-256-2-256-784 --code identity --epochs 20
                                                   a 2-D code you can see whole in latent.png
  tinyae train --optimizer sgd --lr 1 --momentum 0.9
  tinyae train --dataset mnist-mini --limit 1000 --epochs 1   a few seconds, for a class
  tinyae train --dataset mnist --data-dir ~/mnist  full MNIST from a folder of the 4 .gz files

It writes into --out: model.npz (reload with tinyae.load), history.csv and
history.json (per-epoch train and test losses), reconstructions.png, loss.png,
filters.png (first-layer weights) and latent.png (test codes coloured by digit),
and prints the final test loss per pixel as BCE and as MSE.  Existing files of
other names in --out are left alone."""


def write_figures(model: Any, history: History, x_test: np.ndarray, y_test: np.ndarray,
                  metrics: dict[str, Loss], out: Path, loss_labels: dict[str, Any] | None = None
                  ) -> list[Path]:
    """Draw the run's figures into ``out``; returns the paths written, in order.

    x_test (M, 784) uint8 or float pixels, y_test (M,) digit labels.
    reconstructions.png: the first test images x over their reconstructions p;
    loss.png: the loss curves (metrics and timings left out); filters.png: the first
    layer's W (D, n_hidden); latent.png: the test codes z (a VAE's mu) coloured by
    digit, on the two code units that vary most (skipped, with a note on stderr, when
    the code has a single dimension); a VAE adds samples.png and, for a 2-D latent,
    manifold.png; --monitor adds monitors.png.  loss_labels: the y label, legend names
    and title of loss.png (``loss_labels(args)``).
    """
    from tinyae import plot  # matplotlib loads only when figures are drawn

    x = as_float_batch(x_test, model.dtype)
    written = []

    def figure(name: str, draw: Callable[..., Any], *arrays: Any, **options: Any) -> None:
        draw(*arrays, path=out / name, **options)
        written.append(out / name)

    figure("reconstructions.png", plot.reconstructions, x[:N_RECONSTRUCTIONS],
           model.reconstruct(x[:N_RECONSTRUCTIONS]))
    curves = [key for key in history if key not in ("seconds", "beta") and not is_monitor_key(key)
              and key.removeprefix("val_") not in metrics]
    figure("loss.png", plot.loss_curves, history, keys=curves, validation="test",
           **(loss_labels or {}))
    _, W, _ = model.parameters()[0]  # the first Dense layer's weights, (784, n_hidden)
    figure("filters.png", plot.filters, W)
    if any("/" in key for key in history):  # trained with --monitor
        figure("monitors.png", plot.monitors, history)
    if hasattr(model, "sample"):  # a VAE: images decoded from z ~ N(0, I), and its mean codes
        figure("samples.png", plot.image_grid, model.sample(50, rng=0),
               title="50 samples from the prior: the decoder's output for z ~ N(0, I)")
        if model.latent_dim == 2:
            figure("manifold.png", plot.latent_manifold, model.decode)
    z = model.encode(x)
    z = z[0] if isinstance(z, tuple) else z  # a VAE encodes to (mu, log_var): draw mu
    if z.shape[1] < 2:
        _note(f"latent.png skipped: the code has {z.shape[1]} dimension, a scatter needs 2")
        return written
    dims = most_varying_units(z)
    what = "mean codes mu" if hasattr(model, "sample") else "codes z"
    figure("latent.png", plot.latent_scatter, z, y_test, dims=dims,
           title=f"the test images' {what}, coloured by digit")
    return written


def most_varying_units(z: np.ndarray, k: int = 2) -> tuple[int, ...]:
    """The ``k`` code units (columns of ``z`` (N, J)) that vary most over its rows, most first.

    latent.png draws these two: a dead ReLU unit (the same output, 0, for every image)
    would put every digit on one line.
    """
    return tuple(int(d) for d in np.argsort(z.var(axis=0))[::-1][:k])


def loss_labels(args: argparse.Namespace) -> dict[str, Any]:
    """loss.png's y label (the unit of the --loss), legend names and title for the --model."""
    name = args.loss.upper()
    if summed_per_image(args) and args.model == "ae":
        return {"ylabel": "per image", "title": f"loss per image ({name} summed over the pixels, "
                                                "+ penalties)",
                "names": {"loss": "recon + penalties", "recon": "reconstruction",
                          "sparsity": "Σ KL(ρ ‖ ρ̂)", "weight_decay": "½‖W‖²"}}
    if args.model == "ae":
        return {"ylabel": f"{name} per pixel", "names": {"loss": name},
                "title": f"{name} per pixel of the training and test images, per epoch"}
    unit = "nats per image" if args.loss == "bce" else "per image (squared error; KL in nats)"
    return {"ylabel": unit, "title": f"the VAE's loss per image (reconstruction: {name} summed "
                                     "over the pixels)",
            "names": {"loss": "recon + β·KL", "recon": "reconstruction", "kl": "KL"}}


def add_parser(subparsers: Any) -> None:
    """``tinyae train``: its description, examples and flags."""
    parser = subparsers.add_parser(
        "train", help="train an autoencoder on MNIST and write the model, history and figures",
        description="Train an autoencoder on MNIST, validating on the test set after every epoch.",
        epilog=TRAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_flags(parser)
    add_output_flags(parser, default_out="tinyae-run")
    parser.add_argument("--monitor", action="store_true",
                        help="measure every layer after each epoch (saturation, dead ReLUs, gradient "
                             "norms, collapse to the mean image), warn once when a problem appears, "
                             "and draw monitors.png")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train, print the final test loss per pixel, and write model, history and figures."""
    check_folder(args.data_dir, "--data-dir")
    check_out_name(args.out)
    with user_values():  # the flags become objects: a refused value is the command's mistake
        check_fits_mnist(args)
        loss, optimizer, model = make_loss(args), make_optimizer(args), build_model(args)
    note_backend()  # an unknown $MPLBACKEND is said now, not found when the figures are drawn
    with output_folder(args.out) as out:  # before training: refused in a second, not after it
        return _train(args, out, loss, optimizer, model)


def _train(args: argparse.Namespace, out: Path, loss: Loss, optimizer: Any, model: Any) -> int:
    """Train, print the final test loss per pixel, write model, history and figures into ``out``."""
    data = load_data(args)
    x_train = data.x_train[: args.limit]  # fit scales the uint8 pixels batch by batch
    if args.limit and args.limit > len(x_train):
        _note(f"--limit {args.limit:,} is more than the {len(x_train):,} training images of "
              f"{data.name}: training on all of them")
    metrics = make_metrics(args)
    if not args.quiet:
        print(f"training {args.model} {arch_of(args)} ({model.n_params:,} parameters) on {len(x_train):,} "
              f"{data.name} images: {loss!r}, {optimizer!r}, batch {args.batch_size}, seed {args.seed}")
    callbacks: list[Callback] = [_monitor(x_train, loss)] if args.monitor else []
    if args.model == "vae":
        steps = args.epochs * math.ceil(len(x_train) / args.batch_size)
        with user_values():
            callbacks.append(KLAnnealing(make_kl_schedule(args, steps)))
    finished = FinishedEpochs()
    start = time.perf_counter()
    try:
        history = fit(model, x_train, loss=loss, optimizer=optimizer, epochs=args.epochs,
                      batch_size=args.batch_size, validation_data=data.x_test, metrics=metrics,
                      callbacks=[*callbacks, finished], seed=args.seed, verbose=not args.quiet)
    except KeyboardInterrupt as stop:
        return keep_finished_epochs(stop, model, finished, out)
    seconds = time.perf_counter() - start
    test = evaluate(model, loss, data.x_test, metrics=metrics)
    # Written before anything is printed: a terminal or pipe that fails must not lose the run.
    written = [save(model, out / "model.npz")]
    for name in ("history.csv", "history.json"):
        history.save(out / name)
        written.append(out / name)
    print_results(args, model, history, seconds, test, data)
    for path in written:
        print(f"wrote {path}")
    labels = loss_labels(args)
    for path in write_figures(model, history, data.x_test, data.y_test, metrics, out, labels):
        print(f"wrote {path}")
    return 0


def print_results(args: argparse.Namespace, model: Any, history: History, seconds: float,
                  test: dict[str, float], data: Any) -> None:
    """Print the run's time and its test losses: the VAE's −ELBO, then BCE and MSE per pixel."""
    epochs = f"{history.epochs} epoch" + ("" if history.epochs == 1 else "s")
    print(f"{epochs} in {seconds:.1f} s; final test loss on {len(data.x_test):,} {data.name} images:")
    if args.model == "vae":
        # The ELBO weighs the KL by 1, whatever β training used: only then is it a bound on
        # −log p(x) that compares across models and with published numbers.
        print(f"  test −ELBO: {test['recon'] + test['kl']:.2f} nats per image "
              f"(reconstruction {test['recon']:.2f} + KL {test['kl']:.2f})")
        if model.beta != 1:
            print(f"  test training objective, reconstruction + β·KL with β = {model.beta:g}: "
                  f"{test['loss']:.2f}")
    pixels = per_pixel(test, args)
    for name in ("bce", "mse"):
        undefined = f"undefined (--output {args.output} can leave [0, 1])"
        print(f"  test {name.upper()} per pixel: {f'{pixels[name]:.5f}' if name in pixels else undefined}")




class FinishedEpochs(Callback):
    """Keeps a copy of the parameters (and a VAE's β) after each of the last two epochs.

    Two, not one: Ctrl-C may land after this callback copied epoch e but before ``fit``
    added epoch e to the History, and the model kept must be the History's last epoch.
    """

    def __init__(self) -> None:
        self.kept: dict[int, tuple[np.ndarray, float | None]] = {}

    def on_epoch_end(self, model: Any, epoch: int, record: dict[str, float]) -> None:
        """Copy θ (and β) as the state after ``epoch + 1`` finished epochs; forget older ones."""
        self.kept = {n: state for n, state in self.kept.items() if n == epoch}
        self.kept[epoch + 1] = (model.params.copy(), getattr(model, "beta", None))


def keep_finished_epochs(stop: KeyboardInterrupt, model: Any, finished: FinishedEpochs,
                         out: Path) -> int:
    """After Ctrl-C in ``fit``: write the model and history of the last finished epoch; 130.

    The model goes back to its parameters at the end of that epoch (the interrupted epoch's
    updates are dropped).  No test losses or figures: the user asked to stop.
    """
    history: History | None = getattr(stop, "history", None)
    if history is None:  # not raised inside fit: nothing of ours to keep
        raise stop
    n = history.epochs
    if n not in finished.kept:
        _note(f"interrupted before the first epoch finished: nothing was written to {out}")
        return 130
    params, beta = finished.kept[n]
    model.params[...] = params
    if beta is not None:
        model.beta = beta
    print(f"wrote {save(model, out / 'model.npz')}")
    for name in ("history.csv", "history.json"):
        history.save(out / name)
        print(f"wrote {out / name}")
    _note(f"interrupted in epoch {n + 1}: kept the model and history of epoch {n}, the last one "
          f"that finished, in {out} (model.npz, history.csv, history.json; no figures)")
    return 130


def _monitor(x_train: np.ndarray, loss: Loss) -> Monitor:
    """A Monitor on the first 256 training images, which compares outputs with the mean image."""
    y_mean = as_float_batch(x_train, np.dtype(np.float64)).mean(axis=0)
    return Monitor(x_train[:256], loss, y_mean=y_mean)


def _note(message: str) -> None:
    """Print ``tinyae: message`` on stderr: something the user should know, not an error."""
    print(f"tinyae: {message}", file=sys.stderr)
