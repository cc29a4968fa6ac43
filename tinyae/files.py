"""Write a file atomically: readers see the old file or the whole new one, never half of it.

The bytes go to a temporary file in the target's folder (same file system, so the
final rename cannot turn into a copy), are flushed and fsync'ed to disk, and only then
does ``os.replace`` point the name at them — one atomic step on POSIX and Windows.  If
anything fails on the way, the temporary file is removed and the target is untouched.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(f)`` on a temporary binary file, then move it onto ``path``; return ``path``.

    The temporary file is created with mode 0o666, so the process's umask gives it the
    permissions of any ordinary new file (0o644 under the usual umask 022).  ``O_EXCL``
    refuses to open a file that already exists, so two writers never share a temporary file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # O_BINARY exists on Windows only, where without it every b"\n" would be written as b"\r\n".
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
