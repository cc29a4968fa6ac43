"""Losses: gradient checks, reductions, BCE's minimum and floor, bad targets."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from strategies import GRADCHECK, PROPERTY, batches, prediction_target
from tinyae import BCE, MSE, BCEWithLogits, ShapeError, Sigmoid, binary_entropy, check_loss, get_loss
from tinyae.losses import REDUCTIONS

reductions = st.sampled_from(REDUCTIONS)


@GRADCHECK
@given(pair=prediction_target(), reduction=reductions, loss_class=st.sampled_from([MSE, BCE]))
def test_loss_gradients(pair, reduction, loss_class):
    p, y = pair
    report = check_loss(loss_class(reduction=reduction), p, y)
    assert report.max_error < 1e-7, report


@GRADCHECK
@given(z=batches(low=-30, high=30), seed=st.integers(0, 2**16), reduction=reductions)
def test_bce_with_logits_gradient(z, seed, reduction):
    y = np.random.default_rng(seed).uniform(size=z.shape)
    report = check_loss(BCEWithLogits(reduction=reduction), z, y)
    assert report.max_error < 1e-7, report


@PROPERTY
@given(pair=prediction_target(low=0.0, high=1.0))
def test_reductions_differ_only_by_their_divisor(pair):
    p, y = pair
    n, d = p.shape
    for loss_class in (MSE, BCE):
        total = loss_class(reduction="sum").forward(p, y)
        assert np.isclose(loss_class(reduction="batchmean").forward(p, y), total / n)
        assert np.isclose(loss_class(reduction="mean").forward(p, y), total / (n * d))


@PROPERTY
@given(y=st.floats(0.0, 1.0), p=st.floats(1e-6, 1 - 1e-6))
def test_bce_is_never_below_the_binary_entropy(y, p):
    """BCE(p, y) ≥ H(y) for every p: the derivation in BCE's docstring."""
    bce = BCE(reduction="sum").forward(np.array([[p]]), np.array([[y]]))
    assert bce >= binary_entropy(y) - 1e-12


@PROPERTY
@given(y=st.floats(1e-6, 1 - 1e-6))
def test_bce_minimum_is_at_p_equal_y_with_value_h_of_y(y):
    loss = BCE(reduction="sum")
    target = np.array([[y]])
    value = loss.forward(target.copy(), target)
    assert np.isclose(value, binary_entropy(y), rtol=1e-12)
    assert abs(loss.backward()[0, 0]) < 1e-6  # zero slope at p = y
    for p in (y * 0.9, y + 0.1 * (1 - y)):  # either side of the minimum is higher
        assert loss.forward(np.array([[p]]), target) > value


def test_bce_floor_is_positive_for_grey_targets_and_zero_for_black_and_white():
    assert binary_entropy(0.0) == 0 and binary_entropy(1.0) == 0
    assert np.isclose(binary_entropy(0.5), np.log(2))
    assert binary_entropy(0.8) > 0.5


@PROPERTY
@given(pair=prediction_target(low=-5, high=5))
def test_mse_is_non_negative_and_zero_only_at_the_target(pair):
    p, y = pair
    assert MSE().forward(p, y) >= 0
    assert MSE().forward(y, y) == 0


@PROPERTY
@given(z=batches(low=-30, high=30), seed=st.integers(0, 2**16))
def test_sigmoid_then_bce_has_the_same_gradient_as_bce_with_logits(z, seed):
    """Chaining the two analytic backwards gives σ(z) − y, BCEWithLogits' gradient."""
    y = np.random.default_rng(seed).uniform(size=z.shape)
    sig, bce, fused = Sigmoid(), BCE(eps=1e-15), BCEWithLogits()
    p = sig.forward(z)
    if p.min() <= 1e-15 or p.max() >= 1 - 1e-15:  # clipped: BCE's gradient is no longer exact
        return
    bce.forward(p, y)
    fused.forward(z, y)
    np.testing.assert_allclose(sig.backward(bce.backward()), fused.backward(), rtol=1e-6, atol=1e-12)


@PROPERTY
@given(z=batches(low=-30, high=30), seed=st.integers(0, 2**16))
def test_bce_with_logits_equals_bce_of_the_sigmoid(z, seed):
    y = np.random.default_rng(seed).uniform(size=z.shape)
    p = Sigmoid().forward(z)
    if p.min() <= 1e-7 or p.max() >= 1 - 1e-7:
        return
    assert np.isclose(BCEWithLogits().forward(z, y), BCE().forward(p, y), rtol=1e-9)


def test_bce_with_logits_is_finite_for_huge_logits():
    z = np.array([[-1e4, 1e4]], dtype=np.float32)
    assert np.isfinite(BCEWithLogits().forward(z, np.array([[1.0, 0.0]], dtype=np.float32)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_and_its_gradient_stay_finite_at_p_equal_0_and_1(dtype, reduction):
    """A sigmoid rounds to exactly 0 or 1 in float32: BCE must stay finite there."""
    p = np.array([[0.0, 1.0, 0.0, 1.0]], dtype)
    y = np.array([[0.0, 1.0, 1.0, 0.0]], dtype)  # right, right, confidently wrong twice
    loss = BCE(reduction=reduction)
    value, dp = loss.forward(p, y), loss.backward()
    assert np.isfinite(value) and np.isfinite(dp).all()
    total = value * {"sum": 1, "batchmean": 1, "mean": 4}[reduction]  # Σ over the 4 elements
    assert 2 * 15.9 < total < 2 * 16.2  # each wrong element costs −log eps ≈ 16.1, not inf
    assert dp[0, 2] < 0 < dp[0, 3]  # the gradient still points the wrong predictions back


def test_bce_clips_saturated_predictions_with_eps():
    value = BCE(reduction="sum").forward(np.array([[0.0]]), np.array([[1.0]]))
    assert np.isclose(value, -np.log(1e-7))


@pytest.mark.parametrize("loss_class", [BCE, BCEWithLogits])
def test_targets_outside_the_unit_interval_are_refused(loss_class):
    pixels = np.array([[0.0, 128.0, 255.0]])
    with pytest.raises(ValueError, match=r"targets y in \[0, 1\].*0 to 255.*Divide them by 255"):
        loss_class().forward(np.full((1, 3), 0.5), pixels)


def test_bce_refuses_predictions_outside_the_unit_interval():
    with pytest.raises(ValueError, match="Sigmoid"):
        BCE().forward(np.array([[2.0]]), np.array([[1.0]]))


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(3, 2\)"):
        MSE().forward(np.zeros((2, 3)), np.zeros((3, 2)))


def test_losses_by_name_and_unknown_names():
    assert isinstance(get_loss("BCE", reduction="sum"), BCE)
    with pytest.raises(ValueError, match="choose one of"):
        get_loss("hinge")
    with pytest.raises(ValueError, match="unknown reduction"):
        MSE(reduction="average")


@PROPERTY
@given(p=arrays(np.float32, (4, 5), elements=st.floats(0, 1, width=32)))
def test_float32_losses_return_floats_and_float32_gradients(p):
    loss = BCE()
    assert isinstance(loss.forward(p, p), float)
    assert loss.backward().dtype == np.float32
