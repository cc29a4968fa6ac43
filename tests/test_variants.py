"""The autoencoder variants' parts: noise, sparsity, weight decay and tied weights."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import GRADCHECK, sizes
from tinyae import BCE, MSE, Adam, Dense, Sequential, Sigmoid, check_model, load, save
from tinyae.gradcheck import compare, numerical_gradient
from tinyae.models import Autoencoder, dense_autoencoder
from tinyae.noise import GaussianNoise, MaskingNoise, parse_noise
from tinyae.regularizers import SparsityPenalty, WeightDecay
from tinyae.tied import TiedDense
from tinyae.train import fit


@GRADCHECK
@given(n=sizes, j=sizes, rho=st.floats(0.02, 0.98), beta=st.floats(0.1, 5.0), seed=st.integers(0, 99))
def test_sparsity_gradient_matches_the_numerical_one(n, j, rho, beta, seed):
    a = np.random.default_rng(seed).uniform(0.05, 0.95, size=(n, j))

    def f():
        return beta * SparsityPenalty(a, rho, beta).value

    analytic = SparsityPenalty(a, rho, beta).da
    assert compare("da", analytic, numerical_gradient(f, a)).error < 1e-7


def test_sparsity_value_is_zero_at_the_target_and_positive_elsewhere():
    a = np.full((4, 3), 0.1)
    assert SparsityPenalty(a, 0.1, 3.0).value == pytest.approx(0.0, abs=1e-12)
    a[:, 1] = 0.5
    kl = 0.1 * np.log(0.1 / 0.5) + 0.9 * np.log(0.9 / 0.5)
    assert SparsityPenalty(a, 0.1, 3.0).value == pytest.approx(kl)


@GRADCHECK
@given(n_in=sizes, n_out=sizes, lam=st.floats(1e-3, 2.0), seed=st.integers(0, 99))
def test_weight_decay_gradient_is_lambda_w(n_in, n_out, lam, seed):
    dense = Dense(n_in, n_out, rng=seed)
    dense.W = dense.W.astype(np.float64)
    dense.b = np.ones(n_out)
    dense.dW = np.zeros_like(dense.W)

    def f():
        return lam * WeightDecay([dense], lam).value

    WeightDecay([dense], lam).add_gradient()
    assert compare("dW", dense.dW, numerical_gradient(f, dense.W)).error < 1e-7
    assert WeightDecay([dense], lam).value == pytest.approx(0.5 * np.sum(dense.W**2))  # no b


@GRADCHECK
@given(d=st.integers(2, 6), h=sizes, n=sizes, seed=st.integers(0, 99))
def test_a_tied_autoencoder_passes_the_gradient_check(d, h, n, seed):
    model = dense_autoencoder(f"{d}-{h}-{d}", hidden="sigmoid", tied=True,
                                   dtype=np.float64, seed=seed)
    model.params[:] = np.random.default_rng(seed).normal(size=model.n_params)
    x = np.random.default_rng(seed + 1).uniform(size=(n, d))
    report = check_model(model, BCE(), x, x)
    assert report.max_error < 1e-7, report


def test_a_deep_tied_autoencoder_with_every_penalty_passes_the_gradient_check():
    model = dense_autoencoder("7-5-3-5-7", hidden="tanh", code="sigmoid", tied=True,
                                   sparsity=0.2, sparsity_weight=2.0, weight_decay=0.3,
                                   dtype=np.float64, seed=4)
    x = np.random.default_rng(4).uniform(size=(6, 7))
    report = check_model(model, MSE(), x, x)
    assert report.max_error < 1e-7, report
    assert [name for name, _, _ in model.parameters()] == [
        "encoder.0.W", "encoder.0.b", "encoder.2.W", "encoder.2.b", "decoder.0.b", "decoder.2.b"]


def test_tied_weights_count_once_and_get_the_sum_of_both_uses():
    model = dense_autoencoder("6-4-6", hidden="sigmoid", tied=True, dtype=np.float64)
    plain = dense_autoencoder("6-4-6", hidden="sigmoid", dtype=np.float64)
    assert model.n_params == plain.n_params - 4 * 6  # W once, only the decoder's bias added
    dense, tied = model.encoder.layers[0], model.decoder.layers[0]
    x = np.random.default_rng(0).uniform(size=(3, 6))
    dp = np.random.default_rng(1).normal(size=(3, 6))

    def dW_of(use):
        model.zero_grad()
        model.forward(x)
        use()
        return dense.dW.copy()

    both = dW_of(lambda: model.backward(dp))
    decoder_use = dW_of(lambda: model.decoder.backward(dp))

    def encoder_use():
        dz = model.decoder.backward(dp)
        model.zero_grad()
        model.encoder.backward(dz)

    encoder_use_alone = dW_of(encoder_use)
    assert np.abs(decoder_use).max() > 0 and np.abs(encoder_use_alone).max() > 0
    np.testing.assert_allclose(both, decoder_use + encoder_use_alone)
    assert tied.param_names == ("b",)


def test_sparsity_needs_a_sigmoid_code_and_rho_inside_zero_one():
    with pytest.raises(ValueError, match="sigmoid code layer"):
        dense_autoencoder("6-3-6", hidden="relu", sparsity=0.1)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        dense_autoencoder("6-3-6", hidden="sigmoid", sparsity=1.0)
    with pytest.raises(ValueError, match="symmetric"):
        dense_autoencoder("6-3-5", tied=True)


@pytest.mark.parametrize("spec, kind, level", [("gaussian:0.3", GaussianNoise, 0.3),
                                               ("mask:0.25", MaskingNoise, 0.25)])
def test_noise_specs_parse(spec, kind, level):
    noise = parse_noise(spec)
    assert isinstance(noise, kind) and noise.spec == spec
    assert getattr(noise, "sigma", getattr(noise, "q", None)) == level


@pytest.mark.parametrize("spec", ["gauss:0.3", "mask", "mask:x", "mask:1.5", "gaussian:-1",
                                  "gaussian:nan"])
def test_bad_noise_specs_are_refused(spec):
    with pytest.raises(ValueError, match="noise|probability|deviation"):
        parse_noise(spec)


def test_noise_has_the_stated_statistics_and_leaves_x_alone():
    x = np.full((200, 100), 0.5)
    masked = MaskingNoise(0.25)(x, np.random.default_rng(0))
    assert np.mean(masked == 0) == pytest.approx(0.25, abs=0.01)
    assert set(np.unique(masked)) == {0.0, 0.5}
    noisy = GaussianNoise(0.1)(x, np.random.default_rng(0))
    assert np.std(noisy - x) == pytest.approx(0.1, rel=0.02)
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert np.all(x == 0.5)


def test_a_denoising_fit_corrupts_the_input_only_and_repeats_with_its_seed():
    x = np.random.default_rng(0).uniform(size=(32, 6))

    def run(noise, seed=0):
        model = dense_autoencoder("6-3-6", hidden="sigmoid", noise=noise, dtype=np.float64)
        seen = []
        forward = model.forward
        model.forward = lambda xb: (seen.append(xb.copy()), forward(xb))[1]
        fit(model, x, loss=MSE(), optimizer=Adam(1e-2), epochs=2, batch_size=8, seed=seed,
            verbose=False)
        return model, np.concatenate(seen)

    model, seen = run("mask:0.5")
    again, seen_again = run("mask:0.5")
    _, seen_other = run("mask:0.5", seed=1)
    _, clean = run(None)
    np.testing.assert_array_equal(model.params, again.params)
    np.testing.assert_array_equal(seen, seen_again)
    assert not np.array_equal(seen, seen_other)
    assert 0.4 < np.mean(seen == 0) < 0.6 and np.mean(clean == 0) == 0
    assert np.all((seen == 0) | np.isin(seen, x))  # each input pixel is 0 or the clean one


def test_a_denoising_gradient_is_the_plain_one_at_the_fixed_noisy_input():
    model = dense_autoencoder("6-4-6", hidden="tanh", noise="gaussian:0.3",
                                   dtype=np.float64, seed=3)
    x = np.random.default_rng(3).uniform(size=(5, 6))
    x_noisy = model.noise(x, np.random.default_rng(7))
    report = check_model(model, BCE(), x_noisy, x)  # input x̃, clean target x
    assert report.max_error < 1e-7, report


@pytest.mark.parametrize("options", [dict(tied=True), dict(sparsity=0.05, sparsity_weight=2.0),
                                     dict(noise="mask:0.3", weight_decay=1e-3)])
def test_variants_save_and_load(tmp_path, options):
    model = dense_autoencoder("8-4-8", hidden="sigmoid", seed=5, **options)
    model.params[:] = np.random.default_rng(5).normal(size=model.n_params)
    save(model, tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert loaded.config() == model.config()
    np.testing.assert_array_equal(loaded.params, model.params)
    x = np.random.default_rng(0).uniform(size=(3, 8)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x))
    if options.get("tied"):
        assert loaded.decoder.layers[0].dense is loaded.encoder.layers[0]


def test_a_hand_built_tied_decoder_works_like_dense_autoencoders():
    dense = Dense(5, 2)
    encoder = Sequential([dense, Sigmoid()], dtype=np.float64)
    decoder = Sequential([TiedDense(dense), Sigmoid()], dtype=np.float64)
    model = Autoencoder(encoder, decoder)
    assert model.n_params == 5 * 2 + 2 + 5
    assert model.decoder.layers[0].config()["tied_to"] == 0
    x = np.random.default_rng(0).uniform(size=(4, 5))
    assert check_model(model, MSE(), x, x).max_error < 1e-7


def test_the_plain_autoencoder_is_unchanged_by_the_options():
    plain = dense_autoencoder("8-4-8", seed=1)
    assert set(plain.config()) == {"class", "encoder", "decoder"}  # old files stay identical
    assert plain.penalties() == [] and plain.noise is None
    x = np.random.default_rng(0).uniform(size=(16, 8))
    history = fit(plain, x, loss=MSE(), optimizer=Adam(1e-2), epochs=1, batch_size=4,
                  verbose=False)
    assert set(history) == {"loss", "seconds"}


def test_a_tied_layer_must_tie_to_its_own_encoder():
    stranger = Dense(5, 2)
    encoder = Sequential([Dense(5, 2), Sigmoid()])
    with pytest.raises(ValueError, match="not one of the encoder's layers"):
        Autoencoder(encoder, Sequential([TiedDense(stranger), Sigmoid()]))
