"""The checks between a user's data and the maths, and the errors they raise.

Data entering a model (``Sequential.forward`` and ``predict``, ``fit``, ``evaluate``)
follows one rule for its type (``check_dtype``): floats, or uint8 pixels 0..255, which
are scaled to [0, 1] (``as_float_batch``); any other integer type is refused.
``check_batch`` also refuses the wrong width and NaN or inf, naming the rows.

Before the first step, ``fit`` checks everything it was given (``check_fit_arguments``):
the data (``check_data``: 2-D, that dtype rule, no NaN or inf, inputs and targets that
pair up), the validation data, the counts — so that a mistake surfaces at once, naming
the rows as the data counts them and whether inputs or targets are at fault, not epochs
later inside a batch.

During training, ``fit`` stops with a ``TrainingError`` when the loss of a batch
becomes NaN or inf (``nan_message``; that update is not applied).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyae.layers import ShapeError
from tinyae.optim import Optimizer

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
    raise TypeError(f"{name} has dtype {x.dtype}; tinyae takes floats (float32, float64) or uint8 "
                    f"pixels 0..255: convert it, e.g. x.astype(np.float32)")


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
    NaN or inf values.  uint8 pixels are scaled to [0, 1].  ``first_row`` is the index
    of ``x``'s first row in the caller's data (``predict`` checks chunk by chunk), so
    that an error names the rows as the caller counts them.
    """
    x = np.asarray(x)
    check_dtype(x)
    if x.ndim != 2 or (n_in is not None and x.shape[1] != n_in):
        raise ShapeError(
            f"model expects input of shape (N, {n_in}), got {x.shape}; "
            f"flatten images to rows first, e.g. x.reshape(len(x), -1)"
        )
    x = as_float_batch(x, dtype)
    if not np.isfinite(x).all():
        rows = first_row + np.flatnonzero(~np.isfinite(x).all(axis=1))
        raise ValueError(
            f"input contains NaN or inf in {len(rows)} row(s) (first: {rows[:5].tolist()}); "
            f"remove or fix those samples before training"
        )
    return x


def check_count(name: str, value: Any, minimum: int = 1) -> None:
    """Raise ``ValueError`` unless ``value`` is a whole number ≥ ``minimum`` (epochs, a seed, …)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number ≥ {minimum}, got {value!r}")


# --- what fit checks before the first step ------------------------------------------

def check_fit_arguments(x: Any, y: Any, epochs: Any, batch_size: Any, validation_data: Any,
                        seed: Any) -> None:
    """Check all that ``fit`` was given, before the first step: found later, it wastes epochs."""
    check_count("epochs", epochs)
    check_count("batch_size", batch_size)
    check_count("seed", seed, minimum=0)
    check_data(x, y)
    if validation_data is None:
        return
    x_val, y_val = split_validation(validation_data)
    if y is not None and y_val is None:
        raise ValueError("fit has targets y, so validation_data must be the pair (x_val, y_val); "
                         "with x_val alone the model would be scored against its own inputs")
    check_data(x_val, y_val, prefix="validation ")
    for name, array, trained in (("x", x_val, x), ("y", y_val, x if y is None else y)):
        if array is not None and array.shape[1] != trained.shape[1]:
            raise ValueError(f"validation {name} has {array.shape[1]} features per sample but "
                             f"the training {name} has {trained.shape[1]}; they must be the same "
                             f"kind of data")


def split_validation(data: Any) -> tuple[Any, Any]:
    """``(x_val, y_val)`` from ``validation_data``: an array ``x_val`` or a pair."""
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"validation_data must be x_val or the pair (x_val, y_val), got "
                             f"{len(data)} items")
        return data[0], data[1]
    return data, None


def check_data(x: Any, y: Any = None, prefix: str = "") -> None:
    """Raise a clear error unless ``x`` (N, D) and ``y`` (N, D') (or None) can be trained on.

    Each must be a 2-D array of floats or uint8 pixels (``check_dtype``) without NaN or inf,
    and they must pair up row by row.  An error names the rows as the data counts them,
    and says whether the inputs or the targets are at fault.  ``prefix`` names the
    arrays, e.g. ``"validation "``.
    """
    for name, array in ((f"{prefix}x", x), (f"{prefix}y (the targets)", y)):
        if array is None:
            continue
        if not isinstance(array, np.ndarray) or array.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array (N samples, D features), got "
                             f"{getattr(array, 'shape', type(array).__name__)}")
        check_dtype(array, name)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            rows = np.flatnonzero(~np.isfinite(array).all(axis=1))
            raise ValueError(f"{name} contains NaN or inf in {len(rows)} row(s) (first: "
                             f"{rows[:5].tolist()}): their loss would be NaN whatever the model "
                             f"does; remove or fix those samples")
    if len(x) == 0:
        raise ValueError(f"{prefix}x has no samples")
    if y is not None and len(y) != len(x):
        raise ValueError(f"{prefix}x has {len(x)} samples but {prefix}y has {len(y)}; they must "
                         f"pair up row by row")


# --- while training -----------------------------------------------------------------

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
