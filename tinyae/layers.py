"""Layers: ``Dense`` and the activations, each with a hand-written backward pass.

Each is a ``Layer`` (``tinyae.layer_base``, which states the contract every layer
follows): ``forward(x)`` computes the output and caches what ``backward(dout)`` needs,
``backward`` adds the parameter gradients into ``dW``, ``db`` and returns ∂L/∂x.

Shapes: a batch is a 2-D array ``x`` of shape ``(N, D)``, one row per sample.

Every ``forward`` and ``apply`` first passes its input through ``layer_input``
(``tinyae.safeguards``): a layer used on its own reads x as a model does (uint8 pixels
scaled to [0, 1], a list of rows converted, complex numbers and other integers refused),
so the maths below only ever sees real floats.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyae.checks import as_generator
from tinyae.init import get_initializer
from tinyae.layer_base import Layer, ShapeError
from tinyae.registry import lookup
from tinyae.safeguards import layer_input, out_of_memory


class Dense(Layer):
    """Fully connected layer: ``out = x @ W + b``.

    Shapes: ``x (N, n_in) → out (N, n_out)``, ``W (n_in, n_out)``, ``b (n_out,)``.

    Backward, with ``dout = ∂L/∂out`` of shape ``(N, n_out)``:

    * ``dW = xᵀ @ dout``      (n_in, n_out) — summed over the batch by the product
    * ``db = Σ_n dout[n]``    (n_out,)
    * ``dx = dout @ Wᵀ``      (N, n_in)

    ``init`` names the initialiser of ``W`` (see ``tinyae.init``); ``b`` starts at 0.
    Set ``compute_dx = False`` on a network's first layer: the data needs no gradient,
    and skipping ``dx`` saves one of the layer's three matrix products.

    ``rng`` (a Generator or an int seed) draws the initial weights.  Which wins, the
    layer's ``rng`` or the model's ``seed``?

    * ``rng`` given (``explicit_rng`` is True): a ``Sequential`` keeps these weights,
      unless it is given a ``seed`` of its own — then the seed wins and redraws them.
    * ``rng=None`` (the default: not chosen): the standalone layer draws from
      ``np.random.default_rng(0)``, and a ``Sequential`` redraws it from its own stream.
    """

    param_names = ("W", "b")
    caches = ("x",)

    def __init__(
        self,
        n_in: int,
        n_out: int,
        init: str = "glorot",
        rng: np.random.Generator | int | None = None,
    ) -> None:
        self.n_in, self.n_out, self.init = _width(n_in, "n_in"), _width(n_out, "n_out"), init
        self.initializer = get_initializer(init)
        self.compute_dx = True
        self.explicit_rng = rng is not None
        generator = as_generator("Dense", "rng", 0 if rng is None else rng)
        try:
            self.reset_parameters(generator)
            self.dW = np.zeros_like(self.W)
            self.db = np.zeros_like(self.b)
        except MemoryError:
            raise out_of_memory(f"Dense({self.n_in}, {self.n_out})", 2 * (n_in * n_out + n_out),
                                np.dtype(np.float64), "its weights and their gradients") from None

    def reset_parameters(self, rng: np.random.Generator) -> None:
        """Draw ``W`` with the layer's initialiser and set ``b`` to 0.

        In a model the assignments write into the views (``Layer.__setattr__``), so θ
        gets the new values and the layer stays bound.
        """
        self.W = self.initializer((self.n_in, self.n_out), rng)
        self.b = np.zeros(self.n_out)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``x @ W + b`` for ``x`` of shape ``(N, n_in)``."""
        x = layer_input(x, self, self.W.dtype)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ShapeError(
                f"{self!r} expects input of shape (N, {self.n_in}), got {x.shape}; "
                f"check that the previous layer outputs {self.n_in} features"
            )
        out = x @ self.W
        out += self.b  # in place: saves allocating a second (N, n_out) array
        return out

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x @ W + b``, caching ``x`` for ``dW = xᵀ @ dout``."""
        self.x = layer_input(x, self, self.W.dtype)  # the x backward's dW = xᵀ @ dout needs
        return self.apply(self.x)

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """Accumulate ``dW += xᵀ @ dout``, ``db += Σ dout``; return ``dout @ Wᵀ``."""
        self._check_dout(dout, (len(self.x), self.n_out))
        self.dW += self.x.T @ dout
        self.db += dout.sum(axis=0)
        return dout @ self.W.T if self.compute_dx else None

    def output_dim(self, n_in: int) -> int:
        """``n_out``."""
        return self.n_out

    def config(self) -> dict[str, Any]:
        """``{"n_in", "n_out", "init"}``."""
        return {"n_in": self.n_in, "n_out": self.n_out, "init": self.init}


def _width(value: Any, name: str) -> int:
    """A layer width: a whole number ≥ 1 (an int or a NumPy integer; not 2.5, not True)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Dense needs whole numbers for its widths, got {name}={value!r}; a "
                        f"width computed by division is a float: use //, e.g. 784 // 2")
    if value < 1:
        raise ValueError(f"Dense needs {name} ≥ 1, got {name}={value!r}")
    return int(value)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^(−x)), elementwise, without overflow.

    The naive formula overflows for x ≪ 0 (e^(−x) = inf).  Both branches below need
    only e^(−|x|), which lies in (0, 1]:  σ(x) = 1 / (1 + e^(−x)) for x ≥ 0 and
    σ(x) = e^x / (1 + e^x) for x < 0.
    """
    e = np.exp(-np.abs(x))
    # The numerator is 1 where x ≥ 0 and e where x < 0.  As e ≤ 1 that is max(e, [x ≥ 0]):
    # no per-element branch, so it stays fast when the signs are mixed (np.where does not).
    numerator = np.maximum(e, x >= 0)
    e += 1.0
    numerator /= e
    return numerator


class Sigmoid(Layer):
    """``p = σ(x)``; backward: ``dx = dout · p (1 − p)``.

    The derivative p (1 − p) is at most 1/4 and ≈ 0 when p is near 0 or 1: a saturated
    sigmoid passes almost no gradient back, and stacks of them learn slowly.
    """

    caches = ("p",)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """σ(x), elementwise."""
        return sigmoid(layer_input(x, self))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """σ(x), caching the output p (the derivative needs only p)."""
        self.p = self.apply(x)
        return self.p

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """``dout · p (1 − p)``."""
        self._check_dout(dout, self.p.shape)
        return dout * self.p * (1.0 - self.p)


class Tanh(Layer):
    """``out = tanh(x)``, range (−1, 1); backward: ``dx = dout · (1 − out²)``."""

    caches = ("out",)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """tanh(x), elementwise."""
        return np.tanh(layer_input(x, self))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """tanh(x), caching the output."""
        self.out = self.apply(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """``dout · (1 − out²)``."""
        self._check_dout(dout, self.out.shape)
        return dout * (1.0 - self.out**2)


class ReLU(Layer):
    """``out = max(x, 0)``; backward: ``dx = dout · [x > 0]``.

    At x = 0 exactly we use the derivative 0, the same convention as ``forward``'s
    output 0 there (and as PyTorch).  A unit whose input is negative for every sample
    passes no gradient at all: a "dead" ReLU.
    """

    caches = ("mask",)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """max(x, 0), elementwise."""
        return np.maximum(layer_input(x, self), 0)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """max(x, 0), caching the mask x > 0."""
        x = layer_input(x, self)
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """``dout`` where the input was positive, 0 elsewhere."""
        self._check_dout(dout, self.mask.shape)
        return dout * self.mask  # a product, not np.where: no per-element branch


class Identity(Layer):
    """``out = x`` (a linear output); backward: ``dx = dout``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x itself."""
        return layer_input(x, self)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout itself."""
        return dout


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax: ``out[n, i] = e^(x[n, i]) / Σ_j e^(x[n, j])``.

    Subtracting each row's maximum first changes nothing mathematically (the factor
    e^(−max) cancels) but keeps every exponent ≤ 0, so e^x never overflows.
    """
    e = np.exp(x - x.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


class Softmax(Layer):
    """Row-wise softmax; each output row is positive and sums to 1.

    The Jacobian of one row is ∂out_i/∂x_j = out_i (δ_ij − out_j), so the
    vector-Jacobian product is ``dx = out · (dout − Σ_j dout_j out_j)``, computed
    without ever forming the D × D matrix.

    Because the outputs of a row sum to 1, softmax cannot produce an image (784
    pixels that sum to 784 × 0.13 on average): see question 2 in ``docs/questions.md``.
    """

    caches = ("out",)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """softmax(x) over each row."""
        return softmax(layer_input(x, self))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """softmax(x), caching the output."""
        self.out = self.apply(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """``out · (dout − Σ_j dout_j out_j)`` row by row."""
        self._check_dout(dout, self.out.shape)
        dot = (dout * self.out).sum(axis=1, keepdims=True)
        return self.out * (dout - dot)


ACTIVATIONS: dict[str, type[Layer]] = {
    "sigmoid": Sigmoid,
    "relu": ReLU,
    "tanh": Tanh,
    "softmax": Softmax,
    "identity": Identity,
    "linear": Identity,
}


def activation(name: str) -> Layer:
    """A new activation layer by name: ``"sigmoid"``, ``"relu"``, ``"tanh"``, ``"softmax"``,
    ``"identity"``."""
    return lookup(ACTIVATIONS, name, "activation")()


class Standardize(Layer):
    """Per-sample standardisation: ``out = (x − mu) / sigma``, row by row.

    ``mu`` and ``sigma`` (shape ``(N, 1)``) are the mean and standard deviation of each
    sample's D features, with ``sigma = sqrt(var + eps)``.  Paired with a
    ``Destandardize`` at the output, the layers in between see every sample with mean 0
    and spread 1, however tiny its variations — the fix of question 3 in
    ``docs/questions.md`` (data around 1.109 with std 0.00124).

    Backward (x̂ = out): ``dx = (dout − mean(dout) − x̂ · mean(dout · x̂)) / sigma``,
    means taken over each row.  Both ``forward`` and ``apply`` record the batch's
    ``mu`` and ``sigma``: the paired ``Destandardize`` needs them on the way out.
    """

    caches = ("x_hat", "mu", "sigma")

    def __init__(self, eps: float = 1e-12) -> None:
        self.eps = eps

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``(x − mu) / sigma`` per row, recording ``mu`` and ``sigma``."""
        x = layer_input(x, self)
        self.mu = x.mean(axis=1, keepdims=True)
        self.sigma = np.sqrt(x.var(axis=1, keepdims=True) + self.eps)
        return (x - self.mu) / self.sigma

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(x − mu) / sigma`` per row, caching x̂ for backward."""
        self.x_hat = self.apply(x)
        return self.x_hat

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """``(dout − mean(dout) − x̂ · mean(dout · x̂)) / sigma``, row by row."""
        self._check_dout(dout, self.x_hat.shape)
        mean_dout = dout.mean(axis=1, keepdims=True)
        mean_dout_x_hat = (dout * self.x_hat).mean(axis=1, keepdims=True)
        return (dout - mean_dout - self.x_hat * mean_dout_x_hat) / self.sigma

    def config(self) -> dict[str, Any]:
        """``{"eps"}``."""
        return {"eps": self.eps}


class Destandardize(Layer):
    """Undo a ``Standardize``: ``out = h · sigma + mu`` with that layer's batch statistics.

    ``mu`` and ``sigma`` come from the data, not from parameters, so backward treats
    them as constants: ``dh = dout · sigma``.  (The gradient with respect to every
    parameter is exact; the gradient with respect to the model's *input* would also
    flow through mu and sigma, which this layer leaves out.)
    """

    def __init__(self, source: Standardize) -> None:
        if not isinstance(source, Standardize):
            raise TypeError(f"Destandardize needs the Standardize layer it undoes, got {source!r}")
        self.source = source

    def forward(self, h: np.ndarray) -> np.ndarray:
        """``h · sigma + mu``."""
        return layer_input(h, self) * self.source.sigma + self.source.mu

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """``dout · sigma``."""
        return dout * self.source.sigma

    def __repr__(self) -> str:
        return "Destandardize()"
