"""KL-weight schedules: how much the KL term counts at training step ``t``.

A VAE minimises ``recon + w(t) · KL``.  Starting with ``w`` near 0 lets the decoder learn
to use ``z`` before the KL term pulls every posterior onto the prior (the "KL vanishing"
or "posterior collapse" problem); see question 4 of ``docs/questions.md``.

Every schedule is a small callable object: ``schedule(t)`` maps a 0-based step index
``t`` (an int, or an integer array for the whole curve at once) to a weight in
``[0, end]``.  A "step" can be a batch or an epoch: use the same unit for ``t`` and for
the lengths given to the schedule.  ``get_schedule("sigmoid", total_steps=1000)`` builds
one by name (used by configuration files and the CLI), and the ``KLAnnealing``
callback applies one to a VAE's ``beta`` during ``fit``.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinyae.layers import sigmoid
from tinyae.train import Callback


def _check_steps(name: str, value: int, minimum: int = 1) -> None:
    """Raise unless ``value`` is an int >= ``minimum`` (bool is rejected: True is not a length)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int number of steps, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _check_weight(name: str, value: float) -> None:
    """Raise unless ``value`` is a finite number >= 0 (a KL weight cannot be negative)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")


class Schedule:
    """Base class: validates ``t`` and returns a float (int ``t``) or an array (array ``t``).

    Subclasses set ``end`` (the largest weight, β_max) and implement ``_weight(t)`` for a
    float array of steps ``t >= 0``.
    """

    end: float

    def __call__(self, t: int | np.ndarray) -> float | np.ndarray:
        """Weight at step ``t``: int -> float, integer array of any shape -> float array."""
        t_arr = np.asarray(t)
        if t_arr.dtype == bool or not np.issubdtype(t_arr.dtype, np.integer):
            raise TypeError(
                f"step t must be an int or an integer array, got dtype {t_arr.dtype}; "
                "pass the 0-based step (or epoch) index, "
                "e.g. schedule(3) or schedule(np.arange(100))"
            )
        if t_arr.size and t_arr.min() < 0:
            raise ValueError(f"step t must be >= 0 (steps count from 0), got {t_arr.min()}")
        w = self._weight(t_arr.astype(np.float64))
        return float(w) if t_arr.ndim == 0 else w

    def _weight(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True)
class Constant(Schedule):
    """w(t) = value for every t: plain β-VAE (Higgins et al. 2017); value = 1 is the ELBO."""

    value: float = 1.0

    def __post_init__(self) -> None:
        _check_weight("value", self.value)

    @property
    def end(self) -> float:  # type: ignore[override]
        return float(self.value)

    def _weight(self, t: np.ndarray) -> np.ndarray:
        return np.full_like(t, self.value)


@dataclass(frozen=True)
class LinearWarmup(Schedule):
    """Linear KL warm-up (Sønderby et al. 2016, "Ladder Variational Autoencoders").

    w(t) = start + (end − start) · min(1, t / warmup_steps)

    so w(0) = start, w rises linearly and equals ``end`` from ``t = warmup_steps`` on.
    Requires 0 <= start <= end.
    """

    warmup_steps: int
    start: float = 0.0
    end: float = 1.0

    def __post_init__(self) -> None:
        _check_steps("warmup_steps", self.warmup_steps)
        _check_weight("start", self.start)
        _check_weight("end", self.end)
        if self.start > self.end:
            raise ValueError(
                f"start ({self.start}) must be <= end ({self.end}): a warm-up rises; "
                "swap the two values"
            )

    def _weight(self, t: np.ndarray) -> np.ndarray:
        return self.start + (self.end - self.start) * np.minimum(1.0, t / self.warmup_steps)


@dataclass(frozen=True)
class SigmoidAnneal(Schedule):
    """Sigmoid KL annealing (Bowman et al. 2015, "Generating Sentences from a Continuous Space").

    w(t) = end · σ(k · (t − t0)) = end / (1 + exp(−k · (t − t0)))

    - ``midpoint`` t0: the step where w = end / 2; default ``total_steps / 2``.
    - ``k`` > 0: the steepness; default ``10 / total_steps``, so with the default midpoint
      w(0) = end / (1 + e⁵) ≈ 0.0067 · end and w(total_steps) ≈ 0.9933 · end.
      A larger k gives a sharper switch from 0 to ``end``.

    σ is ``tinyae.layers.sigmoid``, the stable form of the ``Sigmoid`` layer: nothing
    overflows for any k · (t − t0).
    """

    total_steps: int
    k: float | None = None
    midpoint: float | None = None
    end: float = 1.0

    def __post_init__(self) -> None:
        _check_steps("total_steps", self.total_steps)
        _check_weight("end", self.end)
        if self.k is not None:
            _check_weight("k", self.k)
            if self.k == 0:
                raise ValueError("k must be > 0 (k = 0 gives the constant end / 2; use Constant)")
        if self.midpoint is not None:
            _check_weight("midpoint", self.midpoint)

    def _weight(self, t: np.ndarray) -> np.ndarray:
        k = 10.0 / self.total_steps if self.k is None else self.k
        t0 = self.total_steps / 2 if self.midpoint is None else self.midpoint
        return self.end * sigmoid(k * (t - t0))


@dataclass(frozen=True)
class Cyclical(Schedule):
    """Cyclical annealing (Fu et al. 2019, "Cyclical Annealing Schedule: A Simple Approach
    to Mitigating KL Vanishing").

    The ``total_steps`` are split into ``n_cycles`` cycles of length T / M.  With
    τ = ((t · M) mod T) / T, the position inside the current cycle in [0, 1):

    w(t) = end · min(1, τ / ratio)      for t < total_steps,   w(t) = end afterwards.

    In each cycle w restarts at 0, rises linearly during the first ``ratio`` of the cycle
    and stays at ``end`` for the rest.  (With ratio = 1 each cycle ends one step short
    of ``end``.)  τ is computed from integer-valued t, so cycle starts are exact.
    """

    total_steps: int
    n_cycles: int = 4
    ratio: float = 0.5
    end: float = 1.0

    def __post_init__(self) -> None:
        _check_steps("total_steps", self.total_steps)
        _check_steps("n_cycles", self.n_cycles)
        _check_weight("end", self.end)
        _check_weight("ratio", self.ratio)
        if not 0 < self.ratio <= 1:
            raise ValueError(
                "ratio must be in (0, 1] (the fraction of each cycle spent rising), "
                f"got {self.ratio}"
            )
        if self.n_cycles > self.total_steps:
            raise ValueError(
                f"n_cycles ({self.n_cycles}) must be <= total_steps ({self.total_steps}): "
                "each cycle needs at least one step"
            )

    def _weight(self, t: np.ndarray) -> np.ndarray:
        tau = (t * self.n_cycles % self.total_steps) / self.total_steps
        w = self.end * np.minimum(1.0, tau / self.ratio)
        return np.where(t < self.total_steps, w, self.end)


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "linear": LinearWarmup,
    "sigmoid": SigmoidAnneal,
    "cyclical": Cyclical,
}


def get_schedule(name: str, **kwargs: Any) -> Schedule:
    """Build a schedule by name: ``"constant"``, ``"linear"``, ``"sigmoid"`` or ``"cyclical"``.

    ``kwargs`` go to the class, e.g. ``get_schedule("cyclical", total_steps=1000, n_cycles=4)``.
    """
    try:
        cls = SCHEDULES[name]
    except KeyError:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}") from None
    signature = inspect.signature(cls)
    try:
        signature.bind(**kwargs)
    except TypeError as err:
        params = signature.parameters.values()
        usage = ", ".join(p.name if p.default is p.empty else f"{p.name}={p.default!r}"
                          for p in params)
        raise TypeError(
            f"get_schedule({name!r}): {err}; arguments are {cls.__name__}({usage})"
        ) from None
    return cls(**kwargs)


class KLAnnealing(Callback):
    """Set a VAE's KL weight ``model.beta = schedule(t)`` during ``fit``.

    ``per="step"``: t is the batch index over the whole run (0, 1, 2, …), β changes at
    every batch.  ``per="epoch"``: t is the epoch index, β is set at the start of each
    epoch and held for all its batches.  Either way ``on_epoch_end`` records the mean
    β of the epoch's batches as ``record["beta"]``, so ``History`` keeps it next to the
    loss (the epoch's loss averages recon + β_t·KL over those batches).

    Example: ``fit(vae, x, …, callbacks=[KLAnnealing(SigmoidAnneal(total_steps=2000))])``.
    """

    def __init__(self, schedule: Schedule, per: str = "step") -> None:
        if per not in ("step", "epoch"):
            raise ValueError(f"per must be 'step' (every batch) or 'epoch', got {per!r}")
        if not callable(schedule):
            raise TypeError(f"schedule must be callable as schedule(t) -> weight, got {schedule!r}")
        self.schedule, self.per = schedule, per
        self.epoch, self.used = 0, []

    def on_train_begin(self, model: Any) -> None:
        """Check that the model has a KL weight; start counting epochs from 0."""
        if not hasattr(model, "beta"):
            raise TypeError(f"KLAnnealing sets model.beta, the KL weight of a VAE, but "
                            f"{type(model).__name__} has none; use it with a VAE")
        self.epoch, self.used = 0, []

    def on_batch_begin(self, model: Any, step: int) -> None:
        """``model.beta = schedule(step)`` (per step) or ``schedule(epoch)`` (per epoch)."""
        model.beta = self.schedule(step if self.per == "step" else self.epoch)
        self.used.append(model.beta)

    def on_epoch_end(self, model: Any, epoch: int, record: dict[str, float]) -> None:
        """Record the epoch's mean β as ``record["beta"]``; the next epoch is ``epoch + 1``."""
        record["beta"] = float(np.mean(self.used))
        self.epoch, self.used = epoch + 1, []
