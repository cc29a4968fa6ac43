"""Save and load models as ``.npz``: the architecture as JSON, the weights as θ.

The file holds two arrays: ``config`` (the JSON string of ``model.config()``) and
``params`` (the flat parameter vector).  Nothing is pickled, so loading uses
``allow_pickle=False`` and cannot run code from the file.  ``config["class"]`` names the
model's class, and ``MODELS`` maps that name to the function that rebuilds it.  Saving
is atomic (``tinyae.files.atomic_write``): an interrupted save never leaves a
half-written model behind, nor destroys the previous one.

``load`` trusts nothing in the file.  A missing, empty, truncated or altered file (the
archive's CRC-32 checks catch a single flipped byte), one that ``save`` did not write
(a lone ``.npy``, a pickle), a config tinyae cannot rebuild or whose widths do not
match the number of parameters, and NaN or infinite parameters all raise one
exception type, ``ModelFileError``, naming the file, what is wrong and what to do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tinyae.files import atomic_write
from tinyae.models.autoencoder import Autoencoder
from tinyae.models.base import count_params, sequential_from_config
from tinyae.models.vae import VAE

MODELS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "Sequential": sequential_from_config,
    "Autoencoder": Autoencoder.from_config,
    "VAE": VAE.from_config,
}

# How each kind of file begins: an .npz is a zip archive; the others are what people
# mistake for one.  Pickles of protocol 2 and later start with the PROTO opcode 0x80.
ZIP_MAGIC, NPY_MAGIC, PICKLE_MAGIC = b"PK\x03\x04", b"\x93NUMPY", b"\x80"
DAMAGED = "it was cut short or changed after it was saved: save the model again, or use a copy"
PICKLED = "it holds a Python pickle, and tinyae never unpickles: that could run any code in it"
NOT_FROM_SAVE = "load only files written by tinyae.save (tinyae train writes OUT/model.npz)"


class ModelFileError(ValueError):
    """A file is not a usable tinyae model file, or a model cannot be saved as one.

    The message names the file, what is wrong (with the numbers) and what to do; ``path``
    is the file.  Every way ``load`` can refuse a file raises this one type.  It is a
    ValueError, so code that caught the ValueError of earlier versions keeps working.
    """

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = Path(path)
        super().__init__(f"{path}: {message}")


def save(model: Any, path: str | Path) -> Path:
    """Write ``model`` (architecture + weights) to ``path`` (``.npz`` added if missing), atomically.

    Refuses (``ModelFileError``) a model with NaN or infinite parameters, which ``load``
    would refuse: the file already at ``path``, if any, is kept.
    """
    path = Path(path)
    path = path if path.suffix == ".npz" else path.with_name(path.name + ".npz")
    if problem := _non_finite(model):
        raise ModelFileError(path, f"not saved: {problem}, so the file could not be loaded; the "
                                   f"training diverged: find why with tinyae.doctor, then retrain")
    config = json.dumps(model.config())
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(file: BinaryIO) -> None:
        np.savez(file, config=np.array(config), params=model.params)

    return atomic_write(path, write)


def load(path: str | Path) -> Any:
    """Rebuild a model saved by ``save``; its predictions are bit-identical.

    Raises ``ModelFileError`` if the file is not a usable model file (see the module's
    docstring for the checks).
    """
    path = Path(path)
    config, params = _read(path)
    try:
        rebuild = _rebuilder(config)
        described = count_params(config)  # from the widths alone, before allocating anything
        model = rebuild(config) if described == params.size else None
    except ValueError as error:
        raise _unusable(path, f"its config does not describe a model tinyae can build: {error}",
                        NOT_FROM_SAVE) from None
    if model is None:
        raise _unusable(path, f"its config describes {described:,} parameters but it holds "
                              f"{params.size:,}", DAMAGED)
    with np.errstate(over="ignore"):  # a float64 too large for float32 becomes inf, refused below
        model.params[...] = params
    if problem := _non_finite(model):
        raise _unusable(path, problem, "the model diverged before it was saved: retrain it")
    return model


def from_config(config: dict[str, Any]) -> Any:
    """A freshly initialised model with the architecture described by ``config``.

    Raises ValueError, saying what is wrong, if ``config`` does not describe one.
    """
    return _rebuilder(config)(config)


def _rebuilder(config: Any) -> Callable[[dict[str, Any]], Any]:
    """The function of ``MODELS`` that rebuilds the class named by ``config["class"]``."""
    if not isinstance(config, dict):
        raise ValueError(f"a model's config is a JSON object naming its 'class', not a "
                         f"{type(config).__name__}")
    kind = config.get("class")
    if kind not in MODELS:
        raise ValueError(f"unknown model class {kind!r} in the file; tinyae knows {sorted(MODELS)}")
    return MODELS[kind]


def _read(path: Path) -> tuple[Any, np.ndarray]:
    """The config (parsed JSON) and the flat parameter vector stored in ``path``."""
    try:
        with open(path, "rb") as file:
            head = file.read(8)
    except OSError as error:
        raise _unusable(path, f"cannot read it ({error.strerror})", "check the path") from None
    if not head:
        raise _unusable(path, "it is empty (0 bytes)", DAMAGED)
    if head.startswith(PICKLE_MAGIC):
        raise _unusable(path, PICKLED, NOT_FROM_SAVE)
    if head.startswith(NPY_MAGIC):
        raise _unusable(path, "it holds one NumPy array (.npy), not the .npz archive of a config "
                              "and parameters", NOT_FROM_SAVE)
    if not head.startswith(ZIP_MAGIC):
        raise _unusable(path, f"it is not an .npz archive (it starts with {head!r})", NOT_FROM_SAVE)
    try:
        with np.load(path, allow_pickle=False) as data:
            if not {"config", "params"} <= set(data.files):
                raise _unusable(path, f"it holds the arrays {data.files}, not 'config' and "
                                      f"'params'", NOT_FROM_SAVE)
            config, params = data["config"], data["params"]
    except ModelFileError:
        raise
    except Exception as error:  # noqa: BLE001 (zipfile, zlib, NumPy's reader: each fails its way)
        if "allow_pickle" in str(error):  # NumPy refuses an object array: it would need unpickling
            raise _unusable(path, PICKLED, NOT_FROM_SAVE) from None
        raise _unusable(path, f"it is damaged ({type(error).__name__}: {error})", DAMAGED) from None
    return _parsed(path, config, params)


def _parsed(path: Path, config: np.ndarray, params: np.ndarray) -> tuple[Any, np.ndarray]:
    """The JSON in ``config`` and ``params``, after checking that both are what ``save`` writes."""
    if config.ndim != 0 or config.dtype.kind != "U":
        raise _unusable(path, f"its config is a {config.dtype} array of shape {config.shape}, "
                              f"not a JSON string", NOT_FROM_SAVE)
    if params.ndim != 1 or params.dtype.kind != "f":
        raise _unusable(path, f"its parameters are a {params.dtype} array of shape {params.shape}, "
                              f"not a flat vector of floats", NOT_FROM_SAVE)
    try:
        return json.loads(str(config)), params
    except json.JSONDecodeError as error:
        raise _unusable(path, f"its config is not valid JSON ({error})", NOT_FROM_SAVE) from None


def _non_finite(model: Any) -> str | None:
    """How many parameters are NaN or ±inf, and where the first one is; None if all are finite."""
    bad = int(np.size(model.params) - np.count_nonzero(np.isfinite(model.params)))
    if not bad:
        return None
    first = next(name for name, value, _ in model.parameters() if not np.isfinite(value).all())
    return f"{bad:,} of {model.n_params:,} parameters are NaN or infinite (the first in {first})"


def _unusable(path: Path, problem: str, fix: str) -> ModelFileError:
    """``ModelFileError`` for a file ``load`` refuses: what is wrong, then what to do."""
    return ModelFileError(path, f"not a usable tinyae model file: {problem}; {fix}")
