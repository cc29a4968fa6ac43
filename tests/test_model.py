"""Sequential: whole-model gradients, the flat parameter buffer, determinism, bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import GRADCHECK
from tinyae import (
    BCE,
    MSE,
    Adam,
    Dense,
    ReLU,
    Sequential,
    ShapeError,
    Sigmoid,
    Softmax,
    Tanh,
    check_model,
)

smooth = st.sampled_from([Sigmoid, Tanh])


@GRADCHECK
@given(
    widths=st.lists(st.integers(1, 5), min_size=5, max_size=5),
    act1=smooth, act2=smooth, act3=smooth,
    seed=st.integers(0, 2**16),
    reduction=st.sampled_from(["mean", "sum", "batchmean"]),
)
def test_four_layer_model_gradients(widths, act1, act2, act3, seed, reduction):
    """A 4-Dense-layer model with sigmoid output and BCE: every parameter's gradient."""
    d0, d1, d2, d3, n = widths
    model = Sequential(
        [Dense(d0, d1), act1(), Dense(d1, d2), act2(), Dense(d2, d3), act3(), Dense(d3, d0), Sigmoid()],
        seed=seed, dtype=np.float64,
    )
    x = np.random.default_rng(seed).uniform(size=(n, d0))
    report = check_model(model, BCE(reduction=reduction), x, x)
    assert len(report) == 8
    assert report.max_error < 1e-7, report


def test_relu_softmax_model_gradients_with_mse():
    model = Sequential([Dense(6, 8, init="he"), ReLU(), Dense(8, 5), Softmax()], seed=5, dtype=np.float64)
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(10, 6)), rng.dirichlet(np.ones(5), size=10)
    pre_activation = x @ model.layers[0].W + model.layers[0].b
    assert np.abs(pre_activation).min() > 1e-2, "choose a seed that keeps ReLU away from its kink"
    report = check_model(model, MSE(), x, y)
    assert report.max_error < 1e-7, report


def test_parameters_are_views_into_one_flat_vector():
    model = Sequential([Dense(4, 3), Tanh(), Dense(3, 2)])
    assert model.n_params == 4 * 3 + 3 + 3 * 2 + 2 == model.params.size == model.grads.size
    for _, value, grad in model.parameters():
        assert np.shares_memory(value, model.params) and np.shares_memory(grad, model.grads)
    model.params[:] = 7
    assert np.all(model.layers[2].W == 7)
    assert [name for name, _, _ in model.parameters()] == ["0.W", "0.b", "2.W", "2.b"]


def test_backward_fills_the_flat_gradient_and_zero_grad_clears_it():
    model = Sequential([Dense(4, 3), Sigmoid()])
    x = np.random.default_rng(0).uniform(size=(5, 4))
    loss = MSE()
    loss.forward(model.forward(x), x[:, :3])
    model.backward(loss.backward())
    assert np.abs(model.grads).sum() > 0
    np.testing.assert_array_equal(model.grads[:12], model.layers[0].dW.ravel())
    model.zero_grad()
    assert not model.grads.any()


def test_float32_by_default_float64_on_request():
    assert Sequential([Dense(2, 2)]).params.dtype == np.float32
    model = Sequential([Dense(2, 2)], dtype=np.float64)
    assert model.forward(np.ones((1, 2), dtype=np.float32)).dtype == np.float64
    with pytest.raises(TypeError, match="float32.*float64"):
        Sequential([Dense(2, 2)], dtype=np.int32)


def test_same_seed_same_weights_and_losses():
    def run(seed):
        model = Sequential([Dense(6, 4), Tanh(), Dense(4, 6), Sigmoid()], seed=seed)
        x = np.random.default_rng(0).uniform(size=(16, 6)).astype(np.float32)
        loss, opt, losses = BCE(), Adam(1e-2), []
        for _ in range(10):
            model.zero_grad()
            losses.append(loss.forward(model.forward(x), x))
            model.backward(loss.backward())
            opt.step(model.params, model.grads)
        return model.params.copy(), losses

    (w1, l1), (w2, l2), (w3, _) = run(5), run(5), run(6)
    np.testing.assert_array_equal(w1, w2)
    assert l1 == l2
    assert not np.array_equal(w1, w3)


def test_predict_matches_forward_in_chunks_and_leaves_the_cache_alone():
    model = Sequential([Dense(5, 4), ReLU(), Dense(4, 5), Sigmoid()], seed=1)
    x = np.random.default_rng(1).uniform(size=(23, 5)).astype(np.float32)
    expected = model.forward(x)
    cached_input = model.layers[0].x
    np.testing.assert_allclose(model.predict(x, batch_size=7), expected, rtol=1e-6)
    assert model.layers[0].x is cached_input


def test_input_grad_false_skips_dx_but_not_parameter_gradients():
    layers = lambda: [Dense(3, 4), Tanh(), Dense(4, 3)]  # noqa: E731
    full = Sequential(layers(), dtype=np.float64)
    lean = Sequential(layers(), dtype=np.float64, input_grad=False)
    x = np.random.default_rng(2).normal(size=(5, 3))
    for model in (full, lean):
        model.forward(x)
    assert full.backward(np.ones((5, 3))).shape == (5, 3)
    assert lean.backward(np.ones((5, 3))) is None
    np.testing.assert_array_equal(full.grads, lean.grads)


def test_summary_lists_layers_shapes_and_counts():
    text = Sequential([Dense(784, 100), Sigmoid(), Dense(100, 784), Sigmoid()]).summary()
    assert "Dense(n_in=784, n_out=100" in text and "(N, 100)" in text
    assert "78,500" in text and "157,684" in text and "float32" in text


def test_layers_that_do_not_chain_are_refused_at_construction():
    with pytest.raises(ShapeError, match=r"layer 2 .*expects 50 input features.*output 100"):
        Sequential([Dense(784, 100), ReLU(), Dense(50, 784)])


def test_wrong_input_width_names_both_shapes():
    model = Sequential([Dense(784, 10)])
    with pytest.raises(ShapeError, match=r"\(N, 784\), got \(2, 28, 28\).*reshape"):
        model.forward(np.zeros((2, 28, 28), dtype=np.float32))


def test_uint8_pixels_are_scaled_and_other_integers_refused_with_the_fix():
    model = Sequential([Dense(4, 2)])
    pixels = np.array([[0, 51, 200, 255]], dtype=np.uint8)
    scaled = pixels.astype(np.float32) / 255
    np.testing.assert_allclose(model.forward(pixels), model.forward(scaled), rtol=1e-6)
    np.testing.assert_allclose(model.predict(pixels), model.predict(scaled), rtol=1e-6)
    with pytest.raises(TypeError, match=r"int64.*only uint8.*0\.\.255.*astype\(np.float32\) / 255"):
        model.forward(pixels.astype(np.int64))


def test_nan_input_is_refused_naming_the_rows():
    model = Sequential([Dense(3, 2)])
    x = np.zeros((4, 3))
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf in 1 row.*\[2\]"):
        model.forward(x)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(x)
