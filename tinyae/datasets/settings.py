"""What the environment says about finding data: time limits.

``TINYAE_DOWNLOAD_DEADLINE``: seconds a whole download may take.
"""

from __future__ import annotations

import math
import os

from .idx import DataError


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
