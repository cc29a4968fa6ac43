"""Bad input to the training loop and the model API: every case a clear error, none silent.

``CASES`` is the catalogue: what a user tries, the exception it must raise, and the words
its message must contain (what was wrong, with the numbers, and the fix).  Each case
trained silently, or failed with an unclear error from inside Python or NumPy, before
tinyae checked for it.  The tests below the table check the behaviour that comes with
the errors: uint8 pixels mean the same everywhere, a run that fails keeps its History,
a layer belongs to one model, and the divergence check spares healthy runs.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyae import (
    BCE,
    MSE,
    SGD,
    Adam,
    Autoencoder,
    Callback,
    Dense,
    Identity,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Standardize,
    Tanh,
    TrainingError,
    evaluate,
    fit,
)
from tinyae.layers import ShapeError
from tinyae.model import DetachedParameterError
from tinyae.models import dense_autoencoder
from tinyae.models.vae import VAE, dense_vae
from tinyae.safeguards import START_SAMPLES, FirstLoss, divergence, saturated_share
from tinyae.schedules import KLAnnealing


def data(n=64, d=8, seed=0):
    """n samples of d features in [0, 1), float32."""
    return np.random.default_rng(seed).uniform(size=(n, d)).astype(np.float32)


def sparse(n=256, d=16, seed=0):
    """Images-like rows: 70 % zeros, the rest in [0, 1)."""
    rng = np.random.default_rng(seed)
    return ((rng.uniform(size=(n, d)) < 0.3) * rng.uniform(size=(n, d))).astype(np.float32)


def model(d=8):
    """A small d → 4 → d network with a sigmoid output."""
    return Sequential([Dense(d, 4), Tanh(), Dense(4, d), Sigmoid()], seed=0)


def train(x, y=None, **options):
    """fit a fresh ``model()`` on x, quietly; options override MSE, SGD(0.1)."""
    defaults = {"loss": MSE(), "optimizer": SGD(0.1), "verbose": False}
    return fit(model(x.shape[1]), x, y, **(defaults | options))


def with_nan(x, row, column=3, value=np.nan):
    x = x.copy()
    x[row, column] = value
    return x


def stale_first_of_two():
    """Two Sequentials from one list of layers; returns the first, whose layers the second took."""
    layers = [Dense(8, 4), Tanh(), Dense(4, 8), Sigmoid()]
    first = Sequential(layers)
    Sequential(layers)
    return first


def joined_twice():
    """One encoder given to two autoencoders."""
    encoder, decoder = Sequential([Dense(8, 4), ReLU()]), Sequential([Dense(4, 8), Sigmoid()])
    Autoencoder(encoder, decoder)
    return Autoencoder(encoder, Sequential([Dense(4, 8), Sigmoid()]))


def backward_first(layer, width=3):
    return lambda: layer.backward(np.ones((2, width)))


def backward_with(layer, dout_shape, x_shape=(4, 3)):
    """forward a (4, 3) batch, then backward a dout of another shape."""
    def call():
        layer.forward(np.ones(x_shape))
        layer.backward(np.ones(dout_shape))
    return call


def diverge(network, loss, optimizer, x=None):
    """Train with a learning rate far too large, 5 epochs on ``sparse()`` (or ``x``)."""
    with np.errstate(all="ignore"):
        return fit(network, sparse() if x is None else x, loss=loss, optimizer=optimizer, epochs=5,
                   batch_size=32, verbose=False)


def case(what, error, words, call):
    """One row: what is tried, the error it must raise, the words its message must contain."""
    return pytest.param(call, error, words, id=what)


def two_of(layer):
    """A Sequential holding ``layer`` at positions 1 and 3."""
    return Sequential([Dense(8, 8), layer, Dense(8, 8), layer])


X = data()
PIXELS = (X * 255).round()
INT64 = PIXELS.astype(np.int64)
LINEAR = dict(network=lambda: Sequential([Dense(16, 16)], seed=0), x=sparse() * 3)
CASES = [
    # --- one rule for integers: uint8 = pixels 0..255, scaled; other integer types refused ---
    case("fit on int64 pixels", TypeError,
         ["x has integer dtype int64", "only uint8", "astype(np.float32) / 255"],
         lambda: train(INT64)),
    case("fit on int32 targets", TypeError, ["y (the targets) has integer dtype int32"],
         lambda: train(X, PIXELS.astype(np.int32))),
    case("fit validating on int64 pixels", TypeError, ["validation x has integer dtype int64"],
         lambda: train(X, validation_data=INT64)),
    case("evaluate on int64 pixels", TypeError, ["x has integer dtype int64", "only uint8"],
         lambda: evaluate(model(), MSE(), INT64)),
    case("forward on int16 pixels", TypeError, ["input has integer dtype int16", "only uint8"],
         lambda: model().forward(PIXELS.astype(np.int16))),
    case("fit on booleans", TypeError, ["x has dtype bool", "astype(np.float32)"],
         lambda: train(X > 0.5)),
    # --- data checked before the first step, rows named as the data counts them ---
    case("NaN in row 700 of 1000", ValueError, ["x contains NaN or inf in 1 row(s) (first: [700])"],
         lambda: train(with_nan(data(1000), 700), shuffle=False)),
    case("inf in row 5 of the validation inputs", ValueError,
         ["validation x contains NaN or inf", "[5]"],
         lambda: train(X, validation_data=with_nan(data(16), 5, value=np.inf))),
    case("NaN targets", ValueError,
         ["y (the targets) contains NaN or inf in 1 row(s) (first: [9])", "whatever the model"],
         lambda: train(X, with_nan(X, 9))),
    case("forward on a batch with -inf in row 2", ValueError,
         ["NaN or inf in 1 row(s) (first: [2])"],
         lambda: model().forward(with_nan(data(4), 2, value=-np.inf))),
    case("predict with NaN in row 1500, in chunks of 1024", ValueError, ["first: [1500]"],
         lambda: model().predict(with_nan(data(2000), 1500))),
    case("validation x and y that do not pair up", ValueError,
         ["validation x has 16 samples but validation y has 10", "pair up"],
         lambda: train(X, validation_data=(data(16), data(10)))),
    case("validation inputs alone for a model with targets", ValueError,
         ["validation_data must be the pair (x_val, y_val)", "its own inputs"],
         lambda: train(X, X[:, ::-1].copy(), validation_data=data(16))),
    case("validation data with other features", ValueError,
         ["validation x has 7 features per sample but the training x has 8"],
         lambda: train(X, validation_data=data(16, d=7))),
    case("validation_data of three arrays", ValueError,
         ["x_val or the pair (x_val, y_val), got 3 items"],
         lambda: train(X, validation_data=(X, X, X))),
    case("an empty validation set", ValueError, ["validation x has no samples"],
         lambda: train(X, validation_data=X[:0])),
    case("evaluate on x and y that do not pair up", ValueError, ["x has 64 samples but y has 10"],
         lambda: evaluate(model(), MSE(), X, X[:10])),
    case("evaluate on no samples", ValueError, ["x has no samples"],
         lambda: evaluate(model(), MSE(), X[:0])),
    case("fractional epochs", ValueError, ["epochs must be a whole number ≥ 1"],
         lambda: train(X, epochs=2.5)),
    case("batch size 0", ValueError, ["batch_size must be a whole number ≥ 1"],
         lambda: train(X, batch_size=0)),
    case("a negative seed", ValueError, ["seed must be a whole number ≥ 0, got -1"],
         lambda: train(X, seed=-1)),
    case("evaluate in batches of 0", ValueError, ["batch_size must be a whole number ≥ 1"],
         lambda: evaluate(model(), MSE(), X, batch_size=0)),
    case("predict in chunks of 0", ValueError, ["batch_size must be a whole number ≥ 1"],
         lambda: model().predict(X, batch_size=0)),
    # --- the objects fit is given ---
    case("loss=MSE, the class", TypeError, ["loss is the class MSE", "MSE(…)"],
         lambda: train(X, loss=MSE)),
    case("loss='mse', a name", TypeError, ["loss must be an object with forward and backward",
                                          "get_loss('mse')"], lambda: train(X, loss="mse")),
    case("optimizer=Adam, the class", TypeError, ["optimizer is the class Adam"],
         lambda: train(X, optimizer=Adam)),
    case("optimizer='adam', a name", TypeError, ["get_optimizer('adam', 1e-3)"],
         lambda: train(X, optimizer="adam")),
    case("one callback, not in a list", TypeError, ["callbacks must be a list"],
         lambda: train(X, callbacks=Callback())),
    case("a callback class", TypeError, ["callback 0 is the class Callback"],
         lambda: train(X, callbacks=[Callback])),
    case("metrics as a list", TypeError, ["metrics must map names to losses"],
         lambda: train(X, metrics=[BCE()])),
    case("a metric class", TypeError, ["metric 'bce' is the class BCE"],
         lambda: train(X, metrics={"bce": BCE})),
    case("evaluate with a loss class", TypeError, ["loss is the class MSE"],
         lambda: evaluate(model(), MSE, X)),
    # --- divergence with a finite loss ---
    case("BCE with Adam(1000): the sigmoids saturate", TrainingError,
         ["diverged in epoch 1", "100% of the outputs are stuck at exactly 0", "10× smaller"],
         lambda: diverge(dense_autoencoder("16-8-16"), BCE(), Adam(1000))),
    case("MSE with Adam(1000): the loss falls, the outputs are stuck", TrainingError,
         ["diverged", "stuck at exactly 0 or ±1"],
         lambda: diverge(dense_autoencoder("16-8-16"), MSE(), Adam(1000))),
    case("a linear model whose loss climbs 300× and stays finite", TrainingError,
         ["diverged in epoch 1", "more than 4×", "largest weight"],
         lambda: diverge(LINEAR["network"](), MSE(), SGD(5.0), LINEAR["x"])),
    # --- a layer belongs to one model ---
    case("the same Dense twice in one Sequential", ValueError,
         ["layers 0 and 1 are the same Dense", "build a new Dense"],
         lambda: Sequential([Dense(8, 8)] * 2)),
    case("the same ReLU object twice", ValueError, ["layers 1 and 3 are the same ReLU()"],
         lambda: two_of(ReLU())),
    case("training the first of two models built from one list of layers",
         DetachedParameterError, ["belongs to a model built later", "its own, new layers"],
         lambda: fit(stale_first_of_two(), X, loss=MSE(), optimizer=SGD(0.1), verbose=False)),
    case("one encoder in two autoencoders", ValueError,
         ["encoder is already a part of another model", "build a new encoder"], joined_twice),
    case("one Sequential as both encoder and decoder", ValueError, ["are the same Dense"],
         lambda: (lambda half: Autoencoder(half, half))(Sequential([Dense(8, 8), Sigmoid()]))),
    case("an autoencoder from lists instead of Sequentials", TypeError,
         ["encoder must be a Sequential"], lambda: Autoencoder([Dense(8, 4)], [Dense(4, 8)])),
    case("a VAE from lists instead of Sequentials", TypeError, ["encoder must be a Sequential"],
         lambda: VAE([Dense(8, 4)], [Dense(2, 8)])),
    case("Sequential(Dense(…), ReLU()) without the list", TypeError,
         ["Sequential takes a list of layers"], lambda: Sequential(Dense(8, 4), ReLU())),
    case("a layer class instead of a layer", TypeError, ["layer 1 is the class ReLU", "ReLU(…)"],
         lambda: Sequential([Dense(8, 4), ReLU])),
    case("something that is not a layer", TypeError, ["layer 1", "no forward and backward"],
         lambda: Sequential([Dense(8, 4), np.tanh])),
    # --- layers: widths, and backward in the wrong order or with the wrong shape ---
    case("Dense(2.5, 5)", TypeError, ["whole numbers", "n_in=2.5", "//"], lambda: Dense(2.5, 5)),
    case("Dense(784 / 2, 5)", TypeError, ["n_in=392.0"], lambda: Dense(784 / 2, 5)),
    case("Dense(True, 5)", TypeError, ["n_in=True"], lambda: Dense(True, 5)),
    case("Dense(4, 0)", ValueError, ["n_out ≥ 1, got n_out=0"], lambda: Dense(4, 0)),
    case("Dense.backward before forward", RuntimeError,
         [".x is not set", "call forward on the batch first"], backward_first(Dense(3, 3))),
    case("Sigmoid.backward before forward", RuntimeError, ["Sigmoid().p is not set"],
         backward_first(Sigmoid())),
    case("Tanh.backward before forward", RuntimeError, ["Tanh().out is not set"],
         backward_first(Tanh())),
    case("ReLU.backward before forward", RuntimeError, ["ReLU().mask is not set"],
         backward_first(ReLU())),
    case("Softmax.backward before forward", RuntimeError, ["Softmax().out is not set"],
         backward_first(Softmax())),
    case("Standardize.backward before forward", RuntimeError, ["x_hat is not set"],
         backward_first(Standardize())),
    case("a Sequential's backward before forward", RuntimeError, ["is not set", "forward"],
         lambda: model().backward(np.ones((2, 8)))),
    case("an autoencoder's backward before forward", RuntimeError, ["is not set"],
         lambda: dense_autoencoder("8-4-8").backward(np.ones((2, 8)))),
    case("Sigmoid.backward with a dout of one row", ShapeError,
         ["dout of shape (1, 3)", "output (4, 3)"], backward_with(Sigmoid(), (1, 3))),
    case("ReLU.backward with a transposed dout", ShapeError, ["(3, 4)"],
         backward_with(ReLU(), (3, 4))),
    case("Dense.backward with a dout of the wrong width", ShapeError,
         ["dout of shape (4, 3)", "output (4, 5)"], backward_with(Dense(3, 5), (4, 3))),
    # --- the models' own arguments ---
    case("an architecture given as a number", TypeError,
         ["architecture must be a string", "784-100-50-100-784"], lambda: dense_autoencoder(784)),
    case("VAE.sample(2.5)", ValueError,
         ["n (the number of images) must be a whole number ≥ 0, got 2.5"],
         lambda: dense_vae("8-6-2").sample(2.5)),
    case("VAE.sample(-1)", ValueError, ["got -1"], lambda: dense_vae("8-6-2").sample(-1)),
]


@pytest.mark.parametrize("call, error, words", CASES)
def test_bad_input_gives_one_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} missing from {message!r}"


def test_uint8_pixels_mean_the_same_in_fit_evaluate_forward_and_predict():
    pixels = (data() * 255).round().astype(np.uint8)
    scaled = pixels.astype(np.float32) / 255
    a, b = model(), model()
    np.testing.assert_allclose(a.forward(pixels), b.forward(scaled), rtol=1e-6)
    np.testing.assert_allclose(a.predict(pixels), b.predict(scaled), rtol=1e-6)
    assert evaluate(a, BCE(), pixels)["loss"] == pytest.approx(evaluate(b, BCE(), scaled)["loss"])
    ha, hb = (fit(network, x, loss=BCE(), optimizer=Adam(1e-2), epochs=2, validation_data=x,
                  verbose=False) for network, x in ((a, pixels), (b, scaled)))
    np.testing.assert_allclose(ha["val_loss"], hb["val_loss"], rtol=1e-5)
    assert ha["loss"][0] < 1  # pixels scaled: an unscaled 0..255 target would not pass BCE's check


def test_a_list_of_x_val_and_y_val_is_a_pair_too():
    y = X[:, ::-1].copy()  # targets that are not the inputs: scoring against x_val would differ
    network = model()
    against_y = evaluate(network, MSE(), X, y)["loss"]
    against_x = evaluate(network, MSE(), X)["loss"]
    history = fit(network, X, y, loss=MSE(), optimizer=SGD(1e-30), validation_data=[X, y],
                  verbose=False)  # lr 1e-30: θ stays, so val_loss is the loss before training
    assert history["val_loss"][0] == pytest.approx(against_y, rel=1e-5)
    assert abs(against_y - against_x) > 1e-3


class Raise(Callback):
    """Raises ``error`` at the start of batch ``at`` (counted over the run)."""

    def __init__(self, error, at):
        self.error, self.at = error, at

    def on_batch_begin(self, model, step):
        if step == self.at:
            raise self.error


@pytest.mark.parametrize("error", [KeyboardInterrupt(), KeyError("a callback's own bug")])
def test_whatever_stops_fit_carries_the_finished_epochs(error):
    with pytest.raises(type(error)) as info:  # the same exception, not a wrapper
        train(X, epochs=5, batch_size=16, validation_data=X, callbacks=[Raise(error, at=9)])
    history = info.value.history  # 4 batches per epoch: batch 9 is in epoch 3
    assert history.epochs == 2 and len(history["val_loss"]) == 2
    assert info.value is error


def test_training_errors_carry_the_epoch_that_diverged():
    with pytest.raises(TrainingError) as info:
        diverge(LINEAR["network"](), MSE(), SGD(5.0), LINEAR["x"])
    assert info.value.history.epochs == 1  # the diverged epoch is in the History, to be seen


def test_a_model_built_later_from_the_same_layers_trains_and_the_earlier_one_refuses():
    layers = [Dense(8, 4), Tanh(), Dense(4, 8), Sigmoid()]
    first = Sequential(layers)
    second = Sequential(layers)
    history = fit(second, X, loss=MSE(), optimizer=Adam(1e-2), epochs=3, verbose=False)
    assert history["loss"][-1] < history["loss"][0]
    with pytest.raises(DetachedParameterError, match="layer 0 .*belongs to a model built later"):
        first.predict(X)


def test_a_parameter_free_layer_may_serve_two_models():
    relu = ReLU()  # no parameters to share: each model's forward and backward stay its own
    for hidden in (4, 6):
        network = Sequential([Dense(8, hidden), relu, Dense(hidden, 8)])
        history = fit(network, X, loss=MSE(), optimizer=Adam(1e-2), epochs=3, verbose=False)
        assert history["loss"][-1] < history["loss"][0]


def test_a_vae_is_judged_by_its_reconstruction_while_its_kl_weight_rises():
    """KL annealing to β = 1000 lifts the loss far above its start; the reconstruction falls."""
    vae = dense_vae("16-12-2", output="identity", seed=0)
    annealing = KLAnnealing(lambda t: min(1000.0, t * 50.0))
    history = fit(vae, sparse(), loss=MSE(reduction="batchmean"), optimizer=Adam(1e-2), epochs=6,
                  batch_size=32, callbacks=[annealing], verbose=False)
    assert history.epochs == 6
    assert max(history["loss"]) > 4 * history["recon"][0]  # the loss alone would count as diverged
    assert history["recon"][-1] < history["recon"][0]


def test_a_slow_all_sigmoid_sgd_run_is_not_divergence():
    """Question 1's network with plain SGD hardly moves from its start for epochs."""
    network = dense_autoencoder("16-12-8-12-16", hidden="sigmoid")
    history = fit(network, sparse(), loss=BCE(), optimizer=SGD(0.01), epochs=8, batch_size=32,
                  verbose=False)
    assert history.epochs == 8 and max(history["loss"]) / min(history["loss"]) < 1.05


def first_at(loss):
    """A ``FirstLoss`` that saw ``loss`` over its first samples."""
    first = FirstLoss()
    first.add({"loss": loss}, START_SAMPLES)
    return first


@pytest.mark.parametrize("rise, diverged",
                         [(0.5, False), (1.02, False), (3.9, False), (4.1, True), (40, True)])
def test_a_loss_more_than_4x_its_start_is_divergence(rise, diverged):
    message = divergence({"loss": 0.5 * rise}, first_at(0.5), 2, model(), SGD(0.1), X)
    assert (message is not None) == diverged
    if diverged:
        assert f"from 0.5 at the start to {0.5 * rise:.4g} ({rise:.3g}×, more than 4×)" in message
        assert "diverged in epoch 3" in message and "SGD(lr=0.1" in message


def test_saturated_outputs_are_divergence_even_when_the_loss_fell():
    network = model()
    assert saturated_share(network, X) == 0
    assert divergence({"loss": 0.1}, first_at(0.5), 0, network, SGD(1), X) is None
    network.layers[2].W[...] = 1e4  # every output sigmoid now sits at exactly 1 (or 0)
    assert saturated_share(network, X) >= 0.99
    message = divergence({"loss": 0.1}, first_at(0.5), 0, network, SGD(1), X)
    assert "0.2×" in message and "of the outputs are stuck at exactly 0 or ±1" in message


def test_where_training_started_is_the_mean_over_the_first_64_samples_or_more():
    first = FirstLoss()
    for loss, n in [(1.0, 16), (3.0, 16), (2.0, 32), (100.0, 32)]:  # the 4th batch comes too late
        first.add({"loss": loss}, n)
    assert first.samples == 64 and first.loss == pytest.approx((16 + 48 + 64) / 64)
    vae_like = FirstLoss()
    vae_like.add({"loss": 9.0, "recon": 3.0, "kl": 6.0}, 128)
    assert vae_like.loss == 3.0  # a model with penalties: its recon


def test_identity_layers_and_single_sample_batches_do_not_trip_the_checks():
    network = Sequential([Dense(8, 8), Identity()], seed=0)
    history = fit(network, X, loss=MSE(), optimizer=SGD(0.05), epochs=2, batch_size=1,
                  verbose=False)
    assert history.epochs == 2 and history["loss"][-1] < history["loss"][0]
