"""Write files safely: atomically, keeping what the user set on them, and one writer at a time.

``atomic_write``: readers see the old file or the whole new one, never half of it.  The
bytes go to a temporary file in the target's folder (same file system, so the final
rename cannot turn into a copy), are flushed and fsync'ed to disk, and only then does
``os.replace`` point the name at them — one atomic step on POSIX and Windows.  If
anything fails on the way, the temporary file is removed and the target is untouched.

A rename replaces the *name*, so it would drop what the user set on the old file.
Hence: a symbolic link is followed (the file it points to is replaced, the link stays),
the old file's permission bits are copied onto the new one, and a file the user may
not write is refused, as ``open(path, "wb")`` would refuse it.  A process killed
mid-write (SIGKILL, a power cut) cannot remove its temporary file; the temporary name
carries the writer's process id, so the next write to the same target removes it once
that process is gone.

An error names the file the user asked for, never the temporary one: a link whose target
folder is missing, a file standing where a folder must be (``make_parent``), and the
errors a write raises without any name (``[Errno 27] File too large`` under ``ulimit -f``,
a full disk) get the path and what to do.

``hold_lock``: a lock file, created with ``O_EXCL`` and holding the process id, keeps a
second writer out of a folder while the first works; a lock whose process is gone is
taken over.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(f)`` on a temporary binary file, then move it onto ``path``; return ``path``.

    A new file is created with mode 0o666, so the process's umask gives it the
    permissions of any ordinary new file (0o644 under the usual umask 022); a replaced
    file keeps its own.  ``O_EXCL`` refuses to open a file that already exists, so two
    writers never share a temporary file.
    """
    path = Path(path)
    target = Path(os.path.realpath(path))  # through any symbolic links: the link itself stays
    _check_folder(path, target)
    mode = _mode_to_keep(target)
    _remove_stale_temporaries(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # O_BINARY exists on Windows only, where without it every b"\n" would be written as b"\r\n".
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the name points at them
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        if error.errno is None or error.filename is not None:
            raise
        raise _named(error, path) from None  # a write's error names no file: name the target
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# What to do about the errors a write raises without naming any file.
WRITE_HINTS = {
    errno.EFBIG: "the file-size limit of this shell (ulimit -f) is smaller than the file: raise "
                 "it (ulimit -f unlimited) or write on a file system that allows it",
    errno.ENOSPC: "the disk is full: free some space or write elsewhere",
}


def _named(error: OSError, path: Path) -> OSError:
    """``error``, of the same type, naming ``path`` and saying what to do."""
    hint = WRITE_HINTS.get(error.errno or 0, "")
    what = f"{error.strerror} while writing the file" + (f" ({hint})" if hint else "")
    return type(error)(error.errno, f"{what}; the file already there, if any, is unchanged",
                       str(path))


def _check_folder(path: Path, target: Path) -> None:
    """Raise a clear ``OSError`` naming ``path`` unless the folder that will hold it exists.

    Without this, ``os.open`` of the temporary file would fail and name that file, which
    the user never chose.  ``target`` is ``path`` with every symbolic link resolved.
    """
    if target.parent.is_dir():
        return
    if path.is_symlink():
        raise FileNotFoundError(errno.ENOENT, f"it is a symbolic link to {target}, whose folder "
                                f"{target.parent} does not exist, so nothing can be written "
                                f"there: create that folder, or remove the link to write a "
                                f"file in its place", str(path))
    _refuse_file_in_the_way(target, path)
    raise FileNotFoundError(errno.ENOENT, f"its folder {target.parent} does not exist: create it "
                            f"first, or write elsewhere", str(path))


def make_parent(path: str | os.PathLike) -> None:
    """Create the folder that will hold ``path`` (and its parents); a file in the way is named.

    ``Path.mkdir`` would say only "File exists", naming the file but not why it matters.
    """
    _refuse_file_in_the_way(Path(path), Path(path))
    Path(path).parent.mkdir(parents=True, exist_ok=True)


def _refuse_file_in_the_way(target: Path, path: Path) -> None:
    """Raise ``NotADirectoryError`` if the nearest existing folder above ``target`` is a file."""
    for folder in target.parents:
        if folder.exists():
            if not folder.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, f"{folder} is a file, not a folder, so "
                                         f"{path.name} cannot be written inside it: choose another "
                                         f"path", str(path))
            return


def _mode_to_keep(target: Path) -> int | None:
    """The permission bits of the file that ``target`` names, or None if there is none yet.

    Raises PermissionError if the user may not write that file, as ``open`` would.
    """
    try:
        status = target.stat()
    except FileNotFoundError:
        return None
    if not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, "the file is read-only, so it was not replaced; make "
                                            "it writable or write elsewhere", str(target))
    return stat.S_IMODE(status.st_mode)


def _remove_stale_temporaries(target: Path) -> None:
    """Remove the temporary files of ``target`` left by writers that no longer run."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(\d+)\.[0-9a-f]+\.tmp")
    with contextlib.suppress(OSError):  # an unreadable folder: the write itself will say so
        for entry in target.parent.iterdir():
            match = pattern.fullmatch(entry.name)
            if match and int(match[1]) != os.getpid() and not pid_alive(int(match[1])):
                entry.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine; True when that cannot be told.

    ``os.kill(pid, 0)`` sends no signal, only checks.  On Windows signal 0 would be a
    Ctrl-C, so there every process counts as alive.
    """
    if os.name == "nt" or pid <= 0:  # pid 0 and negative pids name process groups
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


class LockHeldError(OSError):
    """Another live process holds the lock file; the message names it and what to do."""


@contextlib.contextmanager
def hold_lock(lock: str | os.PathLike, what: str) -> Iterator[Path]:
    """Hold the lock file ``lock`` for the block, then remove it.

    The lock is created with ``O_EXCL`` (it fails if the file exists, atomically) and
    holds ``pid host``.  An existing lock whose process no longer runs on this host
    (killed, crashed) is taken over; one held by a live process, by another host, or
    not yet filled in raises ``LockHeldError``, which names ``what`` is held.
    """
    lock = Path(lock)
    me = f"{os.getpid()} {socket.gethostname()}"
    for attempt in range(2):  # the second after removing a dead process's lock
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            owner = _owner(lock)
            if attempt or owner is None or owner[1] != socket.gethostname() or pid_alive(owner[0]):
                raise LockHeldError(_held_message(lock, what, owner)) from None
            lock.unlink(missing_ok=True)
    with os.fdopen(fd, "w") as file:
        file.write(me + "\n")
    try:
        yield lock
    finally:
        if _owner(lock) == (os.getpid(), socket.gethostname()):  # never remove a lock taken over
            lock.unlink(missing_ok=True)


def _owner(lock: Path) -> tuple[int, str] | None:
    """``(pid, host)`` written in ``lock``, or None if it cannot be read (yet)."""
    try:
        pid, host = lock.read_text().split()
        return int(pid), host
    except (OSError, ValueError):
        return None


def _held_message(lock: Path, what: str, owner: tuple[int, str] | None) -> str:
    """Who holds ``lock``, why a second writer must wait, and how to clear a lock left behind."""
    holder = f"process {owner[0]} on {owner[1]}" if owner else "another process"
    return (f"{what} is in use by {holder} (its lock file {lock} exists): two writers would mix "
            f"their files; wait until it finishes or write elsewhere (if no process uses it, "
            f"delete {lock})")
