"""The output folder of a run: checked, created and held before any work starts.

``tinyae train`` trains for minutes, then writes.  What would stop the writing is found
first: ``--out`` naming a file (a usage error, exit 2), a folder that cannot be created
or written (a failed run, exit 1), and another run writing into the same folder (exit
1): two runs into one folder would mix their files, a model from one and figures from
the other.  The lock file is removed when the run ends, however it ends; one left by
a killed run is taken over.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from tinyae.cli.errors import UsageError
from tinyae.files import LockHeldError, hold_lock

LOCK_NAME = ".tinyae.lock"


def check_out_name(out: str, flag: str = "--out") -> None:
    """Raise ``UsageError`` for an empty ``out`` (or one of spaces only).

    ``Path("")`` is the current folder: the run's files would land among the user's own,
    which is never what an empty value (a shell variable left unset) meant.
    """
    if not out.strip():
        raise UsageError(f"{flag} {out!r} is empty: name the folder to write into, e.g. "
                         f"{flag} tinyae-run (or {flag} . for the current folder)")


@contextlib.contextmanager
def output_folder(out: str, flag: str = "--out") -> Iterator[Path]:
    """Yield the folder ``out`` (created if needed), held by this run alone until the block ends.

    Raises ``UsageError`` if ``out`` is a file, ``LockHeldError`` if another run holds
    the folder, and ``OSError`` if it cannot be created or written.
    """
    check_out_name(out, flag)
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{flag} {out} is a file, not a folder: name a folder (it is created "
                         f"if needed); the file is left alone")
    with contextlib.ExitStack() as stack:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            stack.enter_context(hold_lock(folder / LOCK_NAME, f"{flag} {out}"))
        except LockHeldError:
            raise
        except OSError as error:  # the lock is the first file written: the folder's write test
            raise OSError(f"{flag} {out}: cannot write there ({error.strerror}); choose another "
                          f"{flag}, or make it writable") from None
        yield folder


def note_backend() -> None:
    """Load matplotlib now: an unknown $MPLBACKEND falls back to "Agg", said on stderr before
    the run starts, not as a failure after its training (see ``tinyae.plot.base.check_backend``)."""
    from tinyae.plot.base import check_backend  # matplotlib loads only for commands that draw

    note = check_backend()
    if note:
        print(f"tinyae: {note}", file=sys.stderr)


def silence_stdout() -> None:
    """Send standard output to the null device: its reader has gone (``| head`` quit).

    Later prints, and Python's last flush at exit, then go nowhere quietly instead of
    raising ``BrokenPipeError`` again.  A real file descriptor is pointed there (so the
    interpreter's own flush at exit is quiet too); a stream without one is replaced.
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        sys.stdout = open(os.devnull, "w")  # kept open: it lives as long as the process
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
