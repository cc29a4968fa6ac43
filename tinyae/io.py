"""Save and load models as ``.npz``: the architecture as JSON, the weights as θ.

The file holds three arrays: ``config`` (the JSON string of ``model.config()``),
``params`` (the flat parameter vector) and ``shapes`` (a JSON list of the shape of each
parameter, in the order of ``params``).  Files of tinyae 0.1.0 have no ``shapes``, and
older versions read only the first two, so files go both ways.  Nothing is pickled, so loading uses
``allow_pickle=False`` and cannot run code from the file.  ``config["class"]`` names the
model's class, and ``MODELS`` maps that name to the function that rebuilds it.  Saving
is atomic (``tinyae.files.atomic_write``): an interrupted save never leaves a
half-written model behind, nor destroys the previous one.

``load`` trusts nothing in the file.  A missing, empty, truncated or altered file (the
archive's CRC-32 checks catch a single flipped byte), one that ``save`` did not write
(a lone ``.npy``, a pickle), a config tinyae cannot rebuild or whose widths do not
match the number of parameters, a config whose parameter shapes differ from those the
parameters were saved with (another model's config with as many parameters: 6-4-6 and
4-6-4 both have 58), and NaN or infinite parameters all raise one exception type,
``ModelFileError``, naming the file, what is wrong and what to do.

Names: ``save`` adds ``.npz`` to a name without it (in any case: ``Model.NPZ`` stays), and
``load`` of a missing ``model`` reads the ``model.npz`` that ``save(m, "model")`` wrote.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tinyae.files import atomic_write, make_parent
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
    would refuse: the file already at ``path``, if any, is kept.  A path that cannot be
    written raises the ``OSError`` of ``tinyae.files``, naming it.
    """
    path = npz_path(path)
    if problem := _non_finite(model):
        raise ModelFileError(path, f"not saved: {problem}, so the file could not be loaded; the "
                                   f"training diverged: find why with tinyae.doctor, then retrain")
    config = json.dumps(model.config())
    shapes = json.dumps([list(np.shape(value)) for _, value, _ in model.parameters()])
    make_parent(path)

    def write(file: BinaryIO) -> None:
        np.savez(file, config=np.array(config), params=model.params, shapes=np.array(shapes))

    return atomic_write(path, write)


def load(path: str | Path) -> Any:
    """Rebuild a model saved by ``save``; its predictions are bit-identical.

    Raises ``ModelFileError`` if the file is not a usable model file (see the module's
    docstring for the checks).
    """
    path = _existing(Path(path))
    config, params, shapes = _read(path)
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
    if shapes is not None:
        _check_shapes(path, model, shapes)
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


def npz_path(path: str | Path) -> Path:
    """``path`` with ``.npz`` added unless it ends so, in any case (``Model.NPZ`` stays)."""
    path = Path(path)
    if not path.name:
        raise ValueError(f"save needs a file name, got the path {str(path)!r}: e.g. 'model.npz'")
    return path if path.suffix.lower() == ".npz" else path.with_name(path.name + ".npz")


def _existing(path: Path) -> Path:
    """``path``, or the ``.npz`` that ``save`` wrote for it when ``path`` itself does not exist."""
    if path.exists() or not path.name or path.suffix.lower() == ".npz":
        return path
    written = npz_path(path)
    return written if written.exists() else path


def _read(path: Path) -> tuple[Any, np.ndarray, list[Any] | None]:
    """The config (parsed JSON), the flat parameter vector and the shapes stored in ``path``.

    The shapes are None in a file without them (one of tinyae 0.1.0).
    """
    try:
        with open(path, "rb") as file:
            head = file.read(8)
    except OSError as error:
        where = "check the path"
        if path.suffix.lower() != ".npz":
            where += f" (save adds .npz to a name without it: neither {path} nor {npz_path(path)} exists)"
        raise _unusable(path, f"cannot read it ({error.strerror})", where) from None
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
            shapes = data["shapes"] if "shapes" in data.files else None
    except ModelFileError:
        raise
    except Exception as error:  # noqa: BLE001 (zipfile, zlib, NumPy's reader: each fails its way)
        if "allow_pickle" in str(error):  # NumPy refuses an object array: it would need unpickling
            raise _unusable(path, PICKLED, NOT_FROM_SAVE) from None
        raise _unusable(path, f"it is damaged ({type(error).__name__}: {error})", DAMAGED) from None
    return _parsed(path, config, params, shapes)


def _parsed(path: Path, config: np.ndarray, params: np.ndarray,
            shapes: np.ndarray | None) -> tuple[Any, np.ndarray, list[Any] | None]:
    """The JSON in ``config`` and ``shapes``, and ``params``, once each is what ``save`` writes."""
    if config.ndim != 0 or config.dtype.kind != "U":
        raise _unusable(path, f"its config is a {config.dtype} array of shape {config.shape}, "
                              f"not a JSON string", NOT_FROM_SAVE)
    if params.ndim != 1 or params.dtype.kind != "f":
        raise _unusable(path, f"its parameters are a {params.dtype} array of shape {params.shape}, "
                              f"not a flat vector of floats", NOT_FROM_SAVE)
    try:
        parsed = json.loads(str(config))
    except json.JSONDecodeError as error:
        raise _unusable(path, f"its config is not valid JSON ({error})", NOT_FROM_SAVE) from None
    if shapes is None:
        return parsed, params, None
    try:
        layout = json.loads(str(shapes)) if shapes.ndim == 0 and shapes.dtype.kind == "U" else None
    except json.JSONDecodeError:
        layout = None
    if not (isinstance(layout, list) and all(isinstance(shape, list) and all(
            isinstance(n, int) and n >= 0 for n in shape) for shape in layout)):
        raise _unusable(path, "its list of parameter shapes is damaged", DAMAGED)
    return parsed, params, layout


def _check_shapes(path: Path, model: Any, saved: list[list[int]]) -> None:
    """Refuse a config whose parameter shapes differ from those the parameters were saved with.

    Equal counts are not enough: 6-4-6 and 4-6-4 both have 58 parameters, and the
    first model's 58 numbers read as the second's would be a wrong model, silently.
    """
    named = [(name, tuple(np.shape(value))) for name, value, _ in model.parameters()]
    if [shape for _, shape in named] == [tuple(shape) for shape in saved]:
        return
    pairs = [f"{name} {shape} (saved as {tuple(old)})"
             for (name, shape), old in zip(named, saved) if shape != tuple(old)]
    pairs += [f"{len(saved)} parameter arrays saved, {len(named)} in the config"] * (
        len(named) != len(saved))
    raise _unusable(path, f"its config and its parameters come from different models, both of "
                          f"{model.n_params:,} numbers: the config gives {'; '.join(pairs[:3])}",
                    "save the model again (tinyae.save writes both together), or use a copy")


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
