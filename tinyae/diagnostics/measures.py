"""Health measurements of a network on one batch: what ``Monitor`` records, ``doctor`` reads.

"Layer k" is the k-th ``Dense`` of the model (counting from 1, through the encoder and
then the decoder) together with the activation right after it: the layers 1 to 4 of a
784-100-50-100-784 autoencoder.  ``measure`` returns one flat dict whose keys are:

====================== ====================================================== =========================
key                    measure on a batch x (N, D), target y, prediction p    how to read it
====================== ====================================================== =========================
``layerk/mean_abs``    mean |a| of the layer's output a (after its activation) size of the signal
``layerk/max_abs``     max |a|                                                blow-ups
``layerk/saturated``   sigmoid/tanh only: fraction of outputs within          > 0.5: the layer passes
                       ``SATURATION_MARGIN`` of a bound (0 or 1; −1 or 1)     back almost no gradient
``layerk/dead``        ReLU only: fraction of units with a = 0 on every       > 0.5: half the layer
                       sample of the batch                                    never learns again
``layerk/weight_norm`` ‖W‖ (Frobenius norm)
``layerk/grad_norm``   ‖dW‖ = ‖∂L/∂W‖ (with a loss)                           shrinking towards layer 1:
                                                                              vanishing gradients
``layerk/update_ratio`` ‖ΔW‖ / ‖W‖ over one optimizer step (with the weights  ~1e-3 is typical; < 1e-5:
                       before it)                                             the layer is frozen
``collapse_ratio``     D_self / (D_self + D_mean), D_self = mean_n ‖p_n − y_n‖²,  0: p = y; 1: every p is
                       D_mean = mean_n ‖p_n − ȳ‖²                              the mean image ȳ
``relative_error``     mean (p − y)² / mean_d Var_n(y[:, d])                  1: no better than
                                                                              predicting ȳ
``active_units``       VAE: #{j : Var_n(mu[n, j]) > ``ACTIVE_THRESHOLD``}     0: the KL has collapsed
``zj/kl``              VAE: mean_n ½ (mu² + σ² − 1 − log σ²) of latent j      ≈ 0: z_j is unused
====================== ====================================================== =========================

Only ``W`` enters the norms, not ``b``: biases start at 0, so a ratio to ‖b‖ says nothing
early in training.  ``zj`` counts latent dimensions from 0, like ``z[:, j]``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from tinyae.layers import Dense, Layer, ReLU, ShapeError, Sigmoid, Tanh
from tinyae.losses import Loss
from tinyae.train import as_float_batch

SATURATION_MARGIN = 0.02
"""A sigmoid output within 0.02 of 0 or 1 has σ′ = p(1 − p) < 0.02, under 8 % of its
maximum 1/4; a tanh output within 0.02 of ±1 has 1 − a² < 0.04, under 4 % of its maximum."""

ACTIVE_THRESHOLD = 0.01
"""Burda et al. (2016): latent unit j is active when Var over the data of E_q[z_j] = mu_j
exceeds 0.01; an inactive unit carries (almost) no information about x."""

BOUNDS: dict[type[Layer], tuple[float, float]] = {Sigmoid: (0.0, 1.0), Tanh: (-1.0, 1.0)}


def model_layers(model: Any) -> list[Layer]:
    """Every layer of a ``Sequential``, or of a model with ``encoder`` and ``decoder``, in order."""
    if hasattr(model, "layers"):
        return list(model.layers)
    if hasattr(model, "encoder") and hasattr(model, "decoder"):
        return model_layers(model.encoder) + model_layers(model.decoder)
    raise TypeError(f"cannot find the layers of {type(model).__name__}: diagnostics need a "
                    "Sequential, or a model with .encoder and .decoder Sequentials")


def numbered_layers(model: Any) -> list[tuple[Dense, Layer | None]]:
    """``[(Dense, its activation or None), …]``: entry k − 1 is "layer k"."""
    layers = model_layers(model)
    pairs = []
    for i, layer in enumerate(layers):
        if isinstance(layer, Dense):
            after = layers[i + 1] if i + 1 < len(layers) else None
            pairs.append((layer, None if isinstance(after, Dense) else after))
    return pairs


def is_vae(model: Any) -> bool:
    """True for a model with the VAE's attributes (``encode``, ``latent_dim``, ``beta``, ``reduction``)."""
    return all(hasattr(model, name) for name in ("encode", "latent_dim", "beta", "reduction"))


def snapshot_weights(model: Any) -> list[np.ndarray]:
    """Copies of every layer's ``W``, in layer order: the "before" of ``update_ratio``."""
    return [dense.W.copy() for dense, _ in numbered_layers(model)]


def saturated_fraction(a: np.ndarray, bounds: tuple[float, float],
                       margin: float = SATURATION_MARGIN) -> float:
    """Fraction of the entries of ``a`` within ``margin`` of either bound (low, high)."""
    low, high = bounds
    return float(np.mean((a < low + margin) | (a > high - margin)))


def dead_fraction(a: np.ndarray) -> float:
    """Fraction of the columns (units) of ``a`` (N, units) that are ≤ 0 for every sample."""
    return float(np.mean(~(a > 0).any(axis=0)))


def collapse_ratio(p: np.ndarray, y: np.ndarray, y_mean: np.ndarray | None = None) -> float:
    """D_self / (D_self + D_mean): 0 when p = y, 1 when every row of p is the mean ȳ.

    D_self = mean_n ‖p_n − y_n‖² (how far each reconstruction is from its own target),
    D_mean = mean_n ‖p_n − ȳ‖² (how far it is from the mean target, "the blob").
    p, y: (N, D); y_mean: (D,), by default the mean of y over the batch.  NaN when both
    distances are 0 (constant data reproduced exactly: nothing to tell apart).
    """
    _same_shape("collapse_ratio", p=p, y=y)
    y_mean = y.mean(axis=0) if y_mean is None else y_mean
    if np.shape(y_mean) != p.shape[1:]:
        raise ShapeError(f"collapse_ratio: y_mean must be one mean target of shape {p.shape[1:]}, "
                         f"got {np.shape(y_mean)}; e.g. y_train.mean(axis=0)")
    d_self = float(np.mean(np.sum(np.square(p - y), axis=1)))
    d_mean = float(np.mean(np.sum(np.square(p - y_mean), axis=1)))
    total = d_self + d_mean
    return d_self / total if total > 0 else float("nan")


def relative_error(p: np.ndarray, y: np.ndarray) -> float:
    """mean (p − y)² / mean_d Var_n(y[:, d]): the MSE in units of the data's own spread.

    Predicting the per-feature mean ȳ for every sample gives exactly 1, whatever the
    scale of the data: an absolute MSE of 1e-6 is bad if the data vary by 1e-3
    (question 3).  p, y: (N, D).  NaN when y does not vary at all.
    """
    _same_shape("relative_error", p=p, y=y)
    spread = float(np.mean(np.var(y, axis=0)))
    mse = float(np.mean(np.square(p - y)))
    return mse / spread if spread > 0 else float("nan")


def kl_per_dimension(mu: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """(J,) KL(q(z_j|x) ‖ N(0, 1)) averaged over the batch: mean_n ½ (mu² + e^log_var − 1 − log_var)."""
    _same_shape("kl_per_dimension", mu=mu, log_var=log_var)
    return 0.5 * np.mean(np.square(mu) + np.expm1(log_var) - log_var, axis=0)


def active_units(mu: np.ndarray, threshold: float = ACTIVE_THRESHOLD) -> int:
    """Number of latent dimensions j whose mean mu[:, j] varies over the data: Var_n > threshold."""
    return int(np.sum(np.var(mu, axis=0) > threshold))


def _same_shape(who: str, **arrays: np.ndarray) -> None:
    """Raise unless the named arrays are 2-D and of one shape: NumPy would broadcast them."""
    shapes = {name: np.shape(a) for name, a in arrays.items()}
    if len(set(shapes.values())) > 1 or any(len(shape) != 2 for shape in shapes.values()):
        listed = " and ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ShapeError(f"{who} compares arrays of one shape (N, D), got {listed}; NumPy would "
                         "broadcast them into a meaningless number")


@contextlib.contextmanager
def recording_outputs(layers: list[Layer]) -> Iterator[dict[Layer, np.ndarray]]:
    """Within the block, each layer's ``forward`` also stores its output in ``outputs[layer]``.

    The same idea as PyTorch's forward hooks: an instance attribute ``forward`` shadows
    the class's method for a while, so any model that calls ``layer.forward`` — also a
    VAE, which samples z between its halves — reports every layer's output.
    """
    outputs: dict[Layer, np.ndarray] = {}

    def recorder(layer: Layer, forward):
        def forward_and_record(x: np.ndarray) -> np.ndarray:
            outputs[layer] = forward(x)
            return outputs[layer]
        return forward_and_record

    hooked = list(dict.fromkeys(layers))  # each layer once, even if a model reuses one
    for layer in hooked:
        # Shadowing a method with an attribute is the point here (see above), so mypy's
        # method-assign check does not apply.
        layer.forward = recorder(layer, layer.forward)  # type: ignore[method-assign]
    try:
        yield outputs
    finally:
        for layer in hooked:
            del layer.forward  # the class's method is visible again


@contextlib.contextmanager
def preserved_random_state(model: Any) -> Iterator[None]:
    """Restore the state of every Generator the model holds (the VAE's ε) after the block.

    A probe pass then draws no numbers from the stream training uses, so a run with a
    ``Monitor`` gives the same weights as a run without.
    """
    generators = [value for value in vars(model).values() if isinstance(value, np.random.Generator)]
    states = [rng.bit_generator.state for rng in generators]
    try:
        yield
    finally:
        for rng, state in zip(generators, states):
            rng.bit_generator.state = state


def measure(model: Any, x: np.ndarray, y: np.ndarray | None = None, loss: Loss | None = None, *,
            y_mean: np.ndarray | None = None,
            previous_weights: list[np.ndarray] | None = None) -> dict[str, float]:
    """Every measurement of the table above for one batch ``x`` (N, D), as a flat dict.

    y: the targets (default x, an autoencoder).  loss: needed for ``grad_norm`` (one
    forward and backward pass; the gradients are set back to 0 afterwards, and the
    model's random stream is left where it was).  y_mean: the mean target ȳ (D,) for
    ``collapse_ratio``, e.g. ``x_train.mean(axis=0)`` (÷ 255 for uint8 pixels); default the
    batch's own mean.
    previous_weights: ``snapshot_weights(model)`` taken before an optimizer step, for
    ``update_ratio``.  uint8 pixels are scaled to [0, 1] as ``fit`` does.
    """
    pairs = numbered_layers(model)
    if previous_weights is not None and len(previous_weights) != len(pairs):
        raise ValueError(f"previous_weights has {len(previous_weights)} arrays but the model has "
                         f"{len(pairs)} Dense layers; take it with snapshot_weights(model)")
    x = as_float_batch(np.asarray(x), model.dtype)
    y = x if y is None else as_float_batch(np.asarray(y), model.dtype)
    with preserved_random_state(model), recording_outputs(model_layers(model)) as outputs:
        model.zero_grad()
        p = model.forward(x)
        if p.shape != y.shape:
            raise ShapeError(f"the model outputs {p.shape} but the targets y are {y.shape}; for a "
                             "model that does not reconstruct its input, pass its targets as y")
        if loss is not None:
            loss.forward(p, y)
            model.backward(loss.backward())
        measures = _layer_measures(pairs, outputs, loss is not None, previous_weights)
        model.zero_grad()
        if is_vae(model):
            mu, log_var = model.encode(x)
            measures["active_units"] = float(active_units(mu))
            measures.update({f"z{j}/kl": float(kl) for j, kl in enumerate(kl_per_dimension(mu, log_var))})
    measures["collapse_ratio"] = collapse_ratio(p, y, y_mean)
    measures["relative_error"] = relative_error(p, y)
    return measures


def _layer_measures(pairs: list[tuple[Dense, Layer | None]], outputs: dict[Layer, np.ndarray],
                    with_gradients: bool, previous_weights: list[np.ndarray] | None) -> dict[str, float]:
    """The ``layerk/…`` entries, read from the recorded outputs and the current gradients."""
    measures: dict[str, float] = {}
    for k, (dense, act) in enumerate(pairs, start=1):
        a = outputs[act if act is not None else dense]
        name = f"layer{k}/"
        measures[name + "mean_abs"] = float(np.mean(np.abs(a)))
        measures[name + "max_abs"] = float(np.max(np.abs(a)))
        if act is not None and type(act) in BOUNDS:
            measures[name + "saturated"] = saturated_fraction(a, BOUNDS[type(act)])
        if isinstance(act, ReLU):
            measures[name + "dead"] = dead_fraction(a)
        w_norm = float(np.linalg.norm(dense.W))
        measures[name + "weight_norm"] = w_norm
        if with_gradients:
            measures[name + "grad_norm"] = float(np.linalg.norm(dense.dW))
        if previous_weights is not None:
            step = float(np.linalg.norm(dense.W - previous_weights[k - 1]))
            measures[name + "update_ratio"] = step / w_norm if w_norm > 0 else float("nan")
    return measures
