"""Layers: numerical gradient checks, mathematical properties, bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from strategies import GRADCHECK, PROPERTY, away_from_zero, batches, sizes
from tinyae import Dense, Identity, ReLU, ShapeError, Sigmoid, Softmax, Tanh, activation, check_layer
from tinyae.init import get_initializer
from tinyae.layers import sigmoid, softmax


@GRADCHECK
@given(x=batches(), n_out=sizes, seed=st.integers(0, 2**16), init=st.sampled_from(["glorot", "he"]))
def test_dense_gradients(x, n_out, seed, init):
    layer = Dense(x.shape[1], n_out, init=init, rng=seed)
    layer.b[:] = np.random.default_rng(seed).normal(size=n_out)  # a non-zero bias too
    report = check_layer(layer, x, seed=seed)
    assert [row.name for row in report] == ["dx", "dW", "db"]
    assert report.max_error < 1e-7, report


@GRADCHECK
@given(x=batches(), layer_class=st.sampled_from([Sigmoid, Tanh, Softmax, Identity]))
def test_smooth_activation_gradients(x, layer_class):
    report = check_layer(layer_class(), x)
    assert report.max_error < 1e-7, report


@GRADCHECK
@given(x=batches())
def test_relu_gradient_away_from_the_kink(x):
    report = check_layer(ReLU(), away_from_zero(x))
    assert report.max_error < 1e-7, report


def test_dense_backward_accumulates_until_zero_grad():
    layer = Dense(3, 2, rng=0)
    x, dout = np.ones((4, 3)), np.ones((4, 2))
    layer.forward(x)
    layer.backward(dout)
    once = layer.dW.copy()
    layer.backward(dout)
    np.testing.assert_allclose(layer.dW, 2 * once)
    layer.zero_grad()
    assert not layer.dW.any() and not layer.db.any()


def test_dense_without_dx_skips_it_and_keeps_parameter_gradients():
    x, dout = np.ones((4, 3)), np.ones((4, 2))
    full, lean = Dense(3, 2, rng=0), Dense(3, 2, rng=0)
    lean.compute_dx = False
    for layer in (full, lean):
        layer.forward(x)
    assert full.backward(dout) is not None
    assert lean.backward(dout) is None
    np.testing.assert_array_equal(full.dW, lean.dW)


@PROPERTY
@given(x=arrays(np.float64, st.integers(1, 50), elements=st.floats(-1e3, 1e3)))
def test_sigmoid_symmetry(x):
    """σ(−x) = 1 − σ(x)."""
    np.testing.assert_allclose(sigmoid(-x), 1 - sigmoid(x), atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_huge_inputs(dtype):
    x = np.array([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp would raise here
        p = sigmoid(x)
    assert p.dtype == dtype
    assert np.all((p >= 0) & (p <= 1)) and p[3] == 0.5
    assert p[0] == 0 and p[-1] == 1


@PROPERTY
@given(x=batches(low=-1e3, high=1e3), shift=st.floats(-1e3, 1e3))
def test_softmax_rows_are_distributions_and_shift_invariant(x, shift):
    s = softmax(x)
    assert np.all(s >= 0)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(softmax(x + shift), s, atol=1e-12)


@PROPERTY
@given(x=batches(low=-50, high=50))
def test_activation_ranges(x):
    assert np.all(np.abs(Tanh().forward(x)) <= 1)
    assert np.all(ReLU().forward(x) >= 0)
    np.testing.assert_array_equal(Identity().forward(x), x)


def test_relu_forward_and_derivative_agree_at_zero():
    relu = ReLU()
    assert relu.forward(np.zeros((1, 3))).sum() == 0
    assert relu.backward(np.ones((1, 3))).sum() == 0  # derivative 0 where the output is 0


@pytest.mark.parametrize("make", [Sigmoid, Tanh, ReLU, Softmax, lambda: Dense(4, 4)])
def test_apply_computes_forward_without_touching_the_cache(make):
    layer, fresh = make(), make()
    x = np.random.default_rng(1).normal(size=(3, 4))
    layer.forward(x)
    cache_before = {name: id(value) for name, value in vars(layer).items()}
    np.testing.assert_array_equal(layer.apply(2 * x), fresh.forward(2 * x))
    assert {name: id(value) for name, value in vars(layer).items()} == cache_before


def test_dense_shape_error_names_the_layer_and_both_shapes():
    with pytest.raises(ShapeError, match=r"Dense\(n_in=5, n_out=3.*\(N, 5\).*\(2, 4\)"):
        Dense(5, 3).forward(np.ones((2, 4)))


def test_dense_rejects_empty_sizes():
    with pytest.raises(ValueError, match="n_in ≥ 1"):
        Dense(0, 3)


def test_initialisers_have_their_documented_scale():
    rng = np.random.default_rng(0)
    W = get_initializer("glorot")((400, 200), rng)
    limit = np.sqrt(6 / 600)
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.99 * limit
    W = get_initializer("he")((400, 200), rng)
    assert abs(W.std() - np.sqrt(2 / 400)) < 0.02 * np.sqrt(2 / 400)
    np.testing.assert_array_equal(get_initializer("identity")((3, 3), rng), np.eye(3))
    assert not get_initializer("zeros")((3, 2), rng).any()


def test_same_rng_seed_gives_the_same_weights():
    np.testing.assert_array_equal(Dense(5, 4, rng=7).W, Dense(5, 4, rng=7).W)
    assert not np.array_equal(Dense(5, 4, rng=7).W, Dense(5, 4, rng=8).W)


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match="choose one of.*glorot"):
        Dense(2, 2, init="uniform")
    with pytest.raises(ValueError, match="choose one of.*sigmoid"):
        activation("swish")
    assert isinstance(activation("ReLU"), ReLU)
