"""Tests for the slice-by-slice optimizer steps (``tinyae.slices``).

The steps apply their formulas to θ one cache-sized slice at a time; the numbers must be
bit for bit those of the formula on the whole vector.  With tiny slices (``SLICE_BYTES``
patched down), small vectors cross many slice boundaries.
"""

import math
import os
import threading
import time
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyae import SGD, Adam, slices

fast = settings(max_examples=40, deadline=None)
OPTIMIZERS = {  # the optimizers that keep a state vector, built as in test_optim.py
    "sgd-momentum": lambda: SGD(lr=0.1, momentum=0.9),
    "sgd-nesterov": lambda: SGD(lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda: Adam(lr=1e-2),
}


float_dtypes = st.sampled_from([np.float32, np.float64])


@fast
@given(n=st.integers(0, 70), slice_bytes=st.integers(1, 100), dtype=float_dtypes)
def test_cache_sized_slices_cover_theta_exactly_once(n, slice_bytes, dtype):
    params = np.zeros(n, dtype)
    with patch.object(slices, "SLICE_BYTES", slice_bytes):
        parts = slices.cache_sized_slices(params)
    covered = np.concatenate([np.arange(n)[s] for s in parts] + [np.arange(0)])
    assert np.array_equal(covered, np.arange(n))  # in order, no gaps, no overlaps
    lengths = [len(range(n)[s]) for s in parts]
    assert all(0 < length <= max(1, slice_bytes // params.itemsize) for length in lengths)


def adam_on_whole_vector(theta, m, v, g, t, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam's step as its formula on the whole of θ, m, v (in place), as the docstring states it."""
    root_bias2 = math.sqrt(1 - beta2**t)
    lr_t, eps_t = lr * root_bias2 / (1 - beta1**t), eps * root_bias2
    m[:] = beta1 * m + (1 - beta1) * g
    v[:] = beta2 * v + (1 - beta2) * (g * g)
    theta -= lr_t * (m / (np.sqrt(v) + eps_t))


@fast
@given(k=st.integers(1, 4), offset=st.integers(-1, 1), dtype=float_dtypes, seed=st.integers(0, 99))
def test_adam_slice_by_slice_equals_the_whole_vector_formula_bit_for_bit(k, offset, dtype, seed):
    slice_len = 8
    n = k * slice_len + offset  # sizes on and beside the slice boundaries
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(n).astype(dtype)
    expected, m, v = theta.copy(), np.zeros_like(theta), np.zeros_like(theta)
    optimizer = Adam(lr=1e-2)
    with patch.object(slices, "SLICE_BYTES", slice_len * theta.itemsize):
        for t in range(1, 4):
            g = rng.standard_normal(n).astype(dtype)
            optimizer.step(theta, g)
            adam_on_whole_vector(expected, m, v, g, t)
    assert theta.tobytes() == expected.tobytes()
    assert optimizer.state["m"].tobytes() == m.tobytes()  # the paper's m and v, unscaled
    assert optimizer.state["v"].tobytes() == v.tobytes()


@fast
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@given(n=st.integers(1, 40), dtype=float_dtypes, seed=st.integers(0, 99))
def test_tiny_slices_give_the_same_bits_as_one_slice(name, n, dtype, seed):
    rng = np.random.default_rng(seed)
    start, grads = rng.standard_normal(n).astype(dtype), rng.standard_normal((3, n)).astype(dtype)
    results = []
    for slice_bytes in (1, 10**9):  # one element per slice; all of θ in one slice
        theta, optimizer = start.copy(), OPTIMIZERS[name]()
        with patch.object(slices, "SLICE_BYTES", slice_bytes):
            for g in grads:
                optimizer.step(theta, g)
        results.append(theta.tobytes())
    assert results[0] == results[1]
    assert results[0] != start.tobytes()


# Threads (``slices.for_each_slice``): the slices are shared among ``thread_count()`` threads.

def threads(count):
    """``count`` threads, each given a run of slices however short (one slice is enough)."""
    return patch.multiple(slices, thread_count=lambda: count, MIN_SLICES_PER_THREAD=1)


@fast
@given(n=st.integers(0, 60), slice_bytes=st.integers(1, 40), count=st.integers(1, 4))
def test_for_each_slice_visits_every_slice_once_whatever_the_threads(n, slice_bytes, count):
    vector, seen = np.zeros(n), []
    with patch.object(slices, "SLICE_BYTES", slice_bytes), threads(count):
        slices.for_each_slice(seen.append, vector)  # list.append is atomic
        expected = slices.cache_sized_slices(vector)
    assert sorted(seen, key=lambda s: s.start) == expected


def test_for_each_slice_runs_on_as_many_threads_as_blas():
    names = set()

    def work(s):
        names.add(threading.current_thread().name)
        time.sleep(0.01)  # long enough that one thread cannot take every run

    with patch.object(slices, "SLICE_BYTES", 8), threads(3):
        slices.for_each_slice(work, np.zeros(12))
    assert len(names) == 3 and threading.current_thread().name in names


@pytest.mark.parametrize("failing_run", [0, 1])
def test_an_error_in_any_run_is_raised_after_every_run_has_finished(failing_run):
    done = []

    def work(s):
        if s.start // 2 == failing_run:  # the first slice of run 0 (this thread) or run 1
            raise FloatingPointError(f"slice {s.start}")
        time.sleep(0.01)
        done.append(s.start)

    with patch.object(slices, "SLICE_BYTES", 8), threads(2):
        with pytest.raises(FloatingPointError, match=f"slice {2 * failing_run}"):
            slices.for_each_slice(work, np.zeros(4))
    other_run = [2, 3] if failing_run == 0 else [0, 1]
    assert sorted(done) == other_run  # the other run finished before the raise


@fast
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@given(n=st.integers(1, 40), seed=st.integers(0, 99))
def test_the_steps_give_the_same_bits_on_any_number_of_threads(name, n, seed):
    rng = np.random.default_rng(seed)
    start, grads = rng.standard_normal(n).astype(np.float32), rng.standard_normal((3, n))
    results = []
    for count in (1, 2, 3):
        theta, optimizer = start.copy(), OPTIMIZERS[name]()
        with patch.object(slices, "SLICE_BYTES", 8), threads(count):
            for g in grads.astype(np.float32):
                optimizer.step(theta, g)
        results.append(theta.tobytes())
    assert results[0] == results[1] == results[2] != start.tobytes()


@pytest.mark.parametrize(("environ", "expected"), [
    ({"OPENBLAS_NUM_THREADS": "3", "OMP_NUM_THREADS": "5"}, 3),  # OpenBLAS's own variable first
    ({"OMP_NUM_THREADS": "5"}, 5),
    ({"OPENBLAS_NUM_THREADS": "", "MKL_NUM_THREADS": "2"}, 2),  # an empty variable is not set
    ({"OPENBLAS_NUM_THREADS": "0"}, None),  # not a count: BLAS's default, every CPU
    ({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "4"}, 1),  # one thread is a count too
    ({}, None),
])
def test_thread_count_is_read_like_blas_reads_it(environ, expected):
    cpus = len(os.sched_getaffinity(0))
    clean = {k: v for k, v in os.environ.items() if k not in slices.THREAD_VARIABLES}
    slices.thread_count.cache_clear()
    try:
        with patch.dict(os.environ, {**clean, **environ}, clear=True):
            assert slices.thread_count() == (cpus if expected is None else expected)
    finally:
        slices.thread_count.cache_clear()


@pytest.mark.parametrize(("n_slices", "expected"), [(7, 1), (8, 1), (15, 1), (16, 2), (40, 2)])
def test_a_short_vector_stays_on_one_thread(n_slices, expected):
    names = set()
    with patch.multiple(slices, thread_count=lambda: 2, MIN_SLICES_PER_THREAD=8,
                        SLICE_BYTES=8):
        slices.for_each_slice(lambda s: names.add(threading.current_thread().name) or time.sleep(0.002),
                              np.zeros(n_slices))
    assert len(names) == expected
