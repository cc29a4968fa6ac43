"""The ``tinyae`` command line: ``tinyae --help`` lists the subcommands.

Layout, so that a new subcommand or model type is a small addition:

* one ``add_<name>_parser(subparsers)`` per subcommand declares its flags and sets
  ``run=run_<name>``; ``run_<name>(args) -> exit status`` does the work;
* flags shared by every subcommand that trains a model come from ``add_common_flags``
  (model, data and training groups);
* model types are the entries of ``MODELS``: ``--model NAME`` calls ``MODELS[NAME](args)``.

Exit status: 0 success; 2 a bad command line (a one-line ``error:`` on stderr);
1 the run itself failed (the loss became NaN, data unavailable, a file not writable).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, NoReturn

import numpy as np

from tinyae.datasets import DataError, load_mnist
from tinyae.datasets.mnist import NAMES as DATASETS
from tinyae.io import save
from tinyae.layers import ACTIVATIONS
from tinyae.losses import BCE, MSE, Loss, get_loss
from tinyae.models.autoencoder import Autoencoder, dense_autoencoder, parse_spec
from tinyae.optim import Optimizer, get_optimizer
from tinyae.train import History, TrainingError, as_float_batch, evaluate, fit

MNIST_PIXELS = 784  # 28 × 28: the first and last width of any MNIST autoencoder
UNIT_OUTPUTS = ("sigmoid", "softmax")  # output activations whose values stay in [0, 1]
# With losses averaged per pixel the gradients are small, so plain SGD needs a far larger
# step than Adam, which rescales every step to about lr (see tinyae.optim.Adam).
DEFAULT_LR = {"adam": 1e-3, "sgd": 1.0}
N_RECONSTRUCTIONS = 10  # test images shown in reconstructions.png

TOP_EXAMPLES = """\
examples:
  tinyae train                                  train the default autoencoder, write tinyae-run/
  tinyae train --dataset mnist-mini --epochs 1  a quick run on the subset bundled with tinyae
  tinyae train --help                           every flag of train, with its default

Full MNIST is used when it is on disk (--data-dir, $TINYAE_DATA_DIR, the cache) or
downloads quickly; otherwise the bundled subset, and tinyae says which.  Set
TINYAE_OFFLINE=1 to never touch the network."""

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


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the usage of ``train`` is long and hides the reason."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message`` on one line and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# --- argparse types: a bad value becomes a one-line error naming the flag ------------------

def _checked(text: str, kind: type, ok: Callable[[Any], bool], what: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer ≥ 1 (epochs, batch size, --limit)."""
    return _checked(text, int, lambda v: v >= 1, "an integer ≥ 1")


def seed_int(text: str) -> int:
    """An integer ≥ 0 (NumPy seeds cannot be negative)."""
    return _checked(text, int, lambda v: v >= 0, "an integer ≥ 0")


def positive_float(text: str) -> float:
    """A finite number > 0 (a learning rate)."""
    return _checked(text, float, lambda v: 0 < v < math.inf, "a number > 0")


def momentum_float(text: str) -> float:
    """A number in [0, 1): the fraction of the previous velocity kept at each step."""
    return _checked(text, float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def architecture(text: str) -> str:
    """Layer widths such as ``784-100-50-100-784``, returned in that canonical form."""
    try:
        return "-".join(map(str, parse_spec(text)))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# --- models ------------------------------------------------------------------------------

def build_autoencoder(args: argparse.Namespace) -> Autoencoder:
    """The dense autoencoder of ``--arch`` with the ``--hidden/--code/--output`` activations."""
    return dense_autoencoder(args.arch, hidden=args.hidden, output=args.output, code=args.code,
                             seed=args.seed)


MODELS: dict[str, Callable[[argparse.Namespace], Any]] = {"ae": build_autoencoder}


# --- flags shared by the subcommands that train ------------------------------------------

def add_model_flags(parser: argparse.ArgumentParser) -> None:
    """--model, --arch and the activations."""
    group = parser.add_argument_group("model")
    group.add_argument("--model", choices=sorted(MODELS), default="ae",
                       help="ae: dense autoencoder (default: %(default)s)")
    group.add_argument("--arch", type=architecture, default="784-100-50-100-784", metavar="W-W-…",
                       help="layer widths from input to output; the narrowest is the code; first "
                            "and last must be 784 for MNIST (default: %(default)s)")
    activations = sorted(ACTIVATIONS)
    group.add_argument("--hidden", choices=activations, default="relu", metavar="ACT",
                       help=f"activation of the hidden layers, one of {', '.join(activations)} "
                            "(default: %(default)s)")
    group.add_argument("--code", choices=activations, default=None, metavar="ACT",
                       help="activation of the code layer (default: the --hidden one)")
    group.add_argument("--output", choices=activations, default="sigmoid", metavar="ACT",
                       help="activation of the output layer; --loss bce needs sigmoid or "
                            "softmax (default: %(default)s)")


def add_data_flags(parser: argparse.ArgumentParser) -> None:
    """--dataset, --data-dir and --limit."""
    group = parser.add_argument_group("data")
    group.add_argument("--dataset", choices=DATASETS, default="auto",
                       help="auto: full MNIST if on disk or downloadable, else the bundled subset; "
                            "mnist: full MNIST or an error; mnist-mini: the bundled 10,000/2,000 "
                            "images (default: %(default)s)")
    group.add_argument("--data-dir", metavar="DIR",
                       help="a folder holding the four MNIST files, looked in first")
    group.add_argument("--limit", type=positive_int, metavar="N",
                       help="train on the first N training images only (quick runs); the "
                            "whole test set is still used (default: all)")


def add_training_flags(parser: argparse.ArgumentParser) -> None:
    """Loss, optimizer, epochs, batch size and seed."""
    group = parser.add_argument_group("training")
    group.add_argument("--loss", choices=("bce", "mse"), default="bce",
                       help="reconstruction loss, averaged per pixel (default: %(default)s)")
    group.add_argument("--optimizer", choices=sorted(DEFAULT_LR), default="adam",
                       help="default: %(default)s")
    group.add_argument("--lr", type=positive_float, metavar="LR",
                       help=f"learning rate (default: {DEFAULT_LR['adam']:g} for adam, "
                            f"{DEFAULT_LR['sgd']:g} for sgd)")
    group.add_argument("--momentum", type=momentum_float, metavar="MU",
                       help="SGD momentum in [0, 1) (default: 0, plain SGD; sgd only)")
    group.add_argument("--epochs", type=positive_int, default=5, metavar="N",
                       help="passes over the training set (default: %(default)s)")
    group.add_argument("--batch-size", type=positive_int, default=128, metavar="N",
                       help="images per update (default: %(default)s)")
    group.add_argument("--seed", type=seed_int, default=0, metavar="N",
                       help="seed of the initial weights and of the shuffling (default: %(default)s)")


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    """The model, data and training flags of every subcommand that trains a model."""
    add_model_flags(parser)
    add_data_flags(parser)
    add_training_flags(parser)


def add_output_flags(parser: argparse.ArgumentParser, default_out: str) -> None:
    """--out (the folder written to) and --quiet."""
    group = parser.add_argument_group("output")
    group.add_argument("--out", default=default_out, metavar="DIR",
                       help="folder for the model, history and figures; created if needed "
                            "(default: %(default)s)")
    group.add_argument("--quiet", action="store_true",
                       help="no per-epoch or data messages; still print the results and files")


# --- building blocks of a run ------------------------------------------------------------

def check_fits_mnist(arch: str) -> None:
    """Raise ValueError unless the architecture's first and last widths are 784."""
    widths = parse_spec(arch)
    if widths[0] != MNIST_PIXELS or widths[-1] != MNIST_PIXELS:
        raise ValueError(f"--arch {arch} must start and end with {MNIST_PIXELS}, the pixels of an "
                         f"MNIST image, e.g. {MNIST_PIXELS}-{'-'.join(map(str, widths[1:-1]))}-"
                         f"{MNIST_PIXELS}")


def make_loss(args: argparse.Namespace) -> Loss:
    """The ``--loss``, refused up front if the ``--output`` activation can leave [0, 1]."""
    if args.loss == "bce" and args.output not in UNIT_OUTPUTS:
        raise ValueError(f"--loss bce needs predictions in [0, 1], but --output {args.output} can "
                         f"leave it; use --output sigmoid, or --loss mse")
    return get_loss(args.loss)


def make_optimizer(args: argparse.Namespace) -> Optimizer:
    """The ``--optimizer`` with ``--lr`` (or its default) and, for SGD, ``--momentum``."""
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    if args.optimizer != "sgd":
        if args.momentum is not None:
            raise ValueError(f"--momentum is for --optimizer sgd; {args.optimizer} has its own "
                             "(the running mean of the gradient)")
        return get_optimizer(args.optimizer, lr)
    return get_optimizer("sgd", lr, momentum=args.momentum or 0.0)


def make_metrics(output: str) -> dict[str, Loss]:
    """Per-pixel MSE, and BCE when the outputs stay in [0, 1] (BCE is undefined elsewhere)."""
    metrics: dict[str, Loss] = {"mse": MSE()}
    if output in UNIT_OUTPUTS:
        metrics = {"bce": BCE(), **metrics}
    return metrics


def write_figures(model: Any, history: History, x_test: np.ndarray, y_test: np.ndarray,
                  metrics: dict[str, Loss], out: Path) -> list[Path]:
    """Draw the run's figures into ``out``; returns the paths written, in order.

    x_test (M, 784) uint8 or float pixels, y_test (M,) digit labels.
    reconstructions.png: the first test images x over their reconstructions p;
    loss.png: the loss curves (metrics and timings left out); filters.png: the first
    layer's W (D, n_hidden); latent.png: the test codes z coloured by digit, skipped
    when the code has a single dimension.  A note on stderr says so, or says when a
    drawn code unit is constant over the test set (the figure then shows little).
    """
    from tinyae import plot  # matplotlib loads only when figures are drawn

    x = as_float_batch(x_test, model.dtype)
    written = []

    def figure(name: str, draw: Callable[..., Any], *arrays: Any, **options: Any) -> None:
        draw(*arrays, path=out / name, **options)
        written.append(out / name)

    figure("reconstructions.png", plot.reconstructions, x[:N_RECONSTRUCTIONS],
           model.reconstruct(x[:N_RECONSTRUCTIONS]))
    curves = [key for key in history if key != "seconds" and key.removeprefix("val_") not in metrics]
    figure("loss.png", plot.loss_curves, history, keys=curves)
    _, W, _ = model.parameters()[0]  # the first Dense layer's weights, (784, n_hidden)
    figure("filters.png", plot.filters, W)
    z = model.encode(x)
    if z.shape[1] < 2:
        _note(f"latent.png skipped: the code has {z.shape[1]} dimension, a scatter needs 2")
        return written
    figure("latent.png", plot.latent_scatter, z, y_test)
    constant = np.flatnonzero(np.ptp(z, axis=0) == 0)
    if constant.size and constant[0] < 2:
        _note(f"latent.png draws z[:, 0] against z[:, 1], but z[:, {constant[0]}] is the same for "
              f"every test image; {constant.size} of the {z.shape[1]} code units are (dead ReLUs, "
              "whose input is negative for every image, or saturated units); an identity code "
              "(--code identity) cannot die")
    return written


# --- subcommands -------------------------------------------------------------------------

def add_train_parser(subparsers: Any) -> None:
    """``tinyae train``: its description, examples and flags."""
    parser = subparsers.add_parser(
        "train", help="train an autoencoder on MNIST and write the model, history and figures",
        description="Train an autoencoder on MNIST, validating on the test set after every epoch.",
        epilog=TRAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_flags(parser)
    add_output_flags(parser, default_out="tinyae-run")
    parser.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    """Train, print the final test loss per pixel, and write model, history and figures."""
    check_fits_mnist(args.arch)
    loss, optimizer = make_loss(args), make_optimizer(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)  # before training: fail in a second, not after it
    data = load_mnist(args.dataset, args.data_dir, dtype="uint8", verbose=not args.quiet)
    x_train = data.x_train[: args.limit]  # fit scales the uint8 pixels batch by batch
    model, metrics = MODELS[args.model](args), make_metrics(args.output)
    if not args.quiet:
        print(f"training {args.arch} ({model.n_params:,} parameters) on {len(x_train):,} "
              f"{data.name} images: {loss!r}, {optimizer!r}, batch {args.batch_size}, seed {args.seed}")
    start = time.perf_counter()
    history = fit(model, x_train, loss=loss, optimizer=optimizer, epochs=args.epochs,
                  batch_size=args.batch_size, validation_data=data.x_test, metrics=metrics,
                  seed=args.seed, verbose=not args.quiet)
    seconds = time.perf_counter() - start
    test = evaluate(model, loss, data.x_test, metrics=metrics)
    epochs = f"{history.epochs} epoch" + ("" if history.epochs == 1 else "s")
    print(f"{epochs} in {seconds:.1f} s; final test loss on {len(data.x_test):,} {data.name} images:")
    for name in ("bce", "mse"):
        undefined = f"undefined (--output {args.output} can leave [0, 1])"
        print(f"  test {name.upper()} per pixel: {f'{test[name]:.5f}' if name in test else undefined}")
    print(f"wrote {save(model, out / 'model.npz')}")
    for name in ("history.csv", "history.json"):
        history.save(out / name)
        print(f"wrote {out / name}")
    for path in write_figures(model, history, data.x_test, data.y_test, metrics, out):
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per subcommand."""
    parser = _Parser(
        prog="tinyae",
        description="Autoencoders from scratch in NumPy: train, check and explain them.",
        epilog=TOP_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       title="commands (tinyae COMMAND --help for its flags)")
    add_train_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 run failed, 2 bad usage).

    Errors end as a ``tinyae: error: …`` line on stderr, without a traceback: a bad
    value the package refused (ValueError, TypeError) exits 2; a loss that became NaN,
    missing data (whose message goes on to say how to get it) or an unwritable file
    exits 1.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a bad flag (2): argparse has said why
        return stop.code if isinstance(stop.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stdout)
        return 0
    try:
        return args.run(args)
    except DataError as error:  # before ValueError, its base: the message's lines say how to fix
        return _fail(f"{error}\nOn the command line: --data-dir FOLDER, or --dataset mnist-mini", 1)
    except (ValueError, TypeError) as error:
        return _fail(error, 2)
    except (TrainingError, OSError) as error:
        return _fail(error, 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _note(message: str) -> None:
    """Print ``tinyae: message`` on stderr: something the user should know, not an error."""
    print(f"tinyae: {message}", file=sys.stderr)


def _fail(error: BaseException | str, status: int) -> int:
    """Print ``tinyae: error: …`` on stderr and return ``status``."""
    print(f"tinyae: error: {error}", file=sys.stderr)
    return status
