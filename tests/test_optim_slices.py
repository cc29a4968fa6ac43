"""Tests for the slice-by-slice optimizer steps (``tinyae.optim.cache_sized_slices``).

The steps apply their formulas to θ one cache-sized slice at a time; the numbers must be
bit for bit those of the formula on the whole vector.  With tiny slices (``SLICE_BYTES``
patched down), small vectors cross many slice boundaries.
"""

import math
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyae import SGD, Adam, optim

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
    with patch.object(optim, "SLICE_BYTES", slice_bytes):
        parts = list(optim.cache_sized_slices(params))
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
    with patch.object(optim, "SLICE_BYTES", slice_len * theta.itemsize):
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
        with patch.object(optim, "SLICE_BYTES", slice_bytes):
            for g in grads:
                optimizer.step(theta, g)
        results.append(theta.tobytes())
    assert results[0] == results[1]
    assert results[0] != start.tobytes()
