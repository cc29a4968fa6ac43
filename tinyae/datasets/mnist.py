"""Load MNIST: the full set from disk, the cache or a mirror, or the subset bundled with tinyae.

Names: ``"mnist"`` is the full database (60,000 training / 10,000 test images);
``"mnist-mini"`` is 10,000 / 2,000 real MNIST images shipped in ``data/`` (see
``data/PROVENANCE.md``), so everything works offline; ``"auto"`` is full MNIST if it is
on disk or downloads quickly, else mnist-mini, and always says which (stderr, ``.name``).

Full MNIST is looked for in: 1. the ``data_dir`` argument, 2. ``$TINYAE_DATA_DIR``,
3. the cache ``$TINYAE_CACHE_DIR/mnist``, else ``$XDG_CACHE_HOME/tinyae/mnist``, else
``~/.cache/tinyae/mnist``; 4. it is downloaded from :data:`MIRRORS` into that cache,
unless ``TINYAE_OFFLINE=1`` is set or ``download=False`` (tests and CI never touch the
network).  A folder may hold the files gzipped (``train-images-idx3-ubyte.gz``) or not.

Every file is checked against the SHA-256 of its decompressed bytes before use; one that
fails is never used and never deleted (only reported in your own folders).  How downloads
stay safe — atomic writes, one deadline (``TINYAE_DOWNLOAD_DEADLINE``), a cache that cannot
be written — is the docstring of ``download.py``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyae.registry import lookup

from .download import Mirrors, MirrorsFailed, obtain
from .download import say as _say
from .idx import GZIP_MAGIC, DataError, decompress, parse_idx
from .settings import cache_root, download_deadline, offline, seconds

# The four standard files, by the name of the array they become.
FILES: dict[str, str] = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

# SHA-256 of the *decompressed* files, identical to the canonical MNIST files.  Hashing
# the decompressed bytes makes the check independent of how a mirror happened to gzip them.
SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# SHA-256 of the decompressed bundled subset files, as printed by tools/make_mnist_mini.py
# (and listed in data/PROVENANCE.md).
MINI_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "f2e00b9671eabba07bd118dccd27e110521665bcdbb3c9eac42434b9d947b56f",
    "train-labels-idx1-ubyte": "f69ea77c844911e29e6762da312758cf37cb9ced3ab86757d0f5f9c22901eea6",
    "t10k-images-idx3-ubyte": "18ee7d53809ce46338dc04b633f2c6ee1ae09c61fd7bd485a97f2a3e02c176b2",
    "t10k-labels-idx1-ubyte": "c43ceac1f0dc19b70f40dc038cad808c49cd558b972d32c9a945938d6793ea90",
}

# Public copies of the original files, tried in this order.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

NAMES = ("auto", "mnist", "mnist-mini")
DTYPES = ("float32", "float64", "uint8")
AUTO_TIMEOUT = 5.0  # seconds per network operation when name="auto" ...
AUTO_MIRRORS = 2  # ... how many mirrors it tries ...
AUTO_DEADLINE = 60.0  # ... and seconds for the whole download, so the fallback comes quickly
DEADLINE = 300.0  # seconds for the whole download otherwise: 11 MB at 40 kB/s
MAX_FILE_BYTES = 50_000_000  # the largest file, train-images uncompressed, is 47,040,016 bytes
BUNDLED_DIR = Path(__file__).parent / "data"

REMEDY = (
    "To fix: download the four files "
    + ", ".join(f"{stem}.gz" for stem in FILES.values())
    + f" by hand (e.g. from {MIRRORS[0]}) into a folder, then pass "
    "load_mnist('mnist', data_dir=that_folder) or set TINYAE_DATA_DIR=that_folder; "
    "or use load_mnist('mnist-mini'), the subset bundled with tinyae (no download needed)."
)


# How a Python user gets full MNIST, ending the one line that says the subset was used;
# the command line passes its own words (``load_mnist(hint=...)``).
HINT = ("data_dir=FOLDER, a folder with the four MNIST .gz files "
        "(load_mnist('mnist') says where to get them)")


class MNISTUnavailableError(DataError):
    """Full MNIST is not on disk and could not be downloaded (offline, or every mirror failed).

    ``reason``: the facts on one line, for a caller to word in its own terms, e.g. "no data
    folder, no $TINYAE_DATA_DIR, cache …: no such folder; download failed: …".
    """

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, repr=False)
class MNIST:
    """The result of :func:`load_mnist`.

    Attributes
    ----------
    x_train : (N, 784) images, one flattened 28×28 image per row; float in [0, 1]
        by default, raw pixels 0..255 with ``dtype="uint8"``, {0, 1} with ``binarize``.
    y_train : (N,) uint8 digit labels 0..9.
    x_test, y_test : the test split, same layout (M, 784) and (M,).
    name : ``"mnist"`` or ``"mnist-mini"`` — which data you actually got.
    source : the folder it was read from, marked "(downloaded)" if fetched just now, or
        "(downloaded, not cached)" when the cache could not be written.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    source: str

    def __repr__(self) -> str:
        x, x_test = self.x_train, self.x_test  # shapes, not thousands of numbers
        return (f"MNIST(name={self.name!r}, x_train={x.shape} {x.dtype}, "
                f"x_test={x_test.shape} {x_test.dtype}, source={self.source!r})")


def mnist_cache_dir() -> Path:
    """The per-user folder that downloads go to (see the module docstring for the order).

    Raises :class:`DataError` if the environment gives none (see :func:`.settings.cache_root`).
    """
    return cache_root() / "mnist"


def _find_files(folder: Path) -> dict[str, Path]:
    """The standard files present in ``folder`` (gzipped name preferred), by array name."""
    found: dict[str, Path] = {}
    if not folder.is_dir() or not os.access(folder, os.R_OK | os.X_OK):
        return found  # no folder, or one we may not open: nothing there we can use
    for key, stem in FILES.items():
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.is_file():
                found[key] = candidate
                break
    return found


def _verified(raw: bytes, name: str, key: str, checksums: Mapping[str, str]) -> np.ndarray:
    """The array ``key`` from the bytes of its file (gzipped or not) ``name``, after checking
    the SHA-256 of the decompressed data: (N, 28, 28) images or (N,) labels."""
    expected_sha256 = checksums[FILES[key]]
    if not raw.startswith((GZIP_MAGIC, b"\0\0")):  # an IDX file starts with two zero bytes
        start = " ".join(raw[:40].decode("utf-8", "replace").split())
        raise DataError(f"{name}: not an IDX or gzip file but text starting {start!r} "
                        "(an error page?)")
    data = decompress(raw, name)
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise DataError(
            f"{name}: SHA-256 of the decompressed data is {digest}, expected {expected_sha256}; "
            "the file is corrupt or is not the file of that name"
        )
    return parse_idx(data, name, ndim=3 if key.startswith("x") else 1)


def _read_verified(path: Path, key: str, checksums: Mapping[str, str]) -> np.ndarray:
    """The array ``key`` read from ``path`` and verified (see :func:`_verified`)."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read the file ({err.strerror or err})") from None
    return _verified(raw, str(path), key, checksums)


def _check_splits(arrays: Mapping[str, np.ndarray], where: str) -> None:
    """Each split has one uint8 label per uint8 image."""
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) != len(y) or x.dtype != np.uint8 or y.dtype != np.uint8:
            raise DataError(
                f"{where}: the {split} files do not match: {len(x)} {x.dtype} images vs "
                f"{len(y)} {y.dtype} labels (both must be uint8, one label per image)"
            )


class _NotThere(DataError):
    """The folder, or some of its four files, does not exist (as opposed to a bad file)."""


def _load_folder(folder: Path, checksums: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Read and verify the four files in ``folder``: x (N, 28, 28) and y (N,) per split."""
    if not folder.is_dir():
        raise _NotThere(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise DataError(f"{folder}: cannot open the folder (permission denied)")
    paths = _find_files(folder)
    missing = [FILES[key] for key in FILES if key not in paths]
    if missing:
        raise _NotThere(f"{folder}: missing {', '.join(missing)}")
    arrays = {key: _read_verified(path, key, checksums) for key, path in paths.items()}
    _check_splits(arrays, str(folder))
    return arrays


def _obtain(folder: Path | None, mirrors: Mirrors, checksums: Mapping[str, str], *,
            must_store: bool, verbose: bool) -> tuple[dict[str, np.ndarray], bool]:
    """Full MNIST: the files in ``folder`` that pass their check, the others downloaded (see
    :func:`.download.obtain`); returns (the arrays, whether every download was stored)."""
    arrays, stored = obtain(
        FILES, folder, _find_files(folder) if folder is not None else {},
        read=functools.partial(_read_verified, checksums=checksums),
        check=functools.partial(_verified, checksums=checksums),
        mirrors=mirrors, must_store=must_store, verbose=verbose)
    _check_splits(arrays, str(folder) if folder is not None else "the download")
    return arrays, stored


def download_mnist(
    folder: str | os.PathLike | None = None,
    *,
    mirrors: Sequence[str] = MIRRORS,
    checksums: Mapping[str, str] = SHA256,
    timeout: float = 30.0,
    deadline: float | None = None,
    verbose: bool = True,
) -> Path:
    """Download the MNIST files missing from ``folder`` (default: the cache) and return it.

    Each file is fetched as ``<mirror><name>.gz``, trying ``mirrors`` in order; any error
    (HTTP error, timeout, refused connection, short read, an error page, SHA-256 mismatch of
    the decompressed bytes against ``checksums``) moves on to the next mirror, and a mirror
    that failed once is not asked again in this call.  ``timeout`` bounds each network
    operation, ``deadline`` the whole call (default: $TINYAE_DOWNLOAD_DEADLINE, else
    ``DEADLINE`` seconds).  Only verified files are written, atomically; a file in ``folder``
    that fails its check is renamed ``<name>.corrupt`` and replaced.  Raises
    :class:`MNISTUnavailableError` listing what every mirror said, or :class:`DataError` if
    ``folder`` cannot be written.
    """
    folder = Path(folder) if folder is not None else mnist_cache_dir()
    deadline = download_deadline(deadline, DEADLINE)
    live = Mirrors(list(mirrors), seconds(timeout, "timeout"), deadline, MAX_FILE_BYTES)
    try:
        _obtain(folder, live, checksums, must_store=True, verbose=verbose)
    except MirrorsFailed as err:
        raise MNISTUnavailableError(f"{err}\n{REMEDY}", err.reason) from None
    return folder


def _cache() -> tuple[Path | None, str]:
    """(the cache folder, '') or (None, why there is none)."""
    try:
        return mnist_cache_dir(), ""
    except DataError as err:
        return None, str(err)


def _search_dirs(data_dir: str | os.PathLike | None) -> list[tuple[str, Path]]:
    """(label, folder) pairs to look in for full MNIST, in lookup order."""
    dirs = []
    if data_dir is not None:
        dirs.append(("data folder", Path(data_dir).expanduser()))
    if os.environ.get("TINYAE_DATA_DIR"):
        dirs.append(("$TINYAE_DATA_DIR", Path(os.environ["TINYAE_DATA_DIR"]).expanduser()))
    cache = _cache()[0]
    return dirs + ([("cache", cache)] if cache is not None else [])


def _load_full(data_dir, *, download, mirrors, checksums, timeout, deadline, verbose):
    """Find (or download) and verify full MNIST; returns (arrays, source description)."""
    looked = []
    for label, folder in _search_dirs(data_dir):
        try:
            return _load_folder(folder, checksums), str(folder)
        except DataError as err:  # missing, unreadable or corrupt: left where it is
            looked.append(f"{label} {err}")
            if not isinstance(err, _NotThere):  # a bad file deserves a line of its own
                _say(verbose, f"full MNIST not in {looked[-1]}")
    cache, no_cache = _cache()
    if cache is None:
        looked.append(f"cache: {no_cache}")
    where = "Looked in:\n  " + "\n  ".join(looked)
    if offline() or not download:
        why = "TINYAE_OFFLINE is set" if offline() else "download=False"
        raise MNISTUnavailableError(
            f"full MNIST not found and downloading is disabled ({why})\n{where}\n{REMEDY}",
            "; ".join([*looked, f"no download: {why}"]))
    if cache is None:
        _say(verbose, f"{no_cache}; the download stays in memory for this run")
    live = Mirrors(list(mirrors), timeout, deadline, MAX_FILE_BYTES)
    try:
        arrays, stored = _obtain(cache, live, checksums, must_store=False, verbose=verbose)
    except MirrorsFailed as err:
        raise MNISTUnavailableError(
            f"full MNIST not found locally and {err}\n{where}\n{REMEDY}",
            "; ".join([*looked, err.reason])) from None
    return arrays, f"{cache} (downloaded)" if stored else "(downloaded, not cached)"


def _images(x: np.ndarray, dtype: str, binarize: bool) -> np.ndarray:
    """uint8 (N, 28, 28) -> (N, 784) in the requested dtype and scale."""
    x = x.reshape(len(x), -1)
    if binarize:
        return (x > 127).astype(dtype)  # x / 255 > 0.5  <=>  x > 127.5
    if dtype == "uint8":
        return x
    x = x.astype(dtype)
    x /= 255
    return x


def load_mnist(
    name: str = "auto",
    data_dir: str | os.PathLike | None = None,
    *,
    dtype: str = "float32",
    binarize: bool = False,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    deadline: float | None = None,
    verbose: bool = True,
    hint: str = HINT,
) -> MNIST:
    """Load MNIST as flattened images x (N, 784) and labels y (N,) uint8.

    Parameters
    ----------
    name : ``"auto"`` (full MNIST if on disk or quickly downloadable — at most
        ``AUTO_MIRRORS`` mirrors, ``AUTO_TIMEOUT`` s per network operation, ``AUTO_DEADLINE``
        s in all — else the bundled subset),
        ``"mnist"`` (full set, or :class:`MNISTUnavailableError` with the remedy) or
        ``"mnist-mini"`` (the bundled subset; ``data_dir`` and download are ignored).
    data_dir : a folder holding the four standard files, looked in first.
    dtype : ``"float32"`` (default) or ``"float64"``: pixels scaled to x = pixel / 255
        in [0, 1]; ``"uint8"``: raw pixels 0..255 (4× less memory; scale per batch).
    binarize : if True, x = 1 where pixel / 255 > 0.5 (pixel ≥ 128) else 0, in ``dtype``.
    download : allow downloading (also disabled by the environment TINYAE_OFFLINE=1).
    mirrors, checksums : override :data:`MIRRORS` and :data:`SHA256` (used by tests).
    timeout : seconds per network operation.
    deadline : seconds for the whole download; default $TINYAE_DOWNLOAD_DEADLINE, else
        ``DEADLINE`` (``AUTO_DEADLINE`` with ``"auto"``).
    verbose : print which data was used, and download progress, on stderr.

    Returns
    -------
    :class:`MNIST` with x_train, y_train, x_test, y_test, name and source.
    """
    name = lookup(NAMES, name, "name")
    with contextlib.suppress(TypeError):
        dtype = np.dtype(dtype).name  # also accept np.float32, np.dtype("uint8"), ...
    dtype = lookup(DTYPES, dtype, "dtype")
    arrays, missing = None, None
    if name != "mnist-mini":
        if isinstance(mirrors, str):  # one URL, not a sequence of one-letter "mirrors"
            mirrors = [mirrors]
        mirrors = tuple(MIRRORS if mirrors is None else mirrors)
        timeout = seconds(timeout, "timeout")
        deadline = download_deadline(deadline, AUTO_DEADLINE if name == "auto" else DEADLINE)
        if name == "auto":
            mirrors, timeout = mirrors[:AUTO_MIRRORS], min(timeout, AUTO_TIMEOUT)
        checksums = SHA256 if checksums is None else checksums
        try:
            arrays, source = _load_full(data_dir, download=download, mirrors=mirrors,
                                        checksums=checksums, timeout=timeout, deadline=deadline,
                                        verbose=verbose)
            used = "mnist"
        except MNISTUnavailableError as err:
            if name == "mnist":
                raise
            missing = err
    if arrays is None:
        arrays, used, source = _load_folder(BUNDLED_DIR, MINI_SHA256), "mnist-mini", str(BUNDLED_DIR)
    n_train, n_test = len(arrays["y_train"]), len(arrays["y_test"])
    if missing is None:
        _say(verbose, f"using {used!r}: {n_train:,} train / {n_test:,} test images from {source}")
    else:  # "auto" fell back: why, and how to get full MNIST, on one line
        _say(verbose, f"full MNIST not found ({missing.reason}): using the bundled subset "
                      f"'mnist-mini' ({n_train:,} train / {n_test:,} test images). For full "
                      f"MNIST: {hint}")
    return MNIST(
        x_train=_images(arrays["x_train"], dtype, binarize),
        y_train=arrays["y_train"],
        x_test=_images(arrays["x_test"], dtype, binarize),
        y_test=arrays["y_test"],
        name=used,
        source=source,
    )
