"""The ``tinyae`` command's BLAS threads: one by default, the user's variables and --threads win.

BLAS reads its thread count when NumPy is imported, so each check runs a fresh Python
whose environment the test controls, and reads ``os.environ`` there after the restart.
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinyae.__main__ import DEFAULT_THREADS, THREAD_VARIABLES, wanted_threads
from tinyae.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]
# What the command's entry point does first, then the variables BLAS will read.
CHILD = ("import json, os, sys; "
         "from tinyae.__main__ import restart_with_threads, THREAD_VARIABLES; "
         "restart_with_threads(sys.argv[1:]); "
         "print(json.dumps({name: os.environ.get(name) for name in THREAD_VARIABLES}))")
posix_only = pytest.mark.skipif(os.name != "posix", reason="the command restarts only on POSIX")


def child_threads(*args: str, **variables: str) -> dict[str, str | None]:
    """The thread variables in a fresh ``tinyae`` start-up with only ``variables`` set."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    env.update(variables, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@posix_only
def test_without_any_variable_the_command_uses_the_default():
    assert child_threads("train") == dict.fromkeys(THREAD_VARIABLES, str(DEFAULT_THREADS))


@posix_only
@pytest.mark.parametrize("name", THREAD_VARIABLES)
def test_the_users_variable_wins_over_the_default(name):
    seen = child_threads("train", **{name: "3"})
    assert seen == {other: "3" if other == name else None for other in THREAD_VARIABLES}


@posix_only
def test_the_flag_wins_over_the_users_variable():
    seen = child_threads("train", "--threads", "2", OPENBLAS_NUM_THREADS="4")
    assert seen == dict.fromkeys(THREAD_VARIABLES, "2")


def test_importing_tinyae_never_changes_the_threads():
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    code = ("import os, tinyae, tinyae.cli, tinyae.__main__ as entry; "
            "print([os.environ.get(name) for name in entry.THREAD_VARIABLES])")
    result = subprocess.run([sys.executable, "-c", code],
                            env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([None] * len(THREAD_VARIABLES))


@pytest.mark.parametrize(
    "argv, environ, expected",
    [
        (["train"], {}, DEFAULT_THREADS),
        (["train"], {"MKL_NUM_THREADS": "8"}, None),  # the user chose: left alone
        (["train"], {"OMP_NUM_THREADS": ""}, DEFAULT_THREADS),  # set but empty is not a choice
        (["--threads", "3", "train"], {"OPENBLAS_NUM_THREADS": "1"}, 3),
        (["train", "--threads=4", "--epochs", "2"], {}, 4),
        (["train", "--threads", "zero"], {}, DEFAULT_THREADS),  # the full parser reports it
    ],
)
def test_wanted_threads(argv, environ, expected):
    assert wanted_threads(argv, environ) == expected


def test_the_parser_accepts_threads_before_or_after_the_command_and_checks_it(capsys):
    assert build_parser().parse_args(["--threads", "2", "train"]).threads == 2
    assert build_parser().parse_args(["train", "--threads", "2"]).threads == 2
    assert main(["doctor", "--threads", "0"]) == 2
    assert "--threads: must be an integer ≥ 1, got '0'" in capsys.readouterr().err


def test_the_console_script_starts_in_the_module_that_sets_the_threads():
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    script = setup["options.entry_points"]["console_scripts"].split()
    assert script == ["tinyae", "=", "tinyae.__main__:main"]
