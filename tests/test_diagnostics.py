"""Diagnostics measurements and the Monitor callback: hand-computed values, warnings, no side effects."""

import numpy as np
import pytest

import tinyae
from tinyae import BCE, MSE, SGD, Adam, Dense, ReLU, Sequential, Sigmoid, Tanh, dense_autoencoder, fit
from tinyae.diagnostics import (
    Monitor,
    active_units,
    check_measures,
    collapse_ratio,
    is_monitor_key,
    kl_per_dimension,
    measure,
    monitor_series,
    relative_error,
    snapshot_weights,
)
from tinyae.diagnostics.monitors import DEAD_RELUS, KL_COLLAPSE, MEAN_COLLAPSE, SATURATED
from tinyae.models.vae import dense_vae


@pytest.fixture(scope="module")
def mnist():
    return tinyae.load_mnist("mnist-mini", verbose=False).x_train[:2000]


def with_weights(model, *weights):
    """Set the Dense layers' (W, b) in order, in place (W and b are views into params)."""
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    for layer, (W, b) in zip(dense, weights):
        layer.W[...], layer.b[...] = W, b
    return model


def mean_image_model(x):
    """Sequential([Dense(D, D), Sigmoid()]) with W = 0 and b = logit(mean image): p = x̄ for any x."""
    x_bar = np.clip(x.mean(axis=0), 1e-3, 1 - 1e-3)
    model = Sequential([Dense(x.shape[1], x.shape[1]), Sigmoid()], dtype=np.float64)
    return with_weights(model, (np.zeros((x.shape[1], x.shape[1])), np.log(x_bar / (1 - x_bar))))


X2 = np.array([[1.0, 1.0], [2.0, 3.0]])


# --- each measurement against a hand-computed value ------------------------------------


def test_dead_fraction_mean_and_max_of_a_two_unit_relu_layer():
    # unit 2's input x2 − 10 is negative for both samples: dead; outputs [[1, 0], [2, 0]]
    model = with_weights(Sequential([Dense(2, 2), ReLU()], dtype=np.float64), (np.eye(2), [0.0, -10.0]))
    m = measure(model, X2)
    assert m["layer1/dead"] == 0.5
    assert m["layer1/mean_abs"] == pytest.approx(0.75) and m["layer1/max_abs"] == 2.0
    assert "layer1/saturated" not in m


def test_saturated_fraction_of_sigmoid_and_tanh_outputs():
    # σ(−10), σ(−1), σ(1), σ(10): the first and last are within 0.02 of a bound
    sig = with_weights(Sequential([Dense(1, 4), Sigmoid(), Dense(4, 1)], dtype=np.float64),
                       ([[-10.0, -1.0, 1.0, 10.0]], np.zeros(4)))
    assert measure(sig, np.ones((3, 1)))["layer1/saturated"] == 0.5
    # tanh(5) = 0.99991 is saturated, tanh(0.1) is not; the margin is 0.02 on either side
    tanh = with_weights(Sequential([Dense(1, 2), Tanh()], dtype=np.float64), ([[5.0, 0.1]], np.zeros(2)))
    assert measure(tanh, np.array([[1.0], [-1.0]]), y=np.zeros((2, 2)))["layer1/saturated"] == 0.5


def test_weight_and_gradient_norms_are_those_of_the_views_and_gradients_are_left_at_zero():
    rng = np.random.default_rng(1)
    model = Sequential([Dense(5, 3), Tanh(), Dense(3, 5), Sigmoid()], seed=2, dtype=np.float64)
    x = rng.uniform(size=(8, 5))
    loss = BCE()
    loss.forward(model.forward(x), x)
    model.backward(loss.backward())
    expected = [(np.linalg.norm(layer.W), np.linalg.norm(layer.dW)) for layer in model.layers[::2]]
    params = model.params.copy()
    m = measure(model, x, loss=BCE())
    for k, (w_norm, g_norm) in enumerate(expected, start=1):
        assert m[f"layer{k}/weight_norm"] == pytest.approx(w_norm, rel=1e-12)
        assert m[f"layer{k}/grad_norm"] == pytest.approx(g_norm, rel=1e-12)
    assert not model.grads.any() and np.array_equal(model.params, params)
    assert "layer1/grad_norm" not in measure(model, x)  # no loss, no gradients
    with pytest.raises(ValueError, match=r"outputs \(8, 5\) but the targets y are \(8, 2\)"):
        measure(model, x, y=x[:, :2])


def test_update_ratio_is_the_step_size_relative_to_the_weights():
    model = Sequential([Dense(4, 4), ReLU()], dtype=np.float64)
    before = snapshot_weights(model)
    model.layers[0].W[...] += 0.1
    expected = np.linalg.norm(np.full((4, 4), 0.1)) / np.linalg.norm(model.layers[0].W)
    m = measure(model, np.ones((2, 4)), previous_weights=before)
    assert m["layer1/update_ratio"] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="snapshot_weights"):
        measure(model, np.ones((2, 4)), previous_weights=before * 2)


def test_collapse_ratio_and_relative_error_by_hand():
    y = np.array([[0.0, 0.0], [2.0, 2.0]])  # mean image [1, 1], per-feature variance 1
    blob = np.ones((2, 2))
    assert collapse_ratio(blob, y) == 1.0 and relative_error(blob, y) == 1.0
    assert collapse_ratio(y, y) == 0.0 and relative_error(y, y) == 0.0
    halfway = np.array([[0.5, 0.5], [1.5, 1.5]])  # 0.5 from its target and 0.5 from the mean
    assert collapse_ratio(halfway, y) == 0.5 and relative_error(halfway, y) == 0.25
    assert np.isnan(relative_error(y[:1], y[:1]))  # no spread: undefined, not a number


def test_collapse_on_models_that_output_the_mean_image_or_the_input(mnist):
    x = mnist[:256].astype(np.float64)
    m = measure(mean_image_model(x), x)
    assert m["collapse_ratio"] == pytest.approx(1.0, abs=1e-3)  # the clip of x̄ costs a little
    assert m["relative_error"] == pytest.approx(1.0, abs=1e-2)
    identity = Sequential([Dense(784, 784, init="identity")], dtype=np.float64)
    m = measure(identity, x)
    assert m["collapse_ratio"] == 0.0 and m["relative_error"] == 0.0


def test_relative_error_exposes_a_small_mse_on_data_with_a_tiny_spread():
    """Question 3: reconstructions equal to the mean have an MSE ~ 1.5e-6, yet relative error 1."""
    y = np.random.default_rng(0).normal(1.1090579, 0.0012380764, size=(1000, 84))
    flat = np.broadcast_to(y.mean(axis=0), y.shape)
    assert np.mean((flat - y) ** 2) < 2e-6
    assert relative_error(flat, y) == pytest.approx(1.0)


def test_kl_per_dimension_and_active_units_by_hand():
    mu = np.array([[0.0, 1.0], [0.0, -1.0]])  # Var over the data: 0 and 1
    log_var = np.array([[0.0, np.log(2.0)], [0.0, np.log(2.0)]])
    # ½ (mu² + σ² − 1 − log σ²): dimension 0 → 0; dimension 1 → ½ (1 + 2 − 1 − log 2)
    np.testing.assert_allclose(kl_per_dimension(mu, log_var), [0.0, 0.5 * (2 - np.log(2.0))])
    assert active_units(mu) == 1 and active_units(mu * 0.05) == 0  # Var 0.0025 ≤ 0.01


def test_measure_on_a_vae_reports_latent_units_and_kl_collapse():
    x = np.random.default_rng(0).uniform(size=(64, 16)).astype(np.float32)
    vae = dense_vae("16-8-3", seed=0)
    mu, log_var = vae.encode(x)
    m = measure(vae, x, loss=BCE(reduction="batchmean"))
    assert m["active_units"] == active_units(mu)
    np.testing.assert_allclose([m[f"z{j}/kl"] for j in range(3)], kl_per_dimension(mu, log_var), rtol=1e-6)
    assert KL_COLLAPSE not in {f.code for f in check_measures(vae, m)}
    last = vae.encoder.layers[-1]
    last.W[...] = 0  # mu = b for every x: no latent unit carries information
    m = measure(vae, x, loss=BCE(reduction="batchmean"))
    assert m["active_units"] == 0
    finding = next(f for f in check_measures(vae, m) if f.code == KL_COLLAPSE)
    assert "0 of 3 latent units active" in finding.message


# --- warnings from the measurements ------------------------------------------------------


def test_dead_and_saturated_hidden_layers_are_reported_but_not_the_output_layer():
    # hidden ReLUs 2 and 3 get x − 10 < 0: 2 of 3 dead; the output ReLU is all dead too
    relu = with_weights(Sequential([Dense(2, 3), ReLU(), Dense(3, 2), ReLU()], dtype=np.float64),
                        (np.eye(2, 3), [0.0, -10.0, -10.0]), (np.zeros((3, 2)), [-1.0, -1.0]))
    m = measure(relu, X2)
    assert m["layer2/dead"] == 1.0
    (finding,) = check_measures(relu, m)
    assert finding.code == DEAD_RELUS and finding.message.startswith("67% of layer 1's ReLUs are dead")
    sig = with_weights(Sequential([Dense(1, 2), Sigmoid(), Dense(2, 1), Sigmoid()], dtype=np.float64),
                       ([[20.0, -20.0]], np.zeros(2)), ([[0.0], [0.0]], [30.0]))
    m = measure(sig, np.ones((4, 1)))
    assert m["layer1/saturated"] == 1.0 and m["layer2/saturated"] == 1.0
    (finding,) = check_measures(sig, m)
    assert finding.code == SATURATED and "100% of layer 1's sigmoids are saturated" in finding.message


def test_collapse_detector_fires_on_the_mean_image_not_on_a_trained_autoencoder(mnist):
    x = mnist[:256].astype(np.float64)
    blob = mean_image_model(x)
    assert MEAN_COLLAPSE in {f.code for f in check_measures(blob, measure(blob, x))}
    model = dense_autoencoder("784-64-784", hidden="relu", output="sigmoid")
    fit(model, mnist, loss=BCE(), optimizer=Adam(1e-3), epochs=6, batch_size=32, verbose=False)
    m = measure(model, mnist[:256], loss=BCE(), y_mean=mnist.mean(axis=0))
    assert m["collapse_ratio"] < 0.6 and m["relative_error"] < 0.6  # (0.9 after its first epoch)
    assert check_measures(model, m) == []  # nothing wrong with a healthy, trained network


# --- the Monitor callback ------------------------------------------------------------------


def test_monitor_warns_once_and_records_every_epoch(mnist, capsys):
    x = mnist[:64].astype(np.float64)
    monitor = Monitor(x[:32], MSE())
    history = fit(mean_image_model(x), x, loss=MSE(), optimizer=SGD(1e-4), epochs=4, batch_size=32,
                  callbacks=[monitor], verbose=False)
    out = capsys.readouterr().out
    assert out.count("collapsing to the mean image") == 1 and out.startswith("monitor, epoch 1:")
    assert [(epoch, f.code) for epoch, f in monitor.findings] == [(0, MEAN_COLLAPSE)]
    assert len(history["collapse_ratio"]) == 4 and min(history["collapse_ratio"]) > 0.95
    assert {"layer1/saturated", "layer1/grad_norm", "layer1/update_ratio", "relative_error"} <= set(history)


def test_monitor_can_be_silent_and_still_keeps_its_findings(mnist, capsys):
    x = mnist[:64].astype(np.float64)
    monitor = Monitor(x[:32], verbose=False)
    fit(mean_image_model(x), x, loss=MSE(), optimizer=SGD(1e-4), epochs=2, verbose=False, callbacks=[monitor])
    assert capsys.readouterr().out == "" and monitor.findings[0][1].code == MEAN_COLLAPSE


def test_monitor_update_ratio_is_the_size_of_the_last_step():
    x = np.random.default_rng(0).uniform(size=(16, 6))
    model = Sequential([Dense(6, 3), ReLU(), Dense(3, 6), Sigmoid()], dtype=np.float64)
    before = snapshot_weights(model)
    history = fit(model, x, loss=MSE(), optimizer=SGD(0.5), batch_size=16, verbose=False,
                  callbacks=[Monitor(x, MSE())])  # one epoch of one batch: one step
    for k, (layer, W0) in enumerate(zip(model.layers[::2], before), start=1):
        expected = np.linalg.norm(layer.W - W0) / np.linalg.norm(layer.W)
        assert history[f"layer{k}/update_ratio"][0] == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("build", [
    lambda: Sequential([Dense(16, 8), ReLU(), Dense(8, 16), Sigmoid()], seed=3),
    lambda: dense_vae("16-8-2", seed=3),  # its ε stream must not move either
], ids=["sequential", "vae"])
def test_monitor_does_not_change_training(build):
    x = np.random.default_rng(0).uniform(size=(48, 16)).astype(np.float32)
    runs = []
    for callbacks in ([], [Monitor(x[:8], BCE(reduction="batchmean"))]):
        model = build()
        history = fit(model, x, loss=BCE(reduction="batchmean"), optimizer=Adam(1e-2), epochs=3,
                      batch_size=16, callbacks=callbacks, verbose=False)
        runs.append((model.params.copy(), history))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1]["loss"] == runs[1][1]["loss"]
    assert len(runs[1][1]["layer2/grad_norm"]) == 3 and "layer1/grad_norm" not in runs[0][1]


def test_monitor_needs_a_batch_of_several_samples():
    with pytest.raises(ValueError, match=r"N ≥ 2.*x_train\[:256\]"):
        Monitor(np.ones(784))


def test_monitor_series_groups_keys_by_measure_and_layer():
    history = {"loss": [1.0], "layer1/dead": [0.1], "layer2/dead": [0.2], "z0/kl": [3.0],
               "collapse_ratio": [0.4]}
    assert monitor_series(history) == {"dead": {"layer1": [0.1], "layer2": [0.2]}, "kl": {"z0": [3.0]},
                                       "collapse_ratio": {"collapse_ratio": [0.4]}}
    assert not is_monitor_key("val_loss") and is_monitor_key("active_units")
