"""``TiedDense``: a decoder layer that uses the transpose of an encoder ``Dense``'s W.

A tied autoencoder decodes with the encoder's weights transposed::

    encoder:  h = x @ W + b_enc          W (n_in, n_out)
    decoder:  p = h @ Wᵀ + c             c (n_in,), the tied layer's own bias

One parameter W is used twice, so its gradient is the sum of both uses (the chain rule
over every path from W to the loss)::

    ∂L/∂W = xᵀ @ dh   (the encoder's use)   +   (hᵀ @ dp)ᵀ = dpᵀ @ h   (the decoder's use)

Nothing new is needed to add them: ``backward`` of every layer *adds* into its
gradient (``dW += …``, the layer contract in ``tinyae.layer_base``), so the tied layer
adds its term into the encoder Dense's ``dW``, the encoder's ``backward`` adds its own,
and ``zero_grad`` clears both at once.  Had ``Dense`` assigned (``dW = …``) instead,
whichever use ran last would silently erase the other.

W lives in the encoder Dense only: the tied layer's ``param_names`` is ``("b",)``, so
W sits once in the model's flat θ and is counted once in ``n_params``; the tied layer
reads ``dense.W`` and writes ``dense.dW``, which are always that Dense's current views.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyae.layer_base import Layer, ShapeError
from tinyae.layers import Dense
from tinyae.safeguards import layer_input


class TiedDense(Layer):
    """``out = x @ dense.Wᵀ + b``: ``x (N, dense.n_out) → out (N, dense.n_in)``, ``b (dense.n_in,)``.

    Backward, with ``dout`` (N, dense.n_in):

    * ``dense.dW += (xᵀ @ dout)ᵀ = doutᵀ @ x``   (n_in, n_out) — added to the encoder's use
    * ``db = Σ_n dout[n]``                      (dense.n_in,)
    * ``dx = dout @ W``                          (N, dense.n_out)

    ``tied_to`` is the index of ``dense`` among the encoder's layers, which the model
    joining encoder and decoder sets (``EncoderDecoder``); ``config()`` records it so that
    a saved model is rebuilt with the same tie.
    """

    param_names = ("b",)
    caches = ("x",)

    def __init__(self, dense: Dense) -> None:
        if not isinstance(dense, Dense):
            raise TypeError(f"TiedDense ties to a Dense layer of the encoder, got {dense!r}")
        self.dense = dense
        self.tied_to: int | None = None  # set by the model that joins encoder and decoder
        self.n_in, self.n_out = dense.n_out, dense.n_in
        self.reset_parameters(np.random.default_rng(0))
        self.db = np.zeros_like(self.b)

    def reset_parameters(self, rng: np.random.Generator) -> None:
        """``b`` = 0; W is the encoder's, drawn by its Dense."""
        self.b = np.zeros(self.n_out)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``x @ Wᵀ + b`` for ``x`` of shape ``(N, dense.n_out)``."""
        x = layer_input(x, self, self.dense.W.dtype)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ShapeError(f"{self!r} expects input of shape (N, {self.n_in}), got {x.shape}")
        out = x @ self.dense.W.T
        out += self.b
        return out

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x @ Wᵀ + b``, caching ``x`` for the gradient of W."""
        self.x = layer_input(x, self, self.dense.W.dtype)
        return self.apply(self.x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Add ``doutᵀ @ x`` into the encoder's ``dW``, accumulate ``db``; return ``dout @ W``."""
        self._check_dout(dout, (len(self.x), self.n_out))
        self.dense.dW += dout.T @ self.x
        self.db += dout.sum(axis=0)
        return dout @ self.dense.W

    def output_dim(self, n_in: int) -> int:
        """``dense.n_in``."""
        return self.n_out

    def config(self) -> dict[str, Any]:
        """``{"n_in", "n_out", "tied_to"}``: the widths, and which encoder layer holds W."""
        return {"n_in": self.n_in, "n_out": self.n_out, "tied_to": self.tied_to}
