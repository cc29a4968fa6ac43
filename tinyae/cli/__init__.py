"""The ``tinyae`` command line: ``tinyae --help`` lists the subcommands.

Layout, so that a new subcommand or model type is a small addition:

* one module per subcommand (``train.py``, ``doctor.py``, …) with ``add_parser(subparsers)``,
  which declares its flags and sets ``run=run``, and ``run(args) -> exit status``;
* flags shared by every subcommand that builds a model come from
  ``options.add_common_flags`` (model, data and training groups);
* model types are the entries of ``options.MODELS``: ``--model NAME`` calls ``MODELS[NAME](args)``.

Exit status: 0 success; 2 a bad command line (a one-line ``error:`` on stderr);
1 the run itself failed (the loss became NaN, data unavailable, a file not writable).
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from tinyae.cli import doctor, experiment, train
from tinyae.cli.options import positive_int
from tinyae.datasets import DataError
from tinyae.train import TrainingError

SUBCOMMANDS = (train, doctor, experiment)

TOP_EXAMPLES = """\
examples:
  tinyae train                                  train the default autoencoder, write tinyae-run/
  tinyae train --dataset mnist-mini --epochs 1  a quick run on the subset bundled with tinyae
  tinyae train --help                           every flag of train, with its default

Full MNIST is used when it is on disk (--data-dir, $TINYAE_DATA_DIR, the cache) or
downloads quickly; otherwise the bundled subset, and tinyae says which.  Set
TINYAE_OFFLINE=1 to never touch the network."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the usage of ``train`` is long and hides the reason."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message`` on one line and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per subcommand."""
    parser = _Parser(
        prog="tinyae",
        description="Autoencoders from scratch in NumPy: train, check and explain them.",
        epilog=TOP_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       title="commands (tinyae COMMAND --help for its flags)")
    for subcommand in SUBCOMMANDS:
        subcommand.add_parser(subparsers)
    for accepting in (parser, *subparsers.choices.values()):  # applied by tinyae/__main__.py
        accepting.add_argument("--threads", type=positive_int, default=argparse.SUPPRESS,
                               metavar="N", help="BLAS threads for NumPy's matrix products, read "
                               "when the command starts (default: 1, or your OPENBLAS_NUM_THREADS)")
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


def _fail(error: BaseException | str, status: int) -> int:
    """Print ``tinyae: error: …`` on stderr and return ``status``."""
    print(f"tinyae: error: {error}", file=sys.stderr)
    return status
