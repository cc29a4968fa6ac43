"""``EncoderDecoder``: what every model made of an encoder and a decoder shares.

    x (N, D) ──encoder──▶ code ──decoder──▶ reconstruction p (N, D)

Both halves are ``Sequential`` stacks.  Their parameters live in ONE flat vector
θ = [encoder's | decoder's] (``params``), their gradients in one ``grads``, so one
optimizer step updates the whole model.  The bookkeeping around that vector —
``parameters``, ``zero_grad``, ``n_params``, ``summary``, ``config`` and rebuilding from
a config — is written here once; ``Autoencoder`` and ``VAE`` add only their own maths:
``forward``, ``backward`` and what a code is.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from tinyae import layers as layer_module
from tinyae.layers import Layer
from tinyae.model import Sequential, bind_parameters, bindings_of

LAYER_TYPES: dict[str, type[Layer]] = {cls.__name__: cls for cls in (
    layer_module.Dense, layer_module.Sigmoid, layer_module.ReLU, layer_module.Tanh,
    layer_module.Softmax, layer_module.Identity, layer_module.Standardize,
)}

Model = TypeVar("Model", bound="EncoderDecoder")


class EncoderDecoder:
    """An encoder and a decoder ``Sequential`` sharing one flat parameter vector.

    ``params`` and ``grads`` cover the encoder's parameters, then the decoder's; each
    half's own ``params``/``grads`` are views of its part.  Subclasses check that the
    halves fit together (their widths) before calling ``super().__init__``, and define
    ``forward(x)`` and ``backward(dp)``.  A part belongs to one model: a half already
    joined into another model is refused (see "A layer belongs to one model" in
    ``tinyae.model``).
    """

    def __init__(self, encoder: Sequential, decoder: Sequential) -> None:
        check_parts(encoder, decoder)
        if encoder.dtype != decoder.dtype:
            raise TypeError(f"encoder is {encoder.dtype} but decoder is {decoder.dtype}; "
                            f"build both with one dtype")
        self.encoder, self.decoder, self.dtype = encoder, decoder, encoder.dtype
        self.params, self.grads = bind_parameters(encoder.layers + decoder.layers, self.dtype)
        n_enc = encoder.n_params
        encoder.params, encoder.grads = self.params[:n_enc], self.grads[:n_enc]
        decoder.params, decoder.grads = self.params[n_enc:], self.grads[n_enc:]
        for part in (encoder, decoder):
            part.bindings = bindings_of(part.layers)

    def encode(self, x: np.ndarray) -> Any:
        """The encoder's output for ``x`` (N, D), without caching: the code."""
        return self.encoder.predict(x)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Images decoded from codes ``z`` (N, J), without caching.  ``(N, J) → (N, D)``."""
        return self.decoder.predict(z)

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """``decode(encode(x))``.  ``(N, D) → (N, D)``."""
        return self.decode(self.encode(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The same as ``reconstruct``: what the trained model makes of ``x``."""
        return self.reconstruct(x)

    def penalties(self) -> list[Any]:
        """The terms this model adds to the loss for its last ``forward`` (see ``tinyae.train``).

        A plain encoder–decoder adds none; the VAE adds its KL term.
        """
        return []

    def zero_grad(self) -> None:
        """Set every gradient to 0: one ``fill`` on the flat gradient vector."""
        self.grads.fill(0)

    def parameters(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """``(name, value, gradient)`` triples named ``encoder.0.W``, ``decoder.2.b``, …"""
        return [(f"{part}.{name}", value, grad)
                for part, half in (("encoder", self.encoder), ("decoder", self.decoder))
                for name, value, grad in half.parameters()]

    @property
    def n_params(self) -> int:
        """Number of scalar parameters."""
        return self.params.size

    def summary(self) -> str:
        """The encoder's and the decoder's tables (print it)."""
        return f"encoder\n{self.encoder.summary()}\n\ndecoder\n{self.decoder.summary()}"

    def config(self) -> dict[str, Any]:
        """The class name and both halves' architectures (not the weights), JSON-ready.

        A subclass adds its constructor's keyword arguments (the VAE: ``beta``, …), by
        their names, so that ``from_config`` can pass them back.
        """
        return {"class": type(self).__name__,
                "encoder": self.encoder.config(), "decoder": self.decoder.config()}

    @classmethod
    def from_config(cls: type[Model], config: dict[str, Any]) -> Model:  # noqa: PYI019 (Self: 3.11+)
        """A freshly initialised model with the architecture described by ``config()``.

        Keys other than ``class``, ``encoder`` and ``decoder`` are keyword arguments of the
        constructor; one missing from an older file takes the constructor's default.
        """
        options = {key: value for key, value in config.items()
                   if key not in ("class", "encoder", "decoder")}
        return cls(sequential_from_config(config["encoder"]),
                   sequential_from_config(config["decoder"]), **options)


def check_parts(encoder: Any, decoder: Any) -> None:
    """Raise a clear error unless both halves are ``Sequential`` models of their own.

    A half already joined into another model is refused: its layers use that model's
    parameter vector, so one of the two models would train nothing.
    """
    for role, part in (("encoder", encoder), ("decoder", decoder)):
        if not isinstance(part, Sequential):
            raise TypeError(f"the {role} must be a Sequential, e.g. Sequential([Dense(784, 100), "
                            f"ReLU()]), got {type(part).__name__}")
        if part.params.base is not None:  # its θ is a slice of another model's vector
            raise ValueError(f"this {role} is already a part of another model, whose parameter "
                             f"vector its layers use; a part belongs to one model only, or one of "
                             f"the two would train nothing: build a new {role} for this model")


def sequential_from_config(config: dict[str, Any]) -> Sequential:
    """A freshly initialised ``Sequential`` with the layers described by its ``config()``."""
    layers: list[Layer] = []
    open_standardize: list[layer_module.Standardize] = []
    for spec in config["layers"]:
        spec = dict(spec)
        kind = spec.pop("type")
        if kind == "Destandardize":  # pairs with the nearest open Standardize, like brackets
            if not open_standardize:
                raise ValueError("cannot rebuild a Destandardize without a Standardize before it")
            layers.append(layer_module.Destandardize(open_standardize.pop()))
            continue
        if kind not in LAYER_TYPES:
            raise ValueError(f"cannot rebuild layer {kind!r}: tinyae knows "
                             f"{sorted([*LAYER_TYPES, 'Destandardize'])}")
        layer = LAYER_TYPES[kind](**spec)
        if isinstance(layer, layer_module.Standardize):
            open_standardize.append(layer)
        layers.append(layer)
    return Sequential(layers, dtype=config["dtype"], input_grad=config.get("input_grad", True))
