"""Fake MNIST files and a loopback HTTP mirror that misbehaves on request, for the data tests.

No test touches the network: ``serve(fake)`` starts a server on 127.0.0.1, and
``server.url(mode)`` is a mirror URL whose files come back as ``mode`` says (see
:data:`MODES`).  A mode that stalls (slow, trickle, head-trickle, endless) stops when the server is
closed or after :data:`STALL_LIMIT` seconds, whichever comes first, so even a client that
never gives up cannot hang a test for longer than that.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tinyae.datasets import to_idx_bytes
from tinyae.datasets.mnist import FILES

STEMS = list(FILES.values())
STALL_LIMIT = 20.0  # seconds a stalling mode goes on at most
MODES = {
    "ok": "the file, with its Content-Length",
    "missing": "HTTP 404",
    "slow": "accepts the request and sends nothing",
    "corrupt": "another valid IDX file (wrong SHA-256)",
    "short": "the file, but a Content-Length 100 bytes longer (connection closed early)",
    "cut": "the first half of the gzip file, with a matching Content-Length",
    "html": "status 200 with an HTML error page",
    "loop": "a redirect to itself, forever",
    "trickle": "the headers, then one byte of the file every 20 ms",
    "head-trickle": "the status line, then its headers one byte every 20 ms",
    "endless": "zeros without a Content-Length, 64 kB every 20 ms, until the client hangs up",
    "huge": "a Content-Length of 10 GB",
}
HTML_PAGE = b"<html><body><h1>503 Service Unavailable</h1></body></html>"


def fake_arrays(seed: int) -> dict[str, np.ndarray]:
    """12 training and 6 test 'images' of random pixels, with random labels."""
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, size=12, dtype=np.uint8),
        "x_test": rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, size=6, dtype=np.uint8),
    }


def fake_mnist() -> dict:
    """Small MNIST-shaped files: arrays, gz bytes by file name, checksums, and a corrupt twin."""
    arrays, other = fake_arrays(0), fake_arrays(1)
    files, corrupt, checksums = {}, {}, {}
    for key, stem in FILES.items():
        raw = to_idx_bytes(arrays[key])
        checksums[stem] = hashlib.sha256(raw).hexdigest()
        files[f"{stem}.gz"] = gzip.compress(raw, mtime=0)
        corrupt[f"{stem}.gz"] = gzip.compress(to_idx_bytes(other[key]), mtime=0)
    return {"arrays": arrays, "files": files, "corrupt": corrupt, "checksums": checksums}


def write_fake_folder(folder: Path, fake: dict, gz: bool = True, stems=STEMS) -> Path:
    """Put the fake files ``stems`` into ``folder`` (gzipped, or not)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        data = fake["files"][f"{stem}.gz"]
        (folder / (f"{stem}.gz" if gz else stem)).write_bytes(data if gz else gzip.decompress(data))
    return folder


def refused_url() -> str:
    """A mirror URL where nothing listens."""
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves /<mode>/<file name> as :data:`MODES` describes."""

    def do_GET(self):
        server = self.server
        server.requests.append(self.path)
        mode, _, name = self.path.strip("/").partition("/")
        body = (server.fake["corrupt"] if mode == "corrupt" else server.fake["files"]).get(name)
        if mode not in MODES or mode == "missing" or body is None:
            self.send_error(404)
        elif mode == "slow":
            self._stall(lambda: None)
        elif mode == "head-trickle":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self._stall(lambda: self.wfile.write(b"X"))  # one never-ending header line
        elif mode == "loop":
            self._head(302, {"Location": self.path, "Content-Length": "0"})
        elif mode == "html":
            self._head(200, {"Content-Type": "text/html", "Content-Length": str(len(HTML_PAGE))})
            self.wfile.write(HTML_PAGE)
        elif mode == "huge":
            self._head(200, {"Content-Length": str(10**10)})
            self.wfile.write(body)
        elif mode == "endless":
            self._head(200, {})
            self._stall(lambda: self.wfile.write(bytes(1 << 16)))
        elif mode == "trickle":
            self._head(200, {"Content-Length": str(len(body))})
            sent = iter(body)
            self._stall(lambda: self.wfile.write(bytes([next(sent)])))
        else:
            body = body[: len(body) // 2] if mode == "cut" else body
            extra = 100 if mode == "short" else 0
            self._head(200, {"Content-Length": str(len(body) + extra)})
            self.wfile.write(body)

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def _stall(self, step) -> None:
        """Call ``step`` every 20 ms until the server closes or STALL_LIMIT passes."""
        end = time.monotonic() + STALL_LIMIT
        with contextlib.suppress(OSError, StopIteration):
            while time.monotonic() < end and not self.server.release.wait(0.02):
                step()
                self.wfile.flush()

    def log_message(self, *args):  # keep pytest output clean
        pass


@contextlib.contextmanager
def serve(fake: dict) -> Iterator[http.server.ThreadingHTTPServer]:
    """A loopback mirror serving ``fake``; ``server.url(mode)``, ``server.requests``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.fake, server.requests, server.release = fake, [], threading.Event()
    server.url = lambda mode: f"http://127.0.0.1:{server.server_address[1]}/{mode}/"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()  # stalling handlers end now
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        assert not thread.is_alive()
