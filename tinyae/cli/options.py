"""Flags shared by the subcommands that build and train a model, and their building blocks.

``add_common_flags`` adds the model, data and training flags; ``make_loss``,
``make_optimizer`` and ``MODELS`` turn parsed flags into tinyae objects; ``load_data``
loads the data the way every subcommand does.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from tinyae.cli.errors import NetworkTooLarge
from tinyae.datasets import MNIST, load_mnist
from tinyae.datasets.mnist import NAMES as DATASETS
from tinyae.layers import ACTIVATIONS
from tinyae.losses import BCE, MSE, Loss, get_loss
from tinyae.models.autoencoder import Autoencoder, dense_autoencoder, parse_spec
from tinyae.models.vae import VAE, dense_vae
from tinyae.noise import parse_noise
from tinyae.optim import Optimizer, get_optimizer
from tinyae.registry import lookup
from tinyae.schedules import SCHEDULES

MNIST_PIXELS = 784  # 28 × 28: the first and last width of any MNIST autoencoder
UNIT_OUTPUTS = ("sigmoid", "softmax")  # output activations whose values stay in [0, 1]
# With losses averaged per pixel the gradients are small, so plain SGD needs a far larger
# step than Adam, which rescales every step to about lr (see tinyae.optim.Adam).
DEFAULT_LR = {"adam": 1e-3, "sgd": 1.0}


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


def nonnegative_float(text: str) -> float:
    """A finite number ≥ 0 (a KL weight)."""
    return _checked(text, float, lambda v: 0 <= v < math.inf, "a number ≥ 0")


def momentum_float(text: str) -> float:
    """A number in [0, 1): the fraction of the previous velocity kept at each step."""
    return _checked(text, float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def unit_interval(text: str) -> float:
    """A number strictly between 0 and 1 (a sparsity target ρ)."""
    return _checked(text, float, lambda v: 0 < v < 1, "a number strictly between 0 and 1")


def noise_spec(text: str) -> str:
    """A noise spec ``gaussian:SIGMA`` or ``mask:Q`` (see ``tinyae.noise``), canonical."""
    try:
        return parse_noise(text).spec
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def architecture(text: str) -> str:
    """Layer widths such as ``784-100-50-100-784`` (or a VAE's ``784-400``), in canonical form.

    Only the form is checked here; ``check_fits_mnist`` checks the widths for the ``--model``.
    """
    widths = [part.strip() for part in text.replace(",", "-").split("-")]
    if not all(part.isdigit() and int(part) > 0 for part in widths):
        raise argparse.ArgumentTypeError(f"must be positive layer widths joined by '-', e.g. "
                                         f"784-100-50-100-784, got {text!r}")
    return "-".join(str(int(part)) for part in widths)


# --- models ------------------------------------------------------------------------------

DEFAULT_ARCH = {"ae": "784-100-50-100-784", "vae": "784-400"}
# The flags one --model uses and the other has no use for.  Their argparse default is None,
# so that a flag given to the model that would ignore it is refused, not silently dropped.
VAE_DEFAULTS = {"latent": 20, "beta": 1.0, "kl_schedule": "constant"}
ONLY_FOR = {"vae": ("--latent", "--beta", "--kl-schedule"),
            "ae": ("--code", "--noise", "--sparsity", "--sparsity-weight", "--weight-decay",
                   "--tied")}
SPARSITY_WEIGHT = 3.0  # β of CS294A's sparse-autoencoder exercise


def vae_flag(args: argparse.Namespace, name: str) -> Any:
    """The VAE flag ``name`` (``"latent"``, ``"beta"``, ``"kl_schedule"``) or its default."""
    value = getattr(args, name)
    return VAE_DEFAULTS[name] if value is None else value


def check_flags_used(args: argparse.Namespace) -> None:
    """Raise ValueError for a flag of the other ``--model``: ignoring it trains another model."""
    other = "ae" if args.model == "vae" else "vae"
    given = [flag for flag in ONLY_FOR[other]
             if getattr(args, flag.removeprefix("--").replace("-", "_")) is not None]
    if given:
        verb, it = ("is", "it") if len(given) == 1 else ("are", "them")
        raise ValueError(f"{' and '.join(given)} {verb} for --model {other} only; "
                         f"--model {args.model} would ignore {it}: drop {it}, or add "
                         f"--model {other}")


def arch_of(args: argparse.Namespace) -> str:
    """``--arch``, or the default of the ``--model``; a VAE's ends with ``--latent``."""
    arch = args.arch or DEFAULT_ARCH[args.model]
    return f"{arch}-{vae_flag(args, 'latent')}" if args.model == "vae" else arch


def build_autoencoder(args: argparse.Namespace) -> Autoencoder:
    """The dense autoencoder of ``--arch`` with the ``--hidden/--code/--output`` activations,
    and the variant flags ``--noise``, ``--sparsity``, ``--weight-decay``, ``--tied``."""
    check_flags_used(args)
    check_variant_flags(args)
    weight = SPARSITY_WEIGHT if args.sparsity_weight is None else args.sparsity_weight
    return dense_autoencoder(arch_of(args), hidden=args.hidden, output=args.output, code=args.code,
                             seed=args.seed, noise=args.noise, sparsity=args.sparsity,
                             sparsity_weight=weight, weight_decay=args.weight_decay or 0.0,
                             tied=bool(args.tied))


def check_variant_flags(args: argparse.Namespace) -> None:
    """Raise ValueError for variant flags that do not fit together or with the architecture."""
    code = args.code or args.hidden
    if args.sparsity is not None and code != "sigmoid":
        raise ValueError(f"--sparsity needs a sigmoid code layer (a mean activation in (0, 1)), "
                         f"but the code layer is {code}: add --code sigmoid")
    if args.sparsity_weight is not None and args.sparsity is None:
        raise ValueError("--sparsity-weight is the weight of the --sparsity penalty: add "
                         "--sparsity RHO (e.g. --sparsity 0.1), or drop --sparsity-weight")
    widths = parse_spec(arch_of(args))
    if args.tied and widths != widths[::-1]:
        raise ValueError(f"--tied decodes with the encoder's transposed weights, so --arch must be "
                         f"symmetric (e.g. 784-196-784), got {arch_of(args)}")


def build_vae(args: argparse.Namespace) -> VAE:
    """The dense VAE ``--arch``-``--latent`` with KL weight ``--beta`` (per sample, in nats)."""
    check_flags_used(args)
    return dense_vae(arch_of(args), hidden=args.hidden, output=args.output,
                     beta=vae_flag(args, "beta"), seed=args.seed)


MODELS: dict[str, Callable[[argparse.Namespace], Any]] = {"ae": build_autoencoder, "vae": build_vae}


def build_model(args: argparse.Namespace) -> Any:
    """The ``--model`` of the flags; a network too large for the memory is said with its size.

    NumPy's MemoryError names an array's shape; the user chose widths, so the message
    names the ``--arch`` and what its parameters need.
    """
    try:
        return MODELS[args.model](args)
    except MemoryError:
        n = count_parameters(args)
        raise NetworkTooLarge(
            f"out of memory: --arch {arch_of(args)} has {n:,} parameters, {n * 4 / 1e9:,.1f} GB as "
            f"float32 and about 4 times that to train (gradients, Adam's two moments), more than "
            f"this machine could give; choose narrower layers") from None


# --- flags shared by the subcommands that train ------------------------------------------

def add_model_flags(parser: argparse.ArgumentParser) -> None:
    """--model, --arch and the activations."""
    group = parser.add_argument_group("model")
    group.add_argument("--model", choices=sorted(MODELS), default="ae",
                       help="ae: dense autoencoder; vae: variational autoencoder (default: %(default)s)")
    group.add_argument("--arch", type=architecture, default=None, metavar="W-W-…",
                       help="ae: layer widths from input to output, the narrowest is the code, first "
                            f"and last 784 (default: {DEFAULT_ARCH['ae']}); vae: the encoder's widths "
                            f"before the latent layer (default: {DEFAULT_ARCH['vae']})")
    activations = sorted(ACTIVATIONS)
    group.add_argument("--hidden", choices=activations, default="relu", metavar="ACT",
                       help=f"activation of the hidden layers, one of {', '.join(activations)} "
                            "(default: %(default)s)")
    group.add_argument("--code", choices=activations, default=None, metavar="ACT",
                       help="ae: activation of the code layer (default: the --hidden one)")
    group.add_argument("--output", choices=activations, default="sigmoid", metavar="ACT",
                       help="activation of the output layer; --loss bce needs sigmoid or "
                            "softmax (default: %(default)s)")


def add_vae_flags(parser: argparse.ArgumentParser) -> None:
    """--latent, --beta and --kl-schedule (used with --model vae)."""
    group = parser.add_argument_group("vae (with --model vae)")
    group.add_argument("--latent", type=positive_int, metavar="J",
                       help=f"latent dimensions J (default: {VAE_DEFAULTS['latent']})")
    group.add_argument("--beta", type=nonnegative_float, metavar="BETA",
                       help="weight of the KL term, with the reconstruction summed over pixels and "
                            "both averaged over the batch; 1 is the ELBO "
                            f"(default: {VAE_DEFAULTS['beta']:g})")
    group.add_argument("--kl-schedule", choices=sorted(SCHEDULES),
                       help="how the KL weight rises to --beta over training: constant, linear "
                            "warm-up over the first half, sigmoid (Bowman et al. 2015) or cyclical "
                            f"(Fu et al. 2019) (default: {VAE_DEFAULTS['kl_schedule']})")


def add_variant_flags(parser: argparse.ArgumentParser) -> None:
    """--noise, --sparsity, --sparsity-weight, --weight-decay and --tied (with --model ae)."""
    group = parser.add_argument_group("autoencoder variants (with --model ae)")
    group.add_argument("--noise", type=noise_spec, metavar="SPEC",
                       help="denoising: corrupt each training batch's input, keep the clean image "
                            "as the target; gaussian:SIGMA (clipped to [0, 1]) or mask:Q (each "
                            "pixel zeroed with probability Q), e.g. gaussian:0.3")
    group.add_argument("--sparsity", type=unit_interval, metavar="RHO",
                       help="sparse: penalise each code unit's mean activation for straying from "
                            "RHO (KL divergence); needs --code sigmoid, e.g. 0.1")
    group.add_argument("--sparsity-weight", type=nonnegative_float, metavar="BETA",
                       help=f"weight of the --sparsity penalty (default: {SPARSITY_WEIGHT:g})")
    group.add_argument("--weight-decay", type=nonnegative_float, metavar="LAMBDA",
                       help="add LAMBDA·½‖W‖² over the weight matrices to the loss, e.g. 3e-3 "
                            "(default: 0)")
    group.add_argument("--tied", action="store_true", default=None,
                       help="decode with the transposed encoder weights (symmetric --arch)")


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
    add_vae_flags(parser)
    add_variant_flags(parser)
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

def check_fits_mnist(args: argparse.Namespace) -> None:
    """Raise ValueError unless the network reads (and, for an ae, writes) 784 pixels."""
    if args.model == "vae":
        check_vae_arch(args)
        return
    arch, widths = arch_of(args), parse_spec(arch_of(args))
    if widths[0] != MNIST_PIXELS or widths[-1] != MNIST_PIXELS:
        raise ValueError(f"--arch {arch} must start and end with {MNIST_PIXELS}, the pixels of an "
                         f"MNIST image, e.g. {MNIST_PIXELS}-{'-'.join(map(str, widths[1:-1]))}-"
                         f"{MNIST_PIXELS}")


def check_vae_arch(args: argparse.Namespace) -> None:
    """Raise ValueError unless --arch is a VAE encoder's half, 784-hidden…, and --latent < 784."""
    widths = [int(width) for width in (args.arch or DEFAULT_ARCH["vae"]).split("-")]
    latent = vae_flag(args, "latent")
    if widths[0] != MNIST_PIXELS:  # the decoder mirrors the encoder
        raise ValueError(f"--arch {args.arch} must start with {MNIST_PIXELS}, the pixels of an "
                         f"MNIST image, e.g. {MNIST_PIXELS}-400")
    if len(widths) < 2:
        raise ValueError(f"with --model vae, --arch gives the input and at least one hidden width, "
                         f"e.g. --arch {MNIST_PIXELS}-400; the latent layer comes from --latent")
    if len(widths) > 2 and widths[-1] == MNIST_PIXELS:  # a whole autoencoder's widths
        raise ValueError(f"with --model vae, --arch gives the encoder's widths before the latent "
                         f"layer, e.g. --arch {MNIST_PIXELS}-400 --latent 20, and the decoder "
                         f"mirrors them; --arch {args.arch} would build the encoder "
                         f"{arch_of(args)} and its mirror image. Give the encoder's half only")
    if latent >= MNIST_PIXELS:
        raise ValueError(f"--latent {latent} must be smaller than the {MNIST_PIXELS} pixels of an "
                         f"image: the code is there to compress it, e.g. --latent 20")


def count_parameters(args: argparse.Namespace) -> int:
    """The number of weights and biases of the ``--model`` the flags describe, without building it.

    A Dense layer a → b has a·b + b; a tied decoder layer only its b (it reuses Wᵀ).  A
    VAE's encoder ends with 2·J outputs ([mu | log_var]); its decoder mirrors the
    encoder, from J.
    """
    widths = [int(width) for width in arch_of(args).split("-")]
    if args.model == "vae":
        encoder = list(zip(widths[:-1], widths[1:-1] + [2 * widths[-1]]))
        decoder = [(b, a) for a, b in reversed(list(zip(widths, widths[1:])))]
        return sum(a * b + b for a, b in encoder + decoder)
    layers = list(zip(widths, widths[1:]))
    tied = len(layers) // 2 if args.tied else len(layers)  # from here on, biases only
    return sum(a * b * (i < tied) + b for i, (a, b) in enumerate(layers))


def make_loss(args: argparse.Namespace) -> Loss:
    """The ``--loss``, refused up front if the ``--output`` activation can leave [0, 1]."""
    if args.loss == "bce" and args.output not in UNIT_OUTPUTS:
        raise ValueError(f"--loss bce needs predictions in [0, 1], but --output {args.output} can "
                         f"leave it; use --output sigmoid, or --loss mse")
    # A VAE's reconstruction is summed over pixels per sample, like its KL: −ELBO in nats.
    # So is a penalised autoencoder's: CS294A's λ and β weigh the penalties against the
    # error summed over an image's pixels, and per pixel they would be 784 times too strong.
    return get_loss(args.loss, reduction="batchmean" if summed_per_image(args) else "mean")


def summed_per_image(args: argparse.Namespace) -> bool:
    """Whether the loss is summed over each image's pixels: the VAE, or --sparsity/--weight-decay."""
    return args.model == "vae" or args.sparsity is not None or bool(args.weight_decay)


def make_kl_schedule(args: argparse.Namespace, total_steps: int) -> Callable[[int], float]:
    """``--kl-schedule`` as w(t), rising to ``--beta`` over ``total_steps`` batches."""
    schedule = lookup(SCHEDULES, vae_flag(args, "kl_schedule"), "KL schedule")
    end, steps = vae_flag(args, "beta"), max(total_steps, 1)
    return lambda t: schedule(t, steps, end)


def make_optimizer(args: argparse.Namespace) -> Optimizer:
    """The ``--optimizer`` with ``--lr`` (or its default) and, for SGD, ``--momentum``."""
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    if args.optimizer != "sgd":
        if args.momentum is not None:
            raise ValueError(f"--momentum is for --optimizer sgd; {args.optimizer} has its own "
                             "(the running mean of the gradient)")
        return get_optimizer(args.optimizer, lr)
    return get_optimizer("sgd", lr, momentum=args.momentum or 0.0)


def make_metrics(args: argparse.Namespace) -> dict[str, Loss]:
    """The per-pixel losses (BCE when the outputs stay in [0, 1], and MSE) reported beside ``loss``.

    The trained ``--loss`` is left out: an autoencoder's ``loss`` already is it per pixel,
    a VAE's ``recon`` is it summed over the pixels, and asking ``fit`` for it again as a
    metric would compute it twice per batch, a measurable share of each epoch.
    ``per_pixel`` derives it from those.
    """
    metrics: dict[str, Loss] = {"bce": BCE(), "mse": MSE()}
    if args.output not in UNIT_OUTPUTS:
        del metrics["bce"]  # BCE is undefined outside [0, 1]
    metrics.pop(args.loss, None)
    return metrics


def per_pixel(test: dict[str, float], args: argparse.Namespace) -> dict[str, float]:
    """Test BCE and MSE per pixel from ``evaluate``'s result, wherever each was computed.

    The trained loss is the plain autoencoder's ``loss`` (per pixel already), or, for a
    model with penalties, its ``recon`` (a sum over the K pixels of each image, so ÷ K).
    """
    values: dict[str, float] = {name: test[name] for name in ("bce", "mse") if name in test}
    recon = test.get("recon", test["loss"])
    values[args.loss] = recon / MNIST_PIXELS if summed_per_image(args) else recon
    return values


def load_data(args: argparse.Namespace) -> MNIST:
    """MNIST as uint8 pixels (``fit`` scales them batch by batch), per ``--dataset``/``--data-dir``."""
    return load_mnist(args.dataset, args.data_dir, dtype="uint8", verbose=not args.quiet,
                      hint="--data-dir FOLDER, a folder with the four MNIST .gz files "
                           "(--dataset mnist says where to get them)")
