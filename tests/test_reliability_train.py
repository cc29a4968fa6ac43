"""Reliability, third round: training, the CLI, the models' builders — nothing silently wrong.

Each test is a case of issue 23 that used to train silently, lose a finished run, or fail
with a message that did not say what to fix; or a test for a bug that the older tests
let through ("planted": each was checked by planting that bug and watching the test fail).
The CLI cases train on a few hundred bundled images, in-process, in well under a second.
"""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinyae
from tinyae import BCE, MSE, SGD, Adam, EarlyStopping, EpochHook, History, Sequential, fit
from tinyae.cli import build_parser, main
from tinyae.cli.options import DEFAULT_LR, make_loss, make_optimizer
from tinyae.cli.train import FinishedEpochs, keep_finished_epochs, most_varying_units
from tinyae.diagnostics import doctor
from tinyae.experiments import sparse
from tinyae.layers import Dense, Sigmoid
from tinyae.models import dense_autoencoder
from tinyae.models.vae import ReductionWarning, dense_vae
from tinyae.noise import GaussianNoise, MaskingNoise, parse_noise
from tinyae.schedules import LearningRateSchedule, cosine_decay
from tinyae.slices import THREAD_VARIABLES
from tinyae.train import NOISE_STREAM, evaluate

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--dataset", "mnist-mini", "--limit", "200", "--epochs", "1", "--quiet"]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYAE_OFFLINE", "1")
    monkeypatch.setenv("TINYAE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYAE_DATA_DIR", raising=False)


def uniform(shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, shape).astype(np.float32)


def small(seed=0):
    return Sequential([Dense(6, 3), Sigmoid(), Dense(3, 6), Sigmoid()], seed=seed)


# --- silently wrong: one EarlyStopping for two models ------------------------------------------


def test_an_early_stopping_reused_for_a_second_model_starts_afresh():
    stopper = EarlyStopping(monitor="loss", patience=1)
    x = uniform((64, 6))
    first, second = small(seed=0), small(seed=1)
    fit(first, x, loss=MSE(), optimizer=SGD(1.0), epochs=6, callbacks=[stopper], verbose=False)
    before = second.params.copy()
    history = fit(second, x, loss=MSE(), optimizer=SGD(1.0), epochs=6, callbacks=[stopper],
                  verbose=False)
    assert history.epochs == 6  # its loss falls every epoch: nothing to stop for
    assert not np.array_equal(second.params, first.params)  # never the first model's weights
    assert not np.array_equal(second.params, before)
    assert stopper.best == pytest.approx(history["loss"][-1])  # the second run's own best


# --- silently wrong: a learning-rate schedule on another optimizer -----------------------------


def test_a_learning_rate_schedule_on_another_optimizer_is_refused_before_any_update():
    scheduled, used = Adam(1e-2), Adam(1e-2)
    schedule = LearningRateSchedule(scheduled, lambda t: cosine_decay(t, 10, start=1e-2))
    model = small()
    before = model.params.copy()
    with pytest.raises(ValueError) as info:
        fit(model, uniform((32, 6)), loss=MSE(), optimizer=used, epochs=2, callbacks=[schedule],
            verbose=False)
    message = str(info.value)
    assert "LearningRateSchedule" in message and "another optimizer" in message
    assert "the optimizer that fit uses" in message  # the fix
    assert np.array_equal(model.params, before)


def test_a_learning_rate_schedule_on_fits_own_optimizer_still_sets_the_rate_used():
    optimizer = Adam(1e-2)
    schedule = LearningRateSchedule(optimizer, lambda t: cosine_decay(t, 4, start=1e-2))
    history = fit(small(), uniform((32, 6)), loss=MSE(), optimizer=optimizer, epochs=2,
                  batch_size=16, callbacks=[schedule], verbose=False)
    assert optimizer.lr == pytest.approx(cosine_decay(3, 4, start=1e-2))
    assert history["lr"][1] < history["lr"][0]


# --- silently wrong: a VAE with a per-pixel reconstruction -------------------------------------


def test_a_vae_with_a_per_pixel_loss_warns_once_with_the_effective_beta_and_the_fix():
    x = uniform((64, 20))
    with pytest.warns(ReductionWarning) as caught:
        fit(dense_vae("20-8-2"), x, loss=BCE(), optimizer=Adam(1e-3), epochs=3, batch_size=16,
            validation_data=x[:16], verbose=False)
    assert len(caught) == 1  # once per fit, not per epoch or per validation
    message = str(caught[0].message)
    for words in ("reduction='mean'", "'batchmean'", "effective β = 20", "BCE(reduction='batchmean')"):
        assert words in message, (words, message)
    assert caught[0].filename == __file__  # it points at the user's fit call
    with pytest.warns(ReductionWarning):
        evaluate(dense_vae("20-8-2"), BCE(), x)


def test_a_vae_with_matched_reductions_trains_without_a_warning():
    x = uniform((32, 20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(dense_vae("20-8-2"), x, loss=BCE("batchmean"), optimizer=Adam(1e-3), verbose=False)
        fit(dense_vae("20-8-2", reduction="mean"), x, loss=BCE("mean"), optimizer=Adam(1e-3),
            verbose=False)


# --- silently wrong: History.save by suffix ----------------------------------------------------


def history():
    h = History()
    h.add({"loss": 0.5})
    h.add({"loss": 0.25})
    return h


@pytest.mark.parametrize("name", ["history.JSON", "history.Json"])
def test_history_save_reads_the_suffix_whatever_its_case(tmp_path, name):
    history().save(tmp_path / name)
    assert json.loads((tmp_path / name).read_text()) == {"loss": [0.5, 0.25]}
    history().save(tmp_path / "history.CSV")
    assert (tmp_path / "history.CSV").read_text().splitlines()[0] == "epoch,loss"


@pytest.mark.parametrize("name", ["history.txt", "history", "history.json.bak"])
def test_history_save_refuses_a_suffix_it_does_not_write(tmp_path, name):
    with pytest.raises(ValueError) as info:
        history().save(tmp_path / name)
    assert name in str(info.value) and ".json" in str(info.value) and ".csv" in str(info.value)
    assert not (tmp_path / name).exists()


def test_history_save_names_the_file_the_system_would_not_write(tmp_path, monkeypatch):
    def too_large(self, *args, **kwargs):  # as under `ulimit -f`: EFBIG, which names no file
        raise OSError(errno.EFBIG, "File too large")

    monkeypatch.setattr(Path, "write_text", too_large)
    with pytest.raises(OSError) as info:
        history().save(tmp_path / "h.csv")
    assert str(tmp_path / "h.csv") in str(info.value) and "File too large" in str(info.value)


# --- silently wrong: the CLI's --out "" and a one-unit softmax code ----------------------------


def test_train_refuses_an_empty_out_and_writes_nothing(tmp_path, monkeypatch, capsys):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["train", *QUICK, "--out", ""]) == 2
    err = capsys.readouterr().err
    assert "--out ''" in err and "empty" in err and "--out ." in err
    assert list(here.iterdir()) == []


def test_experiment_refuses_an_empty_out(tmp_path, monkeypatch, capsys):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["experiment", "bce-curves", "--out", " "]) == 2
    assert "--out ' '" in capsys.readouterr().err
    assert list(here.iterdir()) == []


def test_a_one_unit_softmax_code_is_refused_with_the_reason(tmp_path, capsys):
    assert main(["train", *QUICK, "--arch", "784-1-784", "--code", "softmax",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "softmax" in err and "always 1" in err and "1 unit" in err
    assert not (tmp_path / "run" / "model.npz").exists()
    for build in (lambda: dense_autoencoder("6-1-6", code="softmax"),
                  lambda: dense_autoencoder("6-1-3-1-6", hidden="softmax", code="relu"),
                  lambda: dense_vae("6-1-2", hidden="softmax")):
        with pytest.raises(ValueError, match="always 1"):
            build()
    dense_autoencoder("6-2-6", code="softmax")  # two units: a real (if odd) code


# --- data loss: a terminal that cannot print "−" ----------------------------------------------


def test_a_cp1252_terminal_gets_the_results_and_every_file(tmp_path, monkeypatch, capsys):
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="cp1252"))
    out = tmp_path / "vae"
    assert main(["train", "--model", "vae", "--latent", "2", *QUICK, "--out", str(out)]) == 0
    sys.stdout.flush()
    printed = raw.getvalue().decode("cp1252")
    assert "test -ELBO: " in printed and "wrote" in printed
    for name in ("model.npz", "history.csv", "history.json", "samples.png"):
        assert (out / name).stat().st_size > 0, name


class BrokenAfter(io.StringIO):
    """A stdout that fails (as a closed pipe does) once ``words`` are written."""

    def __init__(self, words):
        super().__init__()
        self.words = words

    def write(self, text):
        if self.words in text:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        return super().write(text)


def test_the_model_and_history_are_saved_before_the_results_are_printed(tmp_path, monkeypatch,
                                                                          capsys):
    monkeypatch.setattr(sys, "stdout", BrokenAfter("final test loss"))
    out = tmp_path / "run"
    assert main(["train", *QUICK, "--out", str(out)]) == 1
    for name in ("model.npz", "history.csv", "history.json"):
        assert (out / name).stat().st_size > 0, name


# --- unclear: EarlyStopping's settings are checked when it is made -----------------------------


@pytest.mark.parametrize("kwargs, error, words", [
    ({"patience": "2"}, TypeError, "patience must be a whole number"),
    ({"patience": 2.5}, TypeError, "patience must be a whole number"),
    ({"patience": -1}, ValueError, "patience must be ≥ 0"),
    ({"min_delta": -0.1}, ValueError, "min_delta must be a finite number ≥ 0"),
    ({"min_delta": "0.1"}, TypeError, "min_delta must be a number"),
    ({"monitor": 3}, TypeError, "monitor must be the name"),
    ({"restore_best": "no"}, TypeError, "restore_best must be True or False"),
])
def test_early_stopping_checks_its_settings_when_it_is_made(kwargs, error, words):
    with pytest.raises(error, match=words):
        EarlyStopping(**kwargs)


# --- unclear: stdout closed, an unknown matplotlib backend -------------------------------------


def test_train_with_stdout_closed_writes_its_files_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", None)  # what Python makes of `tinyae train >&-`
    out = tmp_path / "run"
    assert main(["train", *QUICK, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "standard output is closed" in err and str(out) in err and "Traceback" not in err
    assert (out / "model.npz").exists() and (out / "loss.png").exists()


def test_fit_prints_nothing_and_trains_when_stdout_is_closed(monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    history = fit(small(), uniform((32, 6)), loss=MSE(), optimizer=SGD(0.1), epochs=2)
    assert history.epochs == 2


def run_python(code_or_args, env_extra, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           **{name: "1" for name in THREAD_VARIABLES}, **env_extra}
    return subprocess.run([sys.executable, *code_or_args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120, check=False)


def test_an_unknown_mplbackend_falls_back_to_agg_before_training_and_draws_every_figure(tmp_path):
    result = run_python(["-m", "tinyae", "train", "--dataset", "mnist-mini", "--limit", "100",
                         "--epochs", "1", "--out", "run"], {"MPLBACKEND": "nonsense"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "MPLBACKEND='nonsense' is not a matplotlib backend" in result.stderr
    assert "Agg" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.index("MPLBACKEND") < result.stderr.index("using 'mnist-mini'")  # before
    for name in ("reconstructions.png", "loss.png", "filters.png", "latent.png"):
        assert (tmp_path / "run" / name).stat().st_size > 0, name


# --- unclear: seeds, activations and β of the models' builders ---------------------------------


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, ValueError), ("3", ValueError),
                                         (True, ValueError)])
@pytest.mark.parametrize("build", [dense_autoencoder, dense_vae], ids=["ae", "vae"])
def test_the_builders_name_a_bad_seed(build, seed, error):
    with pytest.raises(error, match="seed must be a whole number ≥ 0"):
        build("6-4-2" if build is dense_vae else "6-3-6", seed=seed)


@pytest.mark.parametrize("rng", [-1, 1.5, "0"])
def test_vae_sample_names_a_bad_rng(rng):
    with pytest.raises(ValueError, match="rng must be a np.random.Generator or a seed"):
        dense_vae("6-4-2").sample(3, rng=rng)


def test_dense_autoencoder_names_an_activation_that_is_not_a_name():
    with pytest.raises(ValueError, match="hidden"):
        dense_autoencoder("6-3-6", hidden=3)


@pytest.mark.parametrize("beta", [None, "1", [1.0]])
def test_the_vae_refuses_a_beta_that_is_not_a_number(beta):
    with pytest.raises(TypeError, match="beta .the KL weight. must be a number"):
        dense_vae("6-4-2", beta=beta)


# --- unclear: a network too large for the memory ------------------------------------------------


def test_a_network_too_large_for_the_memory_is_said_not_called_a_bug(tmp_path, capsys):
    assert main(["train", *QUICK, "--arch", "784-2000000000-784", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "bug" not in err
    n = 784 * 2_000_000_000 + 2_000_000_000 + 2_000_000_000 * 784 + 784
    assert f"--arch 784-2000000000-784 has {n:,} parameters" in err and "GB" in err, err


# --- planted: --momentum, --weight-decay's loss, the KL schedule's length ----------------------


def parsed(*flags):
    return build_parser().parse_args(["train", *flags])


def test_cli_momentum_reaches_the_sgd_optimizer():
    assert make_optimizer(parsed("--optimizer", "sgd", "--momentum", "0.9")).momentum == 0.9
    assert make_optimizer(parsed("--optimizer", "sgd", "--lr", "0.5")).lr == 0.5


@pytest.mark.parametrize("flags", [["--weight-decay", "3e-3"],
                                   ["--sparsity", "0.1", "--code", "sigmoid"]])
def test_cli_penalties_are_weighed_against_the_error_summed_per_image(flags):
    assert make_loss(parsed(*flags)).reduction == "batchmean"
    assert make_loss(parsed()).reduction == "mean"  # the plain autoencoder: per pixel


def test_cli_kl_schedule_spans_the_runs_batches_when_the_limit_is_below_the_batch(tmp_path):
    out = tmp_path / "vae"
    args = ["train", "--model", "vae", "--latent", "2", "--beta", "2", "--kl-schedule", "linear",
            "--dataset", "mnist-mini", "--limit", "100", "--epochs", "4", "--quiet", "--out", str(out)]
    assert main(args) == 0
    # 4 epochs of one batch: the warm-up over the first half rises 0, 1, then stays at --beta 2
    assert json.loads((out / "history.json").read_text())["beta"] == [0.0, 1.0, 2.0, 2.0]


# --- planted: EarlyStopping's min_delta ---------------------------------------------------------


def stopped_run(scores, **settings):
    """fit with a made-up score per epoch; returns (epochs run, θ after each epoch, final θ)."""
    snapshots = []

    def score(model, epoch, record):
        record["score"] = scores[epoch]
        snapshots.append(model.params.copy())

    model = small()
    history = fit(model, uniform((32, 6)), loss=MSE(), optimizer=SGD(1.0), epochs=len(scores),
                  callbacks=[EpochHook(score), EarlyStopping(monitor="score", **settings)],
                  verbose=False)
    return history.epochs, snapshots, model.params


def test_early_stopping_counts_only_improvements_larger_than_min_delta():
    epochs, snapshots, params = stopped_run([1.0, 0.95, 0.9, 0.85, 0.8], min_delta=0.1, patience=2)
    assert epochs == 3  # 0.95 and 0.9 each improve by less than 0.1 on 1.0
    np.testing.assert_array_equal(params, snapshots[0])
    epochs, _, _ = stopped_run([1.0, 0.85, 0.7, 0.55, 0.4], min_delta=0.1, patience=2)
    assert epochs == 5  # every step improves by more than min_delta


# --- planted: doctor's BCE floor under reduction="sum" ------------------------------------------


def test_doctors_bce_floor_scales_with_the_batch_under_sum():
    x = uniform((64, 6), seed=3)
    per_sample = float(tinyae.binary_entropy(x).sum(axis=1).mean())
    for reduction, batch, floor in (("sum", 32, per_sample * 32), ("batchmean", 32, per_sample),
                                    ("mean", 32, per_sample / 6)):
        findings = doctor(small(), BCE(reduction=reduction), x, batch_size=batch)
        note = next(f for f in findings if f.code == "bce-floor")
        assert f"scores {floor:.4g}, not 0" in note.message, (reduction, note.message)


# --- planted: the denoising noise has a stream of its own ---------------------------------------


def test_the_denoising_noise_comes_from_its_own_stream_not_the_shuffling_one():
    x = np.ones((32, 6), dtype=np.float32)  # every row alike: the noise alone makes them differ
    seen = {}
    for shuffle in (True, False):
        model = dense_autoencoder("6-3-6", noise="mask:0.5")
        inputs = seen[shuffle] = []
        forward = model.forward
        model.forward = lambda xb, forward=forward, inputs=inputs: (inputs.append(xb.copy()),
                                                                    forward(xb))[1]
        fit(model, x, loss=MSE(), optimizer=SGD(0.1), epochs=2, batch_size=8, shuffle=shuffle,
            seed=5, verbose=False)
    rng = np.random.default_rng([5, NOISE_STREAM])
    expected = [MaskingNoise(0.5)(x[:8], rng) for _ in range(8)]  # 4 batches × 2 epochs
    for shuffle in (True, False):
        assert len(seen[shuffle]) == 8
        for got, want in zip(seen[shuffle], expected):
            np.testing.assert_array_equal(got, want)


# --- planted: the sparse experiment trains UFLDL's 2J -------------------------------------------


def test_the_sparse_experiments_networks_minimise_twice_ufldls_j_with_the_printed_weights():
    x = uniform((64, 784), seed=4)
    for name, (beta, lam) in sparse.RUNS.items():
        ae = sparse.sparse_autoencoder(beta, lam, seed=0)
        code = ae.encode(x)
        p = ae.decode(code)
        rho_hat = code.astype(np.float64).mean(axis=0)
        kl = np.sum(sparse.RHO * np.log(sparse.RHO / rho_hat)
                    + (1 - sparse.RHO) * np.log((1 - sparse.RHO) / (1 - rho_hat)))
        weights = sum(float(np.sum(layer.W.astype(np.float64) ** 2))
                      for layer in ae.encoder.layers + ae.decoder.layers if hasattr(layer, "W"))
        j = (0.5 * np.square(p - x).sum(axis=1).mean() + lam / 2 * weights + beta * kl)
        got = evaluate(ae, MSE(reduction="batchmean"), x, batch_size=len(x))["loss"]
        assert got == pytest.approx(2 * j, rel=1e-4), name


# --- planted, a fresh set: each test below caught a bug that the older tests let through ------


def test_the_live_lines_running_loss_at_the_last_short_batch_is_the_epochs_loss(monkeypatch):
    """Bug: the running loss divided by i·batch_size, also for a last batch that is shorter."""

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(tinyae.train, "REDRAW_SECONDS", 0.0)
    monkeypatch.setattr(sys, "stdout", Terminal())
    history = fit(small(), uniform((20, 6)), loss=MSE(), optimizer=SGD(0.1), batch_size=8)
    last_live = sys.stdout.getvalue().split("\r")[-2]  # batch 3/3: 8 + 8 + 4 samples
    assert "batch 3/3" in last_live
    assert last_live.rstrip().endswith(f"loss {history['loss'][0]:.4f}")


def test_a_denoising_autoencoder_keeps_its_noise_through_save_and_load(tmp_path):
    """Bug: config() left out the noise spec, so a loaded model trained without noise."""
    for spec in ("gaussian:0.25", "mask:0.125"):
        ae = dense_autoencoder("6-3-6", noise=spec)
        loaded = tinyae.load(tinyae.save(ae, tmp_path / "ae.npz"))
        assert loaded.noise is not None and loaded.noise.spec == spec


def test_gaussian_noise_is_clipped_to_the_unit_interval_and_keeps_its_sigma_in_the_spec():
    """Bugs: the corrupted pixels left [0, 1]; the spec rounded σ (a loaded model changed σ)."""
    noise = GaussianNoise(0.25)
    x = uniform((50, 16))
    noisy = noise(x, np.random.default_rng(0))
    eps = np.random.default_rng(0).standard_normal(x.shape, dtype=x.dtype)
    np.testing.assert_array_equal(noisy, np.clip(x + 0.25 * eps, 0, 1))
    assert noisy.min() == 0 and noisy.max() == 1  # σ = 0.25 pushes some pixels past both ends
    for sigma in (0.25, 0.125, 0.03):
        assert parse_noise(GaussianNoise(sigma).spec).sigma == sigma


def test_cli_optimizers_get_their_own_default_learning_rate():
    """Bug: SGD got Adam's default rate, 1e-3: a thousand times too small per pixel."""
    assert make_optimizer(parsed("--optimizer", "sgd")).lr == DEFAULT_LR["sgd"] == 1.0
    assert make_optimizer(parsed()).lr == DEFAULT_LR["adam"] == 1e-3


def test_ctrl_c_between_the_copy_and_the_history_still_finds_the_last_finished_epoch(tmp_path,
                                                                                     capsys):
    """Bug: FinishedEpochs kept one epoch, so Ctrl-C after its copy of epoch 2 but before the
    History had epoch 2 found nothing for epoch 1 and wrote nothing."""
    model, finished = small(), FinishedEpochs()
    finished.on_epoch_end(model, 0, {})
    after_first = model.params.copy()
    model.params += 1.0
    finished.on_epoch_end(model, 1, {})  # the copy of epoch 2 ...
    stop = KeyboardInterrupt()
    stop.history = History(loss=[0.5])  # ... but fit recorded epoch 1 only
    assert keep_finished_epochs(stop, model, finished, tmp_path) == 130
    np.testing.assert_array_equal(tinyae.load(tmp_path / "model.npz").params, after_first)


def test_latent_png_draws_the_two_code_units_that_vary_most():
    """Bug: argsort without the reversal drew the two least-varying units (dead ReLUs)."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((100, 5)) * np.array([0.0, 3.0, 0.1, 2.0, 0.0])
    assert most_varying_units(z) == (1, 3)


def test_doctor_warns_when_the_kl_weight_is_too_small_to_matter():
    """Bug: kl-balance checked only the upper end of its range."""
    x = uniform((64, 20))
    findings = doctor(dense_vae("20-8-2", beta=1e-3), BCE(reduction="batchmean"), x)
    balance = next(f for f in findings if f.code == "kl-balance")
    assert "the KL vanishes" in balance.message
    assert "kl-balance" not in {f.code for f in doctor(dense_vae("20-8-2"), BCE("batchmean"), x)}


def test_images_are_drawn_on_the_fixed_grey_scale_zero_to_one(tmp_path):
    """Bug: imshow without vmin/vmax stretched each image's own range to black..white."""
    from tinyae import plot

    dim = np.full((2, 16), 0.2)
    dim[:, 0] = 0.3
    fig = plot.reconstructions(dim, dim, path=tmp_path / "r.png")
    drawn = [ax.images[0].get_clim() for ax in fig.axes if ax.images]
    assert len(drawn) == 4 and all(clim == (0.0, 1.0) for clim in drawn)


def test_a_figure_the_system_will_not_write_is_named(tmp_path, monkeypatch):
    """`ulimit -f` or a full disk: EFBIG names no file; the error must."""
    from matplotlib.figure import Figure

    from tinyae import plot

    def too_large(self, *args, **kwargs):
        raise OSError(errno.EFBIG, "File too large")

    monkeypatch.setattr(Figure, "savefig", too_large)
    with pytest.raises(OSError) as info:
        plot.reconstructions(uniform((2, 16)), uniform((2, 16)), path=tmp_path / "r.png")
    plot._pyplot().close("all")
    assert str(tmp_path / "r.png") in str(info.value) and "File too large" in str(info.value)
