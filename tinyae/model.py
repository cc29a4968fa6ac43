"""``Sequential``: a list of layers applied one after the other.

Where the parameters live
-------------------------
All parameters of a model sit in **one flat vector** ``params`` (θ), and all their
gradients in one flat vector ``grads`` of the same length.  Each layer's ``W``, ``b``,
``dW``, ``db`` are *views* into those vectors: reshaped slices that share memory.  So

* a layer reads and writes its own ``W`` and ``dW`` as usual, and
* an optimizer updates every parameter of the model at once with a few vectorised
  operations on θ, knowing nothing about layers.

The one rule this imposes: update parameters and gradients *in place*
(``W -= …``, ``dW += …``, ``grads.fill(0)``), never by rebinding (``W = …``), or the
view is lost.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from tinyae.layers import Dense, Layer, ShapeError
from tinyae.text import format_table

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_dtype(dtype: Any) -> np.dtype:
    """``np.dtype(dtype)`` if it is float32 or float64, else a clear error."""
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 (fast) or float64 (exact), got {dtype}")
    return dtype


def bind_parameters(layers: Iterable[Layer], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Move the parameters of ``layers`` into one flat vector and return ``(params, grads)``.

    Each layer's parameter ``W`` (and gradient ``dW``) becomes a reshaped view of a
    slice of ``params`` (``grads``); its current values are copied in.  Gradients start at 0.
    """
    entries = [(layer, name, getattr(layer, name)) for layer in layers for name in layer.param_names]
    total = sum(value.size for _, _, value in entries)
    params, grads = np.empty(total, dtype), np.zeros(total, dtype)
    start = 0
    for layer, name, value in entries:
        stop = start + value.size
        view = params[start:stop].reshape(value.shape)
        view[...] = value
        setattr(layer, name, view)
        setattr(layer, "d" + name, grads[start:stop].reshape(value.shape))
        start = stop
    return params, grads


def check_batch(x: Any, n_in: int | None, dtype: np.dtype) -> np.ndarray:
    """Return ``x`` as a ``(N, n_in)`` array of ``dtype``, or raise a clear error.

    Catches the classic input mistakes before they turn into silently wrong numbers:
    integer pixels 0..255, the wrong number of features, NaN or inf values.
    """
    x = np.asarray(x)
    if x.dtype.kind in "ui":
        raise TypeError(
            f"input has integer dtype {x.dtype} (raw pixels 0..255?); convert it to "
            f"floats in [0, 1] first, e.g. x = x / 255, or load_mnist(dtype='float32')"
        )
    if x.dtype.kind != "f":
        raise TypeError(f"input must be a float array, got dtype {x.dtype}")
    if x.ndim != 2 or (n_in is not None and x.shape[1] != n_in):
        raise ShapeError(
            f"model expects input of shape (N, {n_in}), got {x.shape}; "
            f"flatten images to rows first, e.g. x.reshape(len(x), -1)"
        )
    x = x.astype(dtype, copy=False)
    if not np.isfinite(x).all():
        rows = np.flatnonzero(~np.isfinite(x).all(axis=1))
        raise ValueError(
            f"input contains NaN or inf in {len(rows)} row(s) (first: {rows[:5].tolist()}); "
            f"remove or fix those samples before training"
        )
    return x


class Sequential:
    """A stack of layers: ``out = layer_L(… layer_2(layer_1(x)))``.

    Parameters
    ----------
    layers : the layers in order, e.g. ``[Dense(784, 100), ReLU(), Dense(100, 784), Sigmoid()]``.
    seed : every layer's parameters are (re)drawn from ``np.random.default_rng(seed)``,
        in order, so the same seed gives the same weights.
    dtype : float32 (default; fast) or float64 (for gradient checks).
    input_grad : if False, the first ``Dense`` skips computing ∂L/∂x (the data needs no
        gradient), which saves one matrix product per batch; ``backward`` then returns None.

    Shapes: ``forward(x)`` maps ``(N, n_in) → (N, n_out)``.
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        seed: int | np.random.Generator = 0,
        dtype: Any = np.float32,
        input_grad: bool = True,
    ) -> None:
        self.layers = list(layers)
        self.dtype = float_dtype(dtype)
        self.seed = seed
        self.widths = _widths(self.layers)
        rng = np.random.default_rng(seed)
        for layer in self.layers:
            layer.reset_parameters(rng)
        self.params, self.grads = bind_parameters(self.layers, self.dtype)
        self.input_grad = input_grad
        if isinstance(self.layers[0], Dense):
            self.layers[0].compute_dx = input_grad

    @property
    def n_in(self) -> int | None:
        """Input width, or None if no layer fixes it."""
        return self.widths[0]

    @property
    def n_out(self) -> int | None:
        """Output width, or None if no layer fixes it."""
        return self.widths[-1]

    def forward(self, x: np.ndarray, check: bool = True) -> np.ndarray:
        """Run the batch through every layer, caching for ``backward``.  ``(N, n_in) → (N, n_out)``.

        ``check=False`` skips the input checks of ``check_batch``: a composite model
        passes it for a part whose input is another part's output, not data — NaN
        there means diverging weights (``fit`` reports that), not bad samples.
        """
        out = check_batch(x, self.n_in, self.dtype) if check else x
        for layer in self.layers:
            out = layer.forward(out)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """Backpropagate ∂L/∂out through the layers in reverse; return ∂L/∂x.

        Every layer adds its parameter gradients into ``grads`` (call ``zero_grad``
        before each batch).
        """
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The output for ``x`` without caching anything, in chunks of ``batch_size`` rows."""
        x = np.asarray(x)
        chunks = []
        for start in range(0, max(len(x), 1), batch_size):
            out = check_batch(x[start : start + batch_size], self.n_in, self.dtype)
            for layer in self.layers:
                out = layer.apply(out)
            chunks.append(out)
        return np.concatenate(chunks)

    def zero_grad(self) -> None:
        """Set every gradient to 0: one ``fill`` on the flat gradient vector."""
        self.grads.fill(0)

    def parameters(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """``(name, value, gradient)`` for every parameter, named ``"<layer index>.<name>"``."""
        return [
            (f"{i}.{name}", value, grad)
            for i, layer in enumerate(self.layers)
            for name, value, grad in layer.parameters()
        ]

    @property
    def n_params(self) -> int:
        """Number of scalar parameters."""
        return self.params.size

    def summary(self) -> str:
        """A table of layers, output shapes and parameter counts (print it)."""
        rows = [("#", "layer", "output", "params")]
        for i, (layer, width) in enumerate(zip(self.layers, self.widths[1:])):
            count = sum(value.size for _, value, _ in layer.parameters())
            rows.append((str(i), repr(layer), f"(N, {width})", f"{count:,}"))
        rows.append(("", "total", "", f"{self.n_params:,}  ({self.dtype})"))
        return format_table(rows[1:], header=rows[0])

    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild the architecture (not the weights), JSON-ready."""
        return {
            "class": "Sequential",
            "layers": [{"type": type(layer).__name__, **layer.config()} for layer in self.layers],
            "dtype": self.dtype.name,
            "input_grad": self.input_grad,
        }

    def __repr__(self) -> str:
        return f"Sequential({self.layers!r})"


def _widths(layers: Sequence[Layer]) -> list[int | None]:
    """The feature width before the first layer and after each one, checking they chain."""
    if not layers:
        raise ValueError("Sequential needs at least one layer")
    n_in = next((layer.n_in for layer in layers if hasattr(layer, "n_in")), None)
    widths = [n_in]
    for i, layer in enumerate(layers):
        expected = getattr(layer, "n_in", None)
        if expected is not None and widths[-1] is not None and expected != widths[-1]:
            raise ShapeError(
                f"layer {i} {layer!r} expects {expected} input features, but the layers "
                f"before it output {widths[-1]}"
            )
        widths.append(layer.output_dim(widths[-1]) if widths[-1] is not None else None)
    return widths
