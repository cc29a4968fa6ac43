"""Schedules: a training setting as a function of the step ``t`` — the KL weight, the learning rate.

KL-weight schedules
-------------------
A VAE minimises ``recon + w(t) · KL``.  Starting with ``w`` near 0 lets the decoder learn
to use ``z`` before the KL term pulls every posterior onto the prior (the "KL vanishing"
or "posterior collapse" problem); see question 4 of ``docs/questions.md``.

Each schedule is a plain function of the 0-based step index ``t`` (an int, or an integer
array for the whole curve at once) and of the schedule's own settings; it returns the
weight in ``[0, end]``: a float for an int ``t``, an array shaped like ``t`` otherwise.
A "step" can be a batch or an epoch: use the same unit for ``t`` and for the lengths
given to the schedule.  Fix the settings with a ``lambda`` to get the ``w(t)`` that the
``KLAnnealing`` callback (which sets a VAE's ``beta`` during ``fit``) and
``tinyae.plot.schedules`` take::

    KLAnnealing(lambda t: sigmoid_anneal(t, total_steps=2000))

``SCHEDULES`` names them for ``tinyae train --kl-schedule``.

Learning-rate schedules
-----------------------
``cosine_decay`` lowers the learning rate from its start value to ``end`` along half a
cosine (after an optional linear warm-up); the ``LearningRateSchedule`` callback sets
``optimizer.lr`` from it at every batch.  Large steps early cover ground; small steps at
the end settle into a minimum instead of rattling around it, which lowers the final
loss at no extra cost per step::

    LearningRateSchedule(optimizer, lambda t: cosine_decay(t, total_steps=10_000, start=3e-3))
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from tinyae.layers import sigmoid
from tinyae.train import Callback


def constant(t: int | np.ndarray, value: float = 1.0) -> float | np.ndarray:
    """w(t) = value for every t: plain β-VAE (Higgins et al. 2017); value = 1 is the ELBO."""
    _check_weight("value", value)
    return _like(t, np.full_like(_steps(t), value))


def linear_warmup(t: int | np.ndarray, warmup_steps: int, start: float = 0.0,
                  end: float = 1.0) -> float | np.ndarray:
    """Linear KL warm-up (Sønderby et al. 2016, "Ladder Variational Autoencoders").

    w(t) = start + (end − start) · min(1, t / warmup_steps)

    so w(0) = start, w rises linearly and equals ``end`` from ``t = warmup_steps`` on.
    Requires 0 <= start <= end.
    """
    _check_steps("warmup_steps", warmup_steps)
    _check_weight("start", start)
    _check_weight("end", end)
    if start > end:
        raise ValueError(f"start ({start}) must be <= end ({end}): a warm-up rises; "
                         "swap the two values")
    return _like(t, start + (end - start) * np.minimum(1.0, _steps(t) / warmup_steps))


def sigmoid_anneal(t: int | np.ndarray, total_steps: int, k: float | None = None,
                   midpoint: float | None = None, end: float = 1.0) -> float | np.ndarray:
    """Sigmoid KL annealing (Bowman et al. 2015, "Generating Sentences from a Continuous Space").

    w(t) = end · σ(k · (t − t0)) = end / (1 + exp(−k · (t − t0)))

    - ``midpoint`` t0: the step where w = end / 2; default ``total_steps / 2``.
    - ``k`` > 0: the steepness; default ``10 / total_steps``, so with the default midpoint
      w(0) = end · σ(−5) ≈ 0.0067 · end and w(total_steps) = end · σ(5) ≈ 0.9933 · end.
      A larger k gives a sharper switch from 0 to ``end``.

    σ is ``tinyae.layers.sigmoid``, the stable form of the ``Sigmoid`` layer: nothing
    overflows for any k · (t − t0).
    """
    _check_steps("total_steps", total_steps)
    _check_weight("end", end)
    if k is not None:
        _check_weight("k", k)
        if k == 0:
            raise ValueError("k must be > 0 (k = 0 gives the constant end / 2; use constant)")
    if midpoint is not None:
        _check_weight("midpoint", midpoint)
    k = 10.0 / total_steps if k is None else k
    t0 = total_steps / 2 if midpoint is None else midpoint
    return _like(t, end * sigmoid(k * (_steps(t) - t0)))


def cyclical(t: int | np.ndarray, total_steps: int, n_cycles: int = 4, ratio: float = 0.5,
             end: float = 1.0) -> float | np.ndarray:
    """Cyclical annealing (Fu et al. 2019, "Cyclical Annealing Schedule: A Simple Approach
    to Mitigating KL Vanishing").

    The ``total_steps`` T are split into ``n_cycles`` M cycles of length T / M.  With
    τ = ((t · M) mod T) / T, the position inside the current cycle in [0, 1):

    w(t) = end · min(1, τ / ratio)      for t < T,   w(t) = end afterwards.

    In each cycle w restarts at 0, rises linearly during the first ``ratio`` of the cycle
    and stays at ``end`` for the rest.  (With ratio = 1 each cycle ends one step short
    of ``end``.)  τ is computed from integer-valued t, so cycle starts are exact.
    """
    _check_steps("total_steps", total_steps)
    _check_steps("n_cycles", n_cycles)
    _check_weight("end", end)
    _check_weight("ratio", ratio)
    if not 0 < ratio <= 1:
        raise ValueError("ratio must be in (0, 1] (the fraction of each cycle spent rising), "
                         f"got {ratio}")
    if n_cycles > total_steps:
        raise ValueError(f"n_cycles ({n_cycles}) must be <= total_steps ({total_steps}): "
                         "each cycle needs at least one step")
    steps = _steps(t)
    tau = (steps * n_cycles % total_steps) / total_steps
    w = end * np.minimum(1.0, tau / ratio)
    return _like(t, np.where(steps < total_steps, w, end))


def cosine_decay(t: int | np.ndarray, total_steps: int, start: float, end: float = 0.0,
                 warmup_steps: int = 0) -> float | np.ndarray:
    """Cosine learning-rate decay (Loshchilov & Hutter 2017, SGDR without restarts).

    lr(t) = end + (start − end) · ½ (1 + cos(π · τ)),   τ = min(1, (t − t_w) / (T − t_w))

    with T = ``total_steps`` and t_w = ``warmup_steps``: lr(t_w) = start, lr(T) = end.
    During a warm-up (t < t_w) the rate rises linearly instead, lr(t) = start · (t + 1) / t_w
    (Goyal et al. 2017), so that Adam's first, poorly estimated steps are small.
    Requires start > 0, 0 <= end <= start and 0 <= warmup_steps < total_steps.
    """
    _check_steps("total_steps", total_steps)
    _check_weight("start", start)
    _check_weight("end", end)
    if not 0 < start or end > start:
        raise ValueError(f"cosine_decay needs 0 < start and end <= start (the rate decays), "
                         f"got start={start}, end={end}")
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, (int, np.integer)) \
            or not 0 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_steps must be an int in [0, total_steps = {total_steps}), "
                         f"got {warmup_steps!r}")
    steps = _steps(t)
    tau = np.clip((steps - warmup_steps) / (total_steps - warmup_steps), 0.0, 1.0)
    decayed = end + (start - end) * 0.5 * (1 + np.cos(np.pi * tau))
    warm = start * (steps + 1) / max(warmup_steps, 1)
    return _like(t, np.where(steps < warmup_steps, warm, decayed))


# ``tinyae train --kl-schedule NAME``: each schedule as w(t, total_steps, end), rising to
# ``end`` over a run of ``total_steps`` steps (the linear warm-up over its first half).
SCHEDULES: dict[str, Callable[[int | np.ndarray, int, float], float | np.ndarray]] = {
    "constant": lambda t, total_steps, end: constant(t, end),
    "linear": lambda t, total_steps, end: linear_warmup(t, max(total_steps // 2, 1), end=end),
    "sigmoid": lambda t, total_steps, end: sigmoid_anneal(t, total_steps, end=end),
    "cyclical": lambda t, total_steps, end: cyclical(t, total_steps, end=end),
}


def _steps(t: int | np.ndarray) -> np.ndarray:
    """``t`` as a float array, refused unless it holds integers >= 0."""
    t_arr = np.asarray(t)
    if t_arr.dtype == bool or not np.issubdtype(t_arr.dtype, np.integer):
        raise TypeError(
            f"step t must be an int or an integer array, got dtype {t_arr.dtype}; "
            "pass the 0-based step (or epoch) index, e.g. w(3) or w(np.arange(100))"
        )
    if t_arr.size and t_arr.min() < 0:
        raise ValueError(f"step t must be >= 0 (steps count from 0), got {t_arr.min()}")
    return t_arr.astype(np.float64)


def _like(t: int | np.ndarray, w: np.ndarray) -> float | np.ndarray:
    """The weights ``w`` as a float for a scalar step ``t``, as the array otherwise."""
    return float(w) if np.ndim(t) == 0 else w


def _check_steps(name: str, value: int) -> None:
    """Raise unless ``value`` is an int >= 1 (bool is refused: True is not a length)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int number of steps, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")


def _check_weight(name: str, value: float) -> None:
    """Raise unless ``value`` is a finite number >= 0 (a KL weight cannot be negative)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")


class StepSchedule(Callback):
    """Set one training setting to ``schedule(t)`` before every batch of ``fit``.

    ``per="step"``: t is the batch index over the whole run (0, 1, 2, …), the setting
    changes at every batch.  ``per="epoch"``: t is the epoch index, the setting is held
    for all the epoch's batches.  ``on_epoch_end`` records the mean value over the
    epoch's batches as ``record[self.key]``, so ``History`` keeps it next to the loss.
    A subclass names the setting (``key``, ``what``) and says where it goes (``apply``).
    """

    key = "value"  # the name of the recorded value
    what = "value"  # what the schedule returns, for error messages

    def __init__(self, schedule: Callable[[int], float | np.ndarray], per: str = "step") -> None:
        if per not in ("step", "epoch"):
            raise ValueError(f"per must be 'step' (every batch) or 'epoch', got {per!r}")
        if not callable(schedule):
            raise TypeError(f"schedule must be callable as schedule(t) -> {self.what}, "
                            f"got {schedule!r}")
        try:
            inspect.signature(schedule).bind(0)
        except TypeError:
            raise TypeError(f"schedule must take the step t as its one argument, as in "
                            f"lambda t: linear_warmup(t, 500); {schedule!r} cannot be called "
                            "as schedule(t)") from None
        except ValueError:  # some built-ins have no signature to check: trust them
            pass
        self.schedule, self.per = schedule, per
        self.epoch = 0
        self.used: list[float] = []  # the value of each batch of the epoch so far

    def apply(self, model: Any, value: float) -> None:
        """Put ``value`` where it acts (a subclass's job)."""
        raise NotImplementedError

    def on_train_begin(self, model: Any) -> None:
        """Start counting epochs from 0."""
        self.epoch, self.used = 0, []

    def on_batch_begin(self, model: Any, step: int) -> None:
        """``apply(schedule(step))`` (per step) or ``apply(schedule(epoch))`` (per epoch)."""
        t = step if self.per == "step" else self.epoch
        value = self._checked(self.schedule(t), t)
        self.apply(model, value)
        self.used.append(value)

    def on_epoch_end(self, model: Any, epoch: int, record: dict[str, float]) -> None:
        """Record the epoch's mean value as ``record[key]``; the next epoch is ``epoch + 1``."""
        record[self.key] = float(np.mean(self.used))
        self.epoch, self.used = epoch + 1, []

    def _checked(self, w: Any, t: int) -> float:
        """The schedule's output ``w`` as a float, refused unless finite and >= 0.

        A NaN would make every loss NaN, and ``fit`` would blame the learning rate.
        """
        if isinstance(w, (bool, np.bool_)) or not isinstance(w, numbers.Real):
            raise TypeError(f"the {self.what} schedule returned {w!r} at t = {t}; it must return "
                            f"one number, the {self.what} for that step")
        w = float(w)
        if not (math.isfinite(w) and w >= 0):
            raise ValueError(f"the {self.what} schedule returned {w} at t = {t}; a {self.what} "
                             "must be a finite number >= 0 (NaN or inf would make the loss NaN, "
                             "a negative one turns the step around): check the schedule's settings")
        return w


class KLAnnealing(StepSchedule):
    """Set a VAE's KL weight ``model.beta = schedule(t)`` during ``fit``; records ``"beta"``.

    ``schedule``: any w(t), e.g. ``lambda t: linear_warmup(t, warmup_steps=500)``; ``per``:
    see ``StepSchedule``.  The epoch's loss averages recon + β_t·KL over its batches.
    """

    key, what = "beta", "KL weight"

    def on_train_begin(self, model: Any) -> None:
        """Check that the model has a KL weight; start counting epochs from 0."""
        if not hasattr(model, "beta"):
            raise TypeError(f"KLAnnealing sets model.beta, the KL weight of a VAE, but "
                            f"{type(model).__name__} has none; use it with a VAE")
        super().on_train_begin(model)

    def apply(self, model: Any, value: float) -> None:
        """``model.beta = value``."""
        model.beta = value


class LearningRateSchedule(StepSchedule):
    """Set ``optimizer.lr = schedule(t)`` during ``fit``; records ``"lr"``, the epoch's mean rate.

    ``schedule``: any lr(t), e.g. ``lambda t: cosine_decay(t, total_steps, start=3e-3)``
    with t counted in batches (``per="step"``, the default) or epochs (``per="epoch"``).
    """

    key, what = "lr", "learning rate"

    def __init__(self, optimizer: Any, schedule: Callable[[int], float | np.ndarray],
                 per: str = "step") -> None:
        if not hasattr(optimizer, "lr"):
            raise TypeError(f"LearningRateSchedule sets optimizer.lr; {optimizer!r} has no lr: pass "
                            "the optimizer that fit uses")
        super().__init__(schedule, per)
        self.optimizer = optimizer

    def apply(self, model: Any, value: float) -> None:
        """``optimizer.lr = value``."""
        self.optimizer.lr = value
