"""Data lookup under faults: what a machine or a mirror does wrong, and what tinyae must do.

Each row tries one fault for real — an unwritable cache, no home folder, a mirror that
trickles its bytes or serves an error page with status 200, a corrupt file in a folder —
through ``load_mnist``, ``download_mnist`` or the ``tinyae`` command line, and says:

* the outcome: ``"mnist-mini"`` (``auto`` fell back to the bundled subset), ``"mnist"``
  (full MNIST was used, e.g. downloaded into memory), ``"returned"`` (``download_mnist``
  finished), an exception type (exactly that type), or the command line's exit status;
* the words the error message — or, without an error, stderr — must contain;
* how many seconds it may take: nothing may hang, and a fallback must come quickly;
* optionally what must hold afterwards: no file lost, none written where it must not be.

The rules the rows check: ``auto`` never stops or hangs over data it cannot get — it
falls back and says why in one line per problem; a download ends by one deadline;
a cache that cannot be written means "keep the download in memory, say so once"; a
file that fails its check is never used and never deleted (in the cache it is renamed
``<name>.corrupt`` when a fresh copy replaces it; in your own folders it is left alone).

No row touches the network or the real home folder: mirrors are a loopback server
(``mirror.py``), and HOME, the cache, the data folders and the working folder all live
in tmp_path.  To add a case, add a ``Case`` row to ``CASES``.
"""

from __future__ import annotations

import errno
import os
import pwd
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import mirror
from tinyae.cli import main
from tinyae.datasets import DataError, MNISTUnavailableError, download_mnist, load_mnist
from tinyae.datasets import download as download_module
from tinyae.datasets import mnist as mnist_module

FAKE = mirror.fake_mnist()
BAD = "t10k-labels-idx1-ubyte.gz"  # the file the corrupt-folder rows spoil


@dataclass
class World:
    """One row's surroundings: temporary home, cache and working folder, a loopback mirror."""

    tmp: Path
    server: Any
    env: pytest.MonkeyPatch

    @property
    def cache(self) -> Path:
        return self.tmp / "cache" / "mnist"

    def urls(self, *modes: str) -> list[str]:
        return [self.server.url(mode) for mode in modes]

    def load(self, name: str, *modes: str, **kwargs: Any) -> Any:
        """``load_mnist(name)`` with the fake checksums, from mirrors behaving as ``modes``."""
        return load_mnist(name, mirrors=self.urls(*modes), checksums=FAKE["checksums"], **kwargs)

    def download(self, folder: Path, *modes: str) -> Path:
        return download_mnist(folder, mirrors=self.urls(*modes), checksums=FAKE["checksums"],
                              verbose=False)

    def set(self, **variables: str) -> World:
        for name, value in variables.items():
            self.env.setenv(name, value)
        return self

    def unset(self, *names: str) -> World:
        for name in names:
            self.env.delenv(name, raising=False)
        return self

    def fill(self, path: Path, stems: list[str] = mirror.STEMS, spoil: bytes | None = None,
             ) -> World:
        """Put the fake files ``stems`` into ``path``; with ``spoil``, BAD holds those bytes."""
        mirror.write_fake_folder(path, FAKE, stems=stems)
        if spoil is not None:
            (path / BAD).write_bytes(spoil)
        return self

    def put(self, path: Path) -> World:
        """A file of the user's at ``path``."""
        path.write_text("mine")
        return self

    def mkdir(self, path: Path) -> World:
        path.mkdir(parents=True)
        return self

    def patch(self, target: Any, name: str, value: Any) -> World:
        self.env.setattr(target, name, value)
        return self


@dataclass(frozen=True)
class Case:
    """One fault: ``attempt(world)`` must end as ``outcome``, saying every one of ``words``.

    ``what`` says what is tried, in ASCII: it is the test's id.  ``check(world, said)``,
    if given, asserts what must hold afterwards (``said``: the message, or stderr).
    """

    what: str
    attempt: Callable[[World], Any]
    outcome: str | int | type[BaseException]
    words: tuple[str, ...]
    within: float = 5.0
    check: Callable[[World, str], None] | None = None


# --- faults that take more than one line to set up -------------------------------------------

CORRUPT = FAKE["corrupt"][BAD]  # a valid IDX file, but not the one of that name
CUT = FAKE["files"][BAD][:-6]  # a gzip stream without its end
SPOILED = {"corrupt": CORRUPT, "cut": CUT}


def no_home(world: World) -> World:
    """No TINYAE_CACHE_DIR, no XDG_CACHE_HOME, no HOME, and no home in the user database."""

    def unknown_user(uid: int) -> Any:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    world.patch(pwd, "getpwuid", unknown_user)
    return world.unset("TINYAE_CACHE_DIR", "XDG_CACHE_HOME", "HOME")


def disk_full(world: World) -> World:
    """Every attempt to write the cache fails as on a full disk."""

    def write(path: Any, _: Any) -> Any:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    return world.patch(download_module, "atomic_write", write)


def cli(world: World, *args: str) -> int:
    """``tinyae train`` on 200 images for one epoch, the real mirrors replaced by loopback ones."""
    out = str(world.tmp / "out")
    return main(["train", *args, "--epochs", "1", "--limit", "200", "--out", out])


# --- what must hold afterwards -------------------------------------------------------------------


def said_once(words: str) -> Callable[[World, str], None]:
    def check(world: World, said: str) -> None:
        assert said.count(words) == 1

    return check


def nothing_cached(world: World, said: str) -> None:
    assert not world.cache.exists() or list(world.cache.iterdir()) == []


def untouched(folder: str, spoil: str) -> Callable[[World, str], None]:
    """The spoiled file in ``world.tmp / folder`` is still there, byte for byte, alone."""

    def check(world: World, said: str) -> None:
        path = world.tmp / folder / BAD
        assert path.read_bytes() == SPOILED[spoil]
        assert sorted(p.name for p in path.parent.iterdir()) == sorted(FAKE["files"])

    return check


def set_aside_and_replaced(world: World, said: str) -> None:
    assert (world.cache / f"{BAD}.corrupt").read_bytes() == CORRUPT  # kept, under a name never read
    assert (world.cache / BAD).read_bytes() == FAKE["files"][BAD]  # the verified copy


def kept_folder(world: World) -> None:
    assert (world.cache / BAD).is_dir()


def cached_under_home(world: World) -> None:
    assert not (world.tmp / "cwd" / "relative").exists()
    cache = world.tmp / "home/.cache/tinyae/mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(FAKE["files"])


def no_request(world: World, said: str) -> None:
    assert world.server.requests == []


def one_line_with(*words: str) -> Callable[[World, str], None]:
    def check(world: World, said: str) -> None:
        assert any(all(word in line for word in words) for line in said.splitlines())

    return check


CASES = [
    # --- downloads end by one deadline, however slowly a mirror sends
    Case("auto: the mirror trickles the file, a byte every 20 ms",
         lambda w: w.set(TINYAE_DOWNLOAD_DEADLINE="1").load("auto", "trickle"),
         "mnist-mini", ("gave up at the deadline after receiving", "of 9,",
                        "the whole download may take 1 s", "TINYAE_DOWNLOAD_DEADLINE=SECONDS"),
         within=4),
    Case("auto: the mirror trickles its headers and never finishes them",
         lambda w: w.load("auto", "head-trickle", deadline=1),
         "mnist-mini", ("gave up at the deadline after receiving 0 bytes",), within=4),
    Case("auto: two trickling mirrors share one deadline",
         lambda w: w.load("auto", "trickle", "trickle", deadline=1),
         "mnist-mini", ("gave up at the deadline", "no time left before the deadline"), within=4),
    Case("mnist: the mirror trickles the file",
         lambda w: w.set(TINYAE_DOWNLOAD_DEADLINE="1").load("mnist", "trickle"),
         MNISTUnavailableError, ("could not download train-images-idx3-ubyte.gz from any mirror",
                                 "gave up at the deadline", "To fix"), within=4),
    Case("auto: the mirror accepts the request and sends nothing",
         lambda w: w.load("auto", "slow", timeout=0.5),
         "mnist-mini", ("timed out (no data for 0.5 s)",), within=3),
    Case("TINYAE_DOWNLOAD_DEADLINE is not a number",
         lambda w: w.set(TINYAE_DOWNLOAD_DEADLINE="soon").load("auto", "ok"),
         DataError, ("TINYAE_DOWNLOAD_DEADLINE='soon' is not a positive number of seconds",
                     "TINYAE_DOWNLOAD_DEADLINE=120")),
    Case("deadline=0", lambda w: w.load("mnist", "ok", deadline=0),
         DataError, ("deadline=0 is not a positive number of seconds",)),
    Case("timeout=-1", lambda w: w.load("auto", "ok", timeout=-1),
         DataError, ("timeout=-1 is not a positive number of seconds",)),

    # --- a cache that cannot be written: download into memory, say so once
    Case("auto: a file stands where the cache folder should be",
         lambda w: w.put(w.tmp / "cache").load("auto", "ok"),
         "mnist", ("not caching the download: cannot create", "Not a directory",
                   "stays in memory for this run", "TINYAE_CACHE_DIR"),
         check=said_once("not caching")),
    Case("auto: the disk is full when the download is cached",
         lambda w: disk_full(w).load("auto", "ok"),
         "mnist", ("not caching the download", "No space left on device"),
         check=said_once("not caching")),
    Case("auto: a folder in the cache has the name of a file",
         lambda w: w.mkdir(w.cache / BAD).load("auto", "ok"),
         "mnist", ("not caching the download", "Is a directory"),
         check=lambda w, said: kept_folder(w)),
    Case("auto: HOME unset and no home folder in the user database",
         lambda w: no_home(w).load("auto", "ok"),
         "mnist", ("no cache folder: HOME is not set", "stays in memory for this run"),
         check=said_once("no cache folder")),
    Case("auto: HOME is empty (~ would mean /)",
         lambda w: w.unset("TINYAE_CACHE_DIR").set(HOME="").load("auto", "ok"),
         "mnist", ("HOME='' is not an absolute path", "stays in memory for this run")),
    Case("mnist offline: HOME unset and no home folder in the user database",
         lambda w: no_home(w).set(TINYAE_OFFLINE="1").load("mnist"),
         MNISTUnavailableError, ("cache: no cache folder: HOME is not set", "TINYAE_OFFLINE is set",
                                 "TINYAE_DATA_DIR")),
    Case("auto: XDG_CACHE_HOME is a relative path (the XDG rules say: ignore it)",
         lambda w: w.unset("TINYAE_CACHE_DIR").set(XDG_CACHE_HOME="relative").load("auto", "ok"),
         "mnist", (),
         check=lambda w, said: cached_under_home(w)),
    Case("download_mnist into a folder that cannot be created",
         lambda w: w.put(w.tmp / "file").download(w.tmp / "file" / "mnist", "ok"),
         DataError, ("cannot create", "Not a directory", "choose a folder you can write to"),
         check=no_request),

    # --- a file that fails its check: never used, never deleted
    Case("auto: the cache holds a corrupt file; a mirror has a good one",
         lambda w: w.fill(w.cache, spoil=CORRUPT).load("auto", "ok"),
         "mnist", (f"failed its check: kept it as {BAD}.corrupt and stored a fresh copy",),
         check=set_aside_and_replaced),
    Case("download_mnist into a folder holding a corrupt file",
         lambda w: w.fill(w.cache, spoil=CORRUPT).download(w.cache, "ok"),
         "returned", (), check=set_aside_and_replaced),
    Case("auto offline: the cache holds a corrupt file",
         lambda w: w.fill(w.cache, spoil=CORRUPT).set(TINYAE_OFFLINE="1").load("auto"),
         "mnist-mini", (f"{BAD}: SHA-256 of the decompressed data is",),
         check=untouched("cache/mnist", "corrupt")),
    Case("mnist offline: the cache holds a corrupt file",
         lambda w: w.fill(w.cache, spoil=CORRUPT).set(TINYAE_OFFLINE="1").load("mnist"),
         MNISTUnavailableError, (f"{BAD}: SHA-256 of the decompressed data is",
                                 "TINYAE_OFFLINE is set"),
         check=untouched("cache/mnist", "corrupt")),
    Case("auto offline: TINYAE_DATA_DIR holds a truncated gzip file",
         lambda w: w.fill(w.tmp / "mine", spoil=CUT).set(TINYAE_DATA_DIR=str(w.tmp / "mine"),
                                                         TINYAE_OFFLINE="1").load("auto"),
         "mnist-mini", ("TINYAE_DATA_DIR", "the gzip stream ends early"),
         check=untouched("mine", "cut")),
    Case("mnist: data_dir holds a corrupt file; a mirror has a good one",
         lambda w: w.fill(w.tmp / "mine", spoil=CORRUPT).load("mnist", "ok",
                                                              data_dir=w.tmp / "mine"),
         "mnist", ("full MNIST not in data folder", "SHA-256 of the decompressed data is"),
         check=untouched("mine", "corrupt")),
    Case("auto offline: TINYAE_DATA_DIR holds two of the four files",
         lambda w: w.fill(w.tmp / "mine", mirror.STEMS[:2]).set(TINYAE_DATA_DIR=str(w.tmp / "mine"),
                                                               TINYAE_OFFLINE="1").load("auto"),
         "mnist-mini", ("TINYAE_DATA_DIR",
                        "missing t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte")),
    Case("mnist offline: TINYAE_DATA_DIR holds two of the four files",
         lambda w: w.fill(w.tmp / "mine", mirror.STEMS[:2]).set(TINYAE_DATA_DIR=str(w.tmp / "mine"),
                                                               TINYAE_OFFLINE="1").load("mnist"),
         MNISTUnavailableError, ("mine: missing t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte",
                                 "set TINYAE_DATA_DIR=that_folder")),
    Case("auto offline: TINYAE_DATA_DIR names a file, not a folder",
         lambda w: w.put(w.tmp / "notes.txt").set(TINYAE_DATA_DIR=str(w.tmp / "notes.txt"),
                                                  TINYAE_OFFLINE="1").load("auto"),
         "mnist-mini", ("TINYAE_DATA_DIR", "notes.txt: not a folder")),

    # --- a mirror that serves something else: one line each, then the next mirror
    Case("auto: the mirror answers with an HTML error page and status 200",
         lambda w: w.load("auto", "html"),
         "mnist-mini", ("not an IDX or gzip file but text starting '<html><body><h1>503 Service",
                        "an error page?"), check=nothing_cached),
    Case("mnist: the mirror serves a truncated gzip file",
         lambda w: w.load("mnist", "cut"),
         MNISTUnavailableError, ("the gzip stream ends early",), check=nothing_cached),
    Case("mnist: the mirror serves a file with the wrong checksum",
         lambda w: w.load("mnist", "corrupt"),
         MNISTUnavailableError, ("SHA-256 of the decompressed data is",), check=nothing_cached),
    Case("auto: the mirror redirects to itself forever",
         lambda w: w.load("auto", "loop"),
         "mnist-mini", ("HTTP 302",),
         check=one_line_with("HTTP 302", "infinite loop", "The last 30x error message was: Found")),
    Case("auto: the mirror sends an endless stream",
         lambda w: w.patch(mnist_module, "MAX_FILE_BYTES", 10**6).load("auto", "endless"),
         "mnist-mini", ("the server sent more than the 1,000,000 bytes expected at most",)),
    Case("auto: the mirror announces a 10 GB file",
         lambda w: w.load("auto", "huge"),
         "mnist-mini", ("the server announces 10,000,000,000 bytes, more than the 50,000,000",)),
    Case("auto: the mirror closes the connection early",
         lambda w: w.load("auto", "short"),
         "mnist-mini", ("connection closed after",), check=nothing_cached),

    # --- the command line
    Case("tinyae train --dataset mnist without data (offline)",
         lambda w: cli(w.set(TINYAE_OFFLINE="1"), "--dataset", "mnist"),
         1, ("full MNIST not found", "--data-dir FOLDER", "--dataset mnist-mini")),
    Case("tinyae train --dataset auto, the mirror trickles",
         lambda w: cli(w.patch(mnist_module, "MIRRORS", tuple(w.urls("trickle")))
                       .set(TINYAE_DOWNLOAD_DEADLINE="1"), "--dataset", "auto"),
         0, ("gave up at the deadline", "using the bundled subset 'mnist-mini'"), within=60),
    Case("tinyae train --dataset auto, the cache cannot be created, the mirror has no files",
         lambda w: cli(w.put(w.tmp / "cache").patch(mnist_module, "MIRRORS", tuple(w.urls("missing"))),
                       "--dataset", "auto"),
         0, ("not caching the download", "HTTP 404", "using the bundled subset 'mnist-mini'"), within=60),
]


@pytest.fixture
def world(tmp_path, monkeypatch):
    """HOME, the cache and the working folder in tmp_path; online, but only to loopback mirrors."""
    for name in ("TINYAE_DATA_DIR", "TINYAE_OFFLINE", "XDG_CACHE_HOME", "TINYAE_DOWNLOAD_DEADLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TINYAE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    with mirror.serve(FAKE) as server:
        # whatever a row forgets to name, the real mirrors are never asked
        monkeypatch.setattr(mnist_module, "MIRRORS", (mirror.refused_url(),))
        yield World(tmp_path, server, monkeypatch)


@pytest.mark.parametrize("case", CASES, ids=[case.what for case in CASES])
def test_a_data_fault_ends_as_the_table_says(case, world, capsys):
    start = time.monotonic()
    if isinstance(case.outcome, type):
        with pytest.raises(case.outcome) as info:
            case.attempt(world)
        assert type(info.value) is case.outcome
        said = str(info.value)
    else:
        result = case.attempt(world)
        said = capsys.readouterr().err
        if isinstance(case.outcome, int):
            assert result == case.outcome
            assert "Traceback" not in said
        elif case.outcome != "returned":
            assert result.name == case.outcome
    seconds = time.monotonic() - start
    for word in case.words:
        assert word in said
    assert seconds < case.within, f"took {seconds:.1f} s"
    if case.check is not None:
        assert case.check(world, said) is None  # a check asserts; a returned bool would be ignored


def test_the_table_is_long_enough_and_names_each_case_once():
    assert len(CASES) >= 12
    assert len({case.what for case in CASES}) == len(CASES)
