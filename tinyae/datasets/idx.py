"""Read and write the IDX format, the file format of the MNIST database.

An IDX file is a small header followed by the raw array, row-major, big-endian::

    bytes 0-1   0x00 0x00            (the "magic" zeros)
    byte  2     dtype code           (0x08 uint8, 0x09 int8, 0x0B int16,
                                      0x0C int32, 0x0D float32, 0x0E float64)
    byte  3     ndim                 (number of dimensions)
    then        ndim × uint32        (the size of each dimension, big-endian)
    then        prod(shape) × itemsize bytes of data

MNIST's ``train-images-idx3-ubyte`` is therefore 16 header bytes (0x00000803,
60000, 28, 28) followed by 60000·28·28 = 47,040,000 pixels.  The files are often
gzip-compressed; we recognise gzip by its magic bytes ``1f 8b`` (not by the file's
extension, which may lie) and decompress transparently.

Every problem (empty, truncated, trailing bytes, unknown dtype, a damaged header,
corrupt gzip) raises
:class:`DataError` naming the file and saying what to do about it.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

# IDX dtype code -> NumPy dtype; '>' = big-endian, as the format prescribes.
DTYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
_REDOWNLOAD = "delete it and download it again"
_IMPOSSIBLE_BYTES = 2**63  # no array this large can exist: NumPy indexes bytes with int64


class DataError(ValueError):
    """A data file is missing, corrupt, truncated or fails its checksum.

    The message always names the file and says how to fix the problem.
    """


def decompress(raw: bytes, name: str = "<bytes>") -> bytes:
    """Return ``raw`` gunzipped if it starts with the gzip magic ``1f 8b``, else unchanged.

    ``name`` is only used in error messages (a corrupt or cut-off gzip stream).
    """
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        # gzip.decompress raises EOFError when the stream stops before its end marker.
        raise DataError(
            f"{name}: the gzip stream ends early (the file is truncated); {_REDOWNLOAD}"
        ) from None
    except (OSError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{name}: corrupt gzip data ({err}); {_REDOWNLOAD}") from None


def parse_idx(data: bytes, name: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """Decode uncompressed IDX bytes into a writable, native-endian array.

    Parameters
    ----------
    data : the whole file's bytes (header + array), already decompressed.
    name : file name used in error messages.
    ndim : if given, the number of dimensions the caller expects (3 for MNIST
        images, 1 for labels); a different header is an error.

    Returns
    -------
    array of the header's shape, e.g. (60000, 28, 28) uint8 for MNIST training images.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"parse_idx takes the file's bytes, got {type(data).__name__}; "
                        "use read_idx(path) for a file, or pass path.read_bytes()")
    data = bytes(data)
    if len(data) == 0:
        raise DataError(f"{name}: the file is empty; {_REDOWNLOAD}")
    if len(data) < 4:
        raise DataError(
            f"{name}: only {len(data)} bytes, too short for the 4-byte IDX header; {_REDOWNLOAD}"
        )
    if data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{name}: bad magic number {data[:4].hex(' ')}: an IDX file starts with two zero "
            "bytes; this is not an IDX file (or not gunzipped correctly)"
        )
    code, n_dims = data[2], data[3]
    if code not in DTYPE_CODES:
        valid = ", ".join(f"0x{c:02X} ({d.name})" for c, d in DTYPE_CODES.items())
        raise DataError(f"{name}: unknown IDX dtype code 0x{code:02X}; valid codes are {valid}")
    if n_dims == 0:
        raise DataError(f"{name}: the header announces 0 dimensions; an IDX array has 1 to 255 "
                        f"(byte 3 of the file is damaged?) — {_REDOWNLOAD}")
    if ndim is not None and n_dims != ndim:
        raise DataError(
            f"{name}: expected a {ndim}-dimensional IDX array, the header says {n_dims} "
            "dimensions; check that you passed the right file (images are 3-d, labels 1-d)"
        )
    header_size = 4 + 4 * n_dims
    if len(data) < header_size:
        raise DataError(
            f"{name}: the header announces {n_dims} dimensions ({header_size} header bytes) but "
            f"the file has only {len(data)} bytes; the file is truncated — {_REDOWNLOAD}"
        )
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=n_dims, offset=4))
    dtype = DTYPE_CODES[code]
    # Python integers: np.prod in int64 overflows (and can wrap to any value, even the
    # file's true size) for a header whose sizes are damaged.
    expected = math.prod(shape) * dtype.itemsize
    found = len(data) - header_size
    if expected >= _IMPOSSIBLE_BYTES:
        raise DataError(
            f"{name}: the header is damaged: it announces shape {shape} {dtype.name}, "
            f"{expected:.3g} bytes of data, more than any computer can hold (the file has "
            f"{found:,}) — {_REDOWNLOAD}"
        )
    if found != expected:
        problem = "truncated" if found < expected else f"{found - expected:,} bytes too long"
        raise DataError(
            f"{name}: expected {expected:,} bytes of data for shape {shape} {dtype.name} "
            f"after the {header_size}-byte header, found {found:,}; the file is {problem} — "
            f"{_REDOWNLOAD}"
        )
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header_size)
    # astype copies: the result is writable and native-endian, independent of `data`.
    return array.astype(dtype.newbyteorder("=")).reshape(shape)


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file, gzipped or plain, into a NumPy array of the header's shape.

    ``ndim`` optionally checks the number of dimensions (3 for images, 1 for labels).
    Raises :class:`DataError` naming the file if it is missing, empty, corrupt or truncated.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read the file ({err.strerror or err})") from None
    return parse_idx(decompress(raw, str(path)), str(path), ndim)


def _dtype_code(dtype: np.dtype) -> int:
    """The IDX code of ``dtype`` regardless of its byte order; TypeError if it has none."""
    for code, idx_dtype in DTYPE_CODES.items():
        if idx_dtype.kind == dtype.kind and idx_dtype.itemsize == dtype.itemsize:
            return code
    valid = ", ".join(d.name for d in DTYPE_CODES.values())
    raise TypeError(f"IDX cannot store dtype {dtype}; convert the array to one of: {valid}")


def to_idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` (any shape with ≥ 1 dimension, an IDX dtype) as uncompressed IDX bytes."""
    array = np.asarray(array)
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"IDX stores arrays with 1 to 255 dimensions, got ndim={array.ndim}")
    code = _dtype_code(array.dtype)
    if max(array.shape) >= 2**32:
        raise ValueError(f"IDX dimensions must fit in 32 bits, got shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=DTYPE_CODES[code]).tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    The gzip header gets mtime 0 and no file name, so the same array always gives the
    same bytes (reproducible subset files).  Returns the path written.
    """
    path = Path(path)
    data = to_idx_bytes(array)
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)
    path.write_bytes(data)
    return path
