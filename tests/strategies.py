"""Hypothesis strategies shared by the tests: batch shapes and float64 arrays."""

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

# Gradient checks evaluate the layer 4 times per entry: keep shapes small, examples few.
GRADCHECK = settings(max_examples=25, deadline=None)
PROPERTY = settings(max_examples=60, deadline=None)

sizes = st.integers(min_value=1, max_value=6)


def batches(n=sizes, d=sizes, low=-4.0, high=4.0):
    """float64 arrays of shape (N, D) with entries in [low, high]."""
    return st.tuples(n, d).flatmap(
        lambda shape: arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False))
    )


def away_from_zero(x, margin=1e-2):
    """Push entries within ``margin`` of 0 out to ±margin (for ReLU's kink)."""
    return np.where(np.abs(x) < margin, np.where(x < 0, -margin, margin), x)


@st.composite
def prediction_target(draw, low=0.01, high=0.99):
    """(p, y): p in [low, high] and y in [0, 1], both float64 of one shape (N, D)."""
    shape = draw(st.tuples(sizes, sizes))
    p = draw(arrays(np.float64, shape, elements=st.floats(low, high)))
    y = draw(arrays(np.float64, shape, elements=st.floats(0.0, 1.0)))
    return p, y
