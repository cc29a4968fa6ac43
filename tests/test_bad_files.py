"""Bad files: damaged model files, saving over what the user set, output folders two runs share.

``LOAD_CASES`` is the table of files ``tinyae.load`` must refuse: what is tried, and the
words its ``ModelFileError`` must contain.  Every row is also given to ``tinyae doctor
--model-file``, which must print one line and exit 2.  After the table: a flipped byte
anywhere and a cut anywhere; saving (non-finite parameters, permissions, symbolic links,
the temporary file of a killed save); and ``tinyae train --out`` (a file, a folder that
cannot be written, a folder another run holds).  In every case nothing already saved
is lost.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import pytest

import tinyae
from tinyae import ModelFileError, dense_autoencoder, load, save
from tinyae.cli import main
from tinyae.files import LockHeldError, atomic_write, hold_lock
from tinyae.models.vae import dense_vae

QUICK = ["train", "--dataset", "mnist-mini", "--epochs", "1", "--limit", "200", "--quiet"]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYAE_OFFLINE", "1")
    monkeypatch.setenv("TINYAE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYAE_DATA_DIR", raising=False)


def small_model():
    """6-3-6 with tanh: 45 float32 parameters, encoder.0.W (6, 3), encoder.0.b, decoder.0.W, …"""
    model = dense_autoencoder("6-3-6", hidden="tanh")
    model.params[...] = np.random.default_rng(0).normal(size=model.n_params)
    return model


def saved_bytes(model=None):
    """The bytes ``save`` writes for ``model`` (the small model by default)."""
    with tempfile.TemporaryDirectory() as folder:
        return save(small_model() if model is None else model, Path(folder) / "m.npz").read_bytes()


def npz(config, params):
    """A file made the way ``save`` makes one, from a config (dict, or any array) and params."""
    def make(path):
        text = np.array(json.dumps(config)) if isinstance(config, (dict, list)) else config
        np.savez(path, config=text, params=params)
    return make


def edited(change, model=None):
    """The small model's file (or ``model``'s) with its config changed by ``change(config)``."""
    model = small_model() if model is None else model
    config = model.config()
    change(config)
    return npz(config, model.params)


def with_params(params):
    return npz(small_model().config(), params)


def raw(data):
    return lambda path: path.write_bytes(data)


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def flipped(find, offset=0):
    """The small model's file with one byte flipped: the ``offset``-th byte of ``find``."""
    def make(path):
        data = bytearray(saved_bytes())
        data[data.index(find) + offset] ^= 0x01
        path.write_bytes(bytes(data))
    return make


def flipped_in_place(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def first_dense(key, value):
    def change(config):
        config["encoder"]["layers"][0][key] = value
    return change


def set_key(key, value):
    return lambda config: config.update({key: value})


PARAMS = small_model().params
VAE = dense_vae("6-4-2", seed=1)

LOAD_CASES = [
    # what is tried, how the file is made, words the message must contain
    ("an empty file", raw(b""), ["empty (0 bytes)", "cut short"]),
    ("the first half of a file", lambda p: p.write_bytes(saved_bytes()[:1000]), ["damaged"]),
    ("a file without its last byte", lambda p: p.write_bytes(saved_bytes()[:-1]), ["damaged"]),
    ("one flipped byte in the parameters", flipped(PARAMS.tobytes(), 100), ["damaged", "CRC"]),
    ("one flipped byte in the config", flipped('"Tanh"'.encode("utf-32-le"), 8),  # a str array
     ["damaged", "CRC"]),
    ("a flipped byte in a compressed file",
     lambda p: (np.savez_compressed(p, config=np.array(json.dumps(small_model().config())),
                                    params=PARAMS), flipped_in_place(p, 200)), ["damaged"]),
    ("a text file", raw(b"hello, I am not a model\n"), ["not an .npz archive", "b'hello, I'"]),
    ("a single .npy array", raw(npy_bytes(PARAMS)), [".npy", "tinyae.save"]),
    ("a pickle", raw(pickle.dumps({"params": PARAMS})), ["pickle", "never unpickles"]),
    ("a pickle inside the .npz", npz(np.array(small_model().config(), dtype=object), PARAMS),
     ["pickle", "never unpickles"]),
    ("an .npz without params", lambda p: np.savez(p, config=np.array("{}")),
     ["holds the arrays ['config']"]),
    ("a config that is not JSON", npz(np.array("{'class': 'VAE'"), PARAMS), ["not valid JSON"]),
    ("a config that is a JSON list", npz([1, 2], PARAMS), ["JSON object", "not a list"]),
    ("a config array of numbers", npz(np.arange(3), PARAMS), ["config is a int64 array"]),
    ("an unknown model class", edited(set_key("class", "GAN")), ["unknown model class 'GAN'"]),
    ("no encoder", edited(lambda c: c.pop("encoder")), ["'encoder' and a 'decoder'"]),
    ("layers that are not a list", edited(lambda c: c["decoder"].update(layers=5)),
     ["decoder", "list of 'layers'"]),
    ("an unknown layer type", edited(lambda c: c["decoder"]["layers"].append({"type": "Swish"})),
     ["decoder", "layer 2", "Swish", "layer types"]),
    ("a layer that is a string", edited(lambda c: c["encoder"]["layers"].__setitem__(0, "Dense")),
     ["encoder", "cannot rebuild layer 0, 'Dense'"]),
    ("an unknown model option", edited(set_key("temperature", 2)),
     ["Autoencoder has an unknown option 'temperature'"]),
    ("an unknown layer option", edited(first_dense("bias", False)), ["unknown option 'bias'"]),
    ("a width of 2.5", edited(first_dense("n_in", 2.5)), ["n_in must be a whole number, got 2.5"]),
    ("a width of true", edited(first_dense("n_out", True)),
     ["n_out must be a whole number, got True"]),
    ("a width that is a string", edited(first_dense("n_in", "6")), ["whole number, got '6'"]),
    ("a width of 0", edited(first_dense("n_in", 0)), ["n_in must be a whole number ≥ 1, got 0"]),
    ("a missing width", edited(lambda c: c["encoder"]["layers"][0].pop("n_out")),
     ["lacks", "n_out"]),
    ("widths asking for 10¹² parameters",
     edited(lambda c: c["encoder"]["layers"][0].update(n_in=10**6, n_out=10**6)),
     ["describes 1,000,001,000,024 parameters but it holds 45"]),
    ("an unknown initialiser", edited(first_dense("init", "magic")),
     ["unknown initialiser 'magic'"]),
    ("an integer dtype", edited(lambda c: c["encoder"].update(dtype="int32")),
     ["encoder", "int32"]),
    ("input_grad that is not true or false", edited(lambda c: c["encoder"].update(input_grad="no")),
     ["input_grad must be true or false"]),
    ("halves that do not chain, with the right count",  # 6·3+3 + 2·8+8 = 45, but 3 ≠ 2
     edited(lambda c: c["decoder"]["layers"][0].update(n_in=2, n_out=8)),
     ["encoder outputs 3 features but the decoder expects 2"]),
    ("one parameter too few", with_params(PARAMS[:-1]),
     ["describes 45 parameters but it holds 44"]),
    ("parameters in a column", with_params(PARAMS[:, None]), ["shape (45, 1)", "flat vector"]),
    ("complex parameters", with_params(PARAMS + 1j), ["complex64"]),
    ("integer parameters", with_params(np.arange(45)), ["int64"]),
    ("NaN parameters", with_params(np.full(45, np.nan, np.float32)),
     ["45 of 45 parameters are NaN or infinite", "encoder.0.W", "retrain"]),
    ("one infinite bias", with_params(np.r_[PARAMS[:-1], np.inf].astype(np.float32)),
     ["1 of 45", "decoder.0.b"]),
    ("float64 values too large for float32", with_params(np.full(45, 1e300)), ["NaN or infinite"]),
    ("a NaN beta", edited(set_key("beta", float("nan")), VAE), ["beta must be a finite number"]),
    ("a reduction that is a number", edited(set_key("reduction", 5), VAE),
     ["reduction must be a string"]),
    ("an unknown reduction", edited(set_key("reduction", "average"), VAE), ["VAE", "average"]),
    ("a seed of 2.5", edited(set_key("seed", 2.5), VAE), ["seed must be a whole number"]),
    ("a Destandardize without its Standardize",
     edited(lambda c: c["encoder"]["layers"].insert(0, {"type": "Destandardize"})),
     ["Destandardize without a Standardize"]),
    ("no such file", lambda p: None, ["cannot read it", "No such file"]),
    ("a folder", lambda p: p.mkdir(), ["cannot read it"]),
]


@pytest.fixture(params=LOAD_CASES, ids=[case[0] for case in LOAD_CASES])
def bad_file(request, tmp_path):
    _, make, words = request.param
    path = tmp_path / "model.npz"
    make(path)
    return path, words


def test_a_damaged_model_file_raises_one_error_naming_the_file_and_the_problem(bad_file):
    path, words = bad_file
    with pytest.raises(ModelFileError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not a usable tinyae model file: ") and "\n" not in message
    for word in words:
        assert word in message
    assert caught.value.path == path and isinstance(caught.value, ValueError)


def test_doctor_on_a_damaged_model_file_prints_one_line_and_exits_2(bad_file, capsys):
    """2, not 1: doctor's 1 means "checked, and found an error"; this file could not be checked."""
    path, words = bad_file
    assert main(["doctor", "--model-file", str(path), "--dataset", "mnist-mini"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"tinyae: error: {path}: not a usable tinyae model file")
    assert words[0] in err


def test_a_huge_width_is_refused_before_anything_is_allocated(tmp_path, monkeypatch):
    def no_building(config):
        raise AssertionError("the model was built before its size was checked")

    monkeypatch.setitem(tinyae.io.MODELS, "Autoencoder", no_building)
    edited(first_dense("n_out", 10**6))(tmp_path / "huge.npz")  # 6·10⁶ + 10⁶ + 3·6 + 6
    with pytest.raises(ModelFileError, match="describes 7,000,024 parameters but it holds 45"):
        load(tmp_path / "huge.npz")


def test_a_real_doctor_process_shows_no_traceback(tmp_path):
    (tmp_path / "model.npz").write_bytes(saved_bytes()[:-10])
    doctor = [sys.executable, "-m", "tinyae", "doctor", "--model-file", str(tmp_path / "model.npz")]
    done = subprocess.run(doctor, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "not a usable tinyae model file" in done.stderr


def test_one_flipped_byte_anywhere_is_refused_or_changes_nothing(tmp_path):
    """Every byte of a saved file flipped in turn: never a model with other numbers."""
    good = saved_bytes()
    reference = small_model()
    loaded = refused = 0
    for i in range(len(good)):
        damaged = bytearray(good)
        damaged[i] ^= 0x10
        (tmp_path / "m.npz").write_bytes(bytes(damaged))
        try:
            model = load(tmp_path / "m.npz")
        except ModelFileError:
            refused += 1
            continue
        loaded += 1  # a byte the archive does not use (a timestamp, a comment length…)
        assert model.config() == reference.config(), i
        np.testing.assert_array_equal(model.params, reference.params, err_msg=f"byte {i}")
    assert refused > 0.9 * len(good) and loaded > 0


def test_a_file_cut_anywhere_is_refused(tmp_path):
    good = saved_bytes()
    for n in range(len(good)):
        (tmp_path / "m.npz").write_bytes(good[:n])
        with pytest.raises(ModelFileError):
            load(tmp_path / "m.npz")


def test_a_compressed_npz_and_extra_arrays_still_load(tmp_path):
    model = small_model()
    np.savez_compressed(tmp_path / "m.npz", config=np.array(json.dumps(model.config())),
                        params=model.params, notes=np.array("mine"))
    np.testing.assert_array_equal(load(tmp_path / "m.npz").params, model.params)


# --- saving --------------------------------------------------------------------------------


def test_a_model_with_nan_parameters_is_not_saved_and_the_old_file_is_kept(tmp_path):
    path = save(small_model(), tmp_path / "model.npz")
    before = path.read_bytes()
    diverged = small_model()
    diverged.params[20] = np.nan
    with pytest.raises(ModelFileError, match=r"not saved: 1 of 45 parameters are NaN or infinite "
                                             r"\(the first in encoder.0.b\)"):
        save(diverged, path)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["model.npz"]


def test_save_adds_npz_and_never_replaces_another_suffix(tmp_path):
    """``model.old`` must become ``model.old.npz``: as ``model.npz`` it would overwrite that."""
    keep = save(small_model(), tmp_path / "model.npz").read_bytes()
    assert save(dense_autoencoder("6-2-6"), tmp_path / "model.old") == tmp_path / "model.old.npz"
    assert (tmp_path / "model.npz").read_bytes() == keep
    assert load(tmp_path / "model.old.npz").config() == dense_autoencoder("6-2-6").config()


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664, 0o755])
def test_replacing_a_file_keeps_its_permissions(tmp_path, mode):
    path = save(small_model(), tmp_path / "model.npz")
    path.chmod(mode)
    save(dense_autoencoder("6-2-6"), path)
    assert path.stat().st_mode & 0o7777 == mode and load(path).n_params == 32


def test_saving_through_a_symbolic_link_replaces_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "shared").mkdir()
    target = save(small_model(), tmp_path / "shared" / "best.npz")
    link = tmp_path / "model.npz"
    link.symlink_to(target)
    assert save(dense_autoencoder("6-2-6"), link) == link
    assert link.is_symlink() and link.resolve() == target
    assert load(target).n_params == 32
    assert [p.name for p in (tmp_path / "shared").iterdir()] == ["best.npz"]


def test_a_dangling_link_is_followed_like_open_follows_it(tmp_path):
    link = tmp_path / "model.npz"
    link.symlink_to(tmp_path / "real.npz")
    save(small_model(), link)
    assert link.is_symlink() and load(tmp_path / "real.npz").n_params == 45


# Permissions do not bind root: as root, the checks run in a child process that gives up root.
NOBODY = 65534


def without_root(check):
    """Run ``check()`` where file permissions apply: here, or in a forked child run as nobody."""
    if os.geteuid() != 0:
        check()
        return
    pid = os.fork()
    if pid == 0:  # the child: report through its exit status only
        status = 1
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            check()
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


@pytest.fixture
def public_tmp():
    """A folder everyone may enter and write (tmp_path's parents are private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="tinyae-test-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder)


def test_a_read_only_file_is_refused_not_replaced(public_tmp):
    path = save(small_model(), public_tmp / "model.npz")
    path.chmod(0o444)
    before = path.read_bytes()

    def check():
        with pytest.raises(PermissionError, match="read-only, so it was not replaced"):
            save(dense_autoencoder("6-2-6"), path)

    without_root(check)
    assert path.read_bytes() == before and os.listdir(public_tmp) == ["model.npz"]


KILLED_SAVE = """
import sys, time
import numpy as np
import tinyae
savez = np.savez

def slow_savez(file, **arrays):  # write every byte, then hang before the rename
    savez(file, **arrays)
    file.flush()
    print("written", flush=True)
    time.sleep(600)

np.savez = slow_savez
tinyae.save(tinyae.Sequential([tinyae.Dense(1000, 1000)]), sys.argv[1])
"""


def test_a_killed_save_keeps_the_old_file_and_the_next_save_removes_its_temporary_file(tmp_path):
    path = save(small_model(), tmp_path / "model.npz")
    before = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline() == "written\n"
        child.send_signal(signal.SIGKILL)  # cannot be caught: nothing runs to clean up
    finally:
        child.wait(timeout=60)
    (left,) = [p for p in tmp_path.iterdir() if p.name != "model.npz"]
    assert left.name.startswith(f".model.npz.{child.pid}.") and left.stat().st_size > 4_000_000
    assert path.read_bytes() == before  # the killed save lost nothing
    save(dense_autoencoder("6-2-6"), path)
    assert os.listdir(tmp_path) == ["model.npz"] and load(path).n_params == 32


def test_a_live_writers_temporary_file_is_left_alone(tmp_path):
    busy = tmp_path / f".model.npz.{os.getppid()}.0123abcd.tmp"  # our parent process is running
    busy.write_bytes(b"half a model")
    save(small_model(), tmp_path / "model.npz")
    assert busy.read_bytes() == b"half a model"


def test_atomic_write_is_what_mnist_downloads_use_too(tmp_path):
    """A stale temporary file of a killed download is removed by the next write of that file."""
    stale = tmp_path / ".train-images.gz.999999999.0123abcd.tmp"  # no such process
    stale.write_bytes(b"x" * 1000)
    atomic_write(tmp_path / "train-images.gz", lambda file: file.write(b"data"))
    assert os.listdir(tmp_path) == ["train-images.gz"]


# --- tinyae train --out ----------------------------------------------------------------------


def capture(call):
    """(status, stdout, stderr) of ``call()``, captured in-process (also in a forked child)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = call()
    return status, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if the run gets as far as loading data: it must be refused before."""
    def loaded(*_, **__):
        raise AssertionError("the run started before its --out was checked")

    monkeypatch.setattr("tinyae.cli.train.load_data", loaded)


def test_out_naming_a_file_is_a_usage_error_and_the_file_is_kept(tmp_path, no_training):
    (tmp_path / "results").write_text("mine")
    status, _, err = capture(lambda: main([*QUICK, "--out", str(tmp_path / "results")]))
    assert status == 2 and err.count("\n") == 1
    assert f"--out {tmp_path / 'results'} is a file, not a folder" in err
    assert (tmp_path / "results").read_text() == "mine"


def test_a_read_only_out_is_refused_before_training(public_tmp, no_training):
    (public_tmp / "ro").mkdir()
    (public_tmp / "ro" / "model.npz").write_bytes(saved_bytes())
    (public_tmp / "ro").chmod(0o555)

    def check():
        for out in (public_tmp / "ro", public_tmp / "ro" / "new"):
            status, stdout, err = capture(lambda: main([*QUICK, "--out", str(out)]))  # noqa: B023
            assert status == 1 and stdout == "" and err.count("\n") == 1, err
            assert f"--out {out}: cannot write there (Permission denied)" in err

    without_root(check)
    assert os.listdir(public_tmp / "ro") == ["model.npz"]
    assert (public_tmp / "ro" / "model.npz").read_bytes() == saved_bytes()


def test_the_lock_is_removed_when_a_run_ends_or_fails(tmp_path):
    out = tmp_path / "run"
    assert main([*QUICK, "--out", str(out)]) == 0
    saved = (out / "model.npz").read_bytes()
    diverging = ["--optimizer", "sgd", "--lr", "1e8", "--loss", "mse", "--hidden", "sigmoid",
                 "--output", "identity"]
    assert main([*QUICK, *diverging, "--limit", "1000", "--out", str(out)]) == 1
    assert not (out / ".tinyae.lock").exists() and (out / "model.npz").read_bytes() == saved


def wait_for(condition, seconds=120.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_second_run_into_the_same_out_is_refused_until_the_first_is_gone(tmp_path):
    """Two real processes: the second refuses while the first holds the folder; once the first
    is killed (its lock left behind), a third takes the folder over."""
    out = tmp_path / "run"
    out.mkdir()
    earlier = saved_bytes()
    (out / "model.npz").write_bytes(earlier)  # an earlier run's model: nothing may lose it
    command = [sys.executable, "-m", "tinyae", "train", "--dataset", "mnist-mini", "--quiet",
               "--out", str(out)]
    first = subprocess.Popen([*command, "--limit", "2000", "--epochs", "50"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (out / ".tinyae.lock").exists() or first.poll() is not None)
        assert first.poll() is None, "the first run ended before its lock was seen"
        second = subprocess.run([*command, "--limit", "100", "--epochs", "1"], capture_output=True,
                                text=True, timeout=120)
        assert second.returncode == 1 and second.stderr.count("\n") == 1
        assert f"--out {out} is in use by process {first.pid}" in second.stderr
        assert (out / "model.npz").read_bytes() == earlier
    finally:
        first.kill()  # SIGKILL: no chance to remove its lock
        first.wait(timeout=60)
    assert (out / ".tinyae.lock").read_text().split()[0] == str(first.pid)  # stale, left behind
    third = subprocess.run([*command, "--limit", "100", "--epochs", "1"], capture_output=True,
                           text=True, timeout=120)
    assert third.returncode == 0, third.stderr
    assert not (out / ".tinyae.lock").exists() and load(out / "model.npz").n_params > 0


def test_a_lock_held_by_a_live_process_or_another_host_or_half_written_is_respected(tmp_path):
    lock = tmp_path / ".lock"
    for content, holder in [(f"{os.getppid()} {socket.gethostname()}\n", f"process {os.getppid()}"),
                            ("1 some-other-host\n", "process 1 on some-other-host"),
                            ("", "another process")]:
        lock.write_text(content)
        with pytest.raises(LockHeldError, match=f"the folder is in use by {holder}"):
            with hold_lock(lock, "the folder"):
                pass
        assert lock.read_text() == content


def test_a_run_that_took_a_lock_over_does_not_lose_it_to_the_first_holder(tmp_path):
    lock = tmp_path / ".lock"
    with hold_lock(lock, "the folder"):
        lock.write_text(f"{os.getppid()} {socket.gethostname()}\n")  # another process took it over
    assert lock.exists()

