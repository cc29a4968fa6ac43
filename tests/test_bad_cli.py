"""Bad command lines and failed runs of ``tinyae train``/``doctor``: the status and one clear line.

``CASES``: the arguments, the exit status (2 a mistake in the command, 1 a run that
failed), and the words stderr must contain.  No case may print a Python traceback.
Every case used to train silently (a flag ignored, a diverged model saved with status
0) before the CLI checked for it; each runs on a few bundled images, so that a case
that is not refused ends in seconds.
"""

from __future__ import annotations

import json

import pytest

import tinyae
from tinyae.cli import main

QUICK = ["--dataset", "mnist-mini", "--limit", "500", "--epochs", "2", "--quiet"]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYAE_OFFLINE", "1")
    monkeypatch.setenv("TINYAE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYAE_DATA_DIR", raising=False)


def case(what, args, status, words):
    """One row: what is tried, the arguments after ``tinyae``, the exit status, words on stderr."""
    return pytest.param(args, status, words, id=what)


CASES = [
    # --- flags the --model would ignore ---
    case("--latent with the plain autoencoder", ["train", "--latent", "5"], 2,
         ["--latent is for --model vae only", "--model ae would ignore it"]),
    case("--beta with the plain autoencoder", ["train", "--beta", "4"], 2,
         ["--beta is for --model vae"]),
    case("--kl-schedule with the plain autoencoder", ["train", "--kl-schedule", "linear"], 2,
         ["--kl-schedule is for --model vae"]),
    case("two VAE flags at once", ["train", "--beta", "4", "--latent", "2"], 2,
         ["--latent and --beta are for --model vae only", "drop them, or add --model vae"]),
    case("doctor with --beta for the plain autoencoder", ["doctor", "--beta", "4"], 2,
         ["--beta is for --model vae"]),
    case("--code with the VAE", ["train", "--model", "vae", "--code", "relu"], 2,
         ["--code is for --model ae only"]),
    case("a whole autoencoder's widths for the VAE",
         ["train", "--model", "vae", "--arch", "784-400-784"], 2,
         ["encoder's widths before the latent layer", "784-400-784-20", "--arch 784-400"]),
    # --- runs that diverge with a finite loss: status 1, nothing saved ---
    case("Adam with lr 1000 and a sigmoid output", ["train", "--lr", "1000"], 1,
         ["training diverged in epoch 1", "stuck at exactly 0", "try 10× smaller"]),
    case("MSE with lr 1000: the loss falls, the outputs are stuck",
         ["train", "--lr", "1000", "--loss", "mse"], 1, ["training diverged", "stuck at exactly 0 or ±1"]),
]


@pytest.mark.parametrize("args, status, words", CASES)
def test_a_bad_command_or_run_gives_its_status_and_one_clear_line(args, status, words, capsys,
                                                                   tmp_path):
    out = tmp_path / "out"
    assert main([*args, *QUICK] + (["--out", str(out)] if args[0] == "train" else [])) == status
    err = capsys.readouterr().err
    assert err.startswith("tinyae: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, f"{word!r} missing from {err!r}"
    assert not (out / "model.npz").exists()  # no model from a refused or diverged run


def test_the_vae_flags_still_reach_the_vae(tmp_path, capsys):
    out = tmp_path / "vae"
    args = ["train", "--model", "vae", "--latent", "3", "--beta", "2", "--kl-schedule", "linear",
            *QUICK]
    assert main([*args, "--out", str(out)]) == 0
    model = tinyae.load(out / "model.npz")
    assert model.latent_dim == 3 and model.beta == pytest.approx(2.0)  # the warm-up ended at --beta
    history = json.loads((out / "history.json").read_text())
    assert history["beta"][0] < history["beta"][1] <= 2.0
