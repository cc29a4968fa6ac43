"""``Autoencoder``: an encoder ``Sequential`` followed by a decoder ``Sequential``.

    x (N, D) ──encoder──▶ code z (N, J) ──decoder──▶ reconstruction p (N, D)

Training makes p close to x; because J < D, the code must keep what matters about x.
``dense_autoencoder("784-100-50-100-784")`` builds the usual dense ones from a spec.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyae.layers import Dense, Layer, activation
from tinyae.model import Sequential
from tinyae.models.base import EncoderDecoder, check_parts


class Autoencoder(EncoderDecoder):
    """``decoder(encoder(x))``: the code z is the encoder's output, (N, J).

    The parameters of both halves share one flat vector (see ``EncoderDecoder``), so
    one optimizer step updates both.
    """

    def __init__(self, encoder: Sequential, decoder: Sequential) -> None:
        check_parts(encoder, decoder)
        if None not in (encoder.n_out, decoder.n_in) and encoder.n_out != decoder.n_in:
            raise ValueError(
                f"the encoder outputs {encoder.n_out} features but the decoder expects {decoder.n_in}"
            )
        super().__init__(encoder, decoder)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Reconstruction ``p`` of ``x``, caching for backward.  ``(N, D) → (N, D)``."""
        return self.decoder.forward(self.encoder.forward(x), check=False)

    def backward(self, dp: np.ndarray) -> np.ndarray | None:
        """Backpropagate ∂L/∂p through the decoder, then the encoder."""
        dz = self.decoder.backward(dp)
        assert dz is not None  # check_parts made sure the decoder computes ∂L/∂z
        return self.encoder.backward(dz)


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
