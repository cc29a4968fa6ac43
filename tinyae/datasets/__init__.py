"""Datasets for tinyae: the IDX file format and MNIST (full, or the bundled subset).

>>> from tinyae.datasets import load_mnist
>>> data = load_mnist("mnist-mini", verbose=False)
>>> data.x_train.shape, data.y_train.shape
((10000, 784), (10000,))
"""

from .idx import DataError, decompress, parse_idx, read_idx, to_idx_bytes, write_idx
from .mnist import (
    MIRRORS,
    MNIST,
    MNISTUnavailableError,
    download_mnist,
    load_mnist,
    mnist_cache_dir,
)

__all__ = [
    "MIRRORS",
    "MNIST",
    "DataError",
    "MNISTUnavailableError",
    "decompress",
    "download_mnist",
    "load_mnist",
    "mnist_cache_dir",
    "parse_idx",
    "read_idx",
    "to_idx_bytes",
    "write_idx",
]
