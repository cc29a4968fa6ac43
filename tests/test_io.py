"""Saving and loading: atomic writes."""

import os

import pytest

from tinyae import dense_autoencoder
from tinyae.files import atomic_write
from tinyae.io import load, save


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
