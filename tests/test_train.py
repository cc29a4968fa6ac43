"""fit: batches, history, validation, callbacks, NaN handling, uint8 scaling, determinism."""

import json

import numpy as np
import pytest

from tinyae import BCE, MSE, SGD, Adam, Dense, Sequential, Sigmoid, Tanh
from tinyae.train import EarlyStopping, EpochHook, History, TrainingError, as_float_batch, batches, evaluate, fit


def small_model(seed=0, dtype=np.float32):
    return Sequential([Dense(8, 4), Tanh(), Dense(4, 8), Sigmoid()], seed=seed, dtype=dtype)


def data(n=64, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, 8)).astype(np.float32)


def test_batches_cover_every_sample_once_per_epoch():
    rng = np.random.default_rng(0)
    idx = list(batches(10, 4, rng))
    assert [len(i) for i in idx] == [4, 4, 2]
    assert sorted(np.concatenate(idx)) == list(range(10))
    np.testing.assert_array_equal(np.concatenate(list(batches(5, 2, None))), np.arange(5))


def test_uint8_batches_are_scaled_to_the_unit_interval():
    x = np.array([[0, 51, 255]], dtype=np.uint8)
    np.testing.assert_allclose(as_float_batch(x, np.dtype(np.float32)), [[0, 0.2, 1]], rtol=1e-6)
    assert as_float_batch(x, np.dtype(np.float32)).dtype == np.float32


def test_fit_records_one_entry_per_epoch_and_the_loss_falls(capsys):
    x = data()
    history = fit(small_model(), x, loss=MSE(), optimizer=Adam(1e-2), epochs=5, batch_size=16,
                  validation_data=data(16, seed=1), metrics={"bce": BCE()})
    assert history.epochs == 5
    assert set(history) == {"loss", "bce", "val_loss", "val_bce", "seconds"}
    assert all(np.diff(history["loss"]) < 0) and all(np.diff(history["val_loss"]) < 0)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and lines[0].startswith("epoch 1/5  64 samples") and "val_loss" in lines[0]


def test_fit_is_silent_when_asked(capsys):
    fit(small_model(), data(), loss=MSE(), optimizer=SGD(0.1), verbose=False)
    assert capsys.readouterr().out == ""


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    """With lr tiny enough to leave θ unchanged, the epoch loss equals the loss on all data."""
    x = data(50)
    model = small_model()
    expected = evaluate(model, MSE(), x)["loss"]
    history = fit(model, x, loss=MSE(), optimizer=SGD(1e-30), batch_size=16, verbose=False)
    assert history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_same_seed_same_history_and_weights():
    runs = []
    for _ in range(2):
        model = small_model()
        history = fit(model, data(), loss=BCE(), optimizer=Adam(1e-2), epochs=3, batch_size=8, seed=4, verbose=False)
        runs.append((history["loss"], model.params.copy()))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    other = small_model()
    fit(other, data(), loss=BCE(), optimizer=Adam(1e-2), epochs=3, batch_size=8, seed=5, verbose=False)
    assert not np.array_equal(other.params, runs[0][1])


def test_uint8_images_train_like_their_scaled_floats():
    pixels = (data() * 255).round().astype(np.uint8)
    a, b = small_model(), small_model()
    ha = fit(a, pixels, loss=BCE(), optimizer=Adam(1e-2), epochs=2, verbose=False)
    hb = fit(b, pixels.astype(np.float32) / 255, loss=BCE(), optimizer=Adam(1e-2), epochs=2, verbose=False)
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-5)


def test_nan_loss_stops_training_with_a_clear_message_and_keeps_finite_weights():
    x = data() * 1e3  # MSE on huge targets with a huge learning rate diverges
    model = Sequential([Dense(8, 8)], seed=0)
    with pytest.raises(TrainingError, match=r"loss became (nan|inf) at epoch \d+, batch \d+.*learning rate") as info:
        fit(model, x, loss=MSE(), optimizer=SGD(10.0), epochs=50, batch_size=8, verbose=False)
    assert np.isfinite(model.params).all()
    assert isinstance(info.value.history, History)


def test_early_stopping_stops_and_restores_the_best_weights():
    stopper = EarlyStopping(monitor="loss", patience=2, restore_best=True)
    seen = []
    model = small_model()
    # lr so large that the loss goes up after the first steps: early stopping must kick in
    history = fit(model, data(), loss=MSE(), optimizer=SGD(50.0), epochs=30, verbose=False,
                  callbacks=[stopper, EpochHook(lambda m, e, r: seen.append(e))])
    assert history.epochs < 30 and stopper.stop_training
    assert seen == list(range(history.epochs))
    assert evaluate(model, MSE(), data())["loss"] <= min(history["loss"]) * 1.5


def test_early_stopping_puts_back_exactly_the_parameters_of_the_best_epoch():
    stopper = EarlyStopping(monitor="loss", patience=2, restore_best=True)
    after_epoch = []  # θ at the end of each epoch, before the stopper may put the best back
    model = small_model()
    history = fit(model, data(), loss=MSE(), optimizer=SGD(50.0), epochs=30, verbose=False,
                  callbacks=[EpochHook(lambda m, e, r: after_epoch.append(m.params.copy())),
                             stopper])
    best = int(np.argmin(history["loss"]))
    assert stopper.stop_training and best < history.epochs - 1  # it stopped after a worse epoch
    np.testing.assert_array_equal(model.params, after_epoch[best])


class RecordingInputs(Sequential):
    """A Sequential that keeps a copy of every batch its forward sees."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches = []

    def forward(self, x, check=True):
        self.batches.append(x.copy())
        return super().forward(x, check)


def test_each_epoch_draws_a_new_order_and_covers_every_sample():
    x = data(32)
    model = RecordingInputs([Dense(8, 4), Tanh(), Dense(4, 8), Sigmoid()])
    fit(model, x, loss=MSE(), optimizer=SGD(1e-30), epochs=3, batch_size=8, verbose=False)
    epochs = [np.concatenate(model.batches[i : i + 4]) for i in (0, 4, 8)]  # 4 batches an epoch
    for seen in epochs:
        np.testing.assert_array_equal(np.sort(seen, axis=0), np.sort(x, axis=0))
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    assert not np.array_equal(epochs[0], x)  # shuffled, not in the data's order


def test_early_stopping_needs_the_monitored_key():
    with pytest.raises(KeyError, match="val_loss"):
        fit(small_model(), data(), loss=MSE(), optimizer=SGD(0.1), callbacks=[EarlyStopping()], verbose=False)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"x": np.zeros(5)}, "2-D array"),
        ({"y": np.zeros((3, 8))}, "64 samples but y has 3"),
        ({"epochs": 0}, "epochs must be a whole number ≥ 1, got 0"),
    ],
)
def test_bad_arguments_are_explained(kwargs, message):
    args = {"x": data(), "loss": MSE(), "optimizer": SGD(0.1), "verbose": False} | kwargs
    with pytest.raises(ValueError, match=message):
        fit(small_model(), **args)


def test_history_saves_as_json_and_csv(tmp_path):
    history = History()
    history.add({"loss": 0.5, "val_loss": 0.6})
    history.add({"loss": 0.25, "val_loss": 0.3})
    history.save(tmp_path / "h.json")
    assert json.loads((tmp_path / "h.json").read_text()) == {"loss": [0.5, 0.25], "val_loss": [0.6, 0.3]}
    history.save(tmp_path / "h.csv")
    assert (tmp_path / "h.csv").read_text().splitlines() == ["epoch,loss,val_loss", "1,0.5,0.6", "2,0.25,0.3"]


def test_diverging_weights_are_reported_as_a_training_error_not_as_bad_data():
    """Once the weights overflow, the decoder sees inf codes: that is divergence, not bad samples."""
    from tinyae.models import dense_autoencoder

    model = dense_autoencoder("8-4-8", hidden="identity", output="identity")
    with pytest.raises(TrainingError, match="loss became (nan|inf).*learning rate"):
        with np.errstate(all="ignore"):
            fit(model, data() * 100, loss=MSE(), optimizer=SGD(1e6), epochs=20, verbose=False)


class WeightDecay:
    """½‖θ‖² with weight λ, against fit's ``Penalty`` protocol: value and gradient together."""

    name = "l2"

    def __init__(self, params, lam):
        self.weight, self.value = lam, 0.5 * float(params @ params)
        self.dparams = lam * params  # ∂(λ·½‖θ‖²)/∂θ


class DecayedSequential(Sequential):
    """A Sequential whose objective adds λ·½‖θ‖²; its backward adds the penalty's gradient."""

    def __init__(self, lam, **kwargs):
        super().__init__([Dense(8, 4), Tanh(), Dense(4, 8), Sigmoid()], dtype=np.float64, **kwargs)
        self.lam = lam

    def forward(self, x, check=True):
        self.decay = WeightDecay(self.params, self.lam)
        return super().forward(x, check)

    def penalties(self):
        return [self.decay]

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads += self.decay.dparams
        return dx


def test_fit_adds_each_penalty_to_the_loss_and_records_it_by_name():
    x = data().astype(np.float64)
    model = DecayedSequential(lam=0.01)
    history = fit(model, x, loss=BCE(), optimizer=Adam(1e-2), epochs=3, batch_size=16,
                  validation_data=x[:16], verbose=False)
    assert {"loss", "recon", "l2", "val_loss", "val_recon", "val_l2"} <= set(history)
    for prefix in ("", "val_"):
        recon, l2 = np.array(history[prefix + "recon"]), np.array(history[prefix + "l2"])
        np.testing.assert_allclose(history[prefix + "loss"], recon + 0.01 * l2, rtol=1e-12)
    # the penalty's gradient reaches the optimizer: θ ← θ − 0.1·(∂recon/∂θ + θ) shrinks it
    strong, free = DecayedSequential(lam=1.0), DecayedSequential(lam=0.0)
    for each in (strong, free):
        fit(each, x, loss=BCE(), optimizer=SGD(0.1), epochs=3, batch_size=16, verbose=False)
    assert np.linalg.norm(strong.params) < 0.5 * np.linalg.norm(free.params)
