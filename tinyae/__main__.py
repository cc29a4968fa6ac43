"""The ``tinyae`` command (``tinyae …`` or ``python -m tinyae …``): BLAS threads, then the CLI.

NumPy's matrix products run in a BLAS library (OpenBLAS, MKL or Accelerate), which reads
how many threads to use once, when NumPy is imported.  By the time this code runs,
``import tinyae`` has already imported NumPy, so to change the count the command
restarts itself once (``os.execv``: the same process, the same command line) with the
variables set.  The count is ``--threads N`` if given; else whatever the user set in
one of ``THREAD_VARIABLES``; else ``DEFAULT_THREADS``.  tinyae's own elementwise
loops over θ follow the same count (``tinyae.slices``).

One thread by default: on a machine whose cores are busy with other programs, BLAS
threads wait for each other and an epoch can take several times longer (README,
Quickstart, has the measurements).  Only the command does this; ``import tinyae`` in
your own program never changes NumPy's threads.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from tinyae.slices import THREAD_VARIABLES

DEFAULT_THREADS = 1


def wanted_threads(argv: Sequence[str], environ: Mapping[str, str]) -> int | None:
    """The BLAS threads for the command line ``argv``; None: leave the user's variables alone.

    Only ``--threads N`` is read here (a bad value is left to the full parser to report).
    """
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--threads")
    given = peek.parse_known_args(argv)[0].threads
    if given is not None and given.isdigit() and int(given) >= 1:
        return int(given)
    if any(environ.get(name) for name in THREAD_VARIABLES):
        return None
    return DEFAULT_THREADS


def restart_with_threads(argv: Sequence[str]) -> None:
    """Run this command again with the thread variables set, unless they already are.

    Replaces the process (POSIX ``execv``: same process id, same terminal).  On Windows,
    where exec starts a new process and returns to the prompt at once, nothing happens:
    set OPENBLAS_NUM_THREADS yourself there.
    """
    threads = wanted_threads(argv, os.environ)
    if threads is None or os.name != "posix" or not sys.executable:
        return
    wanted = {name: str(threads) for name in THREAD_VARIABLES}
    if all(os.environ.get(name) == value for name, value in wanted.items()):
        return  # already so: this is the restarted command, or the user's own setting
    os.environ.update(wanted)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None when the command runs with the stream closed (>&-)
            stream.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def main() -> int:
    """The entry point of the ``tinyae`` command; returns its exit status."""
    restart_with_threads(sys.argv[1:])
    # imported after the restart, so that the first process does not load the CLI for nothing
    from tinyae.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
