"""Reliability, third round (issue 23): the core's silently wrong answers and unclear messages.

Layers, losses, the gradient checker, ``Sequential``, saving and loading.  Each test names
the case it reproduces; each failed before its fix.  The tests at the end ("planted bugs")
catch bugs that the older suite let through: each was checked by planting the bug and
watching the test fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tinyae import (
    BCE,
    MSE,
    SGD,
    Adam,
    BCEWithLogits,
    Dense,
    DetachedParameterError,
    Identity,
    Layer,
    ModelFileError,
    ReLU,
    Sequential,
    ShapeError,
    Sigmoid,
    Softmax,
    Tanh,
    check_layer,
    check_loss,
    check_model,
    dense_autoencoder,
    fit,
    gradcheck,
    load,
    save,
    slices,
)
from tinyae.model import bind_parameters

RNG = np.random.default_rng(0)


def pixels(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)


def small_model(seed: int = 0) -> Sequential:
    return Sequential([Dense(6, 4), Sigmoid(), Dense(4, 6), Sigmoid()], seed=seed)


# --- uint8, int8, float16: one rule everywhere (uint8 = pixels 0..255, scaled) -----------------


def test_dense_scales_uint8_pixels_like_a_sequential_does():
    x = pixels((5, 6))
    dense = Dense(6, 3, rng=1)
    np.testing.assert_allclose(dense.forward(x), dense.forward(x / 255), rtol=1e-12)
    assert np.array_equal(dense.apply(x), dense.forward(x))
    dW = []
    for batch in (x, x / 255):  # backward's dW = xᵀ @ dout uses the scaled x too
        dense.zero_grad()
        dense.forward(batch)
        dense.backward(np.ones((5, 3)))
        dW.append(dense.dW.copy())
    np.testing.assert_allclose(dW[0], dW[1], rtol=1e-12)


def test_mse_of_a_model_output_against_its_uint8_input_is_the_scaled_loss():
    x = pixels((8, 6))
    model = small_model()
    scaled = x.astype(np.float32) / 255
    expected = MSE().forward(model.forward(scaled), scaled)
    assert MSE().forward(model.forward(x), x) == pytest.approx(expected, rel=1e-6)
    assert BCE().forward(model.forward(x), x) == pytest.approx(
        BCE().forward(model.forward(scaled), scaled), rel=1e-6)


def test_mse_of_two_uint8_images_does_not_wrap_around():
    a, b = pixels((3, 10), seed=1), pixels((3, 10), seed=2)
    true = np.mean(((a.astype(float) - b) / 255) ** 2)
    assert MSE().forward(a, b) == pytest.approx(true, rel=1e-6)
    loss = MSE(reduction="sum")
    loss.forward(a, b)
    np.testing.assert_allclose(loss.backward(), 2 * (a / 255.0 - b / 255.0), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int64, np.uint16])
def test_a_loss_refuses_integers_that_are_not_pixels(dtype):
    p, y = np.full((1, 1), 100, dtype), np.full((1, 1), 1, dtype)
    with pytest.raises(TypeError) as info:
        MSE().forward(p, y)
    message = str(info.value)
    assert "MSE" in message and "prediction p" in message and str(np.dtype(dtype)) in message
    assert "only uint8" in message and "astype(np.float32)" in message


def test_a_loss_on_float16_is_computed_in_float32_not_inf():
    p, y = np.ones((1000, 100), np.float16), np.zeros((1000, 100), np.float16)
    assert MSE().forward(p, y) == 1.0
    assert MSE(reduction="sum").forward(p, y) == 100_000.0
    bce = BCE()
    value = bce.forward(np.full((2, 3), 0.5, np.float16), np.ones((2, 3), np.float16))
    assert value == pytest.approx(np.log(2), rel=1e-6)
    assert np.isfinite(bce.backward()).all()


def test_bce_eps_too_small_for_the_predictions_suggests_a_value_that_works():
    with pytest.raises(ValueError) as info:
        BCE(eps=1e-8).forward(np.full((2, 2), 0.5, np.float32), np.ones((2, 2), np.float32))
    assert "eps=1e-07" in str(info.value) or "eps=6e-08" in str(info.value)
    # The default is never advised where the default itself fails.
    from tinyae.losses import _check_eps
    with pytest.raises(ValueError) as info:
        _check_eps(1e-7, np.dtype(np.float16))
    assert "Use the default" not in str(info.value) and "float32" in str(info.value)


# --- complex numbers and array-likes reaching a layer --------------------------------------------


@pytest.mark.parametrize("layer", [Sigmoid(), Tanh(), ReLU(), Softmax(), Identity(), Dense(2, 2)],
                         ids=lambda layer: type(layer).__name__)
@pytest.mark.parametrize("method", ["forward", "apply"])
def test_a_layer_refuses_complex_input(layer, method):
    with pytest.raises(TypeError) as info:
        getattr(layer, method)(np.array([[1 + 2j, -3 + 0.5j]]))
    message = str(info.value)
    assert type(layer).__name__ in message and "complex128" in message and "real" in message


@pytest.mark.parametrize("loss", [MSE(), BCE(), BCEWithLogits()], ids=lambda loss: type(loss).__name__)
def test_a_loss_refuses_complex_input(loss):
    with pytest.raises(TypeError, match=r"real numbers.*complex128"):
        loss.forward(np.full((1, 2), 0.5 + 0.1j), np.full((1, 2), 0.5))


def test_dense_takes_a_list_like_numpy_would():
    dense = Dense(3, 2, rng=0)
    np.testing.assert_array_equal(dense.forward([[1.0, 2.0, 3.0]]),
                                  dense.forward(np.array([[1.0, 2.0, 3.0]])))
    np.testing.assert_array_equal(Sigmoid().forward([[0.0]]), [[0.5]])


def test_a_layer_names_the_width_it_expects_for_a_ragged_list():
    with pytest.raises((ShapeError, TypeError)) as info:
        Dense(3, 2).forward([[1.0, 2.0, 3.0], [1.0]])
    assert "Dense(n_in=3" in str(info.value)


def test_a_layer_refuses_int8_like_a_model():
    with pytest.raises(TypeError, match=r"int8.*only uint8"):
        Dense(2, 2).forward(np.ones((1, 2), np.int8))


# --- seeds --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("build", "name", "value", "error"), [
    (lambda v: Dense(3, 2, rng=v), "rng", -1, ValueError),
    (lambda v: Dense(3, 2, rng=v), "rng", 1.5, TypeError),
    (lambda v: Dense(3, 2, rng=v), "rng", "7", TypeError),
    (lambda v: Sequential([Dense(3, 2)], seed=v), "seed", -1, ValueError),
    (lambda v: Sequential([Dense(3, 2)], seed=v), "seed", 1.5, TypeError),
    (lambda v: Sequential([Dense(3, 2)], seed=v), "seed", True, TypeError),
])
def test_a_bad_seed_is_named(build, name, value, error):
    with pytest.raises(error) as info:
        build(value)
    message = str(info.value)
    assert f"{name}" in message and repr(value) in message and "np.random.Generator" in message


def test_good_seeds_still_work():
    a = Sequential([Dense(3, 2)], seed=np.int64(3))
    b = Sequential([Dense(3, 2)], seed=np.random.default_rng(3))
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(Dense(3, 2, rng=5).W, Dense(3, 2, rng=np.random.default_rng(5)).W)


# --- Sequential given a loss ---------------------------------------------------------------------


def test_a_loss_in_the_layer_list_is_named_as_a_loss():
    with pytest.raises(TypeError) as info:
        Sequential([Dense(4, 4), Sigmoid(), MSE()])
    message = str(info.value)
    assert "layer 2" in message and "MSE" in message and "a loss, not a layer" in message
    assert "loss=MSE()" in message


# --- model.params = … ----------------------------------------------------------------------------


def train(model, x, epochs=3):
    return fit(model, x, loss=MSE(), optimizer=SGD(1.0), epochs=epochs, batch_size=8,
               verbose=False)["loss"]


# An Autoencoder's own params and grads are plain attributes of EncoderDecoder (models/base.py),
# which needs `params = FlatVector(lambda m: m.encoder.layers + m.decoder.layers)` (and grads).
BUILDS = [small_model, lambda: dense_autoencoder("6-3-6")]


@pytest.mark.parametrize("build", BUILDS, ids=["Sequential", "Autoencoder"])
@pytest.mark.parametrize("new", ["copy", "zeros_like"])
def test_assigning_model_params_writes_into_theta_and_training_continues(build, new, tmp_path):
    x = RNG.uniform(0, 1, (16, 6)).astype(np.float32)
    model, twin = build(), build()
    saved = model.params.copy()
    train(model, x, epochs=1)
    value = saved.copy() if new == "copy" else np.zeros_like(saved)
    model.params = value
    twin.params[...] = value
    np.testing.assert_array_equal(model.predict(x), twin.predict(x))
    losses = train(model, x)
    assert losses == train(twin, x) and losses[-1] < losses[0]
    np.testing.assert_array_equal(load(save(model, tmp_path / "m")).predict(x), model.predict(x))


@pytest.mark.parametrize("build", BUILDS, ids=["Sequential", "Autoencoder"])
def test_assigning_model_grads_writes_into_the_gradient_vector(build):
    model = build()
    grads = model.grads
    model.grads = np.ones_like(grads)
    assert model.grads is grads and (grads == 1).all()
    model.zero_grad()
    assert (model.grads == 0).all()


def test_the_halves_of_an_autoencoder_still_view_its_theta():
    """A composite model hands each half its slice of θ: that rebinds, it does not copy."""
    model = dense_autoencoder("6-3-6")
    for half, part in ((model.encoder, slice(0, model.encoder.n_params)),
                       (model.decoder, slice(model.encoder.n_params, None))):
        for name in ("params", "grads"):
            assert getattr(half, name).base is getattr(model, name)
            getattr(half, name)[...] = 7
            assert (getattr(model, name)[part] == 7).all()


def test_assigning_params_of_another_size_is_refused():
    model = small_model()
    with pytest.raises(ShapeError) as info:
        model.params = np.zeros(model.n_params + 1)
    message = str(info.value)
    assert f"({model.n_params},)" in message and f"({model.n_params + 1},)" in message


def test_params_of_a_layer_taken_over_still_raise_detached():
    layers = [Dense(3, 2), Sigmoid()]
    old = Sequential(layers)
    Sequential(layers)
    with pytest.raises(DetachedParameterError):
        old.forward(np.ones((1, 3)))


# --- check_layer and check_loss ---------------------------------------------------------------


class ForgetsReturn(Layer):
    """A right ``backward`` for out = 2x that forgets ``return dx``."""

    def forward(self, x):
        return 2 * x

    def backward(self, dout):
        dx = 2 * dout  # noqa: F841 (the bug: no return)


class Dropout(Layer):
    """Right dropout: a new random mask at every forward."""

    def __init__(self, rate=0.5):
        self.rate, self.rng = rate, np.random.default_rng(0)

    def forward(self, x):
        self.mask = (self.rng.uniform(size=x.shape) >= self.rate) / (1 - self.rate)
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class FloatParameter(Layer):
    """out = a·x with a Python float a."""

    param_names = ("a",)

    def __init__(self):
        self.a, self.da = 0.5, 0.0

    def forward(self, x):
        self.x = x
        return self.a * x

    def backward(self, dout):
        self.da += float(np.sum(dout * self.x))
        return dout * self.a


class ReturnsFloat(Layer):
    def forward(self, x):
        return float(np.sum(x))

    def backward(self, dout):
        return np.ones((2, 3)) * dout


def test_check_layer_fails_a_backward_that_returns_nothing():
    report = check_layer(ForgetsReturn(), RNG.normal(size=(2, 3)))
    assert not report.passed
    assert "return dx" in str(report) and "None" in str(report)


def test_check_layer_still_accepts_a_first_layer_that_skips_dx():
    dense = Dense(3, 2, rng=0)
    dense.W = dense.W.astype(np.float64)
    dense.compute_dx = False
    assert check_layer(dense, RNG.normal(size=(2, 3))).passed


def test_check_layer_says_a_random_forward_cannot_be_checked_this_way():
    with pytest.raises(ValueError) as info:
        check_layer(Dropout(), RNG.normal(size=(2, 3)))
    message = str(info.value)
    assert "Dropout" in message and "random" in message and "WRONG" not in message


def test_check_layer_names_a_parameter_that_is_a_python_float():
    with pytest.raises(TypeError) as info:
        check_layer(FloatParameter(), RNG.normal(size=(2, 3)))
    message = str(info.value)
    assert "FloatParameter.a" in message and "float" in message and "np.array" in message


def test_check_layer_names_a_forward_that_returns_a_float():
    with pytest.raises(TypeError) as info:
        check_layer(ReturnsFloat(), RNG.normal(size=(2, 3)))
    message = str(info.value)
    assert "ReturnsFloat.forward" in message and "float" in message and "(N, D" in message


class Float32MSE(MSE):
    def forward(self, p, y):
        return np.float32(super().forward(p, y))


class Float32HalfMSE(MSE):
    """The gradient is twice what this (halved) loss has: a factor bug."""

    def forward(self, p, y):
        return np.float32(super().forward(p, y) / 2)


@pytest.mark.parametrize("shape", [(4, 3), (8, 5), (16, 10)])
def test_check_loss_accepts_a_right_loss_returning_float32(shape):
    p, y = RNG.uniform(0.05, 0.95, shape), RNG.uniform(0, 1, shape)
    report = check_loss(Float32MSE(), p, y)
    assert report.passed, str(report)
    assert "float32" in str(report)
    assert not check_loss(Float32HalfMSE(), p, y).passed


def test_check_loss_names_a_forward_that_returns_no_number():
    class NoReturn(MSE):
        def forward(self, p, y):
            super().forward(p, y)

    with pytest.raises(TypeError, match=r"NoReturn.forward returned None"):
        check_loss(NoReturn(), RNG.uniform(size=(2, 2)), RNG.uniform(size=(2, 2)))


# --- check_model on a large model: a sample by default -----------------------------------------


def big_model():
    return dense_autoencoder("784-100-50-100-784", dtype=np.float64)


def test_check_model_checks_a_seeded_sample_of_a_large_model_quickly():
    x = RNG.uniform(0, 1, (2, 784))
    report = check_model(big_model(), BCE(), x, x)
    assert report.passed, str(report)
    text = str(report)
    assert f"{gradcheck.ENTRIES} of" in text and "entries=None" in text and "seed" in text
    again = check_model(big_model(), BCE(), x, x)
    assert [row.error for row in report] == [row.error for row in again]


def test_check_model_sample_still_catches_a_wrong_layer():
    class HalfDense(Dense):
        def backward(self, dout):
            before = self.dW.copy()
            dx = super().backward(dout)
            self.dW[...] = before + (self.dW - before) / 2
            return dx

    model = Sequential([HalfDense(300, 40), Sigmoid(), Dense(40, 5)], dtype=np.float64)
    x = RNG.uniform(0, 1, (2, 300))
    report = check_model(model, MSE(), x, RNG.uniform(0, 1, (2, 5)))
    assert not report.passed and report[0].name == "d0.W" and report[0].ratio == pytest.approx(0.5)
    assert report[0].shape == (300, 40)


def test_check_model_says_a_random_model_cannot_be_checked_this_way():
    from tinyae.models.vae import dense_vae

    x = RNG.uniform(0, 1, (2, 6))
    with pytest.raises(ValueError) as info:
        check_model(dense_vae("6-4-2", dtype=np.float64), BCE(), x, x)
    assert "VAE" in str(info.value) and "random" in str(info.value) and "eps=" in str(info.value)


def test_check_model_can_check_every_entry():
    model = Sequential([Dense(3, 2), Sigmoid()], dtype=np.float64)
    x = RNG.uniform(0, 1, (2, 3))
    report = check_model(model, MSE(), x, RNG.uniform(0, 1, (2, 2)), entries=None)
    assert report.passed and "sample" not in str(report)


def test_check_model_with_every_entry_of_a_large_model_says_how_long(capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(gradcheck, "PROGRESS_AFTER", 0.0)

    def no_differences(f, theta, dout=1.0, h=1e-5, entries=None):  # the timing is all we need
        calls.append(1)
        return np.zeros_like(theta) if entries is None else np.zeros(len(entries))

    monkeypatch.setattr(gradcheck, "numerical_gradient", no_differences)
    x = RNG.uniform(0, 1, (2, 784))
    check_model(big_model(), BCE(), x, x, entries=None)
    assert len(calls) == 8  # every entry of each of the 8 gradients, none sampled
    err = capsys.readouterr().err
    assert f"{big_model().n_params:,} entries" in err and "about" in err and "entries=" in err


# --- rows named as the data counts them ----------------------------------------------------------


def test_a_value_too_large_for_float32_is_named_in_its_row_not_called_inf():
    x = RNG.uniform(0, 1, (40, 6))
    x[3, 2] = 1e39
    model = small_model()
    for attempt in (lambda: model.forward(x), lambda: model.predict(x, batch_size=7),
                    lambda: fit(model, x, loss=MSE(), optimizer=SGD(0.1), verbose=False)):
        with pytest.raises(ValueError) as info:
            attempt()
        message = str(info.value)
        assert "1e+39" in message and "float32" in message and "[3]" in message, message
        assert "NaN" not in message


def test_a_masked_nan_is_reported_in_its_row_before_training():
    x = RNG.uniform(0, 1, (100, 10))
    x[5, 3] = np.nan
    masked = np.ma.masked_invalid(x)
    model = Sequential([Dense(10, 4), Sigmoid(), Dense(4, 10), Sigmoid()])
    before = model.params.copy()
    with pytest.raises(ValueError) as info:
        fit(model, masked, loss=MSE(), optimizer=SGD(0.1), verbose=False)
    message = str(info.value)
    assert "(first: [5])" in message and "mask" in message
    np.testing.assert_array_equal(model.params, before)


# --- save and load --------------------------------------------------------------------------------


def test_load_finds_the_file_save_wrote_without_the_suffix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = small_model()
    save(model, "model")
    np.testing.assert_array_equal(load("model").params, model.params)
    with pytest.raises(ModelFileError) as info:
        load("other")
    assert "other.npz" in str(info.value)


def test_save_treats_the_npz_suffix_case_insensitively(tmp_path):
    path = save(small_model(), tmp_path / "Model.NPZ")
    assert path.name == "Model.NPZ" and [p.name for p in tmp_path.iterdir()] == ["Model.NPZ"]
    load(path)


def test_saving_inside_a_file_says_the_parent_is_a_file(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(NotADirectoryError) as info:
        save(small_model(), notes / "m.npz")
    message = str(info.value)
    assert "notes.txt" in message and "is a file, not a folder" in message
    assert notes.read_text() == "mine"


POSIX = pytest.mark.skipif(os.name == "nt", reason="symbolic links and ulimit are POSIX")


@POSIX
def test_saving_through_a_dangling_link_names_the_link_not_a_temporary_file(tmp_path):
    link = tmp_path / "m.npz"
    link.symlink_to(tmp_path / "gone" / "m.npz")
    with pytest.raises(FileNotFoundError) as info:
        save(small_model(), link)
    message = str(info.value)
    assert ".tmp" not in message and "m.npz" in message and "symbolic link" in message
    assert "gone" in message and [p.name for p in tmp_path.iterdir()] == ["m.npz"]


@POSIX
def test_a_file_size_limit_names_the_file_and_keeps_the_old_one(tmp_path):
    path = tmp_path / "m.npz"
    save(small_model(), path)
    old = path.read_bytes()
    code = (
        "import resource, signal, sys, numpy as np\n"
        "from tinyae import Sequential, Dense, save\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "model = Sequential([Dense(100, 100)])\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))\n"
        "try:\n"
        "    save(model, sys.argv[1])\n"
        "except OSError as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                            timeout=60)
    assert "File too large" in result.stdout and str(path) in result.stdout, result
    assert "ulimit -f" in result.stdout
    assert path.read_bytes() == old and [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_a_network_too_large_for_memory_says_how_many_gigabytes():
    with pytest.raises(MemoryError) as info:
        Dense(10**7, 10**7)
    assert "Dense(10000000, 10000000)" in str(info.value) and "GB" in str(info.value)

    class Huge(Layer):
        param_names = ("W",)
        W = np.broadcast_to(np.float32(0), (10**6, 10**7))  # takes no memory itself
        dW = W

    with pytest.raises(MemoryError) as info:
        bind_parameters([Huge()], np.dtype(np.float32))
    assert "this network needs 80,000 GB" in str(info.value)


def test_load_refuses_a_config_of_another_model_with_as_many_parameters(tmp_path):
    a, b = small_model(), Sequential([Dense(4, 6), Sigmoid(), Dense(6, 4), Sigmoid()])
    assert a.n_params == b.n_params == 58
    path, other = save(a, tmp_path / "a.npz"), save(b, tmp_path / "b.npz")
    swapped = tmp_path / "swapped.npz"  # a's parameters (and layout), b's config
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(other) as theirs, \
            zipfile.ZipFile(swapped, "w") as new:
        for item in old.infolist():
            config = item.filename == "config.npy"
            new.writestr(item, theirs.read(item.filename) if config else old.read(item))
    with pytest.raises(ModelFileError) as info:
        load(swapped)
    message = str(info.value)
    assert "swapped.npz" in message and "(6, 4)" in message and "(4, 6)" in message
    assert "different models" in message


@pytest.mark.parametrize("extra", [1, 6, -1])
def test_load_refuses_a_file_with_extra_or_missing_parameters_as_a_model_file_error(tmp_path, extra):
    model = small_model()
    path = tmp_path / "m.npz"
    np.savez(path, config=np.array(json.dumps(model.config())),
             params=np.zeros(model.n_params + extra, np.float32))
    with pytest.raises(ModelFileError) as info:
        load(path)
    assert type(info.value) is ModelFileError
    assert f"{model.n_params + extra:,}" in str(info.value) and f"{model.n_params:,}" in str(info.value)


# --- planted bugs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 7, 8, 15, 22])
def test_predict_keeps_every_row_in_chunks(n):
    """Bug: ``predict`` drops the last row when ``len(x)`` = k·batch_size + 1."""
    model = small_model()
    x = RNG.uniform(0, 1, (n, 6)).astype(np.float32)
    out = model.predict(x, batch_size=7)
    assert out.shape == (n, 6)
    np.testing.assert_allclose(out, model.forward(x), rtol=1e-6)


def test_encode_decode_and_predict_keep_every_row_of_k_batches_plus_one():
    """Bug: the same in ``encode``/``decode``, which chunk by ``predict``'s default 1024."""
    model = dense_autoencoder("6-3-6")
    x = RNG.uniform(0, 1, (1025, 6)).astype(np.float32)
    code = model.encode(x)
    assert code.shape == (1025, 3) and model.decode(code).shape == (1025, 6)
    assert model.predict(x).shape == (1025, 6)
    np.testing.assert_allclose(model.decode(code)[-1:], model.decode(code[-1:]), rtol=1e-6)


def test_one_blas_thread_means_one_slice_thread():
    """Bug: ``OPENBLAS_NUM_THREADS=1`` ignored (``>= 1`` written ``> 1``)."""
    slices.thread_count.cache_clear()
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name in slices.THREAD_VARIABLES:
                patch.delenv(name, raising=False)
            patch.setenv("OPENBLAS_NUM_THREADS", "1")
            patch.setenv("OMP_NUM_THREADS", "4")
            assert slices.thread_count() == 1
    finally:
        slices.thread_count.cache_clear()


def test_adam_trains_after_params_are_restored():
    """``model.params = saved`` between two fits with one optimizer: the optimizer keeps θ."""
    x = RNG.uniform(0, 1, (16, 6)).astype(np.float32)
    model, optimizer = small_model(), Adam(1e-2)
    saved = model.params.copy()
    fit(model, x, loss=MSE(), optimizer=optimizer, verbose=False)
    model.params = saved
    fit(model, x, loss=MSE(), optimizer=optimizer, verbose=False)
    assert not np.array_equal(model.params, saved)

