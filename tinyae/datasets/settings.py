"""What the environment says about finding data: the cache folder, offline mode, time limits.

``TINYAE_CACHE_DIR``, else ``$XDG_CACHE_HOME/tinyae``, else ``~/.cache/tinyae``: where
downloads are kept.  ``TINYAE_OFFLINE=1``: never download.  ``TINYAE_DOWNLOAD_DEADLINE``:
seconds a whole download may take.  (``TINYAE_DATA_DIR``, a folder of your own, is read
by :mod:`tinyae.datasets.mnist` where it looks for the files.)
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from .idx import DataError


def cache_root() -> Path:
    """The per-user folder for tinyae's downloads.

    A relative ``$XDG_CACHE_HOME`` is ignored, as its specification asks.  Raises
    :class:`DataError` when no folder follows: ``$HOME`` empty or relative (``~`` would
    then mean ``/`` or the current folder), or unset with no home in the user database.
    """
    if os.environ.get("TINYAE_CACHE_DIR"):
        root = Path(os.environ["TINYAE_CACHE_DIR"])
    elif Path(os.environ.get("XDG_CACHE_HOME", "")).is_absolute():
        root = Path(os.environ["XDG_CACHE_HOME"]) / "tinyae"
    else:
        root = Path("~/.cache/tinyae")
    home = os.environ.get("HOME")
    if home is not None and not Path(home).is_absolute() and str(root).startswith("~"):
        raise DataError(f"no cache folder: HOME={home!r} is not an absolute path; "
                        "to keep downloads, set HOME or TINYAE_CACHE_DIR=FOLDER")
    try:
        return root.expanduser()
    except RuntimeError:  # Path.expanduser: HOME unset and no home folder in the user database
        raise DataError("no cache folder: HOME is not set and the system knows no home folder "
                        "for this user; to keep downloads, set TINYAE_CACHE_DIR=FOLDER") from None


def offline() -> bool:
    """True when the environment variable ``TINYAE_OFFLINE`` is set to 1/true/yes/on."""
    return os.environ.get("TINYAE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def seconds(value: object, name: str) -> float:
    """``value`` as a positive, finite number of seconds, else a DataError naming ``name``."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not 0 < number < math.inf:
        raise DataError(f"{name}={value!r} is not a positive number of seconds; "
                        f"use e.g. {name}=120")
    return number


def download_deadline(given: float | None, default: float) -> float:
    """Seconds for a whole download: ``given``, else $TINYAE_DOWNLOAD_DEADLINE, else ``default``."""
    if given is not None:
        return seconds(given, "deadline")
    text = os.environ.get("TINYAE_DOWNLOAD_DEADLINE", "").strip()
    return seconds(text, "TINYAE_DOWNLOAD_DEADLINE") if text else default
