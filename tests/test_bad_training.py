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
]


@pytest.mark.parametrize("call, error, words", CASES)
def test_bad_input_gives_one_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} missing from {message!r}"


