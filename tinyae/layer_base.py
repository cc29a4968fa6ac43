"""``Layer``, the base class of every layer, and the contract a layer follows.

The layer contract (follow it and your own layer works everywhere in tinyae,
including the gradient checker):

* ``forward(x) -> out`` computes the output **and caches** what ``backward`` needs.
* ``apply(x) -> out`` computes the same output without caching (used by ``predict``).
* ``backward(dout) -> dx`` takes ∂L/∂out, returns ∂L/∂x, and **adds** the parameter
  gradients into ``dW``, ``db``, … (``+=``: gradients accumulate until ``zero_grad``).
  It never modifies ``dout``.
* ``param_names`` lists the parameters; the gradient of parameter ``W`` is ``dW``.
* ``caches`` lists the attributes ``forward`` caches: reading one before the first
  ``forward`` (``backward`` too early) raises an error that says so.

Inside a model, ``W`` and ``dW`` are views into the model's flat vectors (see
``tinyae.model``).  A ``Layer`` keeps them views: ``layer.W = value`` writes the value
into the view (``W[...] = value``) instead of rebinding the name.

Shapes: a batch is a 2-D array ``x`` of shape ``(N, D)``, one row per sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class ShapeError(ValueError):
    """An array reached a layer or loss with a shape it cannot take."""


class Layer:
    """Base class: a layer without parameters whose output has the input's width.

    Once a model has bound the layer (``bind_parameters`` in ``tinyae.model``),
    ``_views`` maps each parameter and gradient name (``"W"``, ``"dW"``, …) to its view
    into the model's flat vectors, and assigning one of those names writes into the
    view: ``layer.W = layer.W - lr * layer.dW`` updates θ, exactly like ``layer.W -= …``.
    Every other attribute (the caches ``self.x``, ``self.p``, …) is a plain attribute.
    """

    param_names: tuple[str, ...] = ()
    caches: tuple[str, ...] = ()  # the attributes forward sets for backward
    _views: dict[str, np.ndarray] | None = None  # None until a model binds the layer

    def __getattr__(self, name: str) -> Any:
        """Called only for an attribute that is not set: explain a cache forward has not filled.

        Python looks here after the normal lookup failed, so a cache that is set costs
        nothing extra; only ``backward`` before any ``forward`` arrives here.
        """
        if name in type(self).caches:
            raise RuntimeError(
                f"{self!r}.{name} is not set: forward(x) caches it for backward(dout), so call "
                f"forward on the batch first (backward differentiates the last forward)"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}",
                             name=name, obj=self)

    def __setattr__(self, name: str, value: Any) -> None:
        """``self.name = value``; for a bound parameter or gradient, ``view[...] = value``.

        ``W -= …`` lands here too, with the view itself as the value: nothing to copy.
        A value of another shape is refused, not broadcast: it usually means a transpose
        or a reshape went wrong, and filling has its own spelling, ``W[...] = 0``.
        """
        views = self._views
        if views is None or name not in views:  # the hot path: caches set every batch
            super().__setattr__(name, value)
            return
        view = views[name]
        if np.shape(value) != view.shape:
            raise ShapeError(
                f"{self!r}.{name} has shape {view.shape} (a view into the model's flat "
                f"vector), so it cannot take a value of shape {np.shape(value)}; assign an "
                f"array of exactly shape {view.shape} (a transpose or reshape missing?), "
                f"or fill it: {name}[...] = value"
            )
        if value is not view:
            view[...] = value

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output for a batch ``x`` and cache what ``backward`` needs."""
        raise NotImplementedError

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Compute the output without caching anything; by default, ``forward``."""
        return self.forward(x)

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """Given ∂L/∂out, accumulate parameter gradients and return ∂L/∂x.

        None only from a network's first layer told to skip ∂L/∂x (the data needs none).
        """
        raise NotImplementedError

    def _check_dout(self, dout: np.ndarray, shape: tuple[int, ...]) -> None:
        """Raise ``ShapeError`` unless ∂L/∂out has ``shape``, that of the last forward's output.

        NumPy would broadcast a (1, D) ``dout`` against (N, D) caches without a word and
        hand back a gradient of the wrong size.
        """
        if np.shape(dout) != shape:
            raise ShapeError(
                f"{self!r}.backward got dout of shape {np.shape(dout)}, but its last forward "
                f"output {shape}: dout = ∂L/∂out holds one number per output element"
            )

    def parameters(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """The layer's ``(name, value, gradient)`` triples, e.g. ``("W", W, dW)``."""
        return [(n, getattr(self, n), getattr(self, "d" + n)) for n in self.param_names]

    def zero_grad(self) -> None:
        """Set every parameter gradient to 0 (in place, so views stay valid)."""
        for _, _, grad in self.parameters():
            grad.fill(0)

    def reset_parameters(self, rng: np.random.Generator) -> None:
        """Draw fresh parameter values from ``rng``; nothing to do without parameters."""

    def output_dim(self, n_in: int) -> int:
        """Width of the output for an input of width ``n_in``."""
        return n_in

    def config(self) -> dict[str, Any]:
        """Constructor arguments, so ``type(layer)(**layer.config())`` rebuilds it."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"
