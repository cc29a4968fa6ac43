"""Autoencoder: spec builder, shared parameters, gradients, save/load round trip."""

import numpy as np
import pytest

from tinyae import BCE, MSE, Adam, Dense, ReLU, Sequential, Sigmoid, check_model
from tinyae.io import load, save
from tinyae.models import Autoencoder, dense_autoencoder, parse_spec
from tinyae.models.base import EncoderDecoder
from tinyae.models.vae import dense_vae
from tinyae.train import fit


def test_spec_builds_encoder_and_decoder_around_the_bottleneck():
    model = dense_autoencoder("784-100-50-100-784", hidden="sigmoid", output="sigmoid")
    kinds = [type(layer).__name__ for layer in model.encoder.layers]
    assert kinds == ["Dense", "Sigmoid", "Dense", "Sigmoid"]
    assert model.encoder.n_out == 50 and model.decoder.n_out == 784
    assert model.n_params == 784 * 100 + 100 + 100 * 50 + 50 + 50 * 100 + 100 + 100 * 784 + 784
    assert model.encoder.layers[0].compute_dx is False  # the data needs no gradient


def test_code_activation_and_default_init():
    model = dense_autoencoder("8-4-2-4-8", hidden="relu", code="identity")
    kinds = [type(layer).__name__ for layer in model.encoder.layers]
    assert kinds == ["Dense", "ReLU", "Dense", "Identity"]
    assert model.encoder.layers[0].init == "he"
    assert dense_autoencoder("8-2-8", hidden="tanh").encoder.layers[0].init == "glorot"


@pytest.mark.parametrize("spec", ["784", "784-x-784", "784-0-784", "784-32"])
def test_bad_specs_are_explained(spec):
    with pytest.raises(ValueError, match="architecture"):
        parse_spec(spec)


def test_one_flat_vector_serves_both_halves():
    model = dense_autoencoder("6-3-6")
    assert np.shares_memory(model.encoder.params, model.params)
    assert np.shares_memory(model.decoder.layers[0].W, model.params)
    model.params[:] = 0.5
    assert np.all(model.encoder.layers[0].W == 0.5) and np.all(model.decoder.layers[0].b == 0.5)


@pytest.mark.parametrize("model", [dense_autoencoder("6-4-3-4-6"), dense_vae("6-4-2")],
                         ids=["autoencoder", "vae"])
def test_both_models_share_the_encoder_decoder_bookkeeping(model):
    assert isinstance(model, EncoderDecoder)
    names = [name for name, _, _ in model.parameters()]
    assert names[0] == "encoder.0.W" and names[-1].startswith("decoder.")
    assert sum(value.size for _, value, _ in model.parameters()) == model.n_params == model.params.size
    model.grads[:] = 1.0
    model.zero_grad()
    assert not model.grads.any() and not model.decoder.layers[0].dW.any()
    assert model.summary().count("total") == 2  # the encoder's table and the decoder's
    assert type(model).from_config(model.config()).config() == model.config()


def test_autoencoder_gradients():
    model = dense_autoencoder("6-4-3-4-6", hidden="tanh", dtype=np.float64, seed=2)
    model.encoder.layers[0].compute_dx = True  # the checker perturbs x too
    x = np.random.default_rng(2).uniform(size=(5, 6))
    report = check_model(model, BCE(), x, x)
    assert report.max_error < 1e-7, report
    assert report[0].name == "dencoder.0.W"


def test_mismatched_halves_are_refused():
    with pytest.raises(ValueError, match="outputs 3 features but the decoder expects 4"):
        Autoencoder(Sequential([Dense(6, 3)]), Sequential([Dense(4, 6)]))
    with pytest.raises(TypeError, match="one dtype"):
        Autoencoder(Sequential([Dense(6, 3)]), Sequential([Dense(3, 6)], dtype=np.float64))


def test_encode_decode_reconstruct_shapes():
    model = dense_autoencoder("10-6-2-6-10")
    x = np.random.default_rng(0).uniform(size=(7, 10)).astype(np.float32)
    assert model.encode(x).shape == (7, 2)
    assert model.decode(np.zeros((3, 2), dtype=np.float32)).shape == (3, 10)
    np.testing.assert_allclose(model.reconstruct(x), model.forward(x), rtol=1e-6)


def test_an_autoencoder_learns_a_low_dimensional_dataset():
    rng = np.random.default_rng(0)
    codes = rng.uniform(size=(256, 2))
    x = (1 / (1 + np.exp(-(codes @ rng.normal(size=(2, 12)) * 3)))).astype(np.float32)
    model = dense_autoencoder("12-8-2-8-12", hidden="tanh")
    history = fit(model, x, loss=MSE(), optimizer=Adam(1e-2), epochs=60, batch_size=32, verbose=False)
    assert history["loss"][-1] < history["loss"][0] / 20


def test_save_load_gives_bit_identical_predictions(tmp_path):
    model = dense_autoencoder("12-6-3-6-12", seed=3)
    x = np.random.default_rng(1).uniform(size=(9, 12)).astype(np.float32)
    fit(model, x, loss=BCE(), optimizer=Adam(1e-2), epochs=2, verbose=False)
    path = save(model, tmp_path / "model")
    assert path.name == "model.npz" and not list(tmp_path.glob(".*tmp"))
    again = load(path)
    assert type(again) is Autoencoder and again.config() == model.config()
    np.testing.assert_array_equal(again.reconstruct(x), model.reconstruct(x))


def test_save_load_sequential_float64(tmp_path):
    model = Sequential([Dense(4, 3), ReLU(), Dense(3, 2), Sigmoid()], dtype=np.float64, seed=9)
    again = load(save(model, tmp_path / "seq.npz"))
    assert again.dtype == np.float64
    x = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_a_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    model = dense_autoencoder("6-3-6")
    path = save(model, tmp_path / "m.npz")
    before = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save(dense_autoencoder("6-3-6", seed=1), path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_loading_garbage_names_the_file(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="bad.npz: not a usable tinyae model file"):
        load(bad)



def test_a_decoder_that_skips_the_gradient_to_the_code_is_refused():
    """The encoder learns only through ∂L/∂z, which such a decoder never computes."""
    encoder = Sequential([Dense(6, 3), ReLU()], input_grad=False)
    decoder = Sequential([Dense(3, 6), Sigmoid()], input_grad=False)
    with pytest.raises(ValueError, match="input_grad=False.*build it with input_grad=True"):
        Autoencoder(encoder, decoder)
