"""Fetch one URL into memory, bounded in time and in size: the transport under ``load_mnist``.

urllib's ``timeout`` bounds each network operation (connecting, one read), not the whole
transfer: a server that trickles a byte every second never trips it and keeps a caller
waiting for hours.  So the transfer runs on a daemon thread and the caller stops waiting
at an absolute deadline (a :func:`time.monotonic` value).  The thread is told to stop and
ends at its next read; being a daemon, it can never keep the program from exiting.

A server can also send far more than any file we expect (an endless stream, a wrong URL
that serves a video): ``max_bytes`` ends the transfer as soon as it is passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .idx import DataError


class DeadlineError(TimeoutError):
    """The whole download took longer than its deadline (the message says how far it got)."""


class _Transfer(threading.Thread):
    """Reads ``url`` into ``chunks`` on its own thread; ``stop`` asks it to give up."""

    def __init__(self, url: str, timeout: float, max_bytes: int) -> None:
        super().__init__(daemon=True)
        self.url, self.timeout, self.max_bytes = url, timeout, max_bytes
        self.chunks: list[bytes] = []
        self.done = 0  # bytes received so far
        self.total = 0  # bytes announced by Content-Length, 0 if not announced
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            self._read()
        except BaseException as err:  # noqa: BLE001 (handed to the waiting thread, which raises it)
            self.error = err

    def _read(self) -> None:
        import urllib.request  # here, not at the top: only a download pays for its import time

        request = urllib.request.Request(self.url, headers={"User-Agent": "tinyae"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            length = response.headers.get("Content-Length") or ""
            self.total = int(length) if length.isdigit() else 0
            if self.total > self.max_bytes:
                raise DataError(f"the server announces {self.total:,} bytes, more than the "
                                f"{self.max_bytes:,} expected at most; this is not the file "
                                "we want")
            # read1 returns whatever one network read brings, so `stop` is seen promptly even
            # when the server trickles (read(n) would wait for all n bytes).
            while not self.stop.is_set() and (chunk := response.read1(1 << 16)):
                self.chunks.append(chunk)
                self.done += len(chunk)
                if self.done > self.max_bytes:
                    raise DataError(f"the server sent more than the {self.max_bytes:,} "
                                    "bytes expected at most; this is not the file we want")
        if self.total and self.done != self.total and not self.stop.is_set():
            raise DataError(f"connection closed after {self.done:,} of {self.total:,} bytes")


def fetch(
    url: str,
    *,
    timeout: float,
    until: float,
    max_bytes: int,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """Download ``url`` into memory and return its bytes.

    Parameters
    ----------
    url : what to fetch (http, https, or anything else urllib opens).
    timeout : seconds each network operation may wait for data.
    until : the :func:`time.monotonic` time by which the whole transfer must be done.
    max_bytes : refuse a response longer than this.
    progress : called about five times a second as ``progress(done, total)`` (bytes received,
        bytes announced or 0), from the calling thread.

    Raises :class:`DeadlineError` at ``until``, :class:`DataError` for a response that is too
    long or cut short, and whatever urllib raises (``OSError``, ``http.client.HTTPException``).
    """
    if time.monotonic() >= until:
        raise DeadlineError("no time left before the deadline to start it")
    transfer = _Transfer(url, timeout, max_bytes)
    transfer.start()
    try:
        # At least one round, even when a small file on a fast link has already arrived by
        # now: otherwise ``progress`` would never hear of it (and say nothing at all).
        finished = False
        while not finished and (left := until - time.monotonic()) > 0:
            transfer.join(min(left, 0.2))
            finished = not transfer.is_alive()
            if progress is not None:
                progress(transfer.done, transfer.total)
    finally:
        transfer.stop.set()  # a no-op if it finished; otherwise it ends at its next read
    if transfer.is_alive():
        of_total = f" of {transfer.total:,}" if transfer.total else ""
        raise DeadlineError(f"gave up at the deadline after receiving {transfer.done:,}{of_total} "
                            "bytes")
    if transfer.error is not None:
        raise transfer.error
    return b"".join(transfer.chunks)


def describe(err: BaseException, timeout: float) -> str:
    """A one-line reason for a failed download, e.g. 'HTTP 404 Not Found', 'Connection refused'."""
    import urllib.error

    if isinstance(err, urllib.error.HTTPError):
        # a redirect loop's message spans three lines; one failure, one line
        return " ".join(f"HTTP {err.code} {err.reason}".split())
    reason = err.reason if isinstance(err, urllib.error.URLError) else err
    if isinstance(reason, TimeoutError) and not isinstance(reason, DeadlineError):
        return f"timed out (no data for {timeout:g} s)"
    if isinstance(reason, OSError) and reason.strerror and not reason.filename:
        return reason.strerror  # "Connection refused", without "[Errno 111]"
    return " ".join(str(reason).split()) or type(reason).__name__
