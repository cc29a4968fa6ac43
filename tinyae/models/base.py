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

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

from tinyae import layers as layer_module
from tinyae.layers import Layer
from tinyae.model import FlatVector, Sequential, bind_parameters, bindings_of
from tinyae.tied import TiedDense

LAYER_TYPES: dict[str, type[Layer]] = {cls.__name__: cls for cls in (
    layer_module.Dense, layer_module.Sigmoid, layer_module.ReLU, layer_module.Tanh,
    layer_module.Softmax, layer_module.Identity, layer_module.Standardize,
)}

Model = TypeVar("Model", bound="EncoderDecoder")
T = TypeVar("T")
PARTS = ("encoder", "decoder")  # the halves of an EncoderDecoder, in the order of θ


class EncoderDecoder:
    """An encoder and a decoder ``Sequential`` sharing one flat parameter vector.

    ``params`` and ``grads`` cover the encoder's parameters, then the decoder's; each
    half's own ``params``/``grads`` are views of its part.  Subclasses check that the
    halves fit together (their widths) before calling ``super().__init__``, and define
    ``forward(x)`` and ``backward(dp)``.  A part belongs to one model: a half already
    joined into another model is refused (see "A layer belongs to one model" in
    ``tinyae.model``).
    """

    # model.params = saved writes into θ, as for a Sequential (see FlatVector).
    params = FlatVector(lambda model: model.encoder.layers + model.decoder.layers)
    grads = FlatVector(lambda model: model.encoder.layers + model.decoder.layers)

    def __init__(self, encoder: Sequential, decoder: Sequential) -> None:
        check_parts(encoder, decoder)
        if encoder.dtype != decoder.dtype:
            raise TypeError(f"encoder is {encoder.dtype} but decoder is {decoder.dtype}; "
                            f"build both with one dtype")
        self.encoder, self.decoder, self.dtype = encoder, decoder, encoder.dtype
        tie(encoder, decoder)
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
        constructor; one missing from an older file takes the constructor's default.  A
        config that does not describe such a model raises ValueError saying what is wrong.
        """
        encoder_config, decoder_config = halves(config)
        encoder = in_part("encoder", sequential_from_config, encoder_config)
        decoder = in_part("decoder", functools.partial(sequential_from_config, tie_to=encoder),
                          decoder_config)
        options = {key: value for key, value in config.items()
                   if key not in ("class", "encoder", "decoder")}
        return _build(cls, cls.__name__, options, encoder, decoder)


def check_parts(encoder: Any, decoder: Any) -> None:
    """Raise a clear error unless both halves are ``Sequential`` models of their own, and
    the decoder passes the gradient back to the code (``input_grad=True``).

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
    if not decoder.input_grad:
        raise ValueError("the decoder was built with input_grad=False, but the gradient must flow "
                         "back through the code into the encoder; build it with input_grad=True")


def sequential_from_config(config: dict[str, Any], tie_to: Sequential | None = None) -> Sequential:
    """A freshly initialised ``Sequential`` with the layers described by its ``config()``.

    ``tie_to``: the encoder whose Dense layers a decoder's ``TiedDense`` layers use (each
    names its Dense by index, ``tied_to``).  Raises ValueError naming the layer and option
    when ``config`` does not describe one (see ``layer_specs``).
    """
    layers: list[Layer] = []
    open_standardize: list[layer_module.Standardize] = []
    for i, spec in enumerate(layer_specs(config)):
        options = {key: value for key, value in spec.items() if key != "type"}
        kind = spec["type"]
        if kind == "Destandardize":  # pairs with the nearest open Standardize, like brackets
            if not open_standardize:
                raise ValueError("cannot rebuild a Destandardize without a Standardize before it")
            layers.append(layer_module.Destandardize(open_standardize.pop()))
            continue
        if kind == "TiedDense":
            layers.append(_tied(i, spec, tie_to))
            continue
        layer = _build(LAYER_TYPES[kind], f"layer {i} ({kind})", options)
        if isinstance(layer, layer_module.Standardize):
            open_standardize.append(layer)
        layers.append(layer)
    options = {key: value for key, value in config.items() if key not in ("class", "layers")}
    return _build(Sequential, "Sequential", options, layers)


def _tied(i: int, spec: dict[str, Any], encoder: Sequential | None) -> TiedDense:
    """The ``TiedDense`` that ``spec`` describes, tied to the encoder's layer ``tied_to``."""
    j: Any = spec.get("tied_to")
    layers = encoder.layers if encoder is not None else []
    dense = layers[j] if _is_int(j) and 0 <= j < len(layers) else None
    if not isinstance(dense, layer_module.Dense) or (dense.n_out, dense.n_in) != (
            spec.get("n_in"), spec.get("n_out")):
        raise ValueError(f"layer {i} (TiedDense) must name, as tied_to, an encoder Dense of "
                         f"widths ({spec.get('n_out')}, {spec.get('n_in')}); got {spec!r}")
    return TiedDense(dense)


def tie(encoder: Sequential, decoder: Sequential) -> None:
    """Set each decoder ``TiedDense``'s ``tied_to``: the index of its Dense in the encoder.

    A TiedDense whose Dense is not one of this encoder's layers is refused: its W would not
    be in this model's θ, so the optimizer could never train it.
    """
    for i, layer in enumerate(decoder.layers):
        if isinstance(layer, TiedDense):
            found = [j for j, other in enumerate(encoder.layers) if other is layer.dense]
            if not found:
                raise ValueError(f"decoder layer {i} ({layer!r}) ties to a Dense that is not "
                                 f"one of the encoder's layers; tie it to the encoder's Dense: "
                                 f"TiedDense(encoder.layers[j])")
            layer.tied_to = found[0]


def halves(config: dict[str, Any]) -> list[dict[str, Any]]:
    """``[config["encoder"], config["decoder"]]`` of an encoder–decoder's config, checked."""
    if not isinstance(config, dict) or not all(isinstance(config.get(key), dict) for key in PARTS):
        raise ValueError(f"a {_class_of(config)} config must be a JSON object with an 'encoder' "
                         f"and a 'decoder', each a Sequential's config")
    return [config[key] for key in PARTS]


def layer_specs(config: dict[str, Any]) -> list[dict[str, Any]]:
    """A Sequential config's ``layers``, checked: each ``{"type": name, option: value, …}``.

    The type must be one tinyae can rebuild, and the options the names and types of its
    constructor's arguments (its type hints): a width is a whole number, not 2.5 or true.
    """
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError("a Sequential config must be a JSON object with a list of 'layers'")
    known = sorted([*LAYER_TYPES, "Destandardize", "TiedDense"])
    for i, spec in enumerate(config["layers"]):
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in known:
            raise ValueError(f"cannot rebuild layer {i}, {spec!r}: tinyae knows the layer types "
                             f"{known}")
        if kind == "Destandardize" and len(spec) > 1:
            raise ValueError(f"layer {i} (Destandardize) takes no options, got {spec!r}")
        if kind not in ("Destandardize", "TiedDense"):  # rebuilt from their partner layer
            _check_options(LAYER_TYPES[kind], f"layer {i} ({kind})",
                           {key: value for key, value in spec.items() if key != "type"})
        for key in ("n_in", "n_out"):  # a width counts parameters (count_params): check it here
            if (key in spec or kind == "TiedDense") and not (_is_int(spec.get(key))
                                                             and spec[key] >= 1):
                raise ValueError(f"layer {i} ({kind}): {key} must be a whole number ≥ 1, "
                                 f"got {spec.get(key)!r}")
    return config["layers"]


def count_params(config: dict[str, Any]) -> int:
    """The number of parameters a model's ``config()`` describes, from its widths alone.

    A Dense layer holds W (n_in, n_out) and b (n_out,): n_in·n_out + n_out numbers; a
    TiedDense only its b (n_out,), its W being an encoder Dense's; the other layers none.
    Nothing is built, so a damaged width that asks for terabytes is found before anything
    is allocated.
    """
    if _class_of(config) == "Sequential":
        specs = layer_specs(config)
    else:
        specs = [spec for name, half in zip(PARTS, halves(config), strict=True)
                 for spec in in_part(name, layer_specs, half)]
    return sum(spec["n_in"] * spec["n_out"] * (spec["type"] == "Dense") + spec["n_out"]
               for spec in specs if spec["type"] in ("Dense", "TiedDense"))


def in_part(name: str, read: Callable[[dict[str, Any]], T], config: dict[str, Any]) -> T:
    """``read(config)``, a ValueError prefixed with the part of the model it is about."""
    try:
        return read(config)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def _is_int(v: Any) -> bool:
    """Whether ``v`` is a whole number: bool is a subclass of int, but true is no width."""
    return isinstance(v, int) and not isinstance(v, bool)


# The JSON values each constructor type hint accepts.  A float must be finite: JSON as
# Python reads it allows NaN and Infinity.
def _is_finite(v: Any) -> bool:
    """Whether ``v`` is a finite number."""
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


JSON_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "int": (_is_int, "a whole number"),
    "float": (_is_finite, "a finite number"),
    "str": (lambda v: isinstance(v, str), "a string"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
}


def _check_options(constructor: Callable[..., Any], owner: str, options: dict[str, Any],
                   built: tuple[str, ...] = ()) -> None:
    """Refuse options that ``constructor`` does not take, lacks, or types differently.

    ``built``: the arguments the caller passes itself (a Sequential's ``layers``).
    """
    parameters = _parameters(constructor)
    for key, value in options.items():
        if key not in parameters or key in built:
            takes = sorted(set(parameters) - set(built))
            raise ValueError(f"{owner} has an unknown option {key!r}; it takes {takes}")
        hint = parameters[key].annotation
        hint = hint if isinstance(hint, str) else getattr(hint, "__name__", "")
        if hint in JSON_TYPES and not JSON_TYPES[hint][0](value):
            raise ValueError(f"{owner}: {key} must be {JSON_TYPES[hint][1]}, got {value!r}")
    missing = [key for key, parameter in parameters.items()
               if parameter.default is inspect.Parameter.empty and key not in options
               and key not in built]
    if missing:
        raise ValueError(f"{owner} lacks the option(s) {missing}")


@functools.cache  # inspect.signature takes ~0.1 ms, and loading a model asks it a dozen times
def _parameters(constructor: Callable[..., Any]) -> Mapping[str, inspect.Parameter]:
    """The parameters of ``constructor``, by name, in order."""
    return inspect.signature(constructor).parameters


def _build(constructor: Callable[..., T], owner: str, options: dict[str, Any], *parts: Any) -> T:
    """``constructor(*parts, **options)`` with the options checked, a refusal naming ``owner``."""
    built = tuple(list(_parameters(constructor))[: len(parts)])
    _check_options(constructor, owner, options, built)
    try:
        return constructor(*parts, **options)
    except (TypeError, ValueError) as error:  # the constructor's own checks: the config's values
        raise ValueError(f"{owner}: {error}") from None


def _class_of(config: Any) -> str:
    """``config["class"]``, or a description of what the config is instead."""
    return str(config.get("class")) if isinstance(config, dict) else type(config).__name__
