"""``fit``: the one training loop of tinyae, with its history and callbacks.

One step of training, for a batch ``x`` with target ``y`` (``y = x`` for an autoencoder)::

    model.zero_grad()
    p = model.forward(x)                       # prediction, caching for backward
    L = loss.forward(p, y)                     # + Σ weight·value of the model's penalties
    model.backward(loss.backward())            # every layer fills its dW, db (+ penalties')
    optimizer.step(model.params, model.grads)  # θ ← θ − …, in place

``fit`` repeats it over shuffled batches for a number of epochs, records per-epoch
averages in a ``History``, and prints one progress line per epoch (on a terminal, that
line counts the batches while the epoch runs).

A model is anything with ``forward``, ``backward``, ``zero_grad``, ``params`` and
``grads`` (``Sequential``, ``Autoencoder``, ``VAE``).  A model whose objective has
terms of its own (the VAE's KL) also has ``penalties()``: one ``Penalty`` per term for
the last forward, which ``fit`` adds to the loss and records under the term's name.
Each penalty computed its value and its gradient together; the model's ``backward``
adds that gradient where the term enters the network.

When training goes wrong, ``fit`` says so instead of returning a broken model: the data
is checked before the first step (``check_data``), a loss that becomes NaN or inf or
ends an epoch far above where it started raises ``TrainingError``, and any exception
that stops ``fit`` (Ctrl-C, a callback's error, …) carries the finished epochs as its
``history``.
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tinyae.losses import Loss
from tinyae.models.vae import ReductionWarning
from tinyae.optim import Optimizer
from tinyae.safeguards import (
    FirstLoss,
    as_float_batch,
    check_count,
    check_data,
    check_fit_arguments,
    check_fit_objects,
    divergence,
    nan_message,
    split_validation,
)

REDRAW_SECONDS = 0.25  # a terminal's live progress line is redrawn at most this often
EVALUATE_BATCH = 1000  # evaluate's batches: only memory limits them, nothing is updated
NOISE_STREAM = 1  # input noise draws from default_rng([seed, NOISE_STREAM]), apart from shuffling


class TrainingError(RuntimeError):
    """Training went wrong (a NaN or inf loss, or divergence); ``history`` holds what was done."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


class Penalty(Protocol):
    """One term a model adds to its objective, for its last forward: ``weight · value``.

    ``fit`` minimises ``loss(p, y) + Σ weight · value`` over the model's ``penalties()``
    and records each ``value`` in the ``History`` under ``name`` (the VAE: ``"kl"``, the
    KL itself, with weight β).  The object also holds the gradient of ``weight · value``,
    computed with the value; the model's ``backward`` adds it where the term enters the
    network (the VAE's at mu and log_var).
    """

    name: str
    weight: float
    value: float


class History(dict):
    """Per-epoch records: ``history["loss"][e]`` is the mean training loss of epoch e + 1.

    Keys: ``loss`` and, with validation data, ``val_loss``; ``recon`` and one key per
    penalty (``kl``) for models that have them; one key per metric; ``seconds``.
    """

    def add(self, record: dict[str, float]) -> None:
        """Append one epoch's numbers."""
        for key, value in record.items():
            self.setdefault(key, []).append(value)

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self.get("loss", []))

    def save(self, path: str | Path) -> None:
        """Write the history as JSON (``.json``) or as CSV with one row per epoch (``.csv``).

        The suffix chooses the format, in any case (``history.JSON`` is JSON); any other
        suffix is refused rather than guessed, since a CSV named ``.txt`` or ``.JSON``
        would not read back as the reader expects.  A file the system will not write
        raises ``OSError`` naming it (a full disk or ``ulimit -f`` names no file itself).
        """
        path = Path(path)
        kind = path.suffix.lower()
        if kind not in (".json", ".csv"):
            raise ValueError(f"History.save({str(path)!r}): the name must end in .json or .csv, "
                             f"which chooses the format; got {path.suffix or 'no suffix'!r}")
        if kind == ".json":
            text = json.dumps(self, indent=1)
        else:
            keys = [key for key, values in self.items() if len(values) == self.epochs]
            rows = [",".join(["epoch", *keys])]
            rows += [",".join([str(e + 1), *(repr(self[k][e]) for k in keys)])
                     for e in range(self.epochs)]
            text = "\n".join(rows) + "\n"
        try:
            path.write_text(text)
        except OSError as error:
            raise OSError(error.errno, f"cannot write the history to {path}: "
                                       f"{error.strerror or error}") from error


class Callback:
    """Hooks that ``fit`` calls; override the ones you need.  Set ``stop_training`` to stop."""

    stop_training = False

    def on_train_begin(self, model: Any) -> None:
        """Before the first epoch."""

    def on_batch_begin(self, model: Any, step: int) -> None:
        """Before each batch; ``step`` counts batches from 0 over the whole run."""

    def on_epoch_end(self, model: Any, epoch: int, record: dict[str, float]) -> None:
        """After each epoch (``epoch`` from 0); ``record`` may be extended with new numbers."""


class EpochHook(Callback):
    """Call ``fn(model, epoch, record)`` after every epoch (e.g. to save a figure)."""

    def __init__(self, fn: Callable[[Any, int, dict[str, float]], None]) -> None:
        self.fn = fn

    def on_epoch_end(self, model: Any, epoch: int, record: dict[str, float]) -> None:
        """Call the function."""
        self.fn(model, epoch, record)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    An epoch improves when ``record[monitor] < best − min_delta`` (lower is better).
    With ``restore_best`` the parameters of the best epoch are put back when it stops.

    The settings are checked here, not at the end of the first epoch.  Each ``fit``
    starts the count afresh (``on_train_begin``): the same object given to a second
    model (or a second run) must not compare its losses with the first run's best, nor
    put the first run's weights into it.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 3, min_delta: float = 0.0,
                 restore_best: bool = True) -> None:
        _check_early_stopping(monitor, patience, min_delta, restore_best)
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.restore_best = restore_best
        self.on_train_begin(None)

    def on_train_begin(self, model: Any) -> None:
        """Forget any earlier run: no best value, no saved parameters, no waiting, no stop."""
        self.best, self.best_params, self.wait = math.inf, None, 0
        self.stop_training = False

    def on_epoch_end(self, model: Any, epoch: int, record: dict[str, float]) -> None:
        """Track the best value; stop after ``patience`` epochs without improvement."""
        if self.monitor not in record:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, but the epoch has only "
                           f"{sorted(record)}")
        if record[self.monitor] < self.best - self.min_delta:
            self.best, self.wait = record[self.monitor], 0
            self.best_params = model.params.copy() if self.restore_best else None
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stop_training = True
            if self.best_params is not None:
                model.params[...] = self.best_params


def _check_early_stopping(monitor: Any, patience: Any, min_delta: Any, restore_best: Any) -> None:
    """Raise a clear error for a setting of ``EarlyStopping`` that would fail only after an epoch."""
    if not isinstance(monitor, str):
        raise TypeError(f"EarlyStopping: monitor must be the name of a number in the epoch's record, "
                        f"e.g. 'val_loss' or 'loss'; got {monitor!r}")
    if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)):
        raise TypeError(f"EarlyStopping: patience must be a whole number of epochs, got {patience!r}; "
                        "e.g. patience=3")
    if patience < 0:
        raise ValueError(f"EarlyStopping: patience must be ≥ 0 epochs, got {patience}")
    if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float, np.integer, np.floating)):
        raise TypeError(f"EarlyStopping: min_delta must be a number (the smallest drop that counts "
                        f"as an improvement), got {min_delta!r}")
    if not (math.isfinite(min_delta) and min_delta >= 0):
        raise ValueError(f"EarlyStopping: min_delta must be a finite number ≥ 0, got {min_delta}; "
                         "a negative one would count a worse epoch as an improvement")
    if not isinstance(restore_best, (bool, np.bool_)):
        raise TypeError(f"EarlyStopping: restore_best must be True or False, got {restore_best!r}")


def batches(n: int, batch_size: int, rng: np.random.Generator | None) -> Iterator[np.ndarray]:
    """Index arrays for consecutive batches of ``range(n)``, shuffled by ``rng`` if given."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def loss_terms(model: Any, loss: Loss, p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """``{"loss": recon + Σ weight·value}``, plus ``recon`` and each penalty's value if any."""
    recon = loss.forward(p, y)
    penalties: list[Penalty] = model.penalties() if hasattr(model, "penalties") else []
    terms = {"loss": recon + sum(term.weight * term.value for term in penalties)}
    if penalties:
        terms["recon"] = recon
        terms.update({term.name: term.value for term in penalties})
    return terms


def evaluate(model: Any, loss: Loss, x: np.ndarray, y: np.ndarray | None = None,
             batch_size: int = EVALUATE_BATCH, metrics: dict[str, Loss] | None = None
             ) -> dict[str, float]:
    """Mean loss terms (and metrics) over ``x`` in batches, without training.

    ``x (N, D_in)``, ``y (N, D_out)`` (default ``x``), checked as ``fit`` checks them.
    Returns e.g. ``{"loss": …}`` or, for a VAE, ``{"loss": …, "recon": …, "kl": …}``.
    """
    check_data(x, y, dtype=getattr(model, "dtype", np.float32))
    check_count("batch_size", batch_size)
    check_fit_objects(loss, metrics=metrics)
    warn_mismatched_reductions(model, loss, batch_size)
    return _evaluate(model, loss, x, y, batch_size, metrics)


def _evaluate(model: Any, loss: Loss, x: np.ndarray, y: np.ndarray | None, batch_size: int,
              metrics: dict[str, Loss] | None) -> dict[str, float]:
    """``evaluate`` on arguments already checked (``fit``'s validation, once per epoch)."""
    totals: dict[str, float] = {}
    for idx in batches(len(x), batch_size, rng=None):
        xb = as_float_batch(x[idx], model.dtype)
        yb = xb if y is None else as_float_batch(y[idx], model.dtype)
        p = model.forward(xb)
        terms = loss_terms(model, loss, p, yb)
        terms.update({name: metric.forward(p, yb) for name, metric in (metrics or {}).items()})
        for key, value in terms.items():
            totals[key] = totals.get(key, 0.0) + value * len(idx)
    return {key: value / len(x) for key, value in totals.items()}


def fit(
    model: Any,
    x: np.ndarray,
    y: np.ndarray | None = None,
    *,
    loss: Loss,
    optimizer: Optimizer,
    epochs: int = 1,
    batch_size: int = 128,
    shuffle: bool = True,
    validation_data: np.ndarray | tuple[np.ndarray, np.ndarray] | None = None,
    metrics: dict[str, Loss] | None = None,
    callbacks: Sequence[Callback] = (),
    seed: int = 0,
    verbose: bool = True,
) -> History:
    """Train ``model`` on ``x`` (target ``y``, or ``x`` itself when ``y`` is None).

    Shapes: ``x (N, D_in)``, ``y (N, D_out)``: floats, or uint8 pixels 0..255, which are
    scaled to [0, 1] batch by batch (other integer arrays are refused, see ``check_data``).
    ``validation_data`` is ``x_val`` or ``(x_val, y_val)`` (with targets ``y``, it must
    be the pair).  ``metrics`` maps names to losses reported alongside (e.g.
    ``{"mse": MSE()}``).  Shuffling draws from ``np.random.default_rng(seed)``.

    A model with a ``noise`` (a denoising autoencoder, see ``tinyae.noise``) is trained on
    corrupted inputs, drawn per batch from ``np.random.default_rng([seed, NOISE_STREAM])``,
    against the clean targets; validation and ``evaluate`` use the clean inputs.

    Returns the ``History``.  Raises ``TrainingError`` if the loss becomes NaN or inf
    (before that update is applied), or if an epoch's loss ends more than ``DIVERGED``
    times above where training started (the mean over the first ``START_SAMPLES``
    samples; for a model with penalties, whose weights may change during training, its
    ``recon``).  Whatever exception stops ``fit`` — also Ctrl-C (``KeyboardInterrupt``)
    or a callback's error — leaves with ``error.history``, the finished epochs; the model
    keeps the updates made until then.

    ``verbose`` prints one line per epoch; on a terminal, while the epoch runs, that line
    shows batch i/n, the time, the ETA and the running loss, redrawn in place.

    Before the first step, besides the data: a callback that sets another optimizer's
    rate (a ``LearningRateSchedule`` given a second ``Adam``) is refused with ValueError,
    and a VAE whose KL is reduced unlike the loss gets a ``ReductionWarning``.
    """
    check_fit_arguments(x, y, epochs, batch_size, validation_data, seed,
                        dtype=getattr(model, "dtype", np.float32))
    check_fit_objects(loss, optimizer, metrics, callbacks)
    check_callback_optimizers(callbacks, optimizer)
    warn_mismatched_reductions(model, loss, batch_size)
    history, progress = History(), _Progress(verbose)
    try:
        _train(model, x, y, history, progress, loss=loss, optimizer=optimizer, epochs=epochs,
               batch_size=batch_size, shuffle=shuffle, validation_data=validation_data,
               metrics=metrics, callbacks=callbacks, seed=seed)
    except BaseException as error:  # the finished epochs must not be lost with the run
        progress.stop()  # the error's message gets a line of its own
        error.history = history  # type: ignore[attr-defined]
        raise
    return history


def check_callback_optimizers(callbacks: Sequence[Callback], optimizer: Optimizer) -> None:
    """Refuse a callback that changes another optimizer than the one ``fit`` steps with.

    A ``LearningRateSchedule`` holds the optimizer whose ``lr`` it sets.  Given a second
    ``Adam(1e-2)``, it would set that one's rate and record it in ``history["lr"]``, while
    every step used fit's unchanged rate: a history that lies.  So before the first step.
    """
    for callback in callbacks:
        target = getattr(callback, "optimizer", None)
        if target is not None and target is not optimizer:
            raise ValueError(
                f"{type(callback).__name__} sets the learning rate of {target!r}, but fit trains with "
                f"another optimizer, {optimizer!r}: the rates it records would never be used. Give "
                "it the optimizer that fit uses: opt = Adam(1e-3); fit(..., optimizer=opt, "
                "callbacks=[LearningRateSchedule(opt, schedule)])")


def warn_mismatched_reductions(model: Any, loss: Loss, batch_size: int) -> None:
    """Warn (``ReductionWarning``, once per call) when the loss and the model's own terms disagree.

    A model with terms of its own (the VAE's KL) says, through ``reduction_mismatch``, when
    the loss's reduction gives them another weight than the one it was built with — a
    per-pixel reconstruction with a per-sample KL is β ≈ 784 without a word.  A warning,
    not an error: tutorial 6 mixes them on purpose to show the effect.
    """
    mismatch = getattr(model, "reduction_mismatch", None)
    message = mismatch(loss, batch_size) if mismatch is not None else None
    if message:
        warnings.warn(message, ReductionWarning, stacklevel=3)  # at the user's fit or evaluate


def _train(model: Any, x: np.ndarray, y: np.ndarray | None, history: History,
           progress: _Progress, *, loss: Loss,
           optimizer: Optimizer, epochs: int, batch_size: int, shuffle: bool, validation_data: Any,
           metrics: dict[str, Loss] | None, callbacks: Sequence[Callback], seed: int) -> None:
    """``fit``'s loop over epochs and batches; each epoch's record goes into ``history``."""
    rng = np.random.default_rng(seed) if shuffle else None
    corrupt = _corruption(getattr(model, "noise", None), seed)
    step, first, n_batches = 0, FirstLoss(), math.ceil(len(x) / batch_size)
    for callback in callbacks:
        callback.on_train_begin(model)
    for epoch in range(epochs):
        start, sums = time.perf_counter(), dict[str, float]()
        for i, idx in enumerate(batches(len(x), batch_size, rng), start=1):
            for callback in callbacks:
                callback.on_batch_begin(model, step)
            terms = _train_step(model, x, y, idx, loss, optimizer, metrics, corrupt)
            if not math.isfinite(terms["loss"]):
                raise TrainingError(nan_message(terms, epoch, step, model, optimizer), history)
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value * len(idx)
            step += 1
            first.add(terms, len(idx))
            if progress.due():
                running = sums["loss"] / min(i * batch_size, len(x))
                progress.draw(_batch_line(epoch, epochs, i, n_batches, start, running))
        record = {key: value / len(x) for key, value in sums.items()}
        if validation_data is not None:
            record.update(_validate(model, loss, validation_data, metrics))
        record["seconds"] = time.perf_counter() - start
        for callback in callbacks:
            callback.on_epoch_end(model, epoch, record)
        history.add(record)
        progress.epoch_done(_progress_line(epoch, epochs, len(x), record))
        if any(callback.stop_training for callback in callbacks):
            break
        diverged = divergence(record, first, epoch, model, optimizer, x)
        if diverged:
            raise TrainingError(diverged, history)


def _train_step(model: Any, x: np.ndarray, y: np.ndarray | None, idx: np.ndarray, loss: Loss,
                optimizer: Optimizer, metrics: dict[str, Loss] | None,
                corrupt: Callable[[np.ndarray], np.ndarray]) -> dict[str, float]:
    """One forward, backward and update on the batch ``x[idx]``; returns its loss terms.

    The model sees ``corrupt(x[idx])``; the target stays the clean ``x[idx]`` (or ``y[idx]``).
    """
    xb = as_float_batch(x[idx], model.dtype)
    yb = xb if y is None else as_float_batch(y[idx], model.dtype)
    model.zero_grad()
    p = model.forward(corrupt(xb))
    terms = loss_terms(model, loss, p, yb)
    if not math.isfinite(terms["loss"]):
        return terms  # the caller stops before this update can spoil the weights
    model.backward(loss.backward())
    optimizer.step(model.params, model.grads)
    terms.update({name: metric.forward(p, yb) for name, metric in (metrics or {}).items()})
    return terms


def _corruption(noise: Any, seed: int) -> Callable[[np.ndarray], np.ndarray]:
    """The input each batch is trained on: ``noise(x, rng)`` with fit's noise stream, or x."""
    if noise is None:
        return lambda xb: xb
    rng = np.random.default_rng([seed, NOISE_STREAM])
    return lambda xb: noise(xb, rng)


def _validate(model: Any, loss: Loss, data: Any, metrics: dict[str, Loss] | None) -> dict[str, float]:
    x_val, y_val = split_validation(data)  # checked by fit before the first epoch
    terms = _evaluate(model, loss, x_val, y_val, EVALUATE_BATCH, metrics)
    return {f"val_{key}": value for key, value in terms.items()}


def _progress_line(epoch: int, epochs: int, n: int, record: dict[str, float]) -> str:
    # Per-layer monitor measurements ("layer2/dead", …) would swamp the line: History has them.
    shown = {key: value for key, value in record.items() if key != "seconds" and "/" not in key}
    numbers = "  ".join(f"{key} {value:.4f}" for key, value in shown.items())
    return f"epoch {epoch + 1}/{epochs}  {n} samples  {record['seconds']:.1f} s  {numbers}"


def _batch_line(epoch: int, epochs: int, i: int, n_batches: int, start: float, loss: float) -> str:
    """The live line after batch ``i`` of ``n_batches``; the ETA assumes equally long batches."""
    elapsed = time.perf_counter() - start
    eta = elapsed / i * (n_batches - i)
    return (f"epoch {epoch + 1}/{epochs}  batch {i}/{n_batches}  {elapsed:.1f} s  "
            f"ETA {eta:.1f} s  loss {loss:.4f}")


class _Progress:
    """What ``fit`` prints: one line per epoch, and on a terminal a live line before it.

    On a terminal (``sys.stdout.isatty()``) the line ``epoch 3/10  batch 41/79 …`` is
    redrawn in place: ``\r`` returns to the start of the line, and spaces cover the rest
    of a longer line drawn before.  At the end of the epoch the summary replaces it.
    Redrawing is throttled to ``REDRAW_SECONDS``: printing after every batch of a small
    model would cost more than the batch.  A pipe or a file gets the summary lines only:
    a log would keep every redraw.  So does a notebook (ipykernel's stdout is no terminal)
    when it is run by nbconvert and saved.
    """

    def __init__(self, verbose: bool) -> None:
        self.verbose, self.live = verbose, verbose and _is_terminal(sys.stdout)
        self.width, self.drawn_at = 0, -math.inf

    def due(self) -> bool:
        """True when the live line should be redrawn now."""
        return self.live and time.perf_counter() - self.drawn_at >= REDRAW_SECONDS

    def draw(self, text: str, end: str = "") -> None:
        """Write ``text`` over the current line (and ``end`` after it)."""
        print("\r" + text.ljust(self.width), end=end, file=sys.stdout, flush=True)
        self.width = 0 if end else len(text)
        self.drawn_at = time.perf_counter()

    def epoch_done(self, summary: str) -> None:
        """Print the epoch's summary line (over the live line, on a terminal)."""
        if self.live:
            self.draw(summary, end="\n")
        elif self.verbose:
            print(summary, file=sys.stdout, flush=True)

    def stop(self) -> None:
        """Leave a live line drawn half-way, so that an error message gets a line of its own."""
        if self.width:
            print(file=sys.stdout, flush=True)
            self.width = 0


def _is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an open terminal.  ``tinyae train >&-`` leaves ``sys.stdout`` None
    (then ``print`` prints nothing), a closed file raises on ``isatty``: neither is a terminal."""
    try:
        return stream is not None and bool(stream.isatty())
    except (ValueError, OSError, AttributeError):
        return False
