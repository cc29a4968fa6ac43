"""Saving and loading: files written by earlier versions, the class table, atomic writes."""

import json
import os

import numpy as np
import pytest

from tinyae import (
    Dense,
    Destandardize,
    ReLU,
    Sequential,
    Standardize,
    dense_autoencoder,
)
from tinyae.files import atomic_write
from tinyae.io import MODELS, from_config, load, save
from tinyae.models import Autoencoder
from tinyae.models.vae import VAE, dense_vae

# The ``config`` strings that tinyae 0.1.0 wrote (json.dumps(model.config())) for
# dense_autoencoder("6-3-6", hidden="tanh"), dense_vae("6-4-2", beta=2.5,
# reduction="mean", seed=4) and a Standardize … Destandardize Sequential in float64.
OLD_AUTOENCODER = (
    '{"class": "Autoencoder", "encoder": {"class": "Sequential", "layers": [{"type": "Dense", '
    '"n_in": 6, "n_out": 3, "init": "glorot"}, {"type": "Tanh"}], "dtype": "float32", '
    '"input_grad": false}, "decoder": {"class": "Sequential", "layers": [{"type": "Dense", '
    '"n_in": 3, "n_out": 6, "init": "glorot"}, {"type": "Sigmoid"}], "dtype": "float32", '
    '"input_grad": true}}'
)
OLD_VAE = (
    '{"class": "VAE", "encoder": {"class": "Sequential", "layers": [{"type": "Dense", "n_in": 6, '
    '"n_out": 4, "init": "glorot"}, {"type": "ReLU"}, {"type": "Dense", "n_in": 4, "n_out": 4, '
    '"init": "glorot"}], "dtype": "float32", "input_grad": false}, "decoder": {"class": '
    '"Sequential", "layers": [{"type": "Dense", "n_in": 2, "n_out": 4, "init": "glorot"}, '
    '{"type": "ReLU"}, {"type": "Dense", "n_in": 4, "n_out": 6, "init": "glorot"}, {"type": '
    '"Sigmoid"}], "dtype": "float32", "input_grad": true}, "beta": 2.5, "reduction": "mean", '
    '"seed": 5}'
)
OLD_SEQUENTIAL = (
    '{"class": "Sequential", "layers": [{"type": "Standardize", "eps": 1e-12}, {"type": "Dense", '
    '"n_in": 4, "n_out": 3, "init": "glorot"}, {"type": "ReLU"}, {"type": "Dense", "n_in": 3, '
    '"n_out": 4, "init": "glorot"}, {"type": "Destandardize"}], "dtype": "float64", '
    '"input_grad": true}'
)


def standardized_sequential():
    s = Standardize()
    return Sequential([s, Dense(4, 3), ReLU(), Dense(3, 4), Destandardize(s)], dtype=np.float64)


OLD_FILES = [
    (OLD_AUTOENCODER, lambda: dense_autoencoder("6-3-6", hidden="tanh"), 6),
    (OLD_VAE, lambda: dense_vae("6-4-2", beta=2.5, reduction="mean", seed=4), 6),
    (OLD_SEQUENTIAL, standardized_sequential, 4),
]


def write_old_file(path, config, n_params, seed=0):
    """The file format of tinyae 0.1.0: np.savez with a JSON ``config`` and the flat ``params``."""
    params = np.random.default_rng(seed).normal(size=n_params)
    np.savez(path, config=np.array(config), params=params)
    return params


@pytest.mark.parametrize("config, build, width", OLD_FILES)
def test_files_written_by_tinyae_0_1_load_and_predict_the_same(tmp_path, config, build, width):
    reference = build()
    params = write_old_file(tmp_path / "old.npz", config, reference.n_params)
    reference.params[...] = params
    loaded = load(tmp_path / "old.npz")
    assert type(loaded) is type(reference) and loaded.config() == json.loads(config)
    np.testing.assert_array_equal(loaded.params, reference.params)
    x = np.random.default_rng(1).uniform(size=(5, width))
    np.testing.assert_array_equal(loaded.predict(x), reference.predict(x))


@pytest.mark.parametrize("config, build, width", OLD_FILES)
def test_save_still_writes_the_same_format(tmp_path, config, build, width):
    """The two arrays tinyae 0.1.0 reads are as they were; ``shapes`` is new, and 0.1.0 ignores it."""
    model = build()
    with np.load(save(model, tmp_path / "new.npz"), allow_pickle=False) as data:
        assert sorted(data.files) == ["config", "params", "shapes"]
        assert str(data["config"]) == config
        assert json.loads(str(data["shapes"])) == [list(v.shape) for _, v, _ in model.parameters()]


def test_a_vae_file_without_its_options_gets_the_defaults(tmp_path):
    config = json.loads(OLD_VAE)
    for key in ("beta", "reduction", "seed"):
        del config[key]
    write_old_file(tmp_path / "bare.npz", json.dumps(config), dense_vae("6-4-2").n_params)
    vae = load(tmp_path / "bare.npz")
    assert (vae.beta, vae.reduction, vae.seed) == (1.0, "batchmean", 0)


def test_every_class_rebuilds_itself_from_its_config():
    models = [dense_autoencoder("6-3-6"), dense_vae("6-4-2", beta=0.5, seed=3),
              standardized_sequential()]
    assert sorted(MODELS) == ["Autoencoder", "Sequential", "VAE"]
    for model in models:
        again = from_config(model.config())
        assert type(again) is type(model) and again.config() == model.config()
    assert type(Autoencoder.from_config(models[0].config())) is Autoencoder
    assert type(VAE.from_config(models[1].config())) is VAE


# --- atomic writes ----------------------------------------------------------------------


def test_atomic_write_replaces_the_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    assert atomic_write(path, lambda file: file.write(b"new\n")) == path
    assert path.read_bytes() == b"new\n" and [p.name for p in tmp_path.iterdir()] == ["data.bin"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")

    def half_then_fail(file):
        file.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, half_then_fail)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["data.bin"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_get_the_permissions_the_umask_gives(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = atomic_write(tmp_path / "f", lambda file: file.write(b"x"))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode


def test_saving_never_changes_the_process_umask(tmp_path, monkeypatch):
    """The umask is process-wide: setting it, even briefly, races with other threads."""

    def no_umask(mask):
        raise AssertionError("save changed the process umask")

    monkeypatch.setattr(os, "umask", no_umask)
    assert load(save(dense_autoencoder("6-3-6"), tmp_path / "m")).config()["class"] == "Autoencoder"
