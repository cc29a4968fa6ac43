"""The command line end to end: ``tinyae train`` writes its files, bad flags fail cleanly.

Nothing touches the network or the home folder: an autouse fixture sets
TINYAE_OFFLINE=1 and points the cache at tmp_path; training uses the bundled subset.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinyae
from tinyae.cli import build_parser, main
from tinyae.cli.options import MODELS, arch_of, make_loss

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FILES = ("model.npz", "history.csv", "history.json", "reconstructions.png", "loss.png",
         "filters.png", "latent.png")
QUICK = ["train", "--dataset", "mnist-mini", "--epochs", "1", "--limit", "1000"]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYAE_OFFLINE", "1")
    monkeypatch.setenv("TINYAE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYAE_DATA_DIR", raising=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One quick training run shared by the tests that inspect its output."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TINYAE_OFFLINE", "1")
        patch.setenv("TINYAE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        patch.delenv("TINYAE_DATA_DIR", raising=False)
        out = tmp_path_factory.mktemp("run")
        (out / "notes.txt").write_text("mine")  # someone's file: must survive the run
        (out / "loss.png").write_bytes(b"stale")  # an old output: must be rewritten
        status, stdout, stderr = capture(lambda: main([*QUICK, "--out", str(out)]))
    return out, status, stdout, stderr


def capture(call):
    """(status, stdout, stderr) of ``call()``, captured in-process."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = call()
    return status, stdout.getvalue(), stderr.getvalue()


def test_train_writes_every_file_and_keeps_other_files(run):
    out, status, stdout, _ = run
    assert status == 0
    for name in FILES:
        assert (out / name).stat().st_size > 0, name
        assert f"wrote {out / name}" in stdout
    for name in FILES[3:]:
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name
    assert (out / "notes.txt").read_text() == "mine"


def test_train_prints_the_test_losses_and_records_one_row_per_epoch(run):
    out, _, stdout, stderr = run
    assert "1000 samples" in stdout  # --limit 1000 of the 10,000 training images
    assert "using 'mnist-mini'" in stderr
    printed = {name: float(stdout.split(f"test {name} per pixel: ")[1].split()[0]) for name in ("BCE", "MSE")}
    assert 0 < printed["MSE"] < printed["BCE"] < np.log(2)  # better than predicting 0.5 everywhere
    rows = (out / "history.csv").read_text().splitlines()
    assert rows[0].split(",")[:2] == ["epoch", "loss"] and "val_mse" in rows[0] and len(rows) == 2
    history = json.loads((out / "history.json").read_text())
    assert "bce" not in history  # the training loss is BCE: recorded once, as loss
    assert history["val_loss"] == pytest.approx([printed["BCE"]], abs=1e-5)
    assert history["val_mse"] == pytest.approx([printed["MSE"]], abs=1e-5)


def test_saved_model_reproduces_the_recorded_test_losses(run):
    out = run[0]
    model = tinyae.load(out / "model.npz")
    data = tinyae.load_mnist("mnist-mini", dtype="uint8", verbose=False)
    test = tinyae.evaluate(model, tinyae.BCE(), data.x_test, metrics={"mse": tinyae.MSE()})
    history = json.loads((out / "history.json").read_text())
    assert test["loss"] == pytest.approx(history["val_loss"][-1], rel=1e-6)
    assert test["mse"] == pytest.approx(history["val_mse"][-1], rel=1e-6)


def test_defaults_are_the_documented_ones():
    args = build_parser().parse_args(["train"])
    assert (arch_of(args), args.hidden, args.output, args.code) == (
        "784-100-50-100-784", "relu", "sigmoid", None)
    assert (args.loss, args.optimizer, args.lr, args.momentum) == ("bce", "adam", None, None)
    assert (args.epochs, args.batch_size, args.seed, args.limit) == (5, 128, 0, None)
    assert (args.dataset, args.data_dir, args.out, args.quiet) == ("auto", None, "tinyae-run", False)


def test_help_names_the_main_flags_and_gives_examples(capsys):
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--arch", "--hidden", "--output", "--code", "--loss", "--optimizer", "--lr",
                 "--momentum", "--epochs", "--batch-size", "--seed", "--dataset", "--data-dir",
                 "--limit", "--out", "--quiet", "examples:", "784-100-50-100-784"):
        assert flag in text, flag
    assert main(["--help"]) == 0
    assert "train" in capsys.readouterr().out
    assert main([]) == 0  # no command: the overview, not an error
    assert "COMMAND" in capsys.readouterr().out


@pytest.mark.parametrize("flags", [
    ["--bogus"],
    ["--arch", "784-x-784"],
    ["--arch", "100-50-100"],  # valid widths, but not MNIST's 784 pixels
    ["--lr", "-1"],
    ["--lr", "nan"],
    ["--loss", "hinge"],
    ["--epochs", "0"],
    ["--momentum", "0.9"],  # momentum with Adam
    ["--output", "identity"],  # BCE on outputs that can leave [0, 1]
    ["--arch", "784-784"],  # refused by the package's own parser, not by argparse: still usage
    ["--model", "vae", "--latent", "1000"],  # a latent wider than the image, refused by dense_vae
    ["--data-dir", "no/such/folder"],  # a folder named on the command line that is not there
    ["--noise", "gauss:0.3"],  # a noise spec that does not parse
    ["--noise", "mask:1.5"],  # a masking probability outside (0, 1)
    ["--sparsity", "1", "--code", "sigmoid"],  # ρ outside (0, 1)
    ["--sparsity", "0", "--code", "sigmoid"],
    ["--weight-decay", "-1e-3"],
])
def test_bad_flags_give_one_line_and_status_2(flags, capsys, tmp_path):
    out = tmp_path / "out"
    assert main(["train", *flags, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "error:" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists()  # refused before anything was created


def test_a_diverging_run_stops_with_status_1_and_one_line(capsys, tmp_path):
    flags = ["--optimizer", "sgd", "--lr", "1e8", "--loss", "mse", "--hidden", "sigmoid",
             "--output", "identity", "--quiet"]
    assert main([*QUICK, *flags, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tinyae: error: the loss became") and err.count("\n") == 1


def test_missing_full_mnist_says_how_to_get_it(capsys, tmp_path):
    assert main(["train", "--dataset", "mnist", "--quiet", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "tinyae: error: full MNIST not found" in err and "--data-dir" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("args", [
    ["doctor", "--model-file", "no-such-model.npz"],
    ["doctor", "--data-dir", "no/such/folder"],
    ["experiment", "blob", "--full", "--data-dir", "no/such/folder"],
])
def test_missing_files_named_on_the_command_line_are_usage_errors(args, capsys, tmp_path):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinyae: error: ") and err.count("\n") == 1 and "no" in err
    assert "Traceback" not in err


def test_an_unwritable_output_is_a_failed_run_not_a_usage_error(capsys, tmp_path):
    (tmp_path / "a-file").write_text("")  # --out below a file: the system refuses mkdir
    assert main([*QUICK, "--quiet", "--out", str(tmp_path / "a-file" / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tinyae: error: ") and err.count("\n") == 1 and "a-file" in err
    assert "Traceback" not in err


BUG_LINE = "this is a bug in tinyae"


@pytest.mark.parametrize("args, target, error", [
    # A ValueError deep inside training is not a bad flag: it must not exit 2 without a trace.
    ([*QUICK, "--quiet", "--out", "{tmp}"], "tinyae.optim.Adam.step", ValueError),
    (["doctor", "--dataset", "mnist-mini", "--quiet", "--limit", "256"], "tinyae.cli.doctor.doctor",
     TypeError),
    (["experiment", "bce-curves", "--quick", "--out", "{tmp}"],
     "tinyae.experiments.bce_curves.binary_entropy", ValueError),
])
def test_an_internal_bug_shows_its_traceback_and_asks_for_a_report(args, target, error, monkeypatch,
                                                                    capsys, tmp_path):
    def broken(*_, **__):
        raise error("an invariant of tinyae broke")

    monkeypatch.setattr(target, broken)
    assert main([arg.format(tmp=tmp_path) for arg in args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert f"{error.__name__}: an invariant of tinyae broke" in err
    last = err.splitlines()[-1]
    assert last.startswith(f"tinyae: error: {BUG_LINE} {tinyae.__version__}")
    assert "please report it with the command you ran" in last


def test_usage_errors_and_failed_runs_are_not_called_bugs(capsys, tmp_path):
    assert main(["train", "--momentum", "0.9", "--out", str(tmp_path)]) == 2
    assert main(["train", "--dataset", "mnist", "--quiet", "--out", str(tmp_path)]) == 1
    assert BUG_LINE not in capsys.readouterr().err


def test_ctrl_c_exits_130_with_one_line(monkeypatch, capsys, tmp_path):
    def interrupted(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr("tinyae.cli.train.fit", interrupted)
    assert main([*QUICK, "--quiet", "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err == "tinyae: error: interrupted\n"


def test_python_dash_m_and_the_console_script_work(tmp_path):
    env = {**os.environ, "TINYAE_OFFLINE": "1", "TINYAE_CACHE_DIR": str(tmp_path)}
    commands = [[sys.executable, "-m", "tinyae"]]
    script = Path(sys.executable).with_name("tinyae")
    if script.exists():  # installed with pip install -e .
        commands.append([str(script)])
    for command in commands:
        done = subprocess.run([*command, "train", "--help"], capture_output=True, text=True,
                              env=env, timeout=60)
        assert done.returncode == 0 and "--arch" in done.stdout and "usage: tinyae train" in done.stdout
        done = subprocess.run([*command, "train", "--lr", "0"], capture_output=True, text=True,
                              env=env, timeout=60)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--lr" in done.stderr


def test_doctor_passes_the_default_configuration(capsys):
    assert main(["doctor", "--dataset", "mnist-mini", "--quiet", "--limit", "256"]) == 0
    out = capsys.readouterr().out
    assert "0 error(s), 0 warning(s)" in out


def test_doctor_explains_a_softmax_output_and_fails(capsys):
    argv = ["doctor", "--dataset", "mnist-mini", "--quiet", "--limit", "256", "--output", "softmax"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "softmax-per-pixel" in out and "fix: use a sigmoid output" in out


def test_doctor_flags_the_all_sigmoid_network_of_question_1(capsys):
    args = ["doctor", "--dataset", "mnist-mini", "--quiet", "--limit", "256",
            "--hidden", "sigmoid", "--optimizer", "sgd", "--lr", "0.1"]
    assert main(args) == 0  # a warning, not an error
    assert "vanishing-gradients" in capsys.readouterr().out


def test_doctor_checks_a_saved_model(run, capsys):
    out_dir = run[0]
    args = ["doctor", "--dataset", "mnist-mini", "--quiet", "--limit", "256",
            "--model-file", str(out_dir / "model.npz")]
    assert main(args) == 0
    assert "error(s)" in capsys.readouterr().out


def test_train_with_monitor_warns_once_and_draws_the_monitors(tmp_path, capsys):
    args = ["train", "--dataset", "mnist-mini", "--limit", "600", "--epochs", "2", "--hidden", "sigmoid",
            "--optimizer", "sgd", "--lr", "0.1", "--monitor", "--out", str(tmp_path / "m")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.count("the gradient vanishes") == 1
    assert (tmp_path / "m" / "monitors.png").stat().st_size > 0


def test_experiment_runs_by_name_and_lists_its_figures(tmp_path, capsys):
    assert main(["experiment", "bce-curves", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and list((tmp_path / "bce-curves").glob("*.png"))


def test_unknown_experiment_is_a_one_line_error(capsys):
    assert main(["experiment", "nope"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and err.count("\n") == 1


def test_train_a_vae_with_kl_annealing(tmp_path, capsys):
    out = tmp_path / "vae"
    args = ["train", "--model", "vae", "--latent", "2", "--beta", "1", "--kl-schedule", "linear",
            "--dataset", "mnist-mini", "--limit", "512", "--epochs", "2", "--quiet", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    elbo, recon, kl = map(float, re.search(r"test −ELBO: (\S+) nats per image \(reconstruction (\S+) "
                                           r"\+ KL (\S+)\)", printed).groups())
    assert elbo == pytest.approx(recon + kl, abs=0.011)  # the ELBO weighs the KL by 1
    bce_per_pixel = float(re.search(r"test BCE per pixel: (\S+)", printed).group(1))
    assert bce_per_pixel == pytest.approx(recon / 784, abs=1e-5)  # the trained recon, ÷ K pixels
    history = json.loads((out / "history.json").read_text())
    assert "bce" not in history  # the recon is the BCE: computed once per batch, not again as a metric
    assert history["beta"][0] < history["beta"][1] <= 1.0  # the warm-up raised the KL weight
    assert {"recon", "kl", "val_recon", "val_kl"} <= set(history)
    for name in ("samples.png", "manifold.png", "latent.png", "model.npz"):
        assert (out / name).stat().st_size > 0
    assert type(tinyae.load(out / "model.npz")).__name__ == "VAE"


def test_vae_with_beta_reports_the_elbo_and_its_own_objective(tmp_path, capsys):
    args = ["train", "--model", "vae", "--beta", "4", "--dataset", "mnist-mini", "--limit", "256",
            "--epochs", "1", "--quiet", "--out", str(tmp_path)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    recon, kl = map(float, re.search(r"\(reconstruction (\S+) \+ KL (\S+)\)", printed).groups())
    objective = float(re.search(r"reconstruction \+ β·KL with β = 4: (\S+)", printed).group(1))
    assert objective == pytest.approx(recon + 4 * kl, abs=0.03)
    assert objective > recon + kl  # β = 4 weighs the positive KL more than the ELBO does


def mini_test_images():
    """The bundled test images as float64 in [0, 1]."""
    pixels = tinyae.load_mnist("mnist-mini", dtype="uint8", verbose=False).x_test
    return pixels.astype(np.float64) / 255


def bce_per_image(p, x):
    """Σ over the pixels of −x·log p − (1 − x)·log(1 − p), averaged over the images (float64)."""
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return float(-(x * np.log(p) + (1 - x) * np.log1p(-p)).sum(axis=1).mean())


def test_the_cli_vae_trains_recon_summed_over_pixels_per_image_plus_beta_kl():
    """−ELBO in nats per image: a per-pixel mean recon would weigh the KL 784 times more."""
    args = build_parser().parse_args(["train", "--model", "vae", "--beta", "2", "--latent", "3"])
    loss, vae = make_loss(args), MODELS["vae"](args)
    x = mini_test_images()[:16]
    eps = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32)
    p = vae.forward(x.astype(np.float32), eps)
    assert loss.forward(p, x.astype(np.float32)) == pytest.approx(bce_per_image(p, x), rel=1e-4)
    mu, log_var = vae.mu.astype(np.float64), vae.log_var.astype(np.float64)
    kl_per_image = float((-0.5 * (1 + log_var - mu**2 - np.exp(log_var))).sum(axis=1).mean())
    (term,) = vae.penalties()
    assert term.weight == 2.0 and term.value == pytest.approx(kl_per_image, rel=1e-4)


def test_the_printed_vae_reconstruction_is_in_nats_per_image(tmp_path, capsys):
    """Checked against the saved model's own reconstructions, summed over their 784 pixels."""
    args = ["train", "--model", "vae", "--dataset", "mnist-mini", "--limit", "256", "--epochs", "1",
            "--quiet", "--out", str(tmp_path)]
    assert main(args) == 0
    recon = float(re.search(r"\(reconstruction (\S+) \+", capsys.readouterr().out).group(1))
    model = tinyae.load(tmp_path / "model.npz")
    x = mini_test_images()
    # the printed recon decodes a sampled z, the reconstruction z = mu: close, not equal
    assert 0.8 < recon / bce_per_image(model.reconstruct(x), x) < 1.25


def test_vae_flags_are_checked(capsys):
    assert main(["train", "--model", "vae", "--beta", "-1"]) == 2
    assert main(["train", "--model", "vae", "--arch", "100-50", "--dataset", "mnist-mini"]) == 2
    err = capsys.readouterr().err
    assert "must be a number ≥ 0" in err and "must start with 784" in err


def test_train_composes_the_variant_flags_and_saves_the_variant(tmp_path, capsys):
    out = tmp_path / "out"
    flags = ["--arch", "784-64-784", "--hidden", "sigmoid", "--noise", "mask:0.25", "--sparsity",
             "0.1", "--sparsity-weight", "2", "--weight-decay", "3e-3", "--tied", "--quiet"]
    assert main([*QUICK, *flags, "--out", str(out)]) == 0
    model = tinyae.load(out / "model.npz")
    assert (model.noise.spec, model.sparsity, model.sparsity_weight, model.weight_decay) == (
        "mask:0.25", 0.1, 2.0, 3e-3)
    assert model.decoder.layers[0].dense is model.encoder.layers[0]
    assert model.n_params == 784 * 64 + 64 + 784  # one W, two biases
    history = json.loads((out / "history.json").read_text())
    assert {"recon", "sparsity", "weight_decay", "val_sparsity"} <= set(history)
    # The loss is summed over each image's pixels, so the printed per-pixel BCE is recon / 784.
    printed = float(capsys.readouterr().out.split("test BCE per pixel:")[1].split()[0])
    assert printed == pytest.approx(history["val_recon"][-1] / 784, rel=1e-5)
