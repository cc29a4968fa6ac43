"""Parameter views: assigning ``layer.W = …`` updates θ or fails loudly; seeds and ``rng``.

A model's parameters live in one flat vector θ (``model.params``); each layer's ``W``,
``b``, ``dW``, ``db`` are views into it.  These tests pin down what happens when a
learner *assigns* to one of them, the way most first update rules are written.
"""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import tinyae
from strategies import PROPERTY
from tinyae import MSE, SGD, Dense, ReLU, Sequential, ShapeError, Sigmoid, Tanh
from tinyae.model import DetachedParameterError
from tinyae.models import Autoencoder
from tinyae.models.vae import dense_vae

LR = 0.5


def data(n=32, d=6, seed=0):
    """A batch in [0, 1] to reconstruct, float64."""
    return np.random.default_rng(seed).uniform(size=(n, d))


def gradient_step(model, x):
    """One forward and backward pass of MSE(model(x), x); return the loss."""
    loss = MSE(reduction="batchmean")
    model.zero_grad()
    value = loss.forward(model.forward(x), x)
    model.backward(loss.backward())
    return value


def train_by_hand(model, x, update, steps=30):
    """``steps`` steps of plain gradient descent with ``update(model)``; return the losses."""
    losses = []
    for _ in range(steps):
        losses.append(gradient_step(model, x))
        update(model)
    return losses


def assign(model):
    """The first update rule every learner writes: rebind each parameter by assignment."""
    for layer in model.layers:
        for name in layer.param_names:
            setattr(layer, name, getattr(layer, name) - LR * getattr(layer, "d" + name))


def in_place(model):
    """The same update with ``-=``."""
    for layer in model.layers:
        for name in layer.param_names:
            getattr(layer, name).__isub__(LR * getattr(layer, "d" + name))


def optimizer_step(model):
    """The same update by the optimizer, on θ at once."""
    SGD(LR).step(model.params, model.grads)


def dense_model():
    return Sequential([Dense(6, 4), Tanh(), Dense(4, 6), Sigmoid()], seed=3, dtype=np.float64)


def test_assigning_dense_parameters_trains_the_model_and_keeps_the_views():
    model, x = dense_model(), data()
    start, losses = model.params.copy(), []
    for _ in range(30):
        losses.append(gradient_step(model, x))
        for layer in (model.layers[0], model.layers[2]):
            layer.W = layer.W - LR * layer.dW  # exactly as a learner first writes it
            layer.b = layer.b - LR * layer.db
    assert losses[-1] < 0.8 * losses[0]
    assert not np.array_equal(model.params, start), "θ must move"
    for layer in (model.layers[0], model.layers[2]):
        assert np.shares_memory(layer.W, model.params) and np.shares_memory(layer.dW, model.grads)
        assert np.shares_memory(layer.b, model.params) and np.shares_memory(layer.db, model.grads)


def test_assignment_in_place_update_and_optimizer_give_the_same_theta():
    x = data()
    thetas = []
    for update in (assign, in_place, optimizer_step):
        model = dense_model()
        train_by_hand(model, x, update, steps=5)
        thetas.append(model.params)
    np.testing.assert_array_equal(thetas[0], thetas[2])
    np.testing.assert_array_equal(thetas[1], thetas[2])


class Scale(tinyae.Layer):
    """A learner's layer that subclasses tinyae.Layer: ``out = x · a``, ``a`` (D,)."""

    param_names = ("a",)

    def __init__(self, n_features):
        self.a = np.ones(n_features)
        self.da = np.zeros(n_features)

    def forward(self, x):
        self.x = x
        return x * self.a

    def backward(self, dout):
        self.da = (dout * self.x).sum(axis=0)  # `=`, not `+=`: fine right after zero_grad
        return dout * self.a


def test_a_learners_layer_subclass_trains_by_assignment_too():
    model = Sequential([Scale(6), Dense(6, 6), Sigmoid()], seed=1, dtype=np.float64)
    scale, x = model.layers[0], data(seed=1)
    start = model.params.copy()
    losses = train_by_hand(model, x, assign)
    assert losses[-1] < 0.8 * losses[0]
    assert not np.array_equal(model.params[:6], start[:6]), "the layer's own a must move in θ"
    np.testing.assert_array_equal(scale.a, model.params[:6])
    assert np.shares_memory(scale.a, model.params) and np.shares_memory(scale.da, model.grads)


def test_an_unbound_layer_keeps_plain_attributes_and_a_bound_one_writes_into_theta():
    layer, new = Dense(3, 2), np.ones((3, 2))
    layer.W = new
    assert layer.W is new  # standalone: an ordinary attribute
    model = Sequential([layer], dtype=np.float64)
    layer.W = np.full((3, 2), 7.0)
    assert np.all(model.params[:6] == 7) and np.shares_memory(layer.W, model.params)


class DuckDense:
    """A learner's dense layer that does NOT subclass tinyae.Layer (a copy of the contract)."""

    param_names = ("W", "b")

    def __init__(self, n_in, n_out, gradient_by_assignment=False):
        self.n_in, self.n_out = n_in, n_out
        self.gradient_by_assignment = gradient_by_assignment
        self.reset_parameters(np.random.default_rng(0))
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)

    def reset_parameters(self, rng):
        self.W = rng.normal(0, 0.5, (self.n_in, self.n_out))
        self.b = np.zeros(self.n_out)

    def output_dim(self, n_in):
        return self.n_out

    def parameters(self):
        return [(n, getattr(self, n), getattr(self, "d" + n)) for n in self.param_names]

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        if self.gradient_by_assignment:
            self.dW = self.x.T @ dout  # rebinds the gradient: the optimizer never sees it
        else:
            self.dW += self.x.T @ dout
        self.db += dout.sum(axis=0)
        return dout @ self.W.T


def duck_model(**kwargs):
    return Sequential([Dense(6, 4), Tanh(), DuckDense(4, 6, **kwargs), Sigmoid()],
                      seed=2, dtype=np.float64)


def test_rebinding_a_duck_typed_parameter_fails_loudly_on_the_next_forward():
    model, x = duck_model(), data()
    losses = train_by_hand(model, x, in_place)  # in place: no complaint, and it learns
    assert losses[-1] < 0.8 * losses[0]
    duck = model.layers[2]
    duck.W = duck.W - LR * duck.dW
    with pytest.raises(DetachedParameterError) as error:
        model.forward(x)
    message = str(error.value)
    for words in ("layer 2", "DuckDense", "W is no longer a view", "model.params",
                  "rebinds", "self.W -= …", "self.W[...] = …", "tinyae.Layer"):
        assert words in message, (words, message)
    with pytest.raises(DetachedParameterError, match="layer 2"):
        model.predict(x)


def test_rebinding_a_duck_typed_gradient_in_backward_fails_loudly_on_the_next_forward():
    model, x = duck_model(gradient_by_assignment=True), data()
    gradient_step(model, x)
    pattern = r"layer 2 .*dW is no longer a view into model\.grads"
    with pytest.raises(DetachedParameterError, match=pattern):
        gradient_step(model, x)


def test_detection_covers_layers_rebound_into_a_composite_model():
    encoder = Sequential([Dense(6, 3), Tanh()], dtype=np.float64)
    decoder = Sequential([DuckDense(3, 6), Sigmoid()], dtype=np.float64)
    ae, x = Autoencoder(encoder, decoder), data()
    ae.encoder.layers[0].W = np.zeros((6, 3))  # a tinyae.Layer: written into the whole θ
    assert not ae.params[:18].any() and np.shares_memory(ae.encoder.layers[0].W, ae.params)
    duck = ae.decoder.layers[0]
    assert np.shares_memory(duck.W, ae.params)
    duck.W = duck.W.copy()
    with pytest.raises(DetachedParameterError, match="layer 0 .*DuckDense.*W is no longer"):
        ae.forward(x)


def test_assigning_a_vae_layer_writes_into_the_vae_vector():
    vae = dense_vae("8-5-2", dtype=np.float64)
    head = vae.decoder.layers[0]
    head.b = np.full(head.b.shape, 3.0)
    assert np.shares_memory(head.b, vae.params)
    assert np.count_nonzero(vae.params == 3.0) == head.b.size


@pytest.mark.parametrize("name, value_shape", [("W", (2, 3)), ("b", (1, 2)), ("dW", (6,)),
                                               ("db", ())])
def test_a_value_of_the_wrong_shape_is_refused_naming_layer_parameter_and_shapes(name, value_shape):
    model = Sequential([Dense(3, 2)], dtype=np.float64)
    layer, before = model.layers[0], model.params.copy()
    expected = getattr(layer, name).shape
    pattern = (rf"Dense\(n_in=3, n_out=2.*\)\.{name} has shape {re.escape(str(expected))}.*"
               rf"value of shape {re.escape(str(value_shape))}.*exactly shape.*{name}\[\.\.\.\] = value")
    with pytest.raises(ShapeError, match=pattern):
        setattr(layer, name, np.zeros(value_shape))
    np.testing.assert_array_equal(model.params, before)
    assert np.shares_memory(getattr(layer, name), model.grads if name[0] == "d" else model.params)


@PROPERTY
@given(shape=array_shapes(min_dims=1, max_dims=2, max_side=5), data=st.data())
def test_assignment_writes_any_value_of_the_right_shape_and_only_that(shape, data):
    layer = Scale(1)
    object.__setattr__(layer, "a", np.zeros(shape))  # a parameter of any shape
    object.__setattr__(layer, "da", np.zeros(shape))
    model = Sequential([layer], dtype=np.float64)
    value = data.draw(arrays(np.float64, shape, elements=st.floats(-1e6, 1e6)))
    layer.a = value
    np.testing.assert_array_equal(model.params, value.ravel())
    other = data.draw(array_shapes(min_dims=0, max_dims=3, max_side=5).filter(lambda s: s != shape))
    with pytest.raises(ShapeError):
        layer.a = np.ones(other)
    np.testing.assert_array_equal(model.params, value.ravel())


def test_reset_parameters_writes_through_the_views():
    model = Sequential([Dense(5, 4), ReLU(), Dense(4, 3)], dtype=np.float32)
    layer = model.layers[2]
    layer.reset_parameters(np.random.default_rng(11))
    assert np.shares_memory(layer.W, model.params) and np.shares_memory(layer.b, model.params)
    np.testing.assert_array_equal(layer.W, Dense(4, 3, rng=11).W.astype(np.float32))
    np.testing.assert_array_equal(model.params[-15:-3], layer.W.ravel())


def test_a_layer_belongs_to_the_last_model_built_from_it():
    layer = Dense(3, 2)
    first = Sequential([layer], dtype=np.float64)
    kept = first.params.copy()
    second = Sequential([layer], seed=9, dtype=np.float64)
    np.testing.assert_array_equal(first.params, kept)  # the new draw did not land in first's θ
    layer.W = np.zeros((3, 2))
    assert not second.params[:6].any()
    np.testing.assert_array_equal(first.params, kept)


def layers_with_rng(rngs):
    """A chain of Dense layers 3 → 4 → 5 → …, layer i built with ``rng=rngs[i]``."""
    return [Dense(3 + i, 4 + i, rng=rng) for i, rng in enumerate(rngs)]


def test_an_explicit_layer_rng_is_kept_unless_the_model_gets_a_seed():
    standalone = Dense(3, 4, rng=7).W
    kept = Sequential(layers_with_rng([7, None]), dtype=np.float64)
    np.testing.assert_array_equal(kept.layers[0].W, standalone)
    # The other layer is drawn first from default_rng(0): as if built alone with rng=0.
    np.testing.assert_array_equal(kept.layers[1].W, Dense(4, 5, rng=0).W)
    seeded = Sequential(layers_with_rng([7, None]), seed=5, dtype=np.float64)
    reference = Sequential(layers_with_rng([None, None]), seed=5, dtype=np.float64)
    np.testing.assert_array_equal(seeded.params, reference.params)  # the seed wins
    assert not np.array_equal(seeded.layers[0].W, standalone)


@PROPERTY
@given(rngs=st.lists(st.one_of(st.none(), st.integers(0, 2**16)), min_size=1, max_size=4))
def test_without_a_seed_chosen_weights_stay_and_the_rest_follow_the_old_default(rngs):
    model = Sequential(layers_with_rng(rngs), dtype=np.float64)
    old_default = np.random.default_rng(0)  # the stream every layer came from when seed was 0
    for layer, rng in zip(model.layers, rngs):
        drawn = Dense(layer.n_in, layer.n_out, rng=old_default if rng is None else rng).W
        np.testing.assert_array_equal(layer.W, drawn)
        assert np.shares_memory(layer.W, model.params)
    if all(rng is None for rng in rngs):  # nothing chosen: bit-identical to seed=0
        np.testing.assert_array_equal(
            model.params, Sequential(layers_with_rng(rngs), seed=0, dtype=np.float64).params)
