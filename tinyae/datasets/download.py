"""Download checksummed files from mirrors into a folder, within one deadline, losing nothing.

The rules, whatever goes wrong:

* a file is used only after its check passes (``check`` parses and verifies it);
  one that fails is never used and never deleted — a user may have put it there — but
  renamed ``<name>.corrupt`` when a verified copy takes its place;
* a mirror that fails once (HTTP error, timeout, refused, cut short, too long, an error
  page, a wrong checksum) is not asked again; the reasons are kept for the final error;
* the whole download ends by one deadline, however slowly a mirror trickles its bytes;
* a folder that cannot be written is either an error (the caller asked for the files on
  disk) or, said once, a download kept in memory for this run.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tinyae.files import atomic_write

from .fetch import DeadlineError, describe, fetch
from .idx import GZIP_MAGIC, DataError

T = TypeVar("T")


class MirrorsFailed(DataError):
    """No mirror served a file intact; the message lists what each one said.

    ``reason``: the same facts on one line, e.g. "download failed: Connection refused".
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def say(verbose: bool, message: str) -> None:
    """Print ``tinyae: message`` on stderr if ``verbose``."""
    if verbose:
        print(f"tinyae: {message}", file=sys.stderr, flush=True)


@dataclass
class Mirrors:
    """The mirrors still worth asking, what the others said, and the time allowed.

    ``timeout`` bounds each network operation, ``deadline`` the whole download, which
    therefore ends at ``time.monotonic() == until``.
    """

    live: list[str]
    timeout: float
    deadline: float
    max_bytes: int
    until: float = field(init=False)
    failures: list[str] = field(default_factory=list)  # "url: reason", for the final error
    reasons: list[str] = field(default_factory=list)  # the reasons alone, for one line
    unsaid: list[str] = field(default_factory=list)  # printed only if a later mirror answers

    def __post_init__(self) -> None:
        self.until = time.monotonic() + self.deadline

    def get(self, name: str, check: Callable[[bytes, str], T], verbose: bool) -> tuple[bytes, T]:
        """(raw bytes, ``check(raw, url)``) from the first mirror that serves ``name`` intact."""
        from http.client import HTTPException  # lazy, like urllib in fetch

        for mirror in list(self.live):
            url = f"{mirror.rstrip('/')}/{name}"
            try:
                raw = self._fetch(url, verbose)
                return raw, check(raw, url)
            except (OSError, ValueError, HTTPException) as err:
                reason = describe(err, self.timeout)
                if isinstance(err, DeadlineError):
                    reason += (f"; the whole download may take {self.deadline:g} s "
                               "(set TINYAE_DOWNLOAD_DEADLINE=SECONDS to allow more)")
                self.failures.append(reason if reason.startswith(url) else f"{url}: {reason}")
                self.reasons.append(reason)
                self.unsaid.append(self.failures[-1])
                self.live.remove(mirror)
        said = "\n  ".join(self.failures) or "(no mirrors given)"
        reasons = "; ".join(dict.fromkeys(self.reasons)) or "no mirrors given"
        raise MirrorsFailed(f"could not download {name} from any mirror\n  {said}",
                            f"download failed: {reasons}")

    def _say_unsaid(self, verbose: bool) -> None:
        """A mirror answered: now say why the ones before it did not (else the error says it)."""
        while self.unsaid:
            say(verbose, self.unsaid.pop(0) + "; trying the next mirror")

    def _fetch(self, url: str, verbose: bool) -> bytes:
        """``fetch(url)``, drawing a one-line progress indicator on stderr if ``verbose``.

        Nothing is printed until bytes arrive, so a mirror that never answers (offline, a
        refused connection) adds no line of its own.
        """
        shown = False

        def show(done: int, total: int) -> None:
            nonlocal shown
            if done == 0:
                return
            if not shown:
                self._say_unsaid(verbose)
                shown = True
            of_total = f"/{total / 1e6:.1f}" if total else ""
            sys.stderr.write(f"\rtinyae: downloading {url} {done / 1e6:.1f}{of_total} MB")

        try:
            return fetch(url, timeout=self.timeout, until=self.until, max_bytes=self.max_bytes,
                         progress=show if verbose else None)
        finally:
            if shown:
                sys.stderr.write("\n")
                sys.stderr.flush()


def _cannot_store(why: str, must_store: bool, verbose: bool) -> None:
    """Raise (when the files on disk were the point), or say once that nothing is kept."""
    if must_store:
        raise DataError(f"{why}; choose a folder you can write to")
    say(verbose, f"not caching the download: {why}; it stays in memory for this run "
                 "(set TINYAE_CACHE_DIR to a writable folder to keep it)")


def _writable(folder: Path) -> str:
    """'' if files can be written to ``folder`` (created if need be), else why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return f"cannot create {folder} ({err.strerror or err})"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write to {folder} (permission denied)"
    return ""


def set_aside(path: Path) -> Path:
    """Rename ``path`` to ``<name>.corrupt`` or ``.corrupt-2``, …; return the new path."""
    aside, n = path.with_name(f"{path.name}.corrupt"), 1
    while os.path.lexists(aside):
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{n}")
    path.rename(aside)
    return aside


def _store(folder: Path, stem: str, raw: bytes, bad: Path | None, verbose: bool) -> None:
    """Write a verified download atomically as ``stem(.gz)``, setting aside the file it replaces."""
    if bad is not None:
        aside = set_aside(bad)
        say(verbose, f"{bad} failed its check: kept it as {aside.name} and stored a fresh copy")
    name = stem + ".gz" if raw.startswith(GZIP_MAGIC) else stem
    atomic_write(folder / name, lambda file: file.write(raw))


def obtain(
    stems: Mapping[str, str],
    folder: Path | None,
    found: Mapping[str, Path],
    read: Callable[[Path, str], T],
    check: Callable[..., T],
    mirrors: Mirrors,
    *,
    must_store: bool,
    verbose: bool,
) -> tuple[dict[str, T], bool]:
    """The files ``stems`` (by key): from ``found`` (in ``folder``) if they pass, else downloaded.

    ``read(path, key)`` and ``check(raw, url, key)`` turn a file into its verified content
    or raise DataError.  Each download ``<mirror><stem>.gz`` is stored in ``folder`` if it
    can be written (else ``must_store`` makes that a DataError; without it, it is said once).
    Returns (the contents by key, whether every download was stored).
    """
    store = folder
    if folder is not None and (why := _writable(folder)):
        _cannot_store(why, must_store, verbose)
        store = None
    contents = {}
    for key, stem in stems.items():
        path = found.get(key)
        if path is not None:
            try:
                contents[key] = read(path, key)
                continue
            except DataError:  # not trusted: replaced below, and set aside when stored
                pass
        raw, contents[key] = mirrors.get(f"{stem}.gz", functools.partial(check, key=key), verbose)
        if store is not None:
            try:
                _store(store, stem, raw, path, verbose)
            except OSError as err:
                why = f"cannot write to {store} ({err.strerror or err})"
                _cannot_store(why, must_store, verbose)
                store = None
    return contents, store is not None
