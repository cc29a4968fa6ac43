"""Tests for tinyae.optim, and for the gradients the optimizers consume.

Tiers: hand-computed single steps; gradients and 50-step trajectories against the
independent float64 reference in ``tests/reference.py`` (Jacobian chains, per-scalar
optimizer loops); in-place updates; a model overfitting 64 samples; determinism; errors.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference as ref
from tinyae import (
    BCE,
    MSE,
    SGD,
    Adam,
    BCEWithLogits,
    Dense,
    Identity,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    get_optimizer,
)
from tinyae.optim import flush_subnormals

GRAD_TOL = 1e-6  # float64 gradients: tinyae vs reference, relative
TRAJECTORY_TOL = 1e-5  # parameters after 50 steps, relative

LAYER_CLASSES = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "softmax": Softmax, "identity": Identity}
LAYER_KINDS = {Dense: "dense", **{cls: kind for kind, cls in LAYER_CLASSES.items()}}
LOSS_CLASSES = {"mse": MSE, "bce": BCE, "bce_logits": BCEWithLogits}
REDUCTIONS = ("mean", "sum", "batchmean")
fast = settings(max_examples=40, deadline=None)


def to_spec(model: Sequential) -> list:
    """A float64 copy of ``model`` in the reference's ``(kind, params)`` form."""
    return [
        (LAYER_KINDS[type(layer)], [np.array(value, np.float64) for _, value, _ in layer.parameters()])
        for layer in model.layers
    ]


def train_step(model: Sequential, loss, optimizer, x: np.ndarray, y: np.ndarray) -> float:
    """One tinyae step: forward, backward, update; returns the loss before the update."""
    model.zero_grad()
    value = loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    optimizer.step(model.params, model.grads)
    return value


def autoencoder_batches(seed: int, n_batches: int, n: int, d: int) -> list:
    """``n_batches`` fixed float64 batches ``(x, y = x)`` with x uniform in [0, 1)."""
    rng = np.random.default_rng(seed)
    return [(x, x) for x in (rng.uniform(0, 1, (n, d)) for _ in range(n_batches))]


# --- one step by hand ------------------------------------------------------------------


def test_sgd_one_step_by_hand():
    theta, g = np.array([1.0, -2.0]), np.array([0.5, -1.0])
    SGD(lr=0.1).step(theta, g)
    np.testing.assert_allclose(theta, [1.0 - 0.1 * 0.5, -2.0 - 0.1 * -1.0], rtol=1e-15)  # [0.95, -1.9]


def test_sgd_momentum_two_steps_by_hand():
    theta = np.array([1.0, -2.0])
    opt = SGD(lr=0.1, momentum=0.9)
    opt.step(theta, np.array([1.0, -2.0]))  # v1 = g1 = [1, -2]
    np.testing.assert_allclose(theta, [1.0 - 0.1 * 1.0, -2.0 - 0.1 * -2.0], rtol=1e-15)  # [0.9, -1.8]
    opt.step(theta, np.array([0.5, 0.5]))  # v2 = 0.9·v1 + g2 = [0.9 + 0.5, -1.8 + 0.5] = [1.4, -1.3]
    np.testing.assert_allclose(theta, [0.9 - 0.1 * 1.4, -1.8 - 0.1 * -1.3], rtol=1e-15)  # [0.76, -1.67]


def test_sgd_nesterov_two_steps_by_hand():
    theta = np.array([1.0, -2.0])
    opt = SGD(lr=0.1, momentum=0.9, nesterov=True)
    opt.step(theta, np.array([1.0, -2.0]))  # v1 = g1; step g1 + 0.9·v1 = 1.9·g1 = [1.9, -3.8]
    np.testing.assert_allclose(theta, [1.0 - 0.1 * 1.9, -2.0 - 0.1 * -3.8], rtol=1e-15)  # [0.81, -1.62]
    # v2 = 0.9·v1 + g2 = [0.9 + 0.5, -1.8 + 0.5] = [1.4, -1.3]; step g2 + 0.9·v2 = [0.5 + 1.26, 0.5 - 1.17]
    opt.step(theta, np.array([0.5, 0.5]))
    np.testing.assert_allclose(theta, [0.81 - 0.1 * 1.76, -1.62 - 0.1 * -0.67], rtol=1e-14)


def test_adam_first_and_second_step_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    theta = np.array([1.0, -1.0])
    g1, g2 = np.array([2.0, -0.5]), np.array([1.0, 1.0])
    opt = Adam(lr=lr)
    # Step 1: m̂ = (1−β₁)g / (1−β₁) = g and v̂ = g², so the step is lr·g / (|g| + ε) ≈ lr·sign(g).
    opt.step(theta, g1)
    theta1 = np.array([1.0 - lr * 2.0 / (2.0 + eps), -1.0 - lr * -0.5 / (0.5 + eps)])
    np.testing.assert_allclose(theta, theta1, rtol=1e-14)
    np.testing.assert_allclose(theta, [1.0 - lr, -1.0 + lr], rtol=1e-8)  # the ε barely matters
    # Step 2, m ← β₁m + (1−β₁)g and v ← β₂v + (1−β₂)g²:
    #   first coordinate:  m = 0.9·(0.1·2) + 0.1·1 = 0.28,     v = 0.999·(0.001·4) + 0.001·1 = 0.004996
    #   second coordinate: m = 0.9·(0.1·−0.5) + 0.1·1 = 0.055, v = 0.999·(0.001·0.25) + 0.001·1 = 0.00124975
    m2, v2 = np.array([0.28, 0.055]), np.array([0.004996, 0.00124975])
    m_hat, v_hat = m2 / (1 - b1**2), v2 / (1 - b2**2)  # 1 − 0.9² = 0.19, 1 − 0.999² = 0.001999
    opt.step(theta, g2)
    np.testing.assert_allclose(theta, theta1 - lr * m_hat / (np.sqrt(v_hat) + eps), rtol=1e-12)
    # First coordinate in numbers: m̂ = 0.28/0.19 ≈ 1.47368, √v̂ = √(0.004996/0.001999) ≈ 1.58090
    assert theta[0] == pytest.approx(0.99 - 0.01 * 1.47368 / 1.58090, rel=1e-6)


def test_adamw_shrinks_before_the_adam_step_and_decays_a_weight_without_gradient():
    lr, lam = 0.01, 0.5
    theta, g = np.array([1.0, -2.0]), np.array([2.0, 0.0])
    Adam(lr=lr, weight_decay=lam).step(theta, g)
    # θ(1 − lr·λ) = (0.995, −1.99), then the first Adam step ≈ lr·sign(g) (0 where g = 0)
    np.testing.assert_allclose(theta, [0.995 - lr * 2.0 / (2.0 + 1e-8), -1.99], rtol=1e-14)
    opt, theta = Adam(lr=lr, weight_decay=lam), np.array([1.0])
    for _ in range(100):
        opt.step(theta, np.zeros(1))
    assert theta[0] == pytest.approx((1 - lr * lam) ** 100, rel=1e-12)  # geometric, no faster


# --- gradients against the Jacobian-chain reference ------------------------------------

values = st.floats(-5.0, 5.0)
away_from_zero = st.one_of(st.floats(-5.0, -0.01), st.floats(0.01, 5.0))  # ReLU's kink
sizes = st.integers(1, 5)


def batch(n: int, d: int, elements=values):
    """A hypothesis strategy for a float64 array of shape (n, d)."""
    return hnp.arrays(np.float64, (n, d), elements=elements)


@fast
@given(data=st.data(), n=sizes, n_in=sizes, n_out=sizes)
def test_dense_gradients_match_reference(data, n, n_in, n_out):
    x, dout = data.draw(batch(n, n_in)), data.draw(batch(n, n_out))
    W, b = data.draw(batch(n_in, n_out)), data.draw(hnp.arrays(np.float64, n_out, elements=values))
    layer = Dense(n_in, n_out)
    layer.W[...], layer.b[...] = W, b
    out = layer.forward(x)
    dx = layer.backward(dout)
    J = ref.dense_jacobians(W, n)
    dW, db = ref.dense_param_grads(x, dout)
    abs_dW, abs_db = ref.dense_param_grads(np.abs(x), np.abs(dout))  # size of the summed terms
    abs_out = ref.dense_forward(np.abs(x), np.abs(W), np.abs(b))
    assert ref.relative_error(out, ref.dense_forward(x, W, b), abs_out.max()) < GRAD_TOL
    assert ref.relative_error(dx, ref.vjp(J, dout), ref.vjp(np.abs(J), np.abs(dout)).max()) < GRAD_TOL
    assert ref.relative_error(layer.dW, dW, abs_dW.max()) < GRAD_TOL
    assert ref.relative_error(layer.db, db, abs_db.max()) < GRAD_TOL


@fast
@pytest.mark.parametrize("kind", sorted(LAYER_CLASSES))
@given(data=st.data(), n=sizes, d=st.integers(1, 6))
def test_activation_gradients_match_reference(kind, data, n, d):
    x = data.draw(batch(n, d, away_from_zero if kind == "relu" else values))
    dout = data.draw(batch(n, d))
    layer = LAYER_CLASSES[kind]()
    out = layer.forward(x)
    dx = layer.backward(dout)
    J = ref.activation_jacobians(kind, x)
    assert ref.relative_error(out, ref.activation_forward(kind, x)) < GRAD_TOL
    assert ref.relative_error(dx, ref.vjp(J, dout), ref.vjp(np.abs(J), np.abs(dout)).max()) < GRAD_TOL


def loss_inputs(kind: str, n: int, d: int):
    """Strategies for (p, y): BCE probabilities inside (0.01, 0.99), logits in [−10, 10]."""
    probability, target = st.floats(0.01, 0.99, exclude_min=True, exclude_max=True), st.floats(0.0, 1.0)
    p = {"mse": values, "bce": probability, "bce_logits": st.floats(-10.0, 10.0)}[kind]
    return batch(n, d, p), batch(n, d, values if kind == "mse" else target)


@fast
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind", sorted(LOSS_CLASSES))
@given(data=st.data(), n=sizes, d=st.integers(1, 6))
def test_loss_gradients_match_reference(kind, reduction, data, n, d):
    p_strategy, y_strategy = loss_inputs(kind, n, d)
    p, y = data.draw(p_strategy), data.draw(y_strategy)
    loss = LOSS_CLASSES[kind](reduction=reduction)
    value = loss.forward(p, y)
    dp = loss.backward()
    expected_value, expected_dp = ref.loss_and_gradient(kind, p, y, reduction)
    terms = ref.loss_gradient_terms(kind, p, y)
    term_scale = np.abs(terms).sum(axis=0).max() / ref.reduction_divisor(reduction, p.shape)
    assert ref.relative_error(value, expected_value) < GRAD_TOL
    assert ref.relative_error(dp, expected_dp, term_scale) < GRAD_TOL


# Which output activation each loss takes in the 4-layer model.
MODEL_HEADS = [("mse", Sigmoid), ("mse", Identity), ("bce", Sigmoid), ("bce_logits", Identity)]


@settings(max_examples=25, deadline=None)
@given(
    widths=st.lists(sizes, min_size=5, max_size=5),
    n=sizes,
    seed=st.integers(0, 2**32 - 1),
    head=st.sampled_from(MODEL_HEADS),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_four_layer_model_gradients_match_reference(widths, n, seed, head, reduction):
    loss_kind, output_activation = head
    d0, d1, d2, d3, d4 = widths
    layers = [Dense(d0, d1), Tanh(), Dense(d1, d2), ReLU(), Dense(d2, d3), Softmax(), Dense(d3, d4)]
    model = Sequential([*layers, output_activation()], seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d0))
    y = rng.standard_normal((n, d4)) if loss_kind == "mse" else rng.uniform(0, 1, (n, d4))
    loss = LOSS_CLASSES[loss_kind](reduction=reduction)
    model.zero_grad()
    value = loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    expected_value, expected_grads = ref.model_loss_and_gradients(to_spec(model), loss_kind, reduction, x, y)
    assert ref.relative_error(value, expected_value) < GRAD_TOL
    for (name, _, grad), expected in zip(model.parameters(), expected_grads, strict=True):
        assert ref.relative_error(grad, expected, 1e-12) < GRAD_TOL, name


# --- 50-step trajectories against the reference optimizers ------------------------------

TRAJECTORY_CASES = {  # name: (tinyae optimizer, reference optimizer, loss)
    "sgd-momentum": (lambda: SGD(0.1, momentum=0.9), lambda: ref.ReferenceSGD(0.1, momentum=0.9), "mse"),
    "sgd-nesterov": (lambda: SGD(0.1, momentum=0.9, nesterov=True),
                     lambda: ref.ReferenceSGD(0.1, momentum=0.9, nesterov=True), "mse"),
    "adam": (lambda: Adam(lr=1e-2), lambda: ref.ReferenceAdam(1e-2), "bce"),
    "adamw": (lambda: Adam(lr=1e-2, weight_decay=5.0), lambda: ref.ReferenceAdam(1e-2, weight_decay=5.0),
              "bce"),
}


def trajectory_model() -> Sequential:
    """The fixed float64 autoencoder the trajectories are run on."""
    layers = [Dense(8, 6), Tanh(), Dense(6, 4), Sigmoid(), Dense(4, 8), Sigmoid()]
    return Sequential(layers, seed=11, dtype=np.float64)


@pytest.mark.parametrize("case", sorted(TRAJECTORY_CASES))
def test_fifty_steps_match_reference_trajectory(case):
    make_optimizer, make_reference, loss_kind = TRAJECTORY_CASES[case]
    model, batches = trajectory_model(), autoencoder_batches(seed=5, n_batches=50, n=16, d=8)
    spec = to_spec(model)
    start = model.params.copy()
    optimizer, loss = make_optimizer(), LOSS_CLASSES[loss_kind]()
    losses = [train_step(model, loss, optimizer, x, y) for x, y in batches]
    expected_losses = ref.train(spec, make_reference(), loss_kind, "mean", batches)
    expected = np.concatenate([param.ravel() for param in ref.spec_params(spec)])
    moved = np.abs(model.params - start).max() / np.abs(start).max()
    assert moved > 0.05, f"parameters barely moved ({moved:.1e}): the comparison would be vacuous"
    assert ref.relative_error(model.params, expected) < TRAJECTORY_TOL
    assert ref.relative_error(losses, expected_losses) < TRAJECTORY_TOL


# --- in place ---------------------------------------------------------------------------


OPTIMIZERS = {
    "sgd": lambda: SGD(lr=0.1),
    "sgd-momentum": lambda: SGD(lr=0.1, momentum=0.9),
    "sgd-nesterov": lambda: SGD(lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda: Adam(lr=1e-2),
}
STATEFUL = ("sgd-momentum", "sgd-nesterov", "adam")  # those that keep a buffer per parameter


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_step_updates_the_layers_own_arrays_in_place(name):
    optimizer = OPTIMIZERS[name]()
    model = Sequential([Dense(4, 3), Sigmoid(), Dense(3, 4)], seed=0)
    W, b = model.layers[0].W, model.layers[0].b
    W_before, b_before = W.copy(), b.copy()
    x = np.random.default_rng(0).uniform(0, 1, (8, 4)).astype(np.float32)
    train_step(model, MSE(), optimizer, x, x)
    assert model.layers[0].W is W and model.layers[0].b is b  # not rebound
    assert not np.array_equal(W, W_before) and not np.array_equal(b, b_before)
    assert np.shares_memory(W, model.params) and np.shares_memory(b, model.params)
    assert np.shares_memory(model.layers[0].dW, model.grads)


# --- learning -----------------------------------------------------------------------------


def overfit_losses(optimizer, steps: int = 300) -> list[float]:
    """Full-batch training of a 16→32→16 autoencoder (float32) on 64 random samples."""
    x = np.random.default_rng(0).standard_normal((64, 16)).astype(np.float32)
    model = Sequential([Dense(16, 32), Tanh(), Dense(32, 16), Identity()], seed=0)
    loss = MSE()
    return [train_step(model, loss, optimizer, x, x) for _ in range(steps)]


def test_adam_overfits_64_samples():
    losses = overfit_losses(Adam(lr=1e-2))
    assert losses[-1] <= losses[0] / 100  # measured: ÷1076 after 300 steps


def test_sgd_momentum_overfits_64_samples():
    losses = overfit_losses(SGD(lr=0.1, momentum=0.9))
    assert losses[-1] <= losses[0] / 100  # measured: ÷378 after 300 steps


# --- determinism --------------------------------------------------------------------------


def twenty_steps(seed: int) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Initial weights, final weights and losses of 20 Adam steps from ``seed``."""
    model = Sequential([Dense(6, 4), Tanh(), Dense(4, 6), Sigmoid()], seed=seed)
    initial = model.params.copy()
    batches = autoencoder_batches(seed=seed, n_batches=20, n=10, d=6)
    optimizer, loss = Adam(lr=1e-2), BCE()
    losses = [train_step(model, loss, optimizer, x, y) for x, y in batches]
    return initial, model.params.copy(), losses


def test_same_seed_same_run_different_seed_different_weights():
    first, second, other = twenty_steps(3), twenty_steps(3), twenty_steps(4)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert np.array_equal(first[2], second[2])
    assert len(set(first[2])) > 1  # the loss sequence is not trivially constant
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[1], other[1])


# --- bad arguments ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: SGD(lr=0), "learning rate must be a positive"),
        (lambda: SGD(lr=-0.1), "learning rate must be a positive"),
        (lambda: Adam(lr=0.0), "learning rate must be a positive"),
        (lambda: SGD(lr=float("nan")), "learning rate must be a positive"),
        (lambda: SGD(momentum=1.0), r"momentum must be in \[0, 1\)"),
        (lambda: SGD(momentum=-0.1), r"momentum must be in \[0, 1\)"),
        (lambda: SGD(nesterov=True), "nesterov=True needs a momentum > 0"),
        (lambda: Adam(beta1=1.0), r"beta1 and beta2 must be in \[0, 1\)"),
        (lambda: Adam(beta1=-0.1), r"beta1 and beta2 must be in \[0, 1\)"),
        (lambda: Adam(beta2=1.0), r"beta1 and beta2 must be in \[0, 1\)"),
        (lambda: Adam(beta2=1.5), r"beta1 and beta2 must be in \[0, 1\)"),
        (lambda: Adam(weight_decay=-0.1), r"lr·weight_decay must be in \[0, 1\)"),
        (lambda: Adam(lr=0.1, weight_decay=10.0), r"lr·weight_decay must be in \[0, 1\), got 1"),
    ],
)
def test_bad_hyperparameters_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_params_and_grads_of_different_shapes_raise(name):
    params = np.zeros(3)
    with pytest.raises(ValueError, match=r"params \(3,\) and grads \(4,\) must have the same shape"):
        OPTIMIZERS[name]().step(params, np.ones(4))
    assert np.array_equal(params, np.zeros(3))


@pytest.mark.parametrize("name", [*STATEFUL, "sgd"])
@pytest.mark.parametrize("other_width", [3, 2])  # a model of another size, or of the same size
def test_reusing_an_optimizer_on_another_model_raises(name, other_width):
    optimizer = OPTIMIZERS[name]()
    first, other = Sequential([Dense(2, 3)]), Sequential([Dense(other_width, 3)])
    optimizer.step(first.params, np.ones_like(first.params))
    before = other.params.copy()
    expected = rf"another parameter vector \(9 parameters; now {other.n_params}\).*new optimizer"
    with pytest.raises(ValueError, match=expected):
        optimizer.step(other.params, np.ones_like(other.params))
    assert np.array_equal(other.params, before)


def test_a_refused_step_leaves_the_optimizer_unchanged():
    small, large = Sequential([Dense(2, 3)], dtype=np.float64), Sequential([Dense(3, 3)], dtype=np.float64)
    params, twin = small.params, small.params.copy()
    g1, g2 = np.full(9, 0.5), np.linspace(-1, 1, 9)
    optimizer, fresh = Adam(lr=0.1), Adam(lr=0.1)
    optimizer.step(params, g1)
    fresh.step(twin, g1)
    with pytest.raises(ValueError):
        optimizer.step(large.params, np.ones(12))
    optimizer.step(params, g2)
    fresh.step(twin, g2)
    np.testing.assert_allclose(params, twin, rtol=1e-12)


def test_infinite_learning_rate_raises():
    with pytest.raises(ValueError, match="learning rate"):
        SGD(lr=float("inf"))


def test_negative_adam_eps_raises():
    with pytest.raises(ValueError, match="eps"):
        Adam(eps=-1e-8)


# --- by name ------------------------------------------------------------------------------


def test_get_optimizer_by_name():
    sgd = get_optimizer("sgd", lr=0.05, momentum=0.9, nesterov=True)
    adam = get_optimizer("Adam", lr=1e-3, beta2=0.99)
    assert type(sgd) is SGD and (sgd.lr, sgd.momentum, sgd.nesterov) == (0.05, 0.9, True)
    assert type(adam) is Adam and (adam.lr, adam.beta1, adam.beta2, adam.eps) == (1e-3, 0.9, 0.99, 1e-8)
    theta, twin = np.array([1.0, 2.0]), np.array([1.0, 2.0])
    adam.step(theta, np.array([0.3, -0.2]))
    Adam(lr=1e-3, beta2=0.99).step(twin, np.array([0.3, -0.2]))
    assert np.array_equal(theta, twin)


def test_get_optimizer_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown optimizer 'rmsprop'; choose one of \['adam', 'sgd'\]"):
        get_optimizer("rmsprop", lr=0.1)


# --- subnormal numbers in the optimizer state ------------------------------------------


@pytest.mark.parametrize("make", [lambda: Adam(lr=1e-3), lambda: SGD(lr=0.1, momentum=0.9)],
                         ids=["adam", "sgd-momentum"])
def test_a_running_mean_whose_gradient_stops_ends_at_zero_not_stuck_subnormal(make):
    # Without the flush, 0.9·m rounds back to m among float32's smallest subnormals: m would
    # stay there for ever, and every step would compute on it the processor's slow way.
    optimizer, theta = make(), np.zeros(4, dtype=np.float32)
    optimizer.step(theta, np.array([1e-3, -1e-3, 1.0, 0.0], dtype=np.float32))
    for _ in range(2000):
        optimizer.step(theta, np.zeros(4, dtype=np.float32))
    state = optimizer.state["m" if "m" in optimizer.state else "v"]
    tiny = np.finfo(np.float32).tiny
    assert not np.any((state != 0) & (np.abs(state) < tiny))
    assert np.all(state[:3] == 0) and np.all(np.isfinite(theta))


def test_flush_subnormals_zeroes_only_the_subnormals():
    tiny = np.finfo(np.float32).tiny
    state = np.array([tiny / 2, -tiny / 1000, tiny, -tiny, 0.5, 0.0, 1e-45], dtype=np.float32)
    assert np.count_nonzero((state != 0) & (np.abs(state) < tiny)) == 3  # the test's premise
    flush_subnormals(state)
    np.testing.assert_array_equal(state, np.array([0, 0, tiny, -tiny, 0.5, 0, 0], dtype=np.float32))
