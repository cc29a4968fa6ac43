"""VAE: gradients of the whole objective (KL included), the KL itself, sampling, reductions,
learning on MNIST, reproducibility, save/load and clear errors."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import tinyae
from strategies import GRADCHECK, PROPERTY
from tinyae import BCE, MSE, Adam, Dense, ReLU, Sequential, Sigmoid, fit
from tinyae.gradcheck import GOOD, MODEL_STEP, GradCheckReport, compare, numerical_gradient
from tinyae.io import load, save
from tinyae.losses import REDUCTIONS
from tinyae.models.vae import VAE, KLPenalty, beta_from_norm, beta_norm, dense_vae, kl_divergence, kl_gradient


def objective(vae, loss, x, eps):
    """recon + Σ weight·value of the penalties (β·KL), as ``fit`` adds them, for a fixed ε:
    the number whose gradient ``backward`` computes."""
    recon = loss.forward(vae.forward(x, eps), x)
    return recon + sum(term.weight * term.value for term in vae.penalties())


def analytic_gradient(vae, loss, x, eps):
    vae.zero_grad()
    objective(vae, loss, x, eps)
    vae.backward(loss.backward())
    return vae.grads.copy()


def check_total_objective(vae, loss, x, eps):
    """Each parameter's analytic gradient of recon + β·KL against finite differences."""
    analytic = analytic_gradient(vae, loss, x, eps)
    report, start = GradCheckReport(), 0
    for name, value, _ in vae.parameters():
        numerical = numerical_gradient(lambda: objective(vae, loss, x, eps), value, 1.0, MODEL_STEP)
        analytic_part = analytic[start : start + value.size].reshape(value.shape)
        report.append(compare("d" + name, analytic_part, numerical))
        start += value.size
    return report


def tiny_vae(K=6, H=4, J=2, seed=0, **kwargs):
    return dense_vae(f"{K}-{H}-{J}", hidden="tanh", seed=seed, dtype=np.float64, **kwargs)


def uniform(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).uniform(size=shape).astype(dtype)


# --- gradients ------------------------------------------------------------------------


@GRADCHECK
@given(K=st.integers(2, 5), H=st.integers(1, 4), J=st.integers(1, 3), N=st.integers(1, 4),
       beta=st.floats(0.0, 4.0), reduction=st.sampled_from(REDUCTIONS),
       decoder=st.sampled_from(["bernoulli", "gaussian"]), seed=st.integers(0, 2**16))
def test_whole_vae_gradient_including_kl(K, H, J, N, beta, reduction, decoder, seed):
    assume(J < K)
    output, loss = ("sigmoid", BCE(reduction)) if decoder == "bernoulli" else ("identity", MSE(reduction))
    vae = tiny_vae(K, H, J, seed, output=output, beta=beta, reduction=reduction)
    x = uniform((N, K), seed)
    eps = np.random.default_rng(seed + 1).standard_normal((N, J))
    report = check_total_objective(vae, loss, x, eps)
    assert report.max_error < GOOD, report


latents = st.tuples(st.integers(1, 5), st.integers(1, 4)).flatmap(
    lambda shape: st.tuples(*[arrays(np.float64, shape, elements=st.floats(-3, 3))] * 2))


@GRADCHECK
@given(mu_log_var=latents, reduction=st.sampled_from(REDUCTIONS))
def test_kl_gradient_for_mu_and_log_var(mu_log_var, reduction):
    mu, log_var = (a.copy() for a in mu_log_var)
    dmu, dlog_var = kl_gradient(mu, log_var, reduction)

    def kl():
        return kl_divergence(mu, log_var, reduction)

    # The KL sums many terms (up to ~10 each, at log_var = 3) while one dmu can be ~1e-3:
    # the model step keeps the rounding ε·|KL|/h below 1e-7 of that (see gradcheck).
    report = GradCheckReport([
        compare("dmu", dmu, numerical_gradient(kl, mu, 1.0, MODEL_STEP)),
        compare("dlog_var", dlog_var, numerical_gradient(kl, log_var, 1.0, MODEL_STEP)),
    ])
    assert report.max_error < GOOD, report


# --- the KL term ----------------------------------------------------------------------


@PROPERTY
@given(mu_log_var=latents, beta=st.floats(0.0, 8.0), reduction=st.sampled_from(REDUCTIONS))
def test_kl_penalty_holds_the_kl_its_weight_and_the_gradient_of_beta_kl(mu_log_var, beta,
                                                                       reduction):
    mu, log_var = mu_log_var
    term = KLPenalty(mu, log_var, beta, reduction)
    assert (term.name, term.weight) == ("kl", beta)
    assert term.value == kl_divergence(mu, log_var, reduction)
    dmu, dlog_var = kl_gradient(mu, log_var, reduction)
    np.testing.assert_array_equal(term.dmu, beta * dmu)
    np.testing.assert_array_equal(term.dlog_var, beta * dlog_var)


def test_the_vae_hands_fit_its_kl_penalty_of_the_last_forward():
    vae = tiny_vae(beta=1.5)
    x, eps = uniform((4, 6)), np.random.default_rng(1).standard_normal((4, 2))
    vae.forward(x, eps)
    [term] = vae.penalties()
    assert term is vae.kl_penalty and term.weight == 1.5
    assert term.value == vae.kl == kl_divergence(vae.mu, vae.log_var)
    vae.forward(2 * x, eps)
    assert vae.penalties()[0] is not term  # a new term for every batch


@PROPERTY
@given(mu_log_var=latents)
def test_kl_is_zero_only_at_the_prior_and_positive_elsewhere(mu_log_var):
    mu, log_var = mu_log_var
    assert kl_divergence(np.zeros_like(mu), np.zeros_like(log_var)) == 0.0
    kl = kl_divergence(mu, log_var)
    assert kl >= 0.0  # never negative, not even by rounding
    if max(np.abs(mu).max(), np.abs(log_var).max()) > 1e-6:
        assert kl > 0.0
    # the textbook formula, per sample, averaged over the batch
    expected = np.mean(-0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var), axis=1))
    assert kl == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_kl_reductions_differ_by_n_and_j():
    mu, log_var = np.random.default_rng(0).normal(size=(2, 5, 3))
    batchmean = kl_divergence(mu, log_var, "batchmean")
    assert kl_divergence(mu, log_var, "sum") == pytest.approx(5 * batchmean)
    assert kl_divergence(mu, log_var, "mean") == pytest.approx(batchmean / 3)


def test_analytic_kl_matches_a_monte_carlo_estimate():
    """E_q[log q(z) − log p(z)] with z ~ q: an independent check of the closed form."""
    mu, log_var, n = 0.7, -0.5, 200_000
    z = mu + np.exp(0.5 * log_var) * np.random.default_rng(0).standard_normal(n)
    log_ratio = -0.5 * log_var - 0.5 * (z - mu) ** 2 / np.exp(log_var) + 0.5 * z**2
    standard_error = log_ratio.std() / np.sqrt(n)
    exact = kl_divergence(np.array([[mu]]), np.array([[log_var]]))
    assert abs(log_ratio.mean() - exact) < 5 * standard_error


# --- sampling -------------------------------------------------------------------------


def fixed_posterior_vae(mu, log_var, seed=0):
    """A VAE whose encoder ignores x: W = 0 and b = [mu | log_var]."""
    J = len(mu)
    vae = VAE(Sequential([Dense(3, 2 * J)], dtype=np.float64), Sequential([Dense(J, 3)], dtype=np.float64),
              seed=seed)
    vae.encoder.layers[0].W[...] = 0
    vae.encoder.layers[0].b[...] = np.concatenate([mu, log_var])
    return vae


def test_sampled_z_has_the_requested_mean_and_std():
    mu, std, n = np.array([1.5, -2.0]), np.array([0.5, 2.0]), 20_000
    vae = fixed_posterior_vae(mu, np.log(std**2))
    vae.forward(np.zeros((n, 3)))
    # standard errors: σ/√n for the sample mean, ≈ σ/√(2n) for the sample std
    assert np.all(np.abs(vae.z.mean(axis=0) - mu) < 5 * std / np.sqrt(n))
    assert np.all(np.abs(vae.z.std(axis=0) - std) < 5 * std / np.sqrt(2 * n))


def test_fixed_eps_is_used_and_cached():
    vae = tiny_vae()
    x, eps = uniform((4, 6)), np.random.default_rng(1).standard_normal((4, 2))
    vae.forward(x, eps)
    np.testing.assert_array_equal(vae.eps, eps)
    np.testing.assert_allclose(vae.z, vae.mu + np.exp(0.5 * vae.log_var) * eps)
    mu, log_var = vae.encode(x)
    np.testing.assert_allclose(vae.mu, mu)
    np.testing.assert_allclose(vae.log_var, log_var)


def test_reconstruct_decodes_mu_deterministically_and_sample_decodes_the_prior():
    vae = tiny_vae()
    x = uniform((4, 6))
    np.testing.assert_array_equal(vae.reconstruct(x), vae.decode(vae.encode(x)[0]))
    np.testing.assert_array_equal(vae.predict(x), vae.reconstruct(x))
    images = vae.sample(5, rng=7)
    assert images.shape == (5, 6) and images.min() >= 0 and images.max() <= 1
    np.testing.assert_array_equal(images, vae.sample(5, rng=7))
    assert not np.array_equal(vae.sample(5), vae.sample(5))  # the VAE's own generator moves on


def test_same_seed_same_noise_and_same_training():
    x = uniform((40, 6), dtype=np.float32)

    def run(seed):
        vae = dense_vae("6-4-2", seed=seed)
        history = fit(vae, x, loss=BCE("batchmean"), optimizer=Adam(1e-2), epochs=3, batch_size=8,
                      verbose=False)
        return vae.eps, [history[key] for key in ("loss", "recon", "kl")]

    eps_a, history_a = run(0)
    eps_b, history_b = run(0)
    np.testing.assert_array_equal(eps_a, eps_b)
    assert history_a == history_b
    assert not np.array_equal(eps_a, run(1)[0])


# --- reductions and β -----------------------------------------------------------------


def test_normalised_objective_is_the_beta_objective_divided_by_k():
    """recon/K + w·KL/J  ==  (1/K)·[recon + β·KL] with β = w·K/J, gradients included."""
    K, J, N, w = 6, 2, 5, 0.1
    x, eps = uniform((N, K)), np.random.default_rng(0).standard_normal((N, J))
    normalised = tiny_vae(K, 4, J, reduction="mean", beta=w)
    summed = tiny_vae(K, 4, J, reduction="batchmean", beta=beta_from_norm(w, J, K))
    value_mean = objective(normalised, BCE("mean"), x, eps)
    value_sum = objective(summed, BCE("batchmean"), x, eps)
    assert value_sum == pytest.approx(K * value_mean, rel=1e-12)
    np.testing.assert_allclose(analytic_gradient(summed, BCE("batchmean"), x, eps),
                               K * analytic_gradient(normalised, BCE("mean"), x, eps), rtol=1e-10, atol=1e-14)


def test_per_pixel_recon_with_per_sample_kl_means_beta_equals_k():
    """The classic mix-up: BCE "mean" + KL "batchmean" is the batchmean objective with β = K, ÷ K."""
    K, J, N = 6, 2, 5
    x, eps = uniform((N, K)), np.random.default_rng(0).standard_normal((N, J))
    mixed, summed = tiny_vae(K, 4, J), tiny_vae(K, 4, J, beta=K)
    np.testing.assert_allclose(analytic_gradient(summed, BCE("batchmean"), x, eps),
                               K * analytic_gradient(mixed, BCE("mean"), x, eps), rtol=1e-10, atol=1e-14)


def test_beta_conversions():
    assert beta_from_norm(0.1, 20, 784) == pytest.approx(3.92)
    assert beta_norm(3.92, 20, 784) == pytest.approx(0.1)
    assert beta_norm(beta_from_norm(0.37, 8, 100), 8, 100) == pytest.approx(0.37)


def test_fit_reports_recon_and_kl_and_adds_beta_kl_to_the_loss():
    vae = dense_vae("6-4-2", beta=0.5)
    history = fit(vae, uniform((32, 6), dtype=np.float32), loss=BCE("batchmean"), optimizer=Adam(1e-2),
                  epochs=2, batch_size=32, verbose=False)
    assert {"loss", "recon", "kl"} <= set(history)
    assert history["loss"][-1] == pytest.approx(history["recon"][-1] + 0.5 * history["kl"][-1], rel=1e-6)


def test_a_tiny_vae_learns_mnist():
    """Measured (seeds 0–2): loss 572 → 312, 580 → 325, 574 → 324 nats per sample."""
    x = tinyae.load_mnist("mnist-mini", dtype="uint8", verbose=False).x_train[:2000]
    vae = dense_vae("784-64-8")
    history = fit(vae, x, loss=BCE("batchmean"), optimizer=Adam(1e-3), epochs=3, batch_size=100,
                  verbose=False)
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    assert history["kl"][-1] > 1.0  # the latent code is in use: no posterior collapse


# --- save / load ----------------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    vae = dense_vae("8-5-3", beta=2.5, reduction="mean", seed=4)
    vae.params[...] = np.random.default_rng(0).normal(size=vae.n_params)
    loaded = load(save(vae, tmp_path / "vae"))
    assert isinstance(loaded, VAE) and loaded.config() == vae.config()
    x = uniform((5, 8), dtype=np.float32)
    np.testing.assert_array_equal(loaded.reconstruct(x), vae.reconstruct(x))
    np.testing.assert_array_equal(loaded.sample(3, rng=1), vae.sample(3, rng=1))


def test_config_and_shared_parameter_vector():
    vae = dense_vae("784-400-20")
    config = vae.config()
    assert config["class"] == "VAE" and (vae.input_dim, vae.latent_dim) == (784, 20)
    assert vae.encoder.n_out == 40 and vae.decoder.n_in == 20 and vae.decoder.n_out == 784
    assert vae.encoder.layers[0].compute_dx is False
    assert type(vae.encoder.layers[-1]) is Dense  # [mu | log_var] need no activation
    assert np.shares_memory(vae.decoder.layers[0].W, vae.params) and vae.params.dtype == np.float32
    assert vae.n_params == 784 * 400 + 400 + 400 * 40 + 40 + 20 * 400 + 400 + 400 * 784 + 784
    assert "J = 20" in vae.summary()


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoder, decoder, match", [
    ([Dense(6, 5)], [Dense(2, 6)], "even number"),
    ([Dense(6, 4)], [Dense(3, 6)], "J = 2, but the decoder expects 3"),
    ([Dense(6, 4)], [Dense(2, 5)], "decoder outputs 5 features but the encoder takes 6"),
    ([Dense(6, 4), ReLU()], [Dense(2, 6)], "must end with a linear Dense"),
])
def test_mismatched_halves_are_explained(encoder, decoder, match):
    with pytest.raises(ValueError, match=match):
        VAE(Sequential(encoder), Sequential(decoder))


def test_other_bad_inputs_are_explained():
    with pytest.raises(ValueError, match="input_grad=True"):
        VAE(Sequential([Dense(6, 4)]), Sequential([Dense(2, 6)], input_grad=False))
    with pytest.raises(TypeError, match="one dtype"):
        VAE(Sequential([Dense(6, 4)]), Sequential([Dense(2, 6), Sigmoid()], dtype=np.float64))
    with pytest.raises(ValueError, match="unknown KL reduction"):
        dense_vae("6-4-2", reduction="average")
    with pytest.raises(ValueError, match="finite number ≥ 0"):
        dense_vae("6-4-2", beta=-1)
    with pytest.raises(ValueError, match="encoder half only"):
        dense_vae("784-400-20-400-784")
    with pytest.raises(ValueError, match="at least one hidden layer"):
        dense_vae("784-20")
    vae = dense_vae("6-4-2")
    with pytest.raises(tinyae.ShapeError, match="shape of mu"):
        vae.forward(uniform((3, 6)), eps=np.zeros((3, 3)))
    with pytest.raises(tinyae.ShapeError, match=r"\(N, 6\)"):
        vae.forward(uniform((3, 5)))
