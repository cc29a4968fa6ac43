"""fit: batches, history, validation, callbacks, NaN handling, uint8 scaling, determinism."""

import json
import os
import re
import select
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyae import BCE, MSE, SGD, Adam, Dense, Sequential, Sigmoid, Tanh
from tinyae.train import (
    EarlyStopping,
    EpochHook,
    History,
    TrainingError,
    as_float_batch,
    batches,
    evaluate,
    fit,
)


def small_model(seed=0, dtype=np.float32):
    return Sequential([Dense(8, 4), Tanh(), Dense(4, 8), Sigmoid()], seed=seed, dtype=dtype)


def data(n=64, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, 8)).astype(np.float32)


def test_batches_cover_every_sample_once_per_epoch():
    rng = np.random.default_rng(0)
    idx = list(batches(10, 4, rng))
    assert [len(i) for i in idx] == [4, 4, 2]
    assert sorted(np.concatenate(idx)) == list(range(10))
    np.testing.assert_array_equal(np.concatenate(list(batches(5, 2, None))), np.arange(5))


def test_uint8_batches_are_scaled_to_the_unit_interval():
    x = np.array([[0, 51, 255]], dtype=np.uint8)
    np.testing.assert_allclose(as_float_batch(x, np.dtype(np.float32)), [[0, 0.2, 1]], rtol=1e-6)
    assert as_float_batch(x, np.dtype(np.float32)).dtype == np.float32


def test_fit_records_one_entry_per_epoch_and_the_loss_falls(capsys):
    x = data()
    history = fit(small_model(), x, loss=MSE(), optimizer=Adam(1e-2), epochs=5, batch_size=16,
                  validation_data=data(16, seed=1), metrics={"bce": BCE()})
    assert history.epochs == 5
    assert set(history) == {"loss", "bce", "val_loss", "val_bce", "seconds"}
    assert all(np.diff(history["loss"]) < 0) and all(np.diff(history["val_loss"]) < 0)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and lines[0].startswith("epoch 1/5  64 samples") and "val_loss" in lines[0]


def test_fit_is_silent_when_asked(capsys):
    fit(small_model(), data(), loss=MSE(), optimizer=SGD(0.1), verbose=False)
    assert capsys.readouterr().out == ""


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    """With lr tiny enough to leave θ unchanged, the epoch loss equals the loss on all data."""
    x = data(50)
    model = small_model()
    expected = evaluate(model, MSE(), x)["loss"]
    history = fit(model, x, loss=MSE(), optimizer=SGD(1e-30), batch_size=16, verbose=False)
    assert history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_same_seed_same_history_and_weights():
    runs = []
    for _ in range(2):
        model = small_model()
        history = fit(model, data(), loss=BCE(), optimizer=Adam(1e-2), epochs=3, batch_size=8, seed=4,
                      verbose=False)
        runs.append((history["loss"], model.params.copy()))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    other = small_model()
    fit(other, data(), loss=BCE(), optimizer=Adam(1e-2), epochs=3, batch_size=8, seed=5, verbose=False)
    assert not np.array_equal(other.params, runs[0][1])


def test_uint8_images_train_like_their_scaled_floats():
    pixels = (data() * 255).round().astype(np.uint8)
    a, b = small_model(), small_model()
    ha = fit(a, pixels, loss=BCE(), optimizer=Adam(1e-2), epochs=2, verbose=False)
    hb = fit(b, pixels.astype(np.float32) / 255, loss=BCE(), optimizer=Adam(1e-2), epochs=2, verbose=False)
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-5)


def test_nan_loss_stops_training_with_a_clear_message_and_keeps_finite_weights():
    x = data() * 1e3  # MSE on huge targets with a huge learning rate diverges
    model = Sequential([Dense(8, 8)], seed=0)
    message = r"loss became (nan|inf) at epoch \d+, batch \d+.*learning rate"
    with pytest.raises(TrainingError, match=message) as info:
        fit(model, x, loss=MSE(), optimizer=SGD(10.0), epochs=50, batch_size=8, verbose=False)
    assert np.isfinite(model.params).all()
    assert isinstance(info.value.history, History)


def test_early_stopping_stops_and_restores_the_best_weights():
    stopper = EarlyStopping(monitor="loss", patience=2, restore_best=True)
    seen = []
    model = small_model()
    # lr so large that the loss goes up after the first steps: early stopping must kick in
    history = fit(model, data(), loss=MSE(), optimizer=SGD(50.0), epochs=30, verbose=False,
                  callbacks=[stopper, EpochHook(lambda m, e, r: seen.append(e))])
    assert history.epochs < 30 and stopper.stop_training
    assert seen == list(range(history.epochs))
    assert evaluate(model, MSE(), data())["loss"] <= min(history["loss"]) * 1.5


def test_early_stopping_puts_back_exactly_the_parameters_of_the_best_epoch():
    stopper = EarlyStopping(monitor="loss", patience=2, restore_best=True)
    after_epoch = []  # θ at the end of each epoch, before the stopper may put the best back
    model = small_model()
    history = fit(model, data(), loss=MSE(), optimizer=SGD(50.0), epochs=30, verbose=False,
                  callbacks=[EpochHook(lambda m, e, r: after_epoch.append(m.params.copy())),
                             stopper])
    best = int(np.argmin(history["loss"]))
    assert stopper.stop_training and best < history.epochs - 1  # it stopped after a worse epoch
    np.testing.assert_array_equal(model.params, after_epoch[best])


class RecordingInputs(Sequential):
    """A Sequential that keeps a copy of every batch its forward sees."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches = []

    def forward(self, x, check=True):
        self.batches.append(x.copy())
        return super().forward(x, check)


def test_each_epoch_draws_a_new_order_and_covers_every_sample():
    x = data(32)
    model = RecordingInputs([Dense(8, 4), Tanh(), Dense(4, 8), Sigmoid()])
    fit(model, x, loss=MSE(), optimizer=SGD(1e-30), epochs=3, batch_size=8, verbose=False)
    epochs = [np.concatenate(model.batches[i : i + 4]) for i in (0, 4, 8)]  # 4 batches an epoch
    for seen in epochs:
        np.testing.assert_array_equal(np.sort(seen, axis=0), np.sort(x, axis=0))
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    assert not np.array_equal(epochs[0], x)  # shuffled, not in the data's order


def test_early_stopping_needs_the_monitored_key():
    with pytest.raises(KeyError, match="val_loss"):
        fit(small_model(), data(), loss=MSE(), optimizer=SGD(0.1), callbacks=[EarlyStopping()], verbose=False)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"x": np.zeros(5)}, "2-D array"),
        ({"y": np.zeros((3, 8))}, "64 samples but y has 3"),
        ({"epochs": 0}, "epochs must be a whole number ≥ 1, got 0"),
    ],
)
def test_bad_arguments_are_explained(kwargs, message):
    args = {"x": data(), "loss": MSE(), "optimizer": SGD(0.1), "verbose": False} | kwargs
    with pytest.raises(ValueError, match=message):
        fit(small_model(), **args)


def test_history_saves_as_json_and_csv(tmp_path):
    history = History()
    history.add({"loss": 0.5, "val_loss": 0.6})
    history.add({"loss": 0.25, "val_loss": 0.3})
    history.save(tmp_path / "h.json")
    assert json.loads((tmp_path / "h.json").read_text()) == {"loss": [0.5, 0.25], "val_loss": [0.6, 0.3]}
    history.save(tmp_path / "h.csv")
    assert (tmp_path / "h.csv").read_text().splitlines() == ["epoch,loss,val_loss", "1,0.5,0.6", "2,0.25,0.3"]


def test_diverging_weights_are_reported_as_a_training_error_not_as_bad_data():
    """Once the weights overflow, the decoder sees inf codes: that is divergence, not bad samples."""
    from tinyae.models import dense_autoencoder

    model = dense_autoencoder("8-4-8", hidden="identity", output="identity")
    with pytest.raises(TrainingError, match="loss became (nan|inf).*learning rate"):
        with np.errstate(all="ignore"):
            fit(model, data() * 100, loss=MSE(), optimizer=SGD(1e6), epochs=20, verbose=False)


class WeightDecay:
    """½‖θ‖² with weight λ, against fit's ``Penalty`` protocol: value and gradient together."""

    name = "l2"

    def __init__(self, params, lam):
        self.weight, self.value = lam, 0.5 * float(params @ params)
        self.dparams = lam * params  # ∂(λ·½‖θ‖²)/∂θ


class DecayedSequential(Sequential):
    """A Sequential whose objective adds λ·½‖θ‖²; its backward adds the penalty's gradient."""

    def __init__(self, lam, **kwargs):
        super().__init__([Dense(8, 4), Tanh(), Dense(4, 8), Sigmoid()], dtype=np.float64, **kwargs)
        self.lam = lam

    def forward(self, x, check=True):
        self.decay = WeightDecay(self.params, self.lam)
        return super().forward(x, check)

    def penalties(self):
        return [self.decay]

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads += self.decay.dparams
        return dx


def test_fit_adds_each_penalty_to_the_loss_and_records_it_by_name():
    x = data().astype(np.float64)
    model = DecayedSequential(lam=0.01)
    history = fit(model, x, loss=BCE(), optimizer=Adam(1e-2), epochs=3, batch_size=16,
                  validation_data=x[:16], verbose=False)
    assert {"loss", "recon", "l2", "val_loss", "val_recon", "val_l2"} <= set(history)
    for prefix in ("", "val_"):
        recon, l2 = np.array(history[prefix + "recon"]), np.array(history[prefix + "l2"])
        np.testing.assert_allclose(history[prefix + "loss"], recon + 0.01 * l2, rtol=1e-12)
    # the penalty's gradient reaches the optimizer: θ ← θ − 0.1·(∂recon/∂θ + θ) shrinks it
    strong, free = DecayedSequential(lam=1.0), DecayedSequential(lam=0.0)
    for each in (strong, free):
        fit(each, x, loss=BCE(), optimizer=SGD(0.1), epochs=3, batch_size=16, verbose=False)
    assert np.linalg.norm(strong.params) < 0.5 * np.linalg.norm(free.params)


# --- the progress line: live on a terminal, one line per epoch elsewhere ------------------

REPO = Path(__file__).resolve().parents[1]

# A tiny fit in a subprocess; stderr gets the summary lines it should print, made from the
# history it returned, and the epoch times.
FIT = """
import sys
import numpy as np
import tinyae.train as T
from tinyae import MSE, SGD, Dense, Sequential
T.REDRAW_SECONDS = {redraw}
x = np.random.default_rng(0).uniform(size=({n}, 4))
model = Sequential([Dense(4, 4)], seed=0)
try:
    h = T.fit(model, x, loss=MSE(), optimizer=SGD({lr}), epochs={epochs}, batch_size={batch})
except T.TrainingError:
    print("error: training stopped")
    sys.exit(0)
for e in range(h.epochs):
    print(T._progress_line(e, {epochs}, {n}, {{k: v[e] for k, v in h.items()}}), file=sys.stderr)
print(*h["seconds"], file=sys.stderr)
"""


def run_fit(terminal: bool, redraw: float = 0.0, n: int = 64, lr: float = 0.1, epochs: int = 2,
            batch: int = 16) -> tuple[str, list[str], list[float]]:
    """Stdout (on a terminal or a pipe), the expected summary lines, and the epoch times."""
    code = FIT.format(redraw=redraw, n=n, lr=lr, epochs=epochs, batch=batch)
    out, err = run_python(["-c", code], terminal)
    *summaries, seconds = err.splitlines() or [""]
    return out, summaries, [float(s) for s in seconds.split()]


def run_python(args: list[str], terminal: bool) -> tuple[str, str]:
    """Run ``python *args``, its stdout a pseudo-terminal or a pipe; return stdout, stderr."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TINYAE_OFFLINE": "1", "MPLBACKEND": "Agg"}
    if not terminal:
        result = subprocess.run([sys.executable, *args], capture_output=True, text=True,
                                timeout=120, env=env, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout, result.stderr
    pty = pytest.importorskip("pty")  # POSIX only
    parent, child = pty.openpty()
    with subprocess.Popen([sys.executable, *args], stdout=child, stderr=subprocess.PIPE,
                          env=env) as process:
        os.close(child)
        chunks = []
        while select.select([parent], [], [], 120)[0]:
            try:
                chunk = os.read(parent, 4096)
            except OSError:  # Linux: the other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(parent)
        err = process.stderr.read().decode()
        assert process.wait(timeout=120) == 0, err
    # A terminal turns "\n" into "\r\n"; undo that to see what fit printed.
    return b"".join(chunks).decode().replace("\r\n", "\n"), err


def test_on_a_terminal_a_live_line_counts_the_batches_then_becomes_the_summary():
    out, summaries, _ = run_fit(terminal=True)
    lines = out.removesuffix("\n").split("\n")  # not splitlines(): it splits at "\r" too
    assert len(lines) == 2  # one line per epoch on screen
    for epoch, (line, summary) in enumerate(zip(lines, summaries), start=1):
        *live, last = line.split("\r")[1:]
        assert [text.split("  ")[:2] for text in live] == [
            [f"epoch {epoch}/2", f"batch {i}/4"] for i in range(1, 5)]
        assert all(" s  ETA " in text and "  loss " in text for text in live)
        assert last.rstrip() == summary and len(last) >= len(live[-1])  # covers the live line


def test_on_a_pipe_exactly_one_line_per_epoch():
    out, summaries, _ = run_fit(terminal=False)
    assert out.removesuffix("\n").split("\n") == summaries and "\r" not in out and "batch" not in out


def test_the_live_line_is_redrawn_a_few_times_a_second_at_most():
    out, _, seconds = run_fit(terminal=True, redraw=0.25, n=3000, epochs=1, batch=1)
    draws = out.count("batch ")
    assert 1 <= draws <= 1 + seconds[0] / 0.25  # 3000 batches, a handful of redraws


def test_a_training_error_starts_on_a_line_of_its_own():
    out, _, _ = run_fit(terminal=True, lr=1e30, n=64, epochs=50)
    live, error = out.removesuffix("\n").split("\n")[-2:]
    assert "batch " in live and error == "error: training stopped"


def test_tinyae_train_on_a_terminal_shows_the_live_line(tmp_path):
    args = ["-m", "tinyae", "train", "--dataset", "mnist-mini", "--limit", "512", "--epochs", "1",
            "--batch-size", "64", "--out", str(tmp_path)]
    out, _ = run_python(args, terminal=True)
    assert "\repoch 1/1  batch 1/8  " in out
    assert re.search(r"\repoch 1/1  512 samples  [\d.]+ s  loss [\d.]+ .*\n", out)
