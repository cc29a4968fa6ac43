"""Elementwise work on a long vector: cache-sized slices, shared among BLAS's threads.

An optimizer step is elementwise over θ, millions of numbers: Adam's formula
``m ← β₁m + (1 − β₁)g`` reads and writes every element of several vectors.  Written on
the whole of θ, each operation of a formula writes a θ-sized temporary that the next one
reads back from main memory.  Two things make it fast and leave the formula as it reads:

* **slices**: apply the formula to one slice of θ at a time (``cache_sized_slices``); the
  slice's numbers and its temporaries stay in the core's cache between operations;
* **threads**: share the slices among as many threads as BLAS uses for the matrix
  products (``thread_count``), so one setting — ``OPENBLAS_NUM_THREADS`` or the command's
  ``--threads`` — governs both.  NumPy releases the GIL inside every ufunc, so the threads
  really do compute side by side.

Every element is computed by the same operations in the same order, whatever the slices
and threads: the numbers are bit for bit those of the formula on the whole vector.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

# The size of one slice: 256 KiB (64 Ki float32), so that a slice of θ, g, m, v and a
# formula's temporaries stay in cache.  What it buys, measured for Adam on 2.83 M float32
# parameters, one core: Intel Xeon 16.0 ms per step for the formula on the whole vector,
# 5.2 ms slice by slice; AMD EPYC (Zen 3) 9.8 ms, with 512 KiB alike, 64 KiB 14.0 and
# 16 KiB 19.6 ms — every operation on a slice also costs a Python call, so slices must
# not be too small.
SLICE_BYTES = 256 * 1024

# The fewest slices worth handing to a thread of their own: waking a helper thread and
# waiting for it costs about 0.15 ms.  Measured for Adam on 2 cores (AMD EPYC Zen 3), one
# thread against two: 170,000 parameters (3 slices) 0.37 against 0.55 ms per step;
# 636,000 (10 slices) 1.8 against 1.6 ms; 2.83 M (43 slices) 10.2 against 7.2 ms.  In
# training, the VAE's 636,000 on two threads (a run of 5 slices each) took 1.07 × the
# time of one (3 epochs of 20,000 images, median of 7 pairs), so such a vector stays on one.
MIN_SLICES_PER_THREAD = 8

# The variables the BLAS libraries read their thread count from (OpenBLAS, OpenMP builds,
# MKL, macOS Accelerate); the ``tinyae`` command sets all of them (``tinyae.__main__``).
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS")


def cache_sized_slices(vector: np.ndarray) -> list[slice]:
    """Consecutive slices covering ``vector`` (1-D) exactly once, each of ``SLICE_BYTES`` or less."""
    size = max(1, SLICE_BYTES // vector.itemsize)
    return [slice(start, start + size) for start in range(0, vector.size, size)]


@functools.cache
def thread_count() -> int:
    """The number of threads BLAS uses, as it reads it: once, from the environment.

    The first of ``THREAD_VARIABLES`` set to a whole number ≥ 1; if none is, every CPU
    this process may run on (BLAS's own default).
    """
    for name in THREAD_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) >= 1:
            return int(value)
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    return max(1, len(cpus))


def for_each_slice(work: Callable[[slice], None], vector: np.ndarray) -> None:
    """Call ``work(s)`` for every slice ``s`` of ``cache_sized_slices(vector)``.

    With ``thread_count()`` = T > 1, the slices are cut into T runs of consecutive
    slices (fewer if a run would be shorter than ``MIN_SLICES_PER_THREAD``): this thread
    works through the first run while helper threads work through the others.  ``work``
    must only write to its own slice (an elementwise formula does).  Returns when every
    slice is done; an exception in any run is raised here, after the other runs have
    finished (so nothing is still writing).

    What the threads buy, measured on 2 cores (AMD EPYC Zen 3), Adam on 2.83 M float32
    parameters: 6.7 ms per step on two threads against 10.6 ms on one.  Each thread
    takes a long run of slices, not one slice at a time: every ufunc call holds the GIL
    for its few microseconds of Python, and handing out single slices cost more than it
    saved (8.0 ms).  Right after a matrix product the two-thread step took 10.6 ms, no
    better than one thread: OpenBLAS's idle threads spin for a while, waiting for the
    next product, on the core the helper needs.  ``OPENBLAS_THREAD_TIMEOUT=4``, set
    before NumPy is imported, puts them to sleep at once: 6.8 ms after a product too
    (README, "Speed and quality").
    """
    slices = cache_sized_slices(vector)
    threads = min(thread_count(), len(slices) // MIN_SLICES_PER_THREAD)
    if threads <= 1:
        _work_through(work, slices)
        return
    runs = [slices[i * len(slices) // threads : (i + 1) * len(slices) // threads] for i in range(threads)]
    helpers = [_pool(threads - 1).submit(_work_through, work, run) for run in runs[1:]]
    try:
        _work_through(work, runs[0])
    finally:
        wait(helpers)
    for helper in helpers:
        helper.result()  # re-raises a helper's exception


def _work_through(work: Callable[[slice], None], run: list[slice]) -> None:
    for s in run:
        work(s)


_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _pool(workers: int) -> ThreadPoolExecutor:
    """The helper threads, started once per process (a forked child has none of its parent's)."""
    key = (os.getpid(), workers)
    if key not in _pools:
        _pools[key] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tinyae-slices")
    return _pools[key]
