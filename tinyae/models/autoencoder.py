"""``Autoencoder``: an encoder ``Sequential`` followed by a decoder ``Sequential``.

    x (N, D) ──encoder──▶ code z (N, J) ──decoder──▶ reconstruction p (N, D)

Training makes p close to x; because J < D, the code must keep what matters about x.
``dense_autoencoder("784-100-50-100-784")`` builds the usual dense ones from a spec.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyae.layers import Dense, Layer, activation
from tinyae.model import Sequential, bind_parameters


class Autoencoder:
    """``decoder(encoder(x))``, with one flat parameter vector shared by both halves.

    ``params`` and ``grads`` cover the encoder's parameters then the decoder's; the
    encoder's own ``params`` and the decoder's are views of the two halves, so one
    optimizer step updates both.
    """

    def __init__(self, encoder: Sequential, decoder: Sequential) -> None:
        if encoder.dtype != decoder.dtype:
            raise TypeError(f"encoder is {encoder.dtype} but decoder is {decoder.dtype}; build both with one dtype")
        if None not in (encoder.n_out, decoder.n_in) and encoder.n_out != decoder.n_in:
            raise ValueError(
                f"the encoder outputs {encoder.n_out} features but the decoder expects {decoder.n_in}"
            )
        self.encoder, self.decoder, self.dtype = encoder, decoder, encoder.dtype
        self.params, self.grads = bind_halves(encoder, decoder)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Reconstruction ``p`` of ``x``, caching for backward.  ``(N, D) → (N, D)``."""
        return self.decoder.forward(self.encoder.forward(x), check=False)

    def backward(self, dp: np.ndarray) -> np.ndarray | None:
        """Backpropagate ∂L/∂p through the decoder, then the encoder."""
        return self.encoder.backward(self.decoder.backward(dp))

    def encode(self, x: np.ndarray) -> np.ndarray:
        """The codes z of ``x`` (no caching).  ``(N, D) → (N, J)``."""
        return self.encoder.predict(x)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Images decoded from codes ``z`` (no caching).  ``(N, J) → (N, D)``."""
        return self.decoder.predict(z)

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """``decode(encode(x))``.  ``(N, D) → (N, D)``."""
        return self.decode(self.encode(x))

    predict = reconstruct

    def zero_grad(self) -> None:
        """Set every gradient to 0."""
        self.grads.fill(0)

    def parameters(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """``(name, value, gradient)`` triples named ``encoder.0.W``, ``decoder.2.b``, …"""
        return [(f"{part}.{name}", value, grad)
                for part, model in (("encoder", self.encoder), ("decoder", self.decoder))
                for name, value, grad in model.parameters()]

    @property
    def n_params(self) -> int:
        """Number of scalar parameters."""
        return self.params.size

    def summary(self) -> str:
        """The encoder's and the decoder's tables."""
        return f"encoder\n{self.encoder.summary()}\n\ndecoder\n{self.decoder.summary()}"

    def config(self) -> dict[str, Any]:
        """The architecture, JSON-ready."""
        return {"class": "Autoencoder", "encoder": self.encoder.config(), "decoder": self.decoder.config()}


def bind_halves(encoder: Sequential, decoder: Sequential) -> tuple[np.ndarray, np.ndarray]:
    """One flat ``(params, grads)`` for both halves: the encoder's, then the decoder's.

    Each half's own ``params``/``grads`` become views of its part, so one optimizer
    step on the whole updates both (used by ``Autoencoder`` and ``VAE``).
    """
    params, grads = bind_parameters(encoder.layers + decoder.layers, encoder.dtype)
    n_enc = encoder.n_params
    encoder.params, encoder.grads = params[:n_enc], grads[:n_enc]
    decoder.params, decoder.grads = params[n_enc:], grads[n_enc:]
    return params, grads


def parse_spec(spec: str) -> list[int]:
    """``"784-100-50-100-784"`` → ``[784, 100, 50, 100, 784]``, with clear errors."""
    try:
        widths = [int(part) for part in spec.replace(",", "-").split("-")]
    except ValueError:
        raise ValueError(f"architecture {spec!r} must be layer widths joined by '-', e.g. '784-100-50-100-784'") from None
    if len(widths) < 3 or min(widths) < 1:
        raise ValueError(f"architecture {spec!r} needs at least 3 positive widths: input, code, output")
    return widths


def dense_autoencoder(
    spec: str = "784-100-50-100-784",
    hidden: str = "relu",
    output: str = "sigmoid",
    code: str | None = None,
    init: str | None = None,
    seed: int = 0,
    dtype: Any = np.float32,
) -> Autoencoder:
    """A dense autoencoder from a spec of widths; the narrowest width is the code.

    Every Dense is followed by ``hidden`` (the code layer by ``code``, default
    ``hidden``), except the last, followed by ``output``.  ``init`` defaults to ``"he"``
    for ReLU hidden layers and ``"glorot"`` otherwise.  The encoder skips the gradient
    with respect to the input (the data needs none).
    """
    widths = parse_spec(spec)
    split = int(np.argmin(widths[1:-1])) + 1  # the bottleneck
    init = init or ("he" if hidden.lower() == "relu" else "glorot")
    activations = [hidden] * (len(widths) - 2) + [output]
    activations[split - 1] = code or hidden

    def stack(lo: int, hi: int) -> list[Layer]:
        layers: list[Layer] = []
        for i in range(lo, hi):
            layers += [Dense(widths[i], widths[i + 1], init=init), activation(activations[i])]
        return layers

    rng = np.random.default_rng(seed)
    encoder = Sequential(stack(0, split), seed=rng, dtype=dtype, input_grad=False)
    decoder = Sequential(stack(split, len(widths) - 1), seed=rng, dtype=dtype)
    return Autoencoder(encoder, decoder)
