"""``Autoencoder``: an encoder ``Sequential`` followed by a decoder ``Sequential``.

    x (N, D) ──encoder──▶ code z (N, J) ──decoder──▶ reconstruction p (N, D)

Training makes p close to x; because J < D, the code must keep what matters about x.
``dense_autoencoder("784-100-50-100-784")`` builds the usual dense ones from a spec.

The classic variants are options of the same model (each part in a module of its own):

* ``noise="gaussian:0.3"`` / ``"mask:0.25"``: a denoising autoencoder; ``fit`` corrupts
  each training batch's input and keeps the clean x as the target (``tinyae.noise``);
* ``sparsity=ρ``: the KL sparsity penalty on the code's sigmoid activations, weight
  ``sparsity_weight`` = β (``tinyae.regularizers``);
* ``weight_decay=λ``: the L2 penalty λ·½‖W‖² on every weight matrix (same module);
* a decoder of ``TiedDense`` layers reuses the encoder's Wᵀ (``tinyae.tied``;
  ``dense_autoencoder(tied=True)``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinyae.layers import ACTIVATIONS, Dense, Layer, Sigmoid, activation
from tinyae.model import Sequential
from tinyae.models.base import EncoderDecoder, check_parts
from tinyae.noise import Noise, parse_noise
from tinyae.registry import lookup
from tinyae.regularizers import SparsityPenalty, WeightDecay, check_rho
from tinyae.safeguards import check_count
from tinyae.tied import TiedDense


class Autoencoder(EncoderDecoder):
    """``decoder(encoder(x))``: the code z is the encoder's output, (N, J).

    The parameters of both halves share one flat vector (see ``EncoderDecoder``), so
    one optimizer step updates both.

    Options (all off by default, which is the plain autoencoder):

    noise : a noise spec, ``"gaussian:σ"`` or ``"mask:q"``, that ``fit`` applies to the
        input of every training batch (the model itself stays deterministic).
    sparsity : target mean activation ρ in (0, 1) of the code units, which must be a
        ``Sigmoid``'s output; adds β·Σⱼ KL(ρ ‖ ρ̂ⱼ) with β = ``sparsity_weight``.
    weight_decay : λ ≥ 0; adds λ·½ Σ ‖W‖² over every weight matrix (biases excluded).
    """

    def __init__(self, encoder: Sequential, decoder: Sequential, noise: str | None = None,
                 sparsity: float | None = None, sparsity_weight: float = 3.0,
                 weight_decay: float = 0.0) -> None:
        check_parts(encoder, decoder)
        if None not in (encoder.n_out, decoder.n_in) and encoder.n_out != decoder.n_in:
            raise ValueError(
                f"the encoder outputs {encoder.n_out} features but the decoder expects {decoder.n_in}"
            )
        self.noise: Noise | None = None if noise is None else parse_noise(noise)
        self.sparsity = None if sparsity is None else check_rho(sparsity)
        if sparsity is not None and not isinstance(encoder.layers[-1], Sigmoid):
            raise ValueError(f"the sparsity penalty needs a sigmoid code layer (a mean activation "
                             f"ρ̂ in (0, 1)), but the encoder ends with {encoder.layers[-1]!r}: "
                             f"build it with code='sigmoid'")
        for name, value in (("sparsity_weight", sparsity_weight), ("weight_decay", weight_decay)):
            if not (isinstance(value, (int, float)) and 0 <= value < math.inf):
                raise ValueError(f"{name} must be a finite number ≥ 0, got {value!r}")
        self.sparsity_weight, self.weight_decay = float(sparsity_weight), float(weight_decay)
        super().__init__(encoder, decoder)
        self.sparsity_term: SparsityPenalty | None = None  # this batch's, set by forward
        self.decay_term: WeightDecay | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Reconstruction ``p`` of ``x``, caching for backward.  ``(N, D) → (N, D)``.

        With ``sparsity`` or ``weight_decay``, also builds this batch's penalties.
        """
        z = self.encoder.forward(x)
        if self.sparsity is not None:
            self.sparsity_term = SparsityPenalty(z, self.sparsity, self.sparsity_weight)
        if self.weight_decay:
            self.decay_term = WeightDecay(self.encoder.layers + self.decoder.layers,
                                          self.weight_decay)
        return self.decoder.forward(z, check=False)

    def penalties(self) -> list[Any]:
        """The sparsity and weight-decay terms of the last ``forward`` (none by default)."""
        return [term for term in (self.sparsity_term, self.decay_term) if term is not None]

    def backward(self, dp: np.ndarray) -> np.ndarray | None:
        """Backpropagate ∂L/∂p through the decoder, then the encoder, adding the penalties'.

        The sparsity term depends on θ through the code z, so its ∂/∂z joins the
        decoder's ∂L/∂z before the encoder's backward; weight decay's λ·W goes straight
        into each dW.
        """
        dz = self.decoder.backward(dp)
        assert dz is not None  # check_parts made sure the decoder computes ∂L/∂z
        if self.sparsity_term is not None:
            dz = dz + self.sparsity_term.da
        dx = self.encoder.backward(dz)
        if self.decay_term is not None:
            self.decay_term.add_gradient()
        return dx

    def config(self) -> dict[str, Any]:
        """``EncoderDecoder.config()`` plus the options that differ from the plain model."""
        options = {"noise": None if self.noise is None else self.noise.spec,
                   "sparsity": self.sparsity, "sparsity_weight": self.sparsity_weight,
                   "weight_decay": self.weight_decay}
        defaults = {"noise": None, "sparsity": None, "sparsity_weight": 3.0, "weight_decay": 0.0}
        return {**super().config(),
                **{key: value for key, value in options.items() if value != defaults[key]}}


def parse_spec(spec: str) -> list[int]:
    """``"784-100-50-100-784"`` → ``[784, 100, 50, 100, 784]``, with clear errors."""
    if not isinstance(spec, str):
        raise TypeError(f"architecture must be a string of layer widths joined by '-', e.g. "
                        f"'784-100-50-100-784', got {spec!r}")
    try:
        widths = [int(part) for part in spec.replace(",", "-").split("-")]
    except ValueError:
        raise ValueError(f"architecture {spec!r} must be layer widths joined by '-', "
                         f"e.g. '784-100-50-100-784'") from None
    if len(widths) < 3 or min(widths) < 1:
        raise ValueError(f"architecture {spec!r} needs at least 3 positive widths: input, code, output")
    return widths


def check_seed(seed: Any) -> None:
    """Raise ValueError unless ``seed`` is a whole number ≥ 0 or None (NumPy's text names no argument)."""
    if seed is not None:
        check_count("seed", seed, minimum=0)


def activation_name(argument: str, name: Any) -> str:
    """The activation ``name`` of ``argument`` (``hidden``, ``code``, …) in lower case, or a clear error."""
    return lookup(ACTIVATIONS.keys(), name, f"{argument} activation")


def check_softmax_widths(spec: str, layers: list[tuple[int, str, str]]) -> None:
    """Refuse a softmax over a single unit: e^a / e^a = 1 whatever a, so the layer passes nothing on.

    ``layers``: one ``(width, activation, argument)`` per Dense layer, ``argument`` being
    the builder's argument that chose the activation (``"code"``, ``"hidden"``, …).
    """
    for i, (width, name, argument) in enumerate(layers, start=1):
        if width == 1 and name == "softmax":
            raise ValueError(f"architecture {spec!r}: layer {i} has 1 unit and the softmax activation "
                             f"({argument}='softmax'); a softmax over one unit is always 1 (e^a / e^a), "
                             f"so that layer passes nothing on: give it at least 2 units, or another "
                             f"activation (e.g. {argument}='sigmoid')")


def dense_autoencoder(
    spec: str = "784-100-50-100-784",
    hidden: str = "relu",
    output: str = "sigmoid",
    code: str | None = None,
    init: str | None = None,
    seed: int = 0,
    dtype: Any = np.float32,
    noise: str | None = None,
    sparsity: float | None = None,
    sparsity_weight: float = 3.0,
    weight_decay: float = 0.0,
    tied: bool = False,
) -> Autoencoder:
    """A dense autoencoder from a spec of widths; the narrowest width is the code.

    Every Dense is followed by ``hidden`` (the code layer by ``code``, default
    ``hidden``), except the last, followed by ``output``.  ``init`` defaults to ``"he"``
    for ReLU hidden layers and ``"glorot"`` otherwise.  The encoder skips the gradient
    with respect to the input (the data needs none).

    ``noise``, ``sparsity``, ``sparsity_weight``, ``weight_decay``: see ``Autoencoder``.
    ``tied=True`` makes each decoder layer a ``TiedDense`` using the transpose of its
    mirror encoder Dense; the spec must then be symmetric (``784-196-784``).
    """
    widths = parse_spec(spec)
    check_seed(seed)
    hidden, output = activation_name("hidden", hidden), activation_name("output", output)
    code = hidden if code is None else activation_name("code", code)
    split = int(np.argmin(widths[1:-1])) + 1  # the bottleneck
    if tied and widths != widths[::-1]:
        raise ValueError(f"a tied autoencoder decodes with its encoder's Wᵀ, so its architecture "
                         f"must be symmetric (e.g. 784-196-784), got {spec!r}")
    init = init or ("he" if hidden == "relu" else "glorot")
    activations = [hidden] * (len(widths) - 2) + [output]
    activations[split - 1] = code
    arguments = ["hidden"] * (len(widths) - 2) + ["output"]
    arguments[split - 1] = "code"
    check_softmax_widths(spec, list(zip(widths[1:], activations, arguments)))

    def linear(i: int) -> Layer:
        if tied and i >= split:  # the decoder, built after the encoder: Dense i mirrors the
            return TiedDense(encoder.layers[2 * (len(widths) - 2 - i)])  # encoder's Dense L−1−i
        return Dense(widths[i], widths[i + 1], init=init)

    def stack(lo: int, hi: int) -> list[Layer]:
        return [layer for i in range(lo, hi) for layer in (linear(i), activation(activations[i]))]

    rng = np.random.default_rng(seed)
    encoder = Sequential(stack(0, split), seed=rng, dtype=dtype, input_grad=False)
    decoder = Sequential(stack(split, len(widths) - 1), seed=rng, dtype=dtype)
    return Autoencoder(encoder, decoder, noise=noise, sparsity=sparsity,
                       sparsity_weight=sparsity_weight, weight_decay=weight_decay)
