"""Save and load models as ``.npz``: the architecture as JSON, the weights as θ.

The file holds two arrays: ``config`` (the JSON string of ``model.config()``) and
``params`` (the flat parameter vector).  Nothing is pickled, so loading uses
``allow_pickle=False`` and cannot run code from the file.  ``config["class"]`` names the
model's class, and ``MODELS`` maps that name to the function that rebuilds it.  Saving
is atomic (``tinyae.files.atomic_write``): an interrupted save never leaves a
half-written model behind, nor destroys the previous one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tinyae.files import atomic_write
from tinyae.models.autoencoder import Autoencoder
from tinyae.models.base import sequential_from_config
from tinyae.models.vae import VAE

MODELS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "Sequential": sequential_from_config,
    "Autoencoder": Autoencoder.from_config,
    "VAE": VAE.from_config,
}


def save(model: Any, path: str | Path) -> Path:
    """Write ``model`` (architecture + weights) to ``path`` (``.npz`` added if missing), atomically."""
    path = Path(path).with_suffix(".npz") if Path(path).suffix != ".npz" else Path(path)
    config = json.dumps(model.config())
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(file: BinaryIO) -> None:
        np.savez(file, config=np.array(config), params=model.params)

    return atomic_write(path, write)


def load(path: str | Path) -> Any:
    """Rebuild a model saved by ``save``; its predictions are bit-identical."""
    try:
        with np.load(path, allow_pickle=False) as data:
            config, params = json.loads(str(data["config"])), data["params"]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: not a tinyae model file ({error})") from None
    try:
        model = from_config(config)
    except (AttributeError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: its config does not describe a tinyae model "
                         f"({type(error).__name__}: {error})") from None
    if model.params.shape != params.shape:
        raise ValueError(f"{path}: holds {params.size} parameters but its architecture needs {model.n_params}")
    model.params[...] = params
    return model


def from_config(config: dict[str, Any]) -> Any:
    """A freshly initialised model with the architecture described by ``config``."""
    kind = config.get("class")
    if kind not in MODELS:
        raise ValueError(f"unknown model class {kind!r} in the file; tinyae knows {sorted(MODELS)}")
    return MODELS[kind](config)
