"""The standardise pair (per sample, inside a model) and the per-feature StandardScaler."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import GRADCHECK, batches
from tinyae import MSE, Dense, Destandardize, Sequential, Standardize, check_layer, check_model, load, save
from tinyae.scaling import StandardScaler


@GRADCHECK
@given(x=batches(d=st.integers(3, 6)))
def test_standardize_gradient(x):
    # D ≥ 3: a standardised row of two features is always (−1, +1), whatever x — its
    # gradient is exactly 0 and the check would only compare rounding noise.
    x = x + np.arange(x.shape[1])  # rows with spread, so sigma is not ~0
    report = check_layer(Standardize(), x)
    assert report.max_error < 1e-7, report


def test_standardized_rows_have_mean_zero_and_spread_one():
    x = np.random.default_rng(0).normal(1.109, 0.00124, size=(5, 84))
    out = Standardize().forward(x)
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-9)
    np.testing.assert_allclose(out.std(axis=1), 1, rtol=1e-6)


def test_the_pair_round_trips_and_its_model_gradients_are_exact():
    standardize = Standardize()
    model = Sequential([standardize, Dense(6, 6, init="identity"), Destandardize(standardize)],
                       dtype=np.float64)
    x = np.random.default_rng(1).normal(1.109, 0.00124, size=(4, 6))
    np.testing.assert_allclose(model.forward(x), x, rtol=1e-12)  # identity weights: the data comes back
    np.testing.assert_allclose(model.predict(x), x, rtol=1e-12)
    report = check_model(model, MSE(), x, x + 1e-4, h=1e-5)
    assert report.max_error < 1e-7, report


def test_the_pair_survives_save_and_load(tmp_path):
    standardize = Standardize()
    model = Sequential([standardize, Dense(3, 3), Destandardize(standardize)], seed=2)
    again = load(save(model, tmp_path / "m"))
    assert again.layers[2].source is again.layers[0]
    x = np.random.default_rng(0).normal(5, 0.1, size=(4, 3)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_destandardize_needs_its_partner():
    with pytest.raises(TypeError, match="Standardize layer it undoes"):
        Destandardize(Dense(2, 2))


def test_scaler_standardises_features_and_inverts_exactly():
    rng = np.random.default_rng(0)
    train = rng.normal([1.0, -50.0, 1e-3], [0.1, 10.0, 1e-5], size=(1000, 3))
    scaler = StandardScaler().fit(train)
    scaled = scaler.transform(train)
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(scaled.std(axis=0), 1, rtol=1e-6)
    np.testing.assert_allclose(scaler.inverse_transform(scaled), train, rtol=1e-12)


def test_scaler_must_be_fitted_first():
    with pytest.raises(RuntimeError, match="fit"):
        StandardScaler().transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        StandardScaler().fit(np.zeros((1, 3)))


def test_scaler_leaves_constant_features_unscaled():
    scaler = StandardScaler().fit(np.array([[1.0, 3.0], [2.0, 3.0]]))
    np.testing.assert_array_equal(scaler.transform(np.array([[1.5, 3.0]])), [[0.0, 0.0]])
