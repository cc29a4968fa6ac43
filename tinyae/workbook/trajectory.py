"""Checking a student's optimizer by its trajectory, and saying what a wrong one does.

An optimizer is checked by where it takes θ: ``STEPS`` steps from one θ₀ with given
gradients (a ``Run``, drawn from the check's random numbers), compared with tinyae's own
optimizer, which follows PyTorch's conventions.  The gradients have very different sizes,
one exactly 0 and some about 1e-6: ε's place only shows where √v̂ is tiny.  A task
compares the steps Δθ_k = θ_k − θ_(k−1) it cares about (the first step, the later ones,
the parameters with tiny gradients, …) with ``expect_steps``, and whether the steps
follow a learning rate that changes after the third step (as a schedule changes it)
with ``expect_lr_followed``.

A wrong run is first compared with the runs of the task's known wrong rules (``Rule``,
simulated by the task); if none fits, ``describe_steps`` looks at the steps themselves:

* every step −1 × the right one: θ goes UP the gradient;
* every step lr × or 1/lr × the right one: lr applied twice, or not at all;
* every step the same constant c × the right one: a factor in the update;
* the first step right, then wrong: the state carried between steps;
* far off only for the parameters whose gradients are tiny: ε;
* otherwise what the first wrong step's error looks like (``patterns.describe``).

The hints never show the right θ, only how the student's steps differ from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinyae.gradcheck import compare, constant_ratio
from tinyae.workbook.patterns import describe
from tinyae.workbook.task import Mistake, attempt

Rule = Callable[[np.ndarray, dict, np.ndarray, float], None]  # rule(θ, state, g, lr), in place

STEPS = 5
# The learning rate of every run, until a schedule changes it: not 0.1, which is also
# 1 − μ and 1 − β₁ (a factor lr would look like a factor 1 − μ).
LR = 0.2
LR_LATER = 0.1  # a schedule halves lr …
LR_CHANGE = 3  # … from this step index on (the fourth step)
# The sizes of the gradients: very different, one exactly 0 (each run shuffles them and
# may add more of size 1).  Below TINY, ε is not small next to √v̂.
SCALES = np.array([1, 1, 0.1, 1e-6, 1e-6, 0])
TINY = 1e-3
ATOL = 1e-14  # steps agree to this absolutely: θ ~ 1 rounds to 1e-16, a tiny step is 1e-7


@dataclass(frozen=True)
class Run:
    """The inputs of one run of an optimizer.

    ``theta0`` (P,) is where θ starts, ``grads`` (STEPS, P) the gradient given at each step,
    ``lrs`` (STEPS,) the learning rate set before each step, ``scales`` (P,) the size of
    each parameter's gradients.
    """

    theta0: np.ndarray
    grads: np.ndarray
    lrs: np.ndarray
    scales: np.ndarray

    @property
    def tiny(self) -> np.ndarray:
        """(P,) True for the parameters whose gradients are tiny or 0, where ε matters."""
        return self.scales < TINY

    def with_schedule(self) -> Run:
        """The same run with lr changed to ``LR_LATER`` from step ``LR_CHANGE + 1`` on."""
        return dataclasses.replace(self, lrs=np.where(np.arange(STEPS) < LR_CHANGE, LR, LR_LATER))

    def with_constant_gradient(self) -> Run:
        """The same run with the first gradient given again at every step."""
        return dataclasses.replace(self, grads=np.tile(self.grads[0], (STEPS, 1)))


def draw_run(rng: np.random.Generator) -> Run:
    """A run at the constant lr ``LR``: θ₀ ~ N(0, 1), each gradient entry ±(0.5 to 1.5) × its scale.

    Magnitudes bounded away from 0 keep each parameter's gradients of the size its scale
    says (a large one never drifts into ε's realm); the order of the parameters, and
    their number (6 to 8), change from draw to draw.
    """
    scales = rng.permutation(np.concatenate([SCALES, np.ones(rng.integers(0, 3))]))
    signs = rng.choice([-1.0, 1.0], (STEPS, len(scales)))
    grads = scales * signs * rng.uniform(0.5, 1.5, (STEPS, len(scales)))
    return Run(rng.standard_normal(len(scales)), grads, np.full(STEPS, LR), scales)


def simulate(rule: Rule, run: Run) -> np.ndarray:
    """θ after each step of a simulated ``rule``, shape (STEPS, P)."""
    theta, state, out = run.theta0.copy(), {"t": 0}, []
    for g, lr in zip(run.grads, run.lrs, strict=True):
        state["t"] += 1
        rule(theta, state, g.copy(), float(lr))
        out.append(theta.copy())
    return np.array(out)


def follow(opt: Any, run: Run, name: str) -> np.ndarray:
    """θ after each step of an optimizer (the student's or tinyae's), shape (STEPS, P).

    ``opt.lr`` is set before each step, as a schedule does; ``step`` changes θ in place
    (for a ``Remote`` optimizer the change comes back into ``theta``).
    """
    theta, out = run.theta0.copy(), []
    for g, lr in zip(run.grads, run.lrs, strict=True):
        opt.lr = float(lr)
        attempt(f"{name}.step", opt.step, theta, g.copy())
        out.append(theta.copy())
    return np.array(out)


def steps_of(run: Run, thetas: np.ndarray) -> np.ndarray:
    """The steps Δθ_k = θ_k − θ_(k−1) of a trajectory, shape (STEPS, P)."""
    return np.diff(np.vstack([run.theta0, thetas]), axis=0)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal trajectories, NaN and inf included (a wrong rule may produce them too)."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-15, equal_nan=True))


def close(got: np.ndarray, right: np.ndarray, rtol: float) -> bool:
    """Equal steps to ``rtol`` (NaN is never close)."""
    return bool(np.allclose(got, right, rtol=rtol, atol=ATOL))


def known_rule(got: np.ndarray, wrong: list[tuple[Rule, str]], run: Run) -> str:
    """The hint of the first wrong rule whose trajectory ``got`` follows on ``run``, or ``""``."""
    return next((hint for rule, hint in wrong if same(got, simulate(rule, run))), "")


def unmoved_hint(name: str) -> str:
    """The hint for an optimizer that never changed params."""
    return (f"{name}.step never changed params: either it rebinds them — `params = params - …` "
            f"makes a new array, and the model's weights, views into the old one, never move: "
            f"update in place, params -= … — or the step it computes is 0 (a factor that is 0 "
            f"here, like μ = 0 for plain SGD?).")


def expect_steps(name: str, got: np.ndarray, right: np.ndarray, wrong: list[tuple[Rule, str]],
                 run: Run, *, steps: slice = slice(None), entries: np.ndarray | None = None,
                 rtol: float = 1e-9) -> None:
    """Pass if the steps ``steps`` of trajectory ``got`` match ``right``'s on ``entries``.

    ``got`` and ``right`` are θ after each step of ``run`` (STEPS, P); ``entries`` is a (P,)
    mask of the parameters compared (all by default).  A ``Mistake`` otherwise: the hint
    of the known wrong rule whose whole trajectory ``got`` follows, else what the steps
    look like.
    """
    entries = np.ones(len(run.theta0), bool) if entries is None else entries
    got_steps, right_steps = steps_of(run, got), steps_of(run, right)
    if close(got_steps[steps][:, entries], right_steps[steps][:, entries], rtol):
        return
    if not np.any(got - run.theta0):
        raise Mistake(unmoved_hint(name))
    if hint := known_rule(got, wrong, run):
        raise Mistake(hint)
    raise Mistake(describe_steps(name, got_steps, right_steps, run, steps, entries, rtol),
                  about="θ")


def expect_lr_followed(name: str, fixed: np.ndarray, changed: np.ndarray,
                       wrong: list[tuple[Rule, str]], run: Run, *,
                       entries: np.ndarray | None = None, rtol: float = 1e-9) -> str:
    """Pass (with a line of details) if the step where lr changed is lr_new / lr_old × the
    step at the old lr; a ``Mistake`` naming how lr is misused otherwise.

    ``fixed`` is the student's trajectory on ``run`` (constant lr), ``changed`` on
    ``run.with_schedule()``.  Until the change the two runs are the same, and every
    optimizer here takes a step proportional to the lr of that step: its state (v, m,
    t) depends on the gradients only.  So this judges the use of lr on its own, whatever
    else is wrong.
    """
    entries = np.ones(len(run.theta0), bool) if entries is None else entries
    schedule = run.with_schedule()
    old, new = steps_of(run, fixed)[LR_CHANGE, entries], steps_of(schedule, changed)[LR_CHANGE, entries]
    ratio = LR_LATER / LR
    if not np.any(fixed - run.theta0):
        raise Mistake(unmoved_hint(name))
    if not (np.isfinite(old).all() and old.any()):
        raise Mistake(known_rule(fixed, wrong, run) or (
            f"whether {name}.step follows a new lr cannot be seen: at step {LR_CHANGE + 1} it does not "
            f"move θ (or makes it NaN) even with lr unchanged."))
    if close(new, ratio * old, rtol):
        return (f"lr changed from {LR:g} to {LR_LATER:g} after step {LR_CHANGE}: the next step "
                f"shrank by the same factor.")
    if hint := known_rule(changed, wrong, schedule):
        raise Mistake(hint)
    change = f"after lr changed from {LR:g} to {LR_LATER:g} (× {ratio:g}), {name}'s next step"
    c = constant_ratio(new, old, 1e-300)
    if c is not None and np.isclose(c, ratio**2, rtol=1e-6):
        raise Mistake(f"{change} shrank by {ratio**2:g} = {ratio:g}²: lr is applied twice. "
                      f"Multiply by lr once, in the update of θ.")
    if c is not None and np.isclose(c, 1.0, rtol=1e-6):
        raise Mistake(f"{change} stayed as large as before: the step does not follow lr — it is "
                      f"not used, or kept from an earlier step. Read self.lr at each step, as it "
                      f"is then.")
    raise Mistake(f"{change} is not {ratio:g} × the step it takes at the old lr: lr is kept in the "
                  f"state from earlier steps (folded into the velocity, v ← μ·v + lr·g?). Read "
                  f"self.lr at each step and apply it to that step only, θ ← θ − lr · ….")


def describe_steps(name: str, got: np.ndarray, right: np.ndarray, run: Run, steps: slice,
                   entries: np.ndarray, rtol: float) -> str:
    """What the wrong steps ``got`` (STEPS, P) have in common (see the module docstring).

    Only the steps ``steps`` of the parameters ``entries`` are looked at.
    """
    ks = range(STEPS)[steps]
    k = next(k for k in ks if not close(got[k, entries], right[k, entries], rtol))
    if not np.isfinite(got[k, entries]).all():
        return (f"{name}.step made θ NaN or inf at step {k + 1}: a division by 0 (by √v̂ where "
                f"g = 0, without ε?), or the square root of a negative number.")
    earlier_right = k > 0 and close(got[:k, entries], right[:k, entries], rtol)
    found = (step_factor(name, got[ks][:, entries], right[ks][:, entries], run.lrs[ks])
             or (step_history(name, k) if earlier_right else "")
             or small_gradients(name, got[k], right[k], run.tiny))
    row = compare("Δθ", got[k, entries], right[k, entries])
    if not found:
        regions = {"for the parameters whose gradients are tiny (about 1e-6) or 0": run.tiny[entries],
                   "for the parameters whose gradients are of size 0.1 to 1": ~run.tiny[entries]}
        found = (f"{name}.step is wrong from step {k + 1} on. Its step there, Δθ = θ_{k + 1} − "
                 f"θ_{k}: " + describe("Δθ", got[k, entries], right[k, entries], row, regions))
    return f"{found} (Step {k + 1}, lr = {run.lrs[k]:g}: relative error {row.error:.1e}.)"


def step_factor(name: str, steps: np.ndarray, right_steps: np.ndarray, lrs: np.ndarray) -> str:
    """A hint if every step is a constant multiple of the right one, c_k · Δθ_k, else ``""``."""
    ratios = [constant_ratio(a, n, 1e-300) for a, n in zip(steps, right_steps, strict=True)]
    if any(ratio is None for ratio in ratios):
        return ""
    c = np.array(ratios, dtype=float)
    if np.allclose(c, -1, rtol=1e-6):
        return (f"{name}.step goes UP the gradient: every step is exactly −1 × the right one "
                f"(θ += … instead of θ −= …). Gradient descent subtracts the step, "
                f"θ ← θ − lr · …; added, it climbs the loss.")
    if np.allclose(c, lrs, rtol=1e-6):
        return (f"{name}.step applies lr twice: every step is lr × the right one (lr = {LR:g} "
                f"here). Multiply by lr once, in the update of θ.")
    if np.allclose(c, 1 / lrs, rtol=1e-6):
        return (f"{name}.step takes steps without lr: every step is 1/lr × the right one. The "
                f"step is lr · …: multiply by self.lr, read at every step (a schedule changes it).")
    if np.allclose(c, c[0], rtol=1e-6):
        return (f"{name}.step takes every step exactly {c[0]:.4g} × the right one: the direction "
                f"is right but a factor of the update is wrong.")
    return ""


def small_gradients(name: str, step: np.ndarray, right_step: np.ndarray, tiny: np.ndarray) -> str:
    """A hint if the step is far off only for the parameters with tiny gradients (ε's realm)."""
    moved = right_step != 0
    error = np.abs(step - right_step)[moved] / np.abs(right_step)[moved]
    tiny = tiny[moved]
    if (tiny.any() and (~tiny).any() and error[tiny].min() > 0.1
            and error[tiny].min() > 10 * error[~tiny].max()):
        return (f"{name}.step is close for the parameters with large gradients but far off for "
                f"those whose gradients are tiny (about 1e-6): that is where ε matters — is it "
                f"self.eps (1e-8), added to √v̂ outside the root?")
    return ""


def step_history(name: str, k: int) -> str:
    """The hint for steps right until step ``k + 1`` (k > 0) and wrong from there on."""
    return (f"{name}.step is right at step 1 but wrong from step {k + 1} on: what carries "
            f"over from one step to the next — the state (self.v, self.m, self.t) — is "
            f"wrong. Is it kept on self and updated exactly once per step?")
