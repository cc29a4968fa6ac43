"""Bad command lines and failed runs of ``tinyae train``/``doctor``: the status and one clear line.

``CASES``: the arguments, the exit status (2 a mistake in the command, 1 a run that
failed), and the words stderr must contain.  No case may print a Python traceback.
Every case used to train silently (a flag ignored, a diverged model saved with status
0) before the CLI checked for it; each runs on a few bundled images, so that a case
that is not refused ends in seconds.  Below the table: Ctrl-C keeps the finished epochs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import tinyae
from tinyae.cli import main
from tinyae.train import Callback

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
    case("the VAE with an input width only", ["train", "--model", "vae", "--arch", "784"], 2,
         ["--arch gives the input and at least one hidden width", "--latent"]),
    case("a VAE latent as wide as the image", ["train", "--model", "vae", "--latent", "800"], 2,
         ["--latent 800 must be smaller than the 784 pixels"]),
    # --- autoencoder variants that do not fit together ---
    case("--sparsity with a ReLU code layer", ["train", "--sparsity", "0.1"], 2,
         ["--sparsity needs a sigmoid code layer", "the code layer is relu", "--code sigmoid"]),
    case("--sparsity-weight without --sparsity", ["train", "--sparsity-weight", "3"], 2,
         ["--sparsity-weight is the weight of the --sparsity penalty", "add --sparsity RHO"]),
    case("--tied with the VAE", ["train", "--model", "vae", "--tied"], 2,
         ["--tied is for --model ae only"]),
    case("--noise with the VAE", ["train", "--model", "vae", "--noise", "mask:0.2"], 2,
         ["--noise is for --model ae only"]),
    case("--tied with an asymmetric architecture",
         ["train", "--tied", "--arch", "784-100-30-50-784"], 2,
         ["--tied decodes with the encoder's transposed weights", "symmetric", "784-100-30-50-784"]),
    # --- runs that diverge with a finite loss: status 1, nothing saved ---
    case("Adam with lr 1000 and a sigmoid output", ["train", "--lr", "1000"], 1,
         ["training diverged in epoch 1", "stuck at exactly 0", "try 10× smaller"]),
    case("MSE with lr 1000: the loss falls, the outputs are stuck",
         ["train", "--lr", "1000", "--loss", "mse"], 1,
         ["training diverged", "stuck at exactly 0 or ±1"]),
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


def test_a_limit_beyond_the_training_set_is_said(tmp_path, capsys):
    args = ["train", "--dataset", "mnist-mini", "--limit", "100000", "--epochs", "1", "--quiet"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "--limit 100,000 is more than the 10,000 training images of mnist-mini" in err


def test_the_vae_flags_still_reach_the_vae(tmp_path, capsys):
    out = tmp_path / "vae"
    args = ["train", "--model", "vae", "--latent", "3", "--beta", "2", "--kl-schedule", "linear",
            *QUICK]
    assert main([*args, "--out", str(out)]) == 0
    model = tinyae.load(out / "model.npz")
    assert model.latent_dim == 3 and model.beta == pytest.approx(2.0)  # the warm-up ended at --beta
    history = json.loads((out / "history.json").read_text())
    assert history["beta"][0] < history["beta"][1] <= 2.0


class InterruptAt(Callback):
    """Raises KeyboardInterrupt (as Ctrl-C would) at the start of batch ``at`` of the run."""

    def __init__(self, at):
        self.at = at

    def on_batch_begin(self, model, step):
        if step == self.at:
            raise KeyboardInterrupt


def interrupt_fit_at(batch, monkeypatch):
    """Make ``tinyae train``'s fit meet Ctrl-C at the start of ``batch`` (4 batches an epoch)."""
    real_fit = tinyae.cli.train.fit

    def fit(*args, callbacks=(), **kwargs):
        return real_fit(*args, callbacks=[InterruptAt(batch), *callbacks], **kwargs)

    monkeypatch.setattr("tinyae.cli.train.fit", fit)


def test_ctrl_c_keeps_the_model_and_history_of_the_last_finished_epoch(monkeypatch, capsys,
                                                                        tmp_path):
    interrupt_fit_at(9, monkeypatch)  # in epoch 3
    out = tmp_path / "out"
    assert main(["train", *QUICK, "--epochs", "5", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "interrupted in epoch 3: kept the model and history of epoch 2" in err
    assert "Traceback" not in err
    history = json.loads((out / "history.json").read_text())
    assert len(history["val_loss"]) == 2
    assert_is_the_model_of_the_last_epoch(out, history)


def test_ctrl_c_before_the_first_epoch_finished_writes_nothing(monkeypatch, capsys, tmp_path):
    interrupt_fit_at(2, monkeypatch)
    out = tmp_path / "out"
    assert main(["train", *QUICK, "--out", str(out)]) == 130
    assert "before the first epoch finished: nothing was written" in capsys.readouterr().err
    assert not (out / "model.npz").exists() and not (out / "history.json").exists()


def assert_is_the_model_of_the_last_epoch(out, history):
    """The saved model scores on the test set exactly the last val_loss of the saved history."""
    model = tinyae.load(out / "model.npz")
    x_test = tinyae.load_mnist("mnist-mini", dtype="uint8", verbose=False).x_test
    test_loss = tinyae.evaluate(model, tinyae.BCE(), x_test)["loss"]
    assert test_loss == pytest.approx(history["val_loss"][-1], rel=1e-6)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_sigint_to_a_real_tinyae_train_keeps_its_finished_epochs(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "TINYAE_OFFLINE": "1", "TINYAE_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "tinyae", "train", "--dataset", "mnist-mini", "--limit",
               "1000", "--epochs", "1000", "--out", str(out)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
    try:
        seen = ""
        # "epoch 2/": epoch 1 has finished, whether its line is printed at its end or, live,
        # from its start
        while "epoch 2/" not in seen:
            line = child.stdout.readline()
            assert line, f"tinyae train ended early: {child.communicate()[1]}"
            seen += line
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 130, stderr
    assert "Traceback" not in stderr
    history = json.loads((out / "history.json").read_text())
    kept = len(history["val_loss"])
    assert kept >= 1 and f"kept the model and history of epoch {kept}, the last one" in stderr
    assert (out / "history.csv").read_text().count("\n") == kept + 1
    assert_is_the_model_of_the_last_epoch(out, history)
    assert not (out / "loss.png").exists()  # no figures after Ctrl-C: the user asked to stop
    assert np.isfinite(history["loss"]).all()


def test_experiment_without_full_mnist_suggests_its_own_flags(tmp_path):
    """``experiment`` has no --dataset: its hint must name the flags it does have."""
    result = subprocess.run(
        [sys.executable, "-m", "tinyae", "experiment", "blob", "--full", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "TINYAE_OFFLINE": "1", "TINYAE_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 1, result.stderr
    assert "leave out --full" in result.stderr and "--dataset" not in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stderr
