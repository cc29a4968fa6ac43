"""Tests aimed at small, plausible bugs that change what a user sees but broke no older test.

Each test names the bug it catches.  Every one was checked by planting that bug and
watching the test fail; keep them failing for it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinyae
from tinyae import (
    BCE,
    MSE,
    SGD,
    Dense,
    EarlyStopping,
    EpochHook,
    Sequential,
    Sigmoid,
    dense_autoencoder,
    doctor,
    fit,
)
from tinyae.cli import main
from tinyae.experiments import beta_sweep
from tinyae.models.vae import dense_vae

N, D = 32, 4


@pytest.fixture(scope="module")
def mnist():
    return tinyae.load_mnist("mnist-mini", verbose=False)


def uniform(shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, shape).astype(np.float32)


# --- bug: check_batch tests only NaN, so ±inf rows reach the model ----------------------------


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_forward_refuses_a_non_finite_row_and_names_it(bad):
    x = uniform((40, D))
    x[37, 1] = bad
    with pytest.raises(ValueError) as info:
        Sequential([Dense(D, 3)]).forward(x)
    assert "37" in str(info.value)


def test_fit_refuses_an_inf_input_row_before_any_update():
    x, y = uniform((40, D)), uniform((40, D), seed=1)
    x[37, 1] = np.inf
    model = Sequential([Dense(D, D), Sigmoid()])
    before = model.params.copy()
    with pytest.raises(ValueError) as info:  # not a TrainingError blaming the learning rate
        fit(model, x, y, loss=MSE(), optimizer=SGD(0.1), batch_size=40, shuffle=False,
            verbose=False)
    assert "37" in str(info.value) and "inf" in str(info.value)
    assert np.array_equal(model.params, before)


# --- bug: every epoch reuses the first epoch's shuffle order -----------------------------------


class Recorder(Sequential):
    """A Sequential that remembers which rows each training batch held."""

    def forward(self, x, check=True):
        self.rows.extend(np.rint(x[:, 0] * N).astype(int).tolist())
        return super().forward(x, check)


def batch_orders(seed, shuffle=True, epochs=3):
    """The order in which ``fit`` visits the rows of ``x``, one list per epoch."""
    x = np.repeat(np.arange(N, dtype=np.float32)[:, None] / N, D, axis=1)  # row i holds i / N
    model = Recorder([Dense(D, D)])
    model.rows = []
    fit(model, x, loss=MSE(), optimizer=SGD(0.01), epochs=epochs, batch_size=8, shuffle=shuffle,
        seed=seed, verbose=False)
    return [model.rows[e * N:(e + 1) * N] for e in range(epochs)]


def test_each_epoch_draws_a_new_shuffle_from_the_seed():
    orders = batch_orders(seed=0)
    assert all(sorted(order) == list(range(N)) for order in orders)  # every row once per epoch
    assert len({tuple(order) for order in orders}) == 3  # three different orders
    assert orders == batch_orders(seed=0)  # the same seed, the same orders
    assert orders[0] != batch_orders(seed=1)[0]
    assert batch_orders(seed=0, shuffle=False) == [list(range(N))] * 3


# --- bug: validation ignores y_val and scores against x_val ------------------------------------


def test_validation_scores_the_predictions_against_y_val():
    x, x_val = uniform((64, D)), uniform((20, D), seed=2)
    y, y_val = 1 - x, 1 - x_val  # not an autoencoder: the targets differ from the inputs
    model = Sequential([Dense(D, D), Sigmoid()])
    history = fit(model, x, y, loss=MSE(), optimizer=SGD(0.5), epochs=2, metrics={"bce": BCE()},
                  validation_data=(x_val, y_val), verbose=False)
    p = model.predict(x_val)
    assert history["val_loss"][-1] == pytest.approx(MSE().forward(p, y_val), rel=1e-5)
    assert history["val_bce"][-1] == pytest.approx(BCE().forward(p, y_val), rel=1e-5)
    assert abs(MSE().forward(p, y_val) - MSE().forward(p, x_val)) > 0.01  # tells them apart


# --- bug: EarlyStopping keeps an alias of θ instead of a copy ----------------------------------


def test_early_stopping_restores_the_best_epochs_parameters_bit_for_bit():
    scores = [3.0, 1.0, 2.0, 2.5, 0.5]  # best at epoch 2; with patience 2 it stops after epoch 4
    snapshots = []

    def score(model, epoch, record):
        record["score"] = scores[epoch]
        snapshots.append(model.params.copy())

    model = Sequential([Dense(D, D), Sigmoid()])
    x = uniform((64, D))
    fit(model, x, loss=MSE(), optimizer=SGD(1.0), epochs=5,
        callbacks=[EpochHook(score), EarlyStopping(monitor="score", patience=2)], verbose=False)
    assert len(snapshots) == 4
    assert not np.array_equal(snapshots[3], snapshots[1])  # training moved on after the best
    assert np.array_equal(model.params, snapshots[1])


# --- bug: the raw-pixels finding fires on binarised data ---------------------------------------


def test_raw_pixels_finding_is_for_whole_numbers_above_1_not_for_binary_images(mnist):
    x = mnist.x_train[:256]
    model = dense_autoencoder("784-32-784", hidden="relu", output="sigmoid")
    binary = (x > 0.5).astype(np.float32)  # exactly 0.0 and 1.0
    for data in (binary, binary.astype(np.float64)):
        assert "raw-pixels" not in {f.code for f in doctor(model, BCE(), data)}
    assert "raw-pixels" in {f.code for f in doctor(model, BCE(), np.round(255 * x))}


# --- bug: the β-sweep reports recon + β·KL as its −ELBO -----------------------------------------


def test_beta_sweep_reports_the_elbo_whatever_the_beta(mnist):
    vae = dense_vae("784-32-4", beta=16.0, seed=0, init="he")
    row = beta_sweep.measure(vae, mnist.x_test[:200])
    assert row["kl"] > 0.1  # the KL is big enough for β = 16 to show
    assert row["elbo_loss"] == pytest.approx(row["recon"] + row["kl"], rel=1e-9)


# --- bug: tinyae train --model vae switches its reconstruction to a per-pixel mean -------------


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYAE_OFFLINE", "1")
    monkeypatch.setenv("TINYAE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYAE_DATA_DIR", raising=False)


def test_cli_vae_measures_its_reconstruction_in_nats_per_image(offline, tmp_path, mnist, capsys):
    args = ["train", "--model", "vae", "--latent", "2", "--dataset", "mnist-mini", "--limit", "256",
            "--epochs", "1", "--quiet", "--out", str(tmp_path / "run")]
    assert main(args) == 0
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    # BCE summed over 784 pixels cannot go below Σ H(x) per image; a per-pixel mean is ~784× less.
    floor = float(tinyae.binary_entropy(mnist.x_train[:256]).sum(axis=1).mean())
    assert history["recon"][0] > floor


def test_cli_vae_balances_its_kl_as_the_elbo_does(offline, capsys):
    args = ["doctor", "--model", "vae", "--latent", "2", "--dataset", "mnist-mini",
            "--limit", "256"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "reduction 'batchmean'" in printed  # the note on BCE's floor names the reduction
    assert "kl-balance" not in printed  # an effective β of 784 would be reported
