"""Tests for tinyae.datasets: the IDX reader/writer, load_mnist and the downloader.

No test touches the network or the real home folder: an autouse fixture points the
cache at tmp_path and sets TINYAE_OFFLINE=1; download tests undo only the latter and
talk to a loopback HTTP server serving small fake MNIST files.
"""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mirror
from tinyae.datasets import (
    DataError,
    MNISTUnavailableError,
    download_mnist,
    load_mnist,
    mnist_cache_dir,
    read_idx,
    to_idx_bytes,
    write_idx,
)
from tinyae.datasets import mnist as mnist_module

# The real files, found where load_mnist looks ($TINYAE_DATA_DIR, then the cache) before the
# autouse fixture below hides both; None on a machine without them.
REAL_MNIST = next((folder for _, folder in mnist_module._search_dirs(None)
                   if len(mnist_module._find_files(folder)) == len(mnist_module.FILES)), None)
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
STEMS = mirror.STEMS


@pytest.fixture(autouse=True)
def isolated_mnist_env(monkeypatch, tmp_path):
    """Cache in tmp_path, no data dir from the environment, no network."""
    monkeypatch.setenv("TINYAE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYAE_DATA_DIR", raising=False)
    monkeypatch.setenv("TINYAE_OFFLINE", "1")
    return tmp_path / "cache" / "mnist"


# ---------------------------------------------------------------- IDX format

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    array=hnp.arrays(
        dtype=st.sampled_from(IDX_DTYPES),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    ),
    suffix=st.sampled_from(["", ".gz"]),
)
def test_idx_round_trip(tmp_path, array, suffix):
    path = write_idx(tmp_path / f"a-idx{suffix}", array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    back = read_idx(path)
    assert back.shape == array.shape
    assert back.dtype == array.dtype and back.dtype.isnative
    assert back.tobytes() == array.tobytes()  # bitwise, so NaNs compare equal too
    assert back.flags.writeable


def test_idx_header_follows_the_format():
    data = to_idx_bytes(np.zeros((2, 3), dtype=np.uint8))
    assert data[:12] == bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3])
    assert len(data) == 12 + 6
    assert to_idx_bytes(np.array([1], dtype=np.int32))[2:] == bytes([0x0C, 1, 0, 0, 0, 1, 0, 0, 0, 1])


def test_gzip_is_detected_by_magic_bytes_not_extension(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gz_named_plain = tmp_path / "plain.idx"
    gz_named_plain.write_bytes(gzip.compress(to_idx_bytes(array)))
    plain_named_gz = tmp_path / "raw.gz"
    plain_named_gz.write_bytes(to_idx_bytes(array))
    np.testing.assert_array_equal(read_idx(gz_named_plain), array)
    np.testing.assert_array_equal(read_idx(plain_named_gz), array)


def test_write_idx_gz_is_reproducible(tmp_path):
    array = np.arange(100, dtype=np.uint8)
    first = write_idx(tmp_path / "a.gz", array).read_bytes()
    assert write_idx(tmp_path / "b.gz", array).read_bytes() == first


@pytest.mark.parametrize("bad", [np.zeros(3, bool), np.zeros(3, np.uint16), np.zeros(3, complex)])
def test_write_idx_rejects_dtypes_idx_cannot_store(tmp_path, bad):
    with pytest.raises(TypeError, match=r"IDX cannot store dtype .*convert the array to one of: uint8"):
        write_idx(tmp_path / "x.idx", bad)


def test_write_idx_rejects_a_scalar(tmp_path):
    with pytest.raises(ValueError, match="1 to 255 dimensions, got ndim=0"):
        write_idx(tmp_path / "x.idx", np.uint8(3))


_IMAGES = to_idx_bytes(np.zeros((5, 28, 28), dtype=np.uint8))
_NOISE = to_idx_bytes(np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8))
_BIG_HEADER = bytes([0, 0, 8, 3]) + np.array([60000, 28, 28], ">u4").tobytes()
CORRUPTIONS = {
    "empty": (b"", "the file is empty"),
    "bad magic": (b"\x01\x02" + _IMAGES[2:], "bad magic number 01 02 08 03"),
    "unknown dtype": (
        bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 7]),
        "unknown IDX dtype code 0x0A; valid codes are 0x08",
    ),
    "header cut": (
        _IMAGES[:10],
        "the header announces 3 dimensions (16 header bytes) but the file has only 10",
    ),
    "truncated data": (
        _BIG_HEADER + bytes(1000),
        "expected 47,040,000 bytes of data for shape (60000, 28, 28) uint8 after the 16-byte "
        "header, found 1,000; the file is truncated — delete it and download it again",
    ),
    "trailing bytes": (_IMAGES + bytes(7), "found 3,927; the file is 7 bytes too long"),
    "truncated gzip": (gzip.compress(_NOISE)[:2000], "the gzip stream ends early (the file is truncated)"),
    "gzip trailer cut": (gzip.compress(_NOISE)[:-3], "the gzip stream ends early (the file is truncated)"),
    "corrupt gzip": (b"\x1f\x8b" + bytes(40), "corrupt gzip data"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupt_idx_files_raise_clear_errors(tmp_path, case):
    data, problem = CORRUPTIONS[case]
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(data)
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message
    assert problem in message
    assert isinstance(info.value, ValueError)


def test_idx_ndim_mismatch_names_the_file(tmp_path):
    path = write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(4, dtype=np.uint8))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.gz: expected a 3-dimensional .* says 1 "):
        read_idx(path, ndim=3)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.gz: cannot read the file"):
        read_idx(tmp_path / "nope.gz")


# ---------------------------------------------------------------- fake MNIST + mirrors


@pytest.fixture(scope="module")
def fake_mnist():
    """Small MNIST-shaped files: arrays, gz bytes by file name, checksums, and a corrupt twin."""
    return mirror.fake_mnist()


@pytest.fixture
def mirror_server(fake_mnist):
    """A loopback HTTP server; ``url(mode)`` gives a mirror URL behaving as ``mode``."""
    with mirror.serve(fake_mnist) as server:
        yield server


@pytest.fixture
def online(monkeypatch):
    """Allow downloads (only ever from the loopback mirror_server)."""
    monkeypatch.delenv("TINYAE_OFFLINE")


def _assert_matches_fake(result, fake):
    """result (float32 images) holds exactly the fake arrays."""
    for key, array in fake["arrays"].items():
        if key.startswith("x"):
            array = array.reshape(len(array), -1).astype(np.float32) / np.float32(255)
        np.testing.assert_array_equal(getattr(result, key), array)


# ---------------------------------------------------------------- downloader


def test_download_lands_in_cache_atomically(
    online, mirror_server, fake_mnist, isolated_mnist_env, monkeypatch, capsys
):
    replaced = []
    real_replace = mnist_module.os.replace

    def spy_replace(src, dst):
        # the temp file sits in the cache folder itself, so os.replace is an atomic rename
        assert Path(src).parent == Path(dst).parent == isolated_mnist_env
        replaced.append(Path(dst).name)
        real_replace(src, dst)

    monkeypatch.setattr(mnist_module.os, "replace", spy_replace)
    result = load_mnist("mnist", mirrors=[mirror_server.url("ok")], checksums=fake_mnist["checksums"])
    assert result.name == "mnist" and "(downloaded)" in result.source
    assert sorted(replaced) == sorted(fake_mnist["files"])
    assert sorted(p.name for p in isolated_mnist_env.iterdir()) == sorted(fake_mnist["files"])
    for name, data in fake_mnist["files"].items():
        assert (isolated_mnist_env / name).read_bytes() == data
    _assert_matches_fake(result, fake_mnist)
    assert "downloading http://127.0.0.1" in capsys.readouterr().err

    # second call: served from the cache, no request, and silent when verbose=False
    n_requests = len(mirror_server.requests)
    again = load_mnist("mnist", download=False, checksums=fake_mnist["checksums"], verbose=False)
    assert again.source == str(isolated_mnist_env)
    assert len(mirror_server.requests) == n_requests
    assert capsys.readouterr().err == ""


def test_404_falls_through_to_next_mirror(online, mirror_server, fake_mnist, capsys):
    mirrors = [mirror_server.url("missing"), mirror_server.url("ok")]
    result = load_mnist("mnist", mirrors=mirrors, checksums=fake_mnist["checksums"])
    _assert_matches_fake(result, fake_mnist)
    assert "HTTP 404" in capsys.readouterr().err
    asked_missing = [r for r in mirror_server.requests if r.startswith("/missing/")]
    assert len(asked_missing) == 1  # a failed mirror is not asked again for the other files


def test_checksum_mismatch_is_never_cached(online, mirror_server, fake_mnist, isolated_mnist_env):
    with pytest.raises(MNISTUnavailableError) as info:
        load_mnist(
            "mnist",
            mirrors=[mirror_server.url("corrupt")],
            checksums=fake_mnist["checksums"],
            verbose=False,
        )
    message = str(info.value)
    assert "SHA-256 of the decompressed data is" in message
    assert mirror_server.url("corrupt") in message
    assert list(isolated_mnist_env.iterdir()) == []  # no file, no temp file


def test_checksum_mismatch_then_good_mirror(online, mirror_server, fake_mnist):
    mirrors = [mirror_server.url("corrupt"), mirror_server.url("ok")]
    result = load_mnist("mnist", mirrors=mirrors, checksums=fake_mnist["checksums"], verbose=False)
    _assert_matches_fake(result, fake_mnist)


def test_a_mirror_given_as_a_string_is_one_mirror(online, mirror_server, fake_mnist):
    url = mirror_server.url("ok")
    result = load_mnist("mnist", mirrors=url, checksums=fake_mnist["checksums"], verbose=False)
    _assert_matches_fake(result, fake_mnist)


def test_timeout_falls_through_to_next_mirror(online, mirror_server, fake_mnist, capsys):
    mirrors = [mirror_server.url("slow"), mirror_server.url("ok")]
    result = load_mnist("mnist", mirrors=mirrors, checksums=fake_mnist["checksums"], timeout=0.3)
    _assert_matches_fake(result, fake_mnist)
    assert "timed out (no data for 0.3 s)" in capsys.readouterr().err


def test_all_mirrors_failing_lists_each_reason_and_the_remedy(online, mirror_server, fake_mnist, tmp_path):
    mirrors = [mirror_server.url("missing"), mirror.refused_url()]
    mirrors += [mirror_server.url("slow"), mirror_server.url("short")]
    with pytest.raises(MNISTUnavailableError) as info:
        download_mnist(
            tmp_path / "dl",
            mirrors=mirrors,
            checksums=fake_mnist["checksums"],
            timeout=0.3,
            verbose=False,
        )
    message = str(info.value)
    lines = message.splitlines()
    reasons = ["HTTP 404", "refused", "timed out", "connection closed after"]
    for url, reason in zip(mirrors, reasons, strict=True):
        said = [line for line in lines if f"{url}train-images-idx3-ubyte.gz: " in line]
        assert len(said) == 1 and reason in said[0]
    assert "TINYAE_DATA_DIR" in message and "mnist-mini" in message
    assert list((tmp_path / "dl").iterdir()) == []


def test_download_fetches_only_missing_files(online, mirror_server, fake_mnist, tmp_path):
    folder = mirror.write_fake_folder(tmp_path / "dl", fake_mnist, stems=STEMS[:3])
    checksums = fake_mnist["checksums"]
    download_mnist(folder, mirrors=[mirror_server.url("ok")], checksums=checksums, verbose=False)
    assert mirror_server.requests == [f"/ok/{STEMS[3]}.gz"]


def test_auto_tries_only_the_first_mirrors_then_falls_back_in_one_line(
    online, mirror_server, fake_mnist, isolated_mnist_env, capsys
):
    mirrors = [mirror_server.url("missing"), mirror.refused_url(), mirror_server.url("ok")]
    result = load_mnist(mirrors=mirrors, checksums=fake_mnist["checksums"])
    assert result.name == "mnist-mini"
    assert not any(r.startswith("/ok/") for r in mirror_server.requests)
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # no line per mirror: one line says it all
    facts = f"(cache {isolated_mnist_env}: no such folder; "
    assert err.startswith(f"tinyae: full MNIST not found {facts}")
    assert "download failed: HTTP 404 Not Found; Connection refused): " in err
    assert "using the bundled subset 'mnist-mini' (10,000 train / 2,000 test images)" in err
    assert err.rstrip().endswith(f"For full MNIST: {mnist_module.HINT}")  # in Python arguments


def test_a_failed_mirror_is_reported_only_when_a_later_one_answers(
    online, mirror_server, fake_mnist, tmp_path, capsys
):
    with pytest.raises(MNISTUnavailableError) as info:
        download_mnist(tmp_path / "a", mirrors=[mirror.refused_url()], checksums=fake_mnist["checksums"])
    assert capsys.readouterr().err == ""  # the error says why; nothing was downloading
    assert info.value.reason == "download failed: Connection refused"
    download_mnist(tmp_path / "b", mirrors=[mirror.refused_url(), mirror_server.url("ok")],
                   checksums=fake_mnist["checksums"])
    lines = capsys.readouterr().err.rstrip("\n").split("\n")  # the progress redraws with \r
    assert lines[0].endswith("Connection refused; trying the next mirror")
    assert all("downloading" in line for line in lines[1:]) and len(lines) == 5  # one per file


def test_a_file_that_arrives_before_the_first_look_is_still_reported(
    online, mirror_server, fake_mnist, monkeypatch
):
    from tinyae.datasets import fetch as fetch_module

    # The race that made the progress line of a small file on a fast link vanish: the
    # transfer thread has finished before fetch first looks at it.
    start = fetch_module._Transfer.start

    def start_and_finish(transfer):
        start(transfer)
        transfer.join()

    monkeypatch.setattr(fetch_module._Transfer, "start", start_and_finish)
    seen = []
    url = mirror_server.url("ok") + "t10k-labels-idx1-ubyte.gz"
    body = fetch_module.fetch(url, timeout=5, until=time.monotonic() + 5, max_bytes=10**6,
                              progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (len(body), len(body)) and len(body) > 0


def test_the_command_line_words_the_fallback_in_its_flags(
    online, mirror_server, monkeypatch, capsys
):
    from tinyae.cli import build_parser
    from tinyae.cli.options import load_data

    monkeypatch.setattr(mnist_module, "MIRRORS", (mirror_server.url("missing"),))
    data = load_data(build_parser().parse_args(["train", "--data-dir", "nowhere"]))
    assert data.name == "mnist-mini"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "(data folder nowhere: no such folder; " in err
    assert "For full MNIST: --data-dir FOLDER" in err and "data_dir=" not in err


# ---------------------------------------------------------------- local folders


def test_data_dir_then_env_then_cache(fake_mnist, tmp_path, monkeypatch, isolated_mnist_env):
    checksums = fake_mnist["checksums"]
    arg, env = tmp_path / "arg", tmp_path / "env"
    mirror.write_fake_folder(isolated_mnist_env, fake_mnist)
    assert load_mnist("mnist", checksums=checksums, verbose=False).source == str(isolated_mnist_env)
    monkeypatch.setenv("TINYAE_DATA_DIR", str(mirror.write_fake_folder(env, fake_mnist)))
    assert load_mnist("mnist", checksums=checksums, verbose=False).source == str(env)
    mirror.write_fake_folder(arg, fake_mnist, gz=False)  # uncompressed names are accepted too
    result = load_mnist("mnist", arg, checksums=checksums, verbose=False)
    assert result.source == str(arg)
    _assert_matches_fake(result, fake_mnist)


def test_checksum_mismatch_in_data_dir_names_the_file(fake_mnist, tmp_path):
    folder = mirror.write_fake_folder(tmp_path / "d", fake_mnist)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(fake_mnist["corrupt"]["t10k-labels-idx1-ubyte.gz"])
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: SHA-256 of the decompressed data is"):
        load_mnist("mnist", folder, checksums=fake_mnist["checksums"], verbose=False)


def test_mnist_offline_without_data_gives_the_remedy(fake_mnist, tmp_path):
    partial = mirror.write_fake_folder(tmp_path / "partial", fake_mnist, stems=STEMS[:2])
    with pytest.raises(MNISTUnavailableError) as info:
        load_mnist("mnist", partial, verbose=False)
    message = str(info.value)
    assert "downloading is disabled (TINYAE_OFFLINE is set)" in message
    assert f"{partial}: missing t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte" in message
    assert "data_dir=that_folder" in message and "TINYAE_DATA_DIR" in message and "mnist-mini" in message


def test_cache_dir_lookup(monkeypatch, tmp_path):
    assert mnist_cache_dir() == tmp_path / "cache" / "mnist"
    monkeypatch.delenv("TINYAE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist_cache_dir() == tmp_path / "xdg" / "tinyae" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist_cache_dir() == tmp_path / "home" / ".cache" / "tinyae" / "mnist"


# ---------------------------------------------------------------- load_mnist options, mnist-mini


@pytest.mark.parametrize(
    "kwargs, valid",
    [
        ({"name": "fashion"}, r"\['auto', 'mnist', 'mnist-mini'\]"),
        ({"dtype": "int64"}, r"\['float32', 'float64', 'uint8'\]"),
    ],
)
def test_unknown_name_or_dtype_lists_the_choices(kwargs, valid):
    with pytest.raises(ValueError, match=f"unknown {next(iter(kwargs))} .*; choose one of {valid}"):
        load_mnist(**kwargs)


def test_mnist_mini_counts_and_stratification():
    data = load_mnist("mnist-mini", verbose=False)
    assert (data.name, data.source) == ("mnist-mini", str(mnist_module.BUNDLED_DIR))
    assert data.x_train.shape == (10_000, 784) and data.x_test.shape == (2_000, 784)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.uint8
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    for y, full in ((data.y_train, TRAIN_COUNTS), (data.y_test, TEST_COUNTS)):
        quota = len(y) * np.array(full) / sum(full)  # proportional stratification
        assert np.all(np.abs(np.bincount(y, minlength=10) - quota) < 1)
    assert abs(data.x_train.mean() - 0.1307) < 0.005


def test_dtype_uint8_and_binarize():
    raw = load_mnist("mnist-mini", dtype="uint8", verbose=False)
    assert raw.x_test.dtype == np.uint8 and raw.x_test.max() == 255
    binary = load_mnist("mnist-mini", binarize=True, verbose=False)
    assert binary.x_test.dtype == np.float32
    np.testing.assert_array_equal(binary.x_test, raw.x_test >= 128)
    assert set(np.unique(binary.x_test)) == {0.0, 1.0}
    wide = load_mnist("mnist-mini", dtype="float64", verbose=False)
    np.testing.assert_array_equal(wide.x_test, raw.x_test / 255)


def test_dtype_accepts_numpy_types_and_binarize_keeps_it():
    data = load_mnist("mnist-mini", dtype=np.uint8, binarize=True, verbose=False)
    assert data.x_train.dtype == np.uint8
    assert set(np.unique(data.x_train).tolist()) == {0, 1}


def test_bundled_files_are_checksum_verified(monkeypatch):
    monkeypatch.setitem(mnist_module.MINI_SHA256, "t10k-labels-idx1-ubyte", "0" * 64)
    with pytest.raises(DataError, match=r"data/t10k-labels-idx1-ubyte.gz: SHA-256 .* expected 0000"):
        load_mnist("mnist-mini", verbose=False)


def test_auto_offline_falls_back_to_mnist_mini_and_says_so_in_one_line(capsys):
    data = load_mnist(hint="--data-dir FOLDER")
    assert data.name == "mnist-mini" and len(data.y_train) == 10_000
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tinyae: full MNIST not found (")
    assert "; no download: TINYAE_OFFLINE is set): using the bundled subset 'mnist-mini'" in err
    assert err.endswith("For full MNIST: --data-dir FOLDER\n")  # the caller's words


# ---------------------------------------------------------------- the real files


@pytest.mark.skipif(REAL_MNIST is None, reason="full MNIST not on this machine: set "
                    "TINYAE_DATA_DIR to a folder holding its four files, or put them in the cache")
def test_real_mnist_loads_and_verifies():
    data = load_mnist("mnist", REAL_MNIST, verbose=False)  # default checksums: verified
    assert (data.name, data.source) == ("mnist", str(REAL_MNIST))
    assert data.x_train.shape == (60_000, 784) and data.x_test.shape == (10_000, 784)
    assert np.bincount(data.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(data.y_test).tolist() == TEST_COUNTS
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    assert data.x_train.mean(dtype=np.float64) == pytest.approx(0.1307, abs=1e-4)
