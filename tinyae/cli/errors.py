"""How the command line tells a mistake in the command from a failed run and from a bug.

Three kinds of failure, three exit statuses:

* **usage** (status 2): the command asked for something tinyae refuses — argparse's own
  errors, and a :class:`UsageError` raised where the CLI turns what the user typed into
  objects (:func:`user_values`) or opens a file the user named;
* **a failed run** (status 1): the loss became NaN, the data is not there, an output
  could not be written — the command was fine, the run was not;
* **a bug** (status 1, with the traceback): anything else.  A ValueError raised deep
  inside training is not the user's fault, so it must not look like a bad flag.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import tinyae


class UsageError(Exception):
    """The command line asked for something tinyae refuses; the message says what and how to fix it."""


class NetworkTooLarge(MemoryError):
    """The network the flags describe needs more memory than the system gave; the message says
    which flag, how many parameters and how many GB."""


@contextlib.contextmanager
def user_values() -> Iterator[None]:
    """Report a ValueError raised in this block as a :class:`UsageError`.

    Wrap only code that turns flags or user-named files into objects (the model, loss,
    optimizer, a saved model): there the package's ValueError means "this value is
    refused".  Anywhere else a ValueError is a bug and must keep its traceback.
    """
    try:
        yield
    except ValueError as error:
        raise UsageError(str(error)) from error


def check_folder(path: str | None, flag: str) -> None:
    """Raise :class:`UsageError` if the user named a folder (``flag PATH``) that is not one."""
    if path is not None and not Path(path).expanduser().is_dir():
        raise UsageError(f"{flag} {path}: no such folder")


def bug_line() -> str:
    """The line printed under a bug's traceback: what happened, with which versions, and what to do."""
    return (f"this is a bug in tinyae {tinyae.__version__} (Python {platform.python_version()}, "
            f"NumPy {np.__version__}), not a mistake in your command: please report it with the "
            "command you ran and the traceback above to the tinyae issue tracker")
