"""``Sequential``: a list of layers applied one after the other.

Where the parameters live
-------------------------
All parameters of a model sit in **one flat vector** ``params`` (θ), and all their
gradients in one flat vector ``grads`` of the same length.  Each layer's ``W``, ``b``,
``dW``, ``db`` are *views* into those vectors: reshaped slices that share memory.  So

* a layer reads and writes its own ``W`` and ``dW`` as usual, and
* an optimizer updates every parameter of the model at once with a few vectorised
  operations on θ, knowing nothing about layers.

The one rule this imposes: a layer's ``W`` must stay its view.  Updating in place
(``W -= …``, ``W[...] = …``, ``dW += …``, ``grads.fill(0)``) keeps it.  Assigning
(``layer.W = layer.W - lr * layer.dW``) would rebind the name to a new array: the
optimizer would move θ while the layer kept its own numbers, silently.  So tinyae makes
an assignment either safe or loud:

* a ``tinyae.Layer`` writes the assigned value into its view (``Layer.__setattr__``),
  so ``W = W - lr * dW`` and ``W -= lr * dW`` do the same; a value of the wrong shape
  raises ``ShapeError``;
* for a layer object of any other class, ``forward`` and ``predict`` check that each
  parameter and gradient still *is* its view, and raise ``DetachedParameterError``
  (which layer, which name, how to fix it) the next time the model runs;
* the same holds one level up: assigning ``model.params = saved`` (or ``model.grads``)
  writes the values into the vectors (``FlatVector``), so the layers, the optimizer and
  ``save`` keep seeing one θ.

``bind_parameters`` records each layer's views on the layer itself (``layer._views``),
so composite models that bind the layers of their parts into one vector
(``Autoencoder``, ``VAE``) are covered in the same way.

A layer belongs to one model
----------------------------
A layer holds one ``W``, so it can be a view into one θ only.  Hence:

* the same layer object twice in one model is refused when the model is built (it
  would get two slices of θ and use one of them);
* a model built from layers an earlier model already has takes them over (so a
  notebook cell that rebuilds the model still works), and the earlier model refuses
  to run (``DetachedParameterError``): otherwise its optimizer would move numbers
  that no layer reads any more, and it would train nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from tinyae.checks import as_generator
from tinyae.layers import Dense, Layer, ShapeError
from tinyae.losses import Loss
from tinyae.safeguards import check_batch, check_count, gigabytes
from tinyae.text import format_table

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_dtype(dtype: Any) -> np.dtype:
    """``np.dtype(dtype)`` if it is float32 or float64, else a clear error."""
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 (fast) or float64 (exact), got {dtype}")
    return dtype


class DetachedParameterError(RuntimeError):
    """A layer's parameter or gradient is no longer its view into the model's vectors."""


def bind_parameters(layers: Iterable[Layer], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Move the parameters of ``layers`` into one flat vector and return ``(params, grads)``.

    Each layer's parameter ``W`` (and gradient ``dW``) becomes a reshaped view of a
    slice of ``params`` (``grads``); its current values are copied in.  Gradients start
    at 0.  The views are recorded on the layer, ``layer._views = {"W": …, "dW": …}``:
    ``Layer.__setattr__`` writes into them and ``check_views`` compares against them.
    Binding layers again (a composite model joining its parts) replaces their views.
    The same layer object twice is refused: it would get two slices of θ, of which
    the layer could use only one (see ``_check_distinct``).
    """
    layers = list(layers)
    _check_distinct(layers)
    total = sum(np.size(getattr(layer, name)) for layer in layers for name in layer.param_names)
    try:
        params, grads = np.empty(total, dtype), np.zeros(total, dtype)
    except MemoryError:
        raise MemoryError(
            f"this network needs {gigabytes(2 * total * dtype.itemsize)} GB for its {total:,} "
            f"parameters and their gradients ({dtype}, {dtype.itemsize} bytes each), and "
            f"training adds the optimizer's state (Adam: as much again), more than this machine "
            f"could allocate: use fewer or narrower layers (a smaller --arch)"
        ) from None
    start = 0
    for layer in layers:
        views = {}
        for name in layer.param_names:
            value = np.asarray(getattr(layer, name))
            stop = start + value.size
            views[name] = params[start:stop].reshape(value.shape)
            views[name][...] = value
            views["d" + name] = grads[start:stop].reshape(value.shape)
            start = stop
        if views:
            _bind(layer, views)
    return params, grads


def _check_distinct(layers: Sequence[Any]) -> None:
    """Raise ``ValueError`` if one layer object appears twice in ``layers``.

    A layer used twice would get two slices of θ but keep only the second as its ``W``:
    the first slice is counted in ``n_params`` and moved by the optimizer, yet used by
    nothing; and its second ``forward`` would overwrite what the first cached for
    ``backward``.  Weights shared on purpose (a tied decoder) need a layer class of their own.
    """
    first: dict[int, int] = {}
    for i, layer in enumerate(layers):
        j = first.setdefault(id(layer), i)
        if j != i:
            raise ValueError(
                f"layers {j} and {i} are the same {layer!r} object, but a layer keeps one set of "
                f"parameters and one forward's cache for backward, so each position needs its "
                f"own: build a new {type(layer).__name__}(…) for position {i} instead of reusing "
                f"the object"
            )


def _bind(layer: Any, views: dict[str, np.ndarray]) -> None:
    """Point the layer's attributes at ``views`` and record them as ``layer._views``.

    ``object.__setattr__`` on purpose: ``Layer.__setattr__`` would copy the new view's
    values into the old view instead of rebinding the name.
    """
    for name, view in views.items():
        object.__setattr__(layer, name, view)
    object.__setattr__(layer, "_views", views)


def check_views(layers: Sequence[Any], bindings: Sequence[dict[str, np.ndarray] | None]) -> None:
    """Raise ``DetachedParameterError`` if a layer's parameter or gradient is not the model's view.

    ``bindings[i]`` is the ``_views`` a model gave ``layers[i]`` when it bound it.  One
    identity test (``is``) per layer and per parameter: cheap enough for every batch.
    A model finds out this way that a model built later from the same layer objects
    took them over (the layer's ``_views`` are that model's now), and that an
    assignment ``self.W = …`` in a layer class that does not subclass ``tinyae.Layer``
    rebound a name to a new array.
    """
    for i, (layer, views) in enumerate(zip(layers, bindings, strict=True)):
        if views is None:
            continue
        bound = views.items()
        if getattr(layer, "_views", None) is not views:
            raise DetachedParameterError(_taken_message(i, layer))
        for name, view in bound:
            if getattr(layer, name, None) is not view:
                raise DetachedParameterError(_detached_message(i, layer, name))


def _taken_message(index: int, layer: Any) -> str:
    """Why a model whose layer another model took over cannot run, and the fix."""
    return (
        f"layer {index} ({layer!r}) now belongs to a model built later from the same layer "
        f"object, whose θ it reads and whose gradients it fills: this model's optimizer "
        f"would move numbers that nothing uses. Build each model from its own, new layers "
        f"(e.g. a function that returns a fresh list), or keep using the newer model."
    )


def _detached_message(index: int, layer: Any, name: str) -> str:
    """What went wrong with ``layer.<name>`` and how to fix it, in words."""
    vector = "model.params (θ)" if name in layer.param_names else "model.grads"
    return (
        f"layer {index} ({type(layer).__name__}): {name} is no longer a view into {vector}. "
        f"An assignment `self.{name} = …` rebinds the name to a new array, so the optimizer "
        f"and the layer now hold different numbers; `self.{name} -= …`, `self.{name} += …` "
        f"or `self.{name}[...] = …` update it in place. Fix the update (or subclass "
        f"tinyae.Layer, whose assignments write into the view), then rebuild the model."
    )


class FlatVector:
    """The attribute ``model.params`` (or ``model.grads``): the flat vector the layers' views live in.

    Reading it gives the vector itself.  Assigning to it writes the values into that
    vector, ``model.params = saved`` doing what ``model.params[...] = saved`` does: the
    layers' ``W`` and ``b`` are views into this one vector and would not follow a new
    one, so rebinding the name would leave the optimizer and ``save`` with numbers that
    no layer reads, and training would move nothing, silently.  A value of another
    shape is refused (``ShapeError``).

    The name is rebound in two cases only: the first assignment (the model's own
    ``__init__``), and a vector in which the layers' views already live — a composite
    model that bound the layers of its parts into one θ hands each part its slice.
    ``layers_of(model)`` gives the layers whose views are compared.
    """

    def __init__(self, layers_of: Callable[[Any], Sequence[Any]] = lambda model: model.layers
                 ) -> None:
        self.layers_of = layers_of

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.slot = name, "_" + name

    def __get__(self, model: Any, owner: type | None = None) -> Any:
        if model is None:
            return self
        try:
            return vars(model)[self.slot]
        except KeyError:
            raise AttributeError(f"{type(model).__name__} has no {self.name} yet") from None

    def __set__(self, model: Any, value: Any) -> None:
        current = vars(model).get(self.slot)
        if current is None or value is current or self._holds_views(model, value):
            vars(model)[self.slot] = value
            return
        if np.shape(value) != current.shape:
            raise ShapeError(
                f"{type(model).__name__}.{self.name} is a vector of shape {current.shape} (every "
                f"layer's parameters, flattened), so it cannot take a value of shape "
                f"{np.shape(value)}; assign a vector of the same model's architecture, e.g. a copy "
                f"saved with model.{self.name}.copy()"
            )
        current[...] = value  # into θ, where the layers' views read it

    def _holds_views(self, model: Any, value: Any) -> bool:
        """True if ``value`` is the vector the layers' first view of this kind starts."""
        if not isinstance(value, np.ndarray):
            return False
        prefix = "" if self.name == "params" else "d"
        for layer in self.layers_of(model):
            views, names = getattr(layer, "_views", None), getattr(layer, "param_names", ())
            if views and names:
                view = views[prefix + names[0]]
                return bool(view.size) and view.ctypes.data == value.ctypes.data
        return False


class Sequential:
    """A stack of layers: ``out = layer_L(… layer_2(layer_1(x)))``.

    Parameters
    ----------
    layers : the layers in order, e.g. ``[Dense(784, 100), ReLU(), Dense(100, 784), Sigmoid()]``,
        each object once (see "A layer belongs to one model" above).
    seed : None (default), an int or a Generator.  Which wins, the model's ``seed`` or
        a layer's own ``rng`` (``Dense(…, rng=7)``)?  With ``seed=None``, layers built
        with an explicit ``rng`` keep their weights, and every other layer is drawn from
        ``np.random.default_rng(0)``, in order.  Given a seed, the seed wins: every layer
        is redrawn from ``np.random.default_rng(seed)``, in order.  Either way the same
        layers and seed give the same weights.
    dtype : float32 (default; fast) or float64 (for gradient checks).
    input_grad : if False, the first ``Dense`` skips computing ∂L/∂x (the data needs no
        gradient), which saves one matrix product per batch; ``backward`` then returns None.

    Shapes: ``forward(x)`` maps ``(N, n_in) → (N, n_out)``.
    """

    params = FlatVector()  # θ: assigning writes into it (see FlatVector)
    grads = FlatVector()

    def __init__(
        self,
        layers: Sequence[Layer],
        seed: int | np.random.Generator | None = None,
        dtype: Any = np.float32,
        input_grad: bool = True,
    ) -> None:
        self.layers = _layer_list(layers)
        self.dtype = float_dtype(dtype)
        self.seed = seed
        self.widths = _widths(self.layers)
        rng = as_generator("Sequential", "seed", 0 if seed is None else seed)
        for layer in self.layers:
            # A layer belongs to the last model built from it: redraw into fresh arrays,
            # not into the views of an earlier model's θ.
            vars(layer).pop("_views", None)
            if seed is not None or not getattr(layer, "explicit_rng", False):
                layer.reset_parameters(rng)
        self.params, self.grads = bind_parameters(self.layers, self.dtype)
        self.bindings = bindings_of(self.layers)
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
        """Run the batch through the layers, caching for ``backward``: ``(N, n_in) → (N, n_out)``.

        uint8 pixels 0..255 are scaled to [0, 1]; other integer dtypes are refused.
        ``check=False`` skips the input checks of ``check_batch``: a composite model
        passes it for a part whose input is another part's output, not data — NaN
        there means diverging weights (``fit`` reports that), not bad samples.  The
        parameters are always checked to still be this model's views (``check_views``).
        """
        out = check_batch(x, self.n_in, self.dtype) if check else x
        check_views(self.layers, self.bindings)
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
        """The output for ``x`` without caching anything, in chunks of ``batch_size`` rows.

        uint8 pixels 0..255 are scaled to [0, 1], as in ``forward``.
        """
        x = np.asarray(x)
        check_count("batch_size", batch_size)
        check_views(self.layers, self.bindings)
        chunks = []
        for start in range(0, max(len(x), 1), batch_size):
            out = check_batch(x[start : start + batch_size], self.n_in, self.dtype, first_row=start)
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


def bindings_of(layers: Sequence[Any]) -> list[dict[str, np.ndarray] | None]:
    """The views each layer holds now (None for a layer without parameters), for ``check_views``."""
    return [getattr(layer, "_views", None) for layer in layers]


def _layer_list(layers: Any) -> list[Any]:
    """``layers`` as a list, refusing what is not a list of layer objects with a clear error."""
    if isinstance(layers, Layer) or not isinstance(layers, Iterable):
        raise TypeError(f"Sequential takes a list of layers, e.g. Sequential([Dense(784, 100), "
                        f"ReLU(), Dense(100, 784), Sigmoid()]); got {layers!r}")
    layers = list(layers)
    _check_distinct(layers)
    for i, layer in enumerate(layers):
        if isinstance(layer, type):
            raise TypeError(f"layer {i} is the class {layer.__name__}, not a layer: "
                            f"write {layer.__name__}(…) to make one")
        if isinstance(layer, Loss):
            name = type(layer).__name__
            raise TypeError(f"layer {i} is {layer!r}, a loss, not a layer: a model ends with its "
                            f"output activation (e.g. Sigmoid()), and the loss goes to fit: "
                            f"fit(model, x, loss={name}(), …)")
        if not all(callable(getattr(layer, method, None)) for method in ("forward", "backward")):
            raise TypeError(f"layer {i} is {layer!r}, which has no forward and backward methods: "
                            f"use a tinyae layer or a subclass of tinyae.Layer")
    return layers


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
