"""The checks between a user's data and the maths, and the errors they raise.

Data entering a model (``Sequential.forward`` and ``predict``, ``fit``, ``evaluate``)
follows one rule for its type (``check_dtype``): floats, or uint8 pixels 0..255, which
are scaled to [0, 1] (``as_float_batch``); any other integer type is refused.
``check_batch`` also refuses the wrong width, NaN or inf, and finite values too large
for the model's dtype (1e39 becomes inf in float32), naming the rows.  A layer or a loss
used on its own follows the same rule (``layer_input``; ``tinyae.losses``).

Before the first step, ``fit`` checks everything it was given (``check_fit_arguments``,
``check_fit_objects``): the data (``check_data``: 2-D, that dtype rule, no NaN or inf,
inputs and targets that pair up), the validation data, the counts, the loss, optimizer,
metrics and callbacks — so that a mistake surfaces at once, naming the rows as the data
counts them and whether inputs or targets are at fault, not epochs later inside a batch.

During training, ``fit`` stops with a ``TrainingError`` when a run goes wrong in one of
two ways; the messages are made here:

* the loss of a batch becomes NaN or inf (``nan_message``; that update is not applied);
* an epoch ends diverged although its loss stayed finite (``divergence``): the loss
  far above where training started, or the outputs stuck at exactly 0 or 1 — the
  weights have blown up, and training cannot recover.  This costs one small
  prediction per epoch and, per batch, only a running sum while the first
  ``START_SAMPLES`` samples go by (``FirstLoss``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyae.layer_base import ShapeError
from tinyae.optim import Optimizer

# An epoch ends "diverged", even with a finite loss, if either holds:
# * its loss is more than DIVERGED times the loss where training started.  Healthy runs end
#   their epochs at most 1.02× above it (a plateau sits at 1×); a VAE, whose loss rises with
#   its KL weight, is judged by its reconstruction, which at worst climbs to the mean image's
#   (< 3× a trained VAE's, if training goes on with a far larger KL weight);
# * SATURATED or more of its outputs on the first PROBE_SAMPLES samples are exactly 0 or ±1:
#   saturated sigmoids (or dead ReLUs) pass no gradient back, so training cannot recover.
#   Healthy runs stay below 0.1 %; every diverged run measured had 100 %.
DIVERGED = 4.0
SATURATED = 0.99
START_SAMPLES = 64  # "where it started": the mean loss over at least this many first samples
PROBE_SAMPLES = 64


# --- data entering a model ---------------------------------------------------------

def check_dtype(x: np.ndarray, name: str = "input") -> None:
    """Raise ``TypeError`` unless ``x`` holds floats, or uint8 pixels 0..255.

    The one rule for integers, everywhere data enters a model (``forward``, ``predict``,
    ``fit``, ``evaluate``): uint8 means pixels 0..255, scaled to [0, 1] (``as_float_batch``);
    any other integer type is refused, because its scale is unknown and unscaled pixels
    train to huge, meaningless losses.  ``name`` says which array, e.g. ``"y (the targets)"``.
    """
    if x.dtype.kind == "f" or x.dtype == np.uint8:
        return
    if x.dtype.kind in "ui":
        raise TypeError(
            f"{name} has integer dtype {x.dtype}: tinyae reads only uint8 arrays as pixels "
            f"0..255 (and scales them to [0, 1]); other integers have no known scale, and "
            f"unscaled values train to huge, meaningless losses. Convert them first, e.g. "
            f"x.astype(np.float32) / 255 for pixels 0..255, x.astype(np.float32) for values "
            f"in range"
        )
    if x.dtype.kind == "c":
        raise TypeError(f"{name} has dtype {x.dtype}: complex numbers, not real ones; tinyae's "
                        f"layers and losses take real numbers (a sigmoid would silently use the "
                        f"real parts only): pass x.real if the imaginary parts are rounding "
                        f"noise, or np.abs(x) for magnitudes")
    raise TypeError(f"{name} has dtype {x.dtype}; tinyae takes real numbers: floats (float32, "
                    f"float64) or uint8 pixels 0..255: convert it, e.g. x.astype(np.float32)")


def as_float_batch(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A batch as floats of ``dtype``; uint8 pixels 0..255 are scaled to [0, 1].

    Keeping images as uint8 until this point stores full MNIST in 47 MB instead of
    188 MB (float32); scaling one batch at a time costs almost nothing.  Other dtypes
    are only cast: code that takes a user's data calls ``check_dtype`` first.
    """
    if x.dtype == np.uint8:
        return x.astype(dtype) * dtype.type(1 / 255)
    return x.astype(dtype, copy=False)


def check_batch(x: Any, n_in: int | None, dtype: np.dtype, first_row: int = 0) -> np.ndarray:
    """Return ``x`` as a ``(N, n_in)`` array of ``dtype``, or raise a clear error.

    Catches the classic input mistakes before they turn into silently wrong numbers:
    integers that are not uint8 pixels (``check_dtype``), the wrong number of features,
    NaN or inf values, and finite values beyond the range of ``dtype`` (which the cast
    would turn into inf).  uint8 pixels are scaled to [0, 1].  ``first_row`` is the index
    of ``x``'s first row in the caller's data (``predict`` checks chunk by chunk), so
    that an error names the rows as the caller counts them.  Good batches pay only for
    the cast and one ``isfinite``: the causes are looked for once something is wrong.
    """
    given = x
    x = np.asarray(x)
    check_dtype(x)
    if x.ndim != 2 or (n_in is not None and x.shape[1] != n_in):
        raise ShapeError(
            f"model expects input of shape (N, {n_in}), got {x.shape}; "
            f"flatten images to rows first, e.g. x.reshape(len(x), -1)"
        )
    with np.errstate(over="ignore"):  # a value beyond dtype's range becomes inf: reported below
        out = as_float_batch(x, dtype)
    if not np.isfinite(out).all():
        if len(big := too_large_rows(x, dtype)):
            raise ValueError(too_large_message("input", x, big, dtype, first_row))
        rows = first_row + np.flatnonzero(~np.isfinite(out).all(axis=1))
        raise ValueError(
            f"input contains NaN or inf in {len(rows)} row(s) (first: {rows[:5].tolist()}); "
            f"remove or fix those samples before training{masked_hint(given)}"
        )
    return out


def too_large_rows(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The rows of ``x`` (N, D) holding a finite value beyond the largest number of ``dtype``."""
    if x.dtype.kind != "f" or x.dtype.itemsize <= dtype.itemsize:
        return np.zeros(0, dtype=int)
    limit = np.finfo(dtype).max
    return np.flatnonzero((np.isfinite(x) & (np.abs(x) > limit)).any(axis=1))


def too_large_message(name: str, x: np.ndarray, rows: np.ndarray, dtype: np.dtype,
                      first_row: int = 0) -> str:
    """Why values beyond ``dtype``'s range cannot be used, where they are, and the fix."""
    finite = x[rows[0]][np.isfinite(x[rows[0]])]
    largest = finite[np.argmax(np.abs(finite))]
    where = (first_row + rows[:5]).tolist()
    return (f"{name} holds values too large for {dtype} in {len(rows)} row(s) (first: {where}): "
            f"{largest:.3g} is beyond {dtype}'s largest number {np.finfo(dtype).max:.3g}, so a "
            f"{dtype} model would compute with inf; scale the data down first (divide it by "
            f"its largest value, or use tinyae.scaling.StandardScaler), or build the model with "
            f"dtype=np.float64")


def masked_hint(x: Any) -> str:
    """For a masked array, that its masked values are used too; else ``""``."""
    if not isinstance(x, np.ma.MaskedArray):
        return ""
    return (" (it is a masked array: tinyae reads the values under the mask too, so fill them "
            "first, e.g. x.filled(0), or drop those rows)")


def layer_input(x: Any, layer: Any, dtype: Any = None) -> np.ndarray:
    """``x`` as an array ``layer`` can compute with, or a clear error naming the layer.

    A layer used on its own (``Dense(3, 2).forward(x)``) follows the rule a model
    follows (``check_dtype``), so that the same x means the same everywhere: floats
    pass unchanged (at the cost of two checks: this runs at every forward), uint8
    pixels are scaled to [0, 1] in ``dtype`` (float64 by default), and other integers,
    booleans and complex numbers are refused — NumPy would take complex numbers into a
    sigmoid and hand back real numbers.  A list of rows is converted, as NumPy would.
    """
    if type(x) is not np.ndarray:
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as error:  # a ragged list, an object NumPy cannot read
            raise TypeError(f"{layer!r} takes a batch, an (N, D) array of numbers, got a "
                            f"{type(x).__name__} that NumPy cannot turn into one ({error}); "
                            f"check that every row has the same length") from None
    if x.dtype.kind == "f":
        return x
    check_dtype(x, f"the input of {layer!r}")
    return as_float_batch(x, np.dtype(np.float64 if dtype is None else dtype))


def out_of_memory(what: str, numbers: int, dtype: np.dtype, holding: str) -> MemoryError:
    """The ``MemoryError`` to raise when ``what`` could not allocate ``numbers`` of ``dtype``.

    NumPy's own says "Unable to allocate … for an array with shape …"; this one says which
    part of the network, how many gigabytes it needs, and what to change.
    """
    return MemoryError(f"{what} needs {gigabytes(numbers * dtype.itemsize)} GB for {holding} "
                       f"({numbers:,} numbers in {dtype}), more than this machine could "
                       f"allocate: use fewer or narrower layers (a smaller --arch)")


def gigabytes(n_bytes: float) -> str:
    """``"80,000"``, ``"12"``, ``"0.0024"``: a size in GB (10⁹ bytes), as precise as it needs."""
    gb = n_bytes / 1e9
    return f"{gb:,.0f}" if gb >= 10 else f"{gb:.2g}"


def loss_arrays(who: str, p: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(p, y)`` as arrays of real floats a loss can compute with, or a clear error naming ``who``.

    The rule of ``check_dtype`` holds for a loss too, so the same array means the same
    everywhere: uint8 pixels 0..255 are scaled to [0, 1] (``MSE().forward(model.forward(x),
    x)`` with uint8 x compares the output with the image the model saw, not with 255× it),
    and other integers are refused (in int8, 100 − (−100) wraps around to −56).  Booleans
    count as 0 and 1.  float16 is computed in float32: a sum of squares overflows float16's
    largest number, 65504, at once.  float32 and float64 arrays pass unchanged.
    """
    arrays = []
    for what, a in (("prediction p", p), ("target y", y)):
        a = np.asarray(a)
        if a.dtype.kind not in "fiub":
            raise TypeError(f"{who}: {what} must hold real numbers, got dtype {a.dtype}; "
                            "convert it with np.asarray(..., dtype=np.float32)")
        if a.dtype.kind in "iu":
            check_dtype(a, f"{who}: {what}")  # uint8 passes, every other integer is refused
        arrays.append(a)
    wide = [a.dtype for a in arrays if a.dtype.kind == "f" and a.dtype.itemsize >= 4]
    dtype = np.result_type(np.float32, *wide)  # the widest float given, at least float32
    p, y = (a if a.dtype in wide else as_float_batch(a, dtype) for a in arrays)
    return p, y


def check_count(name: str, value: Any, minimum: int = 1) -> None:
    """Raise ``ValueError`` unless ``value`` is a whole number ≥ ``minimum`` (epochs, a seed, …)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number ≥ {minimum}, got {value!r}")


# --- what fit checks before the first step ------------------------------------------

def check_fit_arguments(x: Any, y: Any, epochs: Any, batch_size: Any, validation_data: Any,
                        seed: Any, dtype: Any = np.float32) -> None:
    """Check all that ``fit`` was given, before the first step: found later, it wastes epochs.

    ``dtype`` is the model's (see ``check_data``).
    """
    check_count("epochs", epochs)
    check_count("batch_size", batch_size)
    check_count("seed", seed, minimum=0)
    check_data(x, y, dtype=dtype)
    if validation_data is None:
        return
    x_val, y_val = split_validation(validation_data)
    if y is not None and y_val is None:
        raise ValueError("fit has targets y, so validation_data must be the pair (x_val, y_val); "
                         "with x_val alone the model would be scored against its own inputs")
    check_data(x_val, y_val, prefix="validation ", dtype=dtype)
    for name, array, trained in (("x", x_val, x), ("y", y_val, x if y is None else y)):
        if array is not None and array.shape[1] != trained.shape[1]:
            raise ValueError(f"validation {name} has {array.shape[1]} features per sample but "
                             f"the training {name} has {trained.shape[1]}; they must be the same "
                             f"kind of data")


def check_fit_objects(loss: Any, optimizer: Any = None, metrics: Any = None,
                      callbacks: Any = ()) -> None:
    """Raise ``TypeError`` unless fit's loss, optimizer, metrics and callbacks are usable objects.

    The classic slips: a class for an object (``loss=MSE``), a name (``loss="mse"``), one
    callback where a list belongs.  Each is otherwise found inside the first batch as a
    "missing 1 required positional argument" or an AttributeError.
    """
    check_object("loss", loss, ("forward", "backward"), "MSE(), or get_loss('mse')")
    if optimizer is not None:
        check_object("optimizer", optimizer, ("step",), "Adam(1e-3), get_optimizer('adam', 1e-3)")
    if metrics is not None and not isinstance(metrics, dict):
        raise TypeError(f"metrics must map names to losses, e.g. {{'mse': MSE()}}, got {metrics!r}")
    for name, metric in (metrics or {}).items():
        check_object(f"metric {name!r}", metric, ("forward",), "MSE()")
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list, e.g. [EarlyStopping()], got {callbacks!r}")
    hooks = ("on_train_begin", "on_batch_begin", "on_epoch_end")
    for i, callback in enumerate(callbacks):
        check_object(f"callback {i}", callback, hooks, "an object of a subclass of tinyae.Callback")


def check_object(name: str, value: Any, methods: tuple[str, ...], example: str) -> None:
    """Raise ``TypeError`` unless ``value`` is an object (not a class) with ``methods``."""
    if isinstance(value, type):
        raise TypeError(f"{name} is the class {value.__name__}, not an object of it: write "
                        f"{value.__name__}(…)")
    if not all(callable(getattr(value, method, None)) for method in methods):
        raise TypeError(f"{name} must be an object with {' and '.join(methods)}, e.g. {example}; "
                        f"got {value!r}")


def split_validation(data: Any) -> tuple[Any, Any]:
    """``(x_val, y_val)`` from ``validation_data``: an array ``x_val`` or a pair."""
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"validation_data must be x_val or the pair (x_val, y_val), got "
                             f"{len(data)} items")
        return data[0], data[1]
    return data, None


def check_data(x: Any, y: Any = None, prefix: str = "", dtype: Any = np.float32) -> None:
    """Raise a clear error unless ``x`` (N, D) and ``y`` (N, D') (or None) can be trained on.

    Each must be a 2-D array of floats or uint8 pixels (``check_dtype``) without NaN or inf,
    and they must pair up row by row.  An error names the rows as the data counts them,
    and says whether the inputs or the targets are at fault: found later, inside a
    shuffled batch, a row would be numbered by its place in that batch.  ``prefix`` names
    the arrays, e.g. ``"validation "``.

    ``dtype`` is the model's: a finite value beyond its range (1e39 in float32, the
    default) becomes inf in the model, so it is refused here too.  A masked array is
    checked with the values under its mask: the model reads them, mask or not.
    """
    for name, array in ((f"{prefix}x", x), (f"{prefix}y (the targets)", y)):
        if array is None:
            continue
        if not isinstance(array, np.ndarray) or array.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array (N samples, D features), got "
                             f"{getattr(array, 'shape', type(array).__name__)}")
        check_dtype(array, name)
        values = np.asarray(array)  # a masked array's values, masked ones included
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
            raise ValueError(f"{name} contains NaN or inf in {len(rows)} row(s) (first: "
                             f"{rows[:5].tolist()}): their loss would be NaN whatever the model "
                             f"does; remove or fix those samples{masked_hint(array)}")
        if len(big := too_large_rows(values, np.dtype(dtype))):
            raise ValueError(too_large_message(name, values, big, np.dtype(dtype)))
    if len(x) == 0:
        raise ValueError(f"{prefix}x has no samples")
    if y is not None and len(y) != len(x):
        raise ValueError(f"{prefix}x has {len(x)} samples but {prefix}y has {len(y)}; they must "
                         f"pair up row by row")


# --- while training -----------------------------------------------------------------

class FirstLoss:
    """Where training started: the mean loss over the first ``START_SAMPLES`` samples or more.

    More than one batch when batches are small, so that one easy sample is not the mark.
    For a model with penalties it follows ``recon``: the penalties' weights may change.
    """

    def __init__(self) -> None:
        self.total, self.samples = 0.0, 0

    def add(self, terms: dict[str, float], n: int) -> None:
        """Count one batch of ``n`` samples, while fewer than ``START_SAMPLES`` were seen."""
        if self.samples < START_SAMPLES:
            self.total += terms.get("recon", terms["loss"]) * n
            self.samples += n

    @property
    def loss(self) -> float:
        """The mean of what was counted."""
        return self.total / self.samples


def divergence(record: dict[str, float], first: FirstLoss, epoch: int, model: Any,
               optimizer: Optimizer, x: np.ndarray) -> str | None:
    """Why the epoch ended diverged (see ``DIVERGED`` and ``SATURATED``), or None if it did not.

    One prediction for ``PROBE_SAMPLES`` samples of ``x`` per epoch; nothing per batch.
    """
    key = "recon" if "recon" in record else "loss"
    rise = record[key] / first.loss if first.loss > 0 else 1.0
    stuck = saturated_share(model, x[:PROBE_SAMPLES])
    if rise <= DIVERGED and stuck < SATURATED:
        return None
    limit = f", more than {DIVERGED:g}×" if rise > DIVERGED else ""
    symptoms = [f"the {key} went from {first.loss:.4g} at the start to {record[key]:.4g} "
                f"({rise:.3g}×{limit})"]
    if stuck >= SATURATED:
        symptoms.append(f"{stuck:.0%} of the outputs are stuck at exactly 0 or ±1, where saturated "
                        f"units (or dead ReLUs) pass no gradient back")
    return (f"training diverged in epoch {epoch + 1} although the loss stayed finite: "
            f"{'; '.join(symptoms)}; the largest weight is {np.abs(model.params).max():.3g}. The "
            f"weights have blown up and training cannot recover from there, so it stopped: usually "
            f"the learning rate is too large for this model ({optimizer!r}: try 10× smaller).")


def saturated_share(model: Any, x: np.ndarray) -> float:
    """The share of the model's outputs for ``x`` exactly 0, 1 or −1 (0 without ``predict``)."""
    if not hasattr(model, "predict"):
        return 0.0
    with np.errstate(all="ignore"):  # the weights of a diverged model overflow on the way
        p = model.predict(x)
    return float(np.mean((p == 0) | (np.abs(p) == 1)))


def nan_message(terms: dict[str, float], epoch: int, step: int, model: Any,
                optimizer: Optimizer) -> str:
    """Why training stopped at a NaN or inf loss, and what to try."""
    weights = (
        "the weights are still finite (that update was not applied)"
        if np.isfinite(model.params).all()
        else "the weights themselves have overflowed: reload a saved model or start again"
    )
    return (
        f"the loss became {terms['loss']} at epoch {epoch + 1}, batch {step + 1}, so training "
        f"stopped; {weights}. The data has no NaN or inf (fit checked it), so usually the "
        f"learning rate is too large for this model ({optimizer!r}: try 10× smaller), or the "
        f"inputs are far from [0, 1] (pixels 0..255 as floats? divide them by 255)."
    )
