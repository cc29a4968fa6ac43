"""Save and load models as ``.npz``: the architecture as JSON, the weights as θ.

The file holds two arrays: ``config`` (a JSON string describing the layers) and
``params`` (the flat parameter vector).  Nothing is pickled, so loading uses
``allow_pickle=False`` and cannot run code from the file.  Writing goes to a temporary
file first and then replaces the target in one step, so an interrupted save never
leaves a half-written model behind (nor destroys the previous one); see ``tinyae.files``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tinyae import layers as layer_module
from tinyae.files import atomic_write
from tinyae.model import Sequential
from tinyae.models.autoencoder import Autoencoder

LAYER_TYPES = {cls.__name__: cls for cls in (
    layer_module.Dense, layer_module.Sigmoid, layer_module.ReLU, layer_module.Tanh,
    layer_module.Softmax, layer_module.Identity, layer_module.Standardize,
)}


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
    model = from_config(config)
    if model.params.shape != params.shape:
        raise ValueError(f"{path}: holds {params.size} parameters but its architecture needs {model.n_params}")
    model.params[...] = params
    return model


def from_config(config: dict[str, Any]) -> Any:
    """A freshly initialised model with the architecture described by ``config``."""
    kind = config.get("class")
    if kind == "Sequential":
        return _sequential(config)
    if kind == "Autoencoder":
        return Autoencoder(_sequential(config["encoder"]), _sequential(config["decoder"]))
    if kind == "VAE":
        from tinyae.models.vae import VAE  # only loaded when a VAE is

        return VAE.from_config(config)
    raise ValueError(f"unknown model class {kind!r} in the file")


def _sequential(config: dict[str, Any]) -> Sequential:
    layers, open_standardize = [], []
    for spec in config["layers"]:
        spec = dict(spec)
        kind = spec.pop("type")
        if kind == "Destandardize":  # pairs with the nearest open Standardize, like brackets
            layers.append(layer_module.Destandardize(open_standardize.pop()))
            continue
        if kind == "Standardize":
            open_standardize.append(layer_module.Standardize(**spec))
            layers.append(open_standardize[-1])
            continue
        if kind not in LAYER_TYPES:
            raise ValueError(f"cannot rebuild layer {kind!r}: tinyae knows {sorted(LAYER_TYPES)}")
        layers.append(LAYER_TYPES[kind](**spec))
    return Sequential(layers, dtype=config["dtype"], input_grad=config.get("input_grad", True))
