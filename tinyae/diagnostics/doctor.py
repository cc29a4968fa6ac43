"""``doctor``: examine a model, its loss, its data and its optimizer, and say what will go wrong.

::

    findings = doctor(model, BCE(), x_train, optimizer=SGD(0.01))
    print(format_findings(findings))

Some checks read the configuration (which output layer, which loss, what range the data
has); others measure the model once on up to ``DOCTOR_SAMPLES`` samples with
``measure`` (saturated or dead layers, vanishing gradients, a collapsed output).  Each
finding has a stable code:

======================= ======== ============================================================ ========
code                    severity fires when                                                   question
======================= ======== ============================================================ ========
``non-finite-data``     error    x or y holds NaN or inf (only checks that need no data values
                                 run then)
``non-finite-weights``  error    the model's weights hold NaN or inf: nothing can be measured
``overflow``            error    finite weights so large that a layer's outputs overflow
``shape-mismatch``      error    the data's width does not fit the model's input or output
``softmax-per-pixel``   error    a softmax output under a per-element loss (MSE, BCE)          2
``bce-target-range``    error    BCE with targets outside [0, 1]                               2
``bce-output``          error    BCE on an output that is not a sigmoid (p can leave [0, 1])
``output-range``        error    the output activation cannot reach some targets (a sigmoid    3
                                 for data around 1.1, a ReLU for negative targets)
``raw-pixels``          warning  inputs that look like raw pixels: whole numbers up to 255     2
``double-sigmoid``      warning  BCEWithLogits after a Sigmoid output: σ applied twice
``tiny-spread``         warning  the data's std per feature < ``SPREAD_RATIO`` × |its mean|    3
``learning-rate``       warning  lr outside ``LEARNING_RATES`` for the optimizer
``kl-balance``          warning  a VAE whose effective β (after the reductions) is outside     4
                                 ``KL_BALANCE_RANGE``
``vanishing-gradients`` warning  layer 1's gradient per weight < ``VANISHING_RATIO`` × the     1
                                 output layer's (a note with Adam, which compensates)
``saturated``           warning  > half of a hidden layer's sigmoid/tanh outputs saturated     1
``dead-relus``          warning  > half of a hidden layer's ReLUs never fire
``mean-collapse``       warning  the outputs are (nearly) the mean image: a trained "blob"      1
``kl-collapse``         warning  a VAE with no active latent unit                              4
``bce-floor``           note     BCE on grey targets: the loss cannot reach 0, only H(y)       2
======================= ======== ============================================================ ========

The thresholds of the measured checks live in ``tinyae.diagnostics.monitors``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from tinyae.checks import describe_rows, non_finite_rows
from tinyae.diagnostics.findings import Finding, by_severity
from tinyae.diagnostics.measures import is_vae, measure, model_layers, numbered_layers
from tinyae.diagnostics.monitors import VANISHING_GRADIENTS, check_measures
from tinyae.layers import Dense, Identity, Layer, ReLU, ShapeError, Sigmoid, Softmax, Tanh
from tinyae.losses import BCE, BCEWithLogits, Loss, binary_entropy
from tinyae.models.vae import effective_beta
from tinyae.optim import SGD, Adam, Optimizer
from tinyae.train import as_float_batch

DOCTOR_SAMPLES = 512  # rows of x measured: enough for stable statistics, fast on any laptop
SPREAD_RATIO = 1e-2  # std / |mean| below this: the variations drown in the offset
LEARNING_RATES: dict[type[Optimizer], tuple[float, float]] = {SGD: (1e-4, 1.0), Adam: (1e-5, 1e-2)}
USUAL_LR = {SGD: 0.01, Adam: 1e-3}
KL_BALANCE_RANGE = (0.01, 100.0)  # effective β relative to the ELBO's β = 1

NON_FINITE_DATA = "non-finite-data"
NON_FINITE_WEIGHTS = "non-finite-weights"
OVERFLOW = "overflow"
SHAPE_MISMATCH = "shape-mismatch"
SOFTMAX_PER_PIXEL = "softmax-per-pixel"
BCE_TARGET_RANGE = "bce-target-range"
BCE_OUTPUT = "bce-output"
OUTPUT_RANGE = "output-range"
RAW_PIXELS = "raw-pixels"
DOUBLE_SIGMOID = "double-sigmoid"
TINY_SPREAD = "tiny-spread"
LEARNING_RATE = "learning-rate"
KL_BALANCE = "kl-balance"
BCE_FLOOR = "bce-floor"

# The closed range each output activation can reach (its limits included: σ → 0 is fine for y = 0).
OUTPUT_RANGES: dict[type[Layer], tuple[float, float]] = {
    Sigmoid: (0.0, 1.0), Tanh: (-1.0, 1.0), ReLU: (0.0, math.inf)}


@dataclass
class Case:
    """What ``doctor`` examines: the data as ``fit`` will see it, and the raw ``x`` as given."""

    model: Any
    loss: Loss
    x: np.ndarray
    y: np.ndarray
    raw_x: np.ndarray
    targets_given: bool
    optimizer: Optimizer | None
    batch_size: int
    output: Layer | None  # the output activation; None for a linear output


def doctor(model: Any, loss: Loss, x: np.ndarray, y: np.ndarray | None = None,
           optimizer: Optimizer | None = None, *, batch_size: int = 128) -> list[Finding]:
    """Every problem found in this configuration, errors first (see the table above).

    x: (N, D) training inputs (only the first ``DOCTOR_SAMPLES`` rows are used; uint8
    pixels are scaled to [0, 1] as ``fit`` does).  y: targets (default x).  optimizer:
    checks its learning rate.  batch_size: the one ``fit`` will use ("sum" reductions
    scale with it).  The model is left as it was: gradients zeroed, random stream restored.
    """
    _check_arguments(loss, optimizer, batch_size)
    raw_x = np.asarray(x)[:DOCTOR_SAMPLES]
    raw_y = raw_x if y is None else np.asarray(y)[:DOCTOR_SAMPLES]
    if raw_x.ndim != 2 or raw_y.ndim != 2 or len(raw_x) != len(raw_y) or len(raw_x) == 0:
        raise ValueError(f"doctor needs x and y of shape (N, D) with the same N ≥ 1, got "
                         f"{raw_x.shape} and {raw_y.shape}; flatten images with x.reshape(len(x), -1)")
    for what, data in (("x", raw_x), ("y", raw_y)):
        if data.dtype.kind not in "biuf":
            raise TypeError(f"doctor needs {what} as an array of numbers, got dtype {data.dtype}")
    last = model_layers(model)[-1]
    case = Case(model, loss, as_float_batch(raw_x, model.dtype), as_float_batch(raw_y, model.dtype),
                raw_x, y is not None, optimizer, batch_size,
                None if isinstance(last, (Dense, Identity)) else last)
    bad_data = _non_finite_data(case)
    if bad_data is not None:  # the data checks and measurements would only report NaN
        return by_severity([bad_data, *(f for check in CONFIG_CHECKS if (f := check(case)))])
    findings = [finding for check in CHECKS if (finding := check(case)) is not None]
    return by_severity(findings + _measured(case))


def _check_arguments(loss: Any, optimizer: Any, batch_size: Any) -> None:
    """Refuse arguments that would make doctor fail deep inside, or silently skip a check."""
    if not isinstance(loss, Loss):
        raise TypeError(f"doctor needs a tinyae loss such as BCE(), got {loss!r}; "
                        "for a loss by name use tinyae.get_loss('bce')")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a tinyae optimizer such as Adam(1e-3) (or None), got "
                        f"{optimizer!r}; for one by name use tinyae.get_optimizer('adam', lr=1e-3)")
    whole = isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool)
    if not whole or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number ≥ 1, the one fit will use, "
                         f"got {batch_size!r}")


def _non_finite_data(case: Case) -> Finding | None:
    arrays = {"targets y": case.y, "inputs x": case.x} if case.targets_given else {"data x": case.x}
    bad = {what: non_finite_rows(data) for what, data in arrays.items()}
    bad = {what: rows for what, rows in bad.items() if len(rows)}
    if not bad:
        return None
    where = "; ".join(f"the {what} in {describe_rows(rows, len(case.x))}"
                      for what, rows in bad.items())
    return Finding(
        NON_FINITE_DATA, "error",
        f"NaN or inf in {where}: their loss is NaN whatever the model does, and fit would stop "
        "at the first batch holding one",
        "remove or repair those samples before training (np.isfinite(x).all(axis=1) marks "
        "the good rows)")


def _non_finite_weights(model: Any) -> Finding | None:
    params = np.asarray(model.params)
    bad = int(np.count_nonzero(~np.isfinite(params)))
    if bad == 0:
        return None
    first = next((f"layer {k}" for k, (dense, _) in enumerate(numbered_layers(model), start=1)
                  if not (np.isfinite(dense.W).all() and np.isfinite(dense.b).all())), "the model")
    return Finding(
        NON_FINITE_WEIGHTS, "error",
        f"the model's weights are not finite: NaN or inf in {bad:,} of its {params.size:,} "
        f"parameters (the first in {first}), so its outputs are NaN and no training step can "
        "bring them back",
        "load a copy saved while its weights were finite (tinyae.load), or build the model again "
        "(a new seed) and retrain it")


def _overflow(model: Any) -> Finding:
    largest = max(float(np.max(np.abs(dense.W))) for dense, _ in numbered_layers(model))
    return Finding(
        OVERFLOW, "error",
        f"the weights are finite but so large (max |W| = {largest:.3g}) that computing with them "
        f"overflows {model.dtype} on this data: the outputs and every measurement are meaningless",
        "load a copy saved before the weights grew (tinyae.load), or build the model again "
        "(a new seed) and retrain it")


def _softmax_per_pixel(case: Case) -> Finding | None:
    if not isinstance(case.output, Softmax) or case.y.shape[1] < 2:
        return None
    return Finding(
        SOFTMAX_PER_PIXEL, "error",
        f"the output layer is a softmax, so each row of {case.y.shape[1]} outputs sums to 1, but "
        f"{type(case.loss).__name__} compares every output with its own target and a target row sums "
        f"to {case.y.sum(axis=1).mean():.3g} on average: a softmax cannot draw an image",
        "use a sigmoid output for targets in [0, 1] (a linear one otherwise); "
        "softmax picks one class of many")


def _bce_target_range(case: Case) -> Finding | None:
    low, high = float(case.y.min()), float(case.y.max())
    if not isinstance(case.loss, (BCE, BCEWithLogits)) or 0 <= low <= high <= 1:
        return None
    return Finding(
        BCE_TARGET_RANGE, "error",
        f"{type(case.loss).__name__} needs targets in [0, 1], but these run from {low:g} to {high:g}: "
        "outside [0, 1] it can go negative and its minimum is no longer at p = y",
        "scale the targets to [0, 1] (pixels: divide by 255), or use MSE for real-valued targets")


def _raw_pixels(case: Case) -> Finding | None:
    x = case.raw_x
    if x.dtype == np.uint8 or x.dtype.kind not in "iuf":  # fit scales uint8 pixels itself
        return None
    low, high = float(x.min()), float(x.max())
    if not (0 <= low and 1 < high <= 255 and np.array_equal(x, np.round(x))):
        return None
    return Finding(
        RAW_PIXELS, "warning",
        f"the inputs look like raw pixels, whole numbers from {low:g} to {high:g}: inputs this large push "
        "the first layer's pre-activations far from 0 (saturated sigmoids, huge ReLU outputs)",
        "divide by 255, or pass the uint8 array itself: fit scales it to [0, 1] batch by batch")


def _describe(layer: Layer | None) -> str:
    return "linear" if layer is None else f"a {type(layer).__name__}"


def _bce_output(case: Case) -> Finding | None:
    if type(case.loss) is not BCE or isinstance(case.output, (Sigmoid, Softmax)):
        return None
    return Finding(
        BCE_OUTPUT, "error",
        f"BCE takes probabilities p in [0, 1], but the output layer is {_describe(case.output)}, "
        "whose values can leave [0, 1] (BCE then refuses them)",
        "put a Sigmoid on the output, or keep it linear and use BCEWithLogits (more stable)")


def _double_sigmoid(case: Case) -> Finding | None:
    if not (isinstance(case.loss, BCEWithLogits) and isinstance(case.output, (Sigmoid, Softmax))):
        return None
    return Finding(
        DOUBLE_SIGMOID, "warning",
        "BCEWithLogits applies the sigmoid itself, but the output layer is already "
        f"{_describe(case.output)}: "
        "the predictions become σ(σ(z)), squeezed between 0.5 and 0.73",
        "make the output linear (drop the final activation), or use BCE")


def _output_range(case: Case) -> Finding | None:
    if case.output is None or type(case.output) not in OUTPUT_RANGES:
        return None
    low, high = OUTPUT_RANGES[type(case.output)]
    outside = float(np.mean((case.y < low) | (case.y > high)))
    if outside == 0:
        return None
    return Finding(
        OUTPUT_RANGE, "error",
        f"the output layer is {_describe(case.output)}, whose values lie in [{low:g}, {high:g}], but "
        f"{outside:.0%} of the targets lie outside (from {case.y.min():g} to {case.y.max():g}): "
        "the model can never reach them",
        "use a linear output (Identity), or rescale the targets into the output's range")


def _tiny_spread(case: Case) -> Finding | None:
    arrays = {"targets": case.y, "inputs": case.x} if case.targets_given else {"data": case.y}
    for what, data in arrays.items():
        spread = math.sqrt(float(np.mean(np.var(data, axis=0, dtype=np.float64))))
        level = abs(float(np.mean(data, dtype=np.float64)))
        if len(data) < 2 or not spread < SPREAD_RATIO * level:
            continue
        return Finding(
            TINY_SPREAD, "warning",
            f"the {what} vary by only {spread:.3g} (std per feature) around {level:.4g}, "
            f"{spread / level:.2%} of their size: predicting the mean everywhere already gives "
            f"an MSE of {spread ** 2:.2g}, "
            "so a small loss proves nothing and the variations are too small to learn",
            "standardise, (x − mean) / std per feature or per sample, on the way in and undo it on the "
            "way out; judge the fit by relative_error, not by the MSE")
    return None


def _learning_rate(case: Case) -> Finding | None:
    for cls, (low, high) in LEARNING_RATES.items():
        if isinstance(case.optimizer, cls) and not low <= case.optimizer.lr <= high:
            lr, name = case.optimizer.lr, cls.__name__
            effect = ("too large: the loss will jump around or diverge" if lr > high
                      else "too small: the weights will hardly move")
            return Finding(
                LEARNING_RATE, "warning",
                f"{name}(lr={lr:g}) is far outside the usual range for {name}, {low:g} to {high:g}: {effect}",
                f"start from lr = {USUAL_LR[cls]:g} and change it by factors of 3 to 10")
    return None


def _kl_balance(case: Case) -> Finding | None:
    model = case.model
    if not is_vae(model) or model.beta == 0:  # β = 0: the KL is off on purpose (or annealing starts)
        return None
    K, J = model.input_dim, model.latent_dim
    beta = effective_beta(model.beta, case.loss.reduction, model.reduction, K, J, case.batch_size)
    low, high = KL_BALANCE_RANGE
    if low <= beta <= high:
        return None
    effect = ("the KL dwarfs the reconstruction: expect the posterior to collapse (no active latent "
              "units) and the same blurry output for every input" if beta > high else
              "the KL vanishes: a plain autoencoder whose latent space is not close to N(0, I)")
    return Finding(
        KL_BALANCE, "warning",
        f"with reconstruction reduction {case.loss.reduction!r}, KL reduction {model.reduction!r} and "
        f"β = {model.beta:g}, the KL weighs {beta:.3g}× what it does in the ELBO (effective β = {beta:.3g}, "
        f"β_norm = effective β·J/K = {beta * J / K:.3g}): {effect}",
        f"use the same reduction for both (\"batchmean\" is the ELBO per sample), or keep these and set "
        f"β ≈ {model.beta / beta:.3g}")


def _bce_floor(case: Case) -> Finding | None:
    y = case.y
    grey = float(np.mean((y > 0) & (y < 1)))
    if not isinstance(case.loss, (BCE, BCEWithLogits)) or grey == 0 or y.min() < 0 or y.max() > 1:
        return None
    per_sample = float(binary_entropy(y).sum(axis=1).mean())
    reduction = case.loss.reduction
    floor = {"mean": per_sample / y.shape[1], "batchmean": per_sample,
             "sum": per_sample * case.batch_size}[reduction]
    return Finding(
        BCE_FLOOR, "note",
        f"{grey:.0%} of the targets are grey (strictly between 0 and 1) and BCE cannot go below their "
        f"binary entropy H(y): with reduction {reduction!r} a perfect reconstruction scores "
        f"{floor:.4g}, not 0",
        "compare the loss with that floor (loss − H(y)), not with 0; it is expected, not a bug")


# The checks that read only the configuration, not the data's values: they still run on
# data holding NaN.
CONFIG_CHECKS: tuple[Callable[[Case], Finding | None], ...] = (
    _bce_output, _double_sigmoid, _learning_rate, _kl_balance)
CHECKS: tuple[Callable[[Case], Finding | None], ...] = (
    _softmax_per_pixel, _bce_target_range, _raw_pixels, _bce_output, _double_sigmoid,
    _output_range, _tiny_spread, _learning_rate, _kl_balance, _bce_floor)


def _measure(case: Case) -> dict[str, float]:
    """``measure`` with the loss, or without it (no gradients) if the loss refuses this data."""
    try:
        return measure(case.model, case.x, case.y, case.loss)
    except ShapeError:
        raise
    except ValueError:  # e.g. BCE refusing targets outside [0, 1]: already reported above
        return measure(case.model, case.x, case.y)


def _measured(case: Case) -> list[Finding]:
    """The monitor's checks (see ``monitors.check_measures``) on one pass over the data."""
    weights = _non_finite_weights(case.model)
    if weights is not None:
        return [weights]
    try:
        with np.errstate(over="raise", invalid="raise"):  # healthy weights do neither
            measures = _measure(case)
    except ShapeError as error:
        return [Finding(SHAPE_MISMATCH, "error", str(error),
                        "make the data's width match the model, or build the model for this data")]
    except FloatingPointError:
        return [_overflow(case.model)]
    findings = check_measures(case.model, measures)
    if isinstance(case.optimizer, Adam):
        findings = [replace(finding, severity="note", message=finding.message + "; Adam rescales "
                            "each weight's step, which largely makes up for it")
                    if finding.code == VANISHING_GRADIENTS else finding for finding in findings]
    return findings
