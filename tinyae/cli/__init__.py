"""The ``tinyae`` command line: ``tinyae --help`` lists the subcommands.

Layout, so that a new subcommand or model type is a small addition:

* one module per subcommand (``train.py``, ``doctor.py``, …) with ``add_parser(subparsers)``,
  which declares its flags and sets ``run=run``, and ``run(args) -> exit status``;
* flags shared by every subcommand that builds a model come from
  ``options.add_common_flags`` (model, data and training groups);
* model types are the entries of ``options.MODELS``: ``--model NAME`` calls ``MODELS[NAME](args)``.

Exit status (see ``errors.py``): 0 success; 2 a bad command line (a one-line ``error:``
on stderr); 1 the run itself failed (the loss became NaN, data unavailable, a file not
writable), or a bug in tinyae (its traceback, then a line asking for a report); 130
interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Iterator
from typing import NoReturn

from tinyae.cli import doctor, experiment, train, tutorials, workbook
from tinyae.cli.errors import NetworkTooLarge, UsageError, bug_line
from tinyae.cli.options import positive_int
from tinyae.cli.output import silence_stdout
from tinyae.datasets import DataError
from tinyae.text import PLAIN_ERRORS
from tinyae.train import TrainingError

# How a subcommand's user gets the data when it is missing; ``experiment`` words its own.
DATA_HINT = "--data-dir FOLDER, or --dataset mnist-mini"

SUBCOMMANDS = (train, doctor, experiment, workbook, tutorials)

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
    """Run the command line; returns the exit status (0 ok, 1 run failed or bug, 2 bad usage).

    Errors end as a ``tinyae: error: …`` line on stderr: a value or file the command
    named that tinyae refuses (``UsageError``) exits 2; a loss that became NaN, missing
    data (whose message goes on to say how to get it), a file the system would not
    write or memory it would not give exits 1; Ctrl-C exits 130.  Anything else is a bug
    in tinyae: its traceback is printed, then a line asking for a report, and the status is 1.
    What is printed reaches the user whatever the terminal (``printable_streams``).
    """
    with printable_streams():
        return _main(argv)


@contextlib.contextmanager
def printable_streams() -> Iterator[None]:
    """Make stdout and stderr print anything tinyae prints, for the block; then put them back.

    * A terminal whose encoding lacks "−" or "β" (cp1252, ascii) gets plain characters
      instead (``tinyae.text.PLAIN_ERRORS``), not a ``UnicodeEncodeError`` before the files
      are written.
    * A closed stdout (``tinyae train >&-``: Python's ``sys.stdout`` is None) sends what
      would go there to stderr, said in a note: the results and the files written are not
      lost.  With both closed, nothing is printed and the run still writes its files.
    """
    saved = sys.stdout, sys.stderr
    errors = {}
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115  (closed below)
    if sys.stdout is None:
        sys.stdout = sys.stderr
        print("tinyae: standard output is closed: printing the results on standard error",
              file=sys.stderr)
    for stream in {id(s): s for s in (sys.stdout, sys.stderr)}.values():
        if hasattr(stream, "reconfigure") and getattr(stream, "errors", None) in ("strict",
                                                                                 "backslashreplace"):
            errors[stream] = stream.errors
            stream.reconfigure(errors=PLAIN_ERRORS)
    try:
        yield
    finally:
        for stream, error_handler in errors.items():
            with contextlib.suppress(ValueError, OSError):  # a stream closed meanwhile
                stream.reconfigure(errors=error_handler)
        if saved[1] is None:
            sys.stderr.close()
        sys.stdout, sys.stderr = saved


def _main(argv: list[str] | None) -> int:
    """``main`` on streams that can print everything."""
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
    except UsageError as error:
        return _fail(error, 2)
    except DataError as error:  # the message's lines say how to get the data
        hint = getattr(args, "data_hint", DATA_HINT)  # a subcommand's own flags, if it has other ones
        return _fail(f"{error}\nOn the command line: {hint}", 1)
    except BrokenPipeError:  # the reader of stdout went away (`| head`): stop, quietly
        silence_stdout()
        return 1
    except (TrainingError, OSError) as error:  # OSError: the system refused to read or write
        return _fail(error, 1)
    except NetworkTooLarge as error:  # the model's parameters alone: the message names --arch
        return _fail(error, 1)
    except MemoryError as error:  # the system refused the memory: the command asked too much
        return _fail(f"out of memory: {error or 'the system refused to allocate an array'}; try a "
                     "smaller --batch-size or narrower --arch", 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception:  # noqa: BLE001 (on purpose: whatever is left is a bug in tinyae)
        traceback.print_exc(file=sys.stderr)
        return _fail(bug_line(), 1)


def _fail(error: BaseException | str, status: int) -> int:
    """Print ``tinyae: error: …`` on stderr and return ``status``."""
    print(f"tinyae: error: {error}", file=sys.stderr)
    return status
