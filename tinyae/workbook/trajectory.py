"""Checking a student's optimizer by its trajectory, and saying what a wrong one does.

An optimizer is checked by where it takes θ: five steps from one θ with given
gradients (a learning-rate change after the third, as a schedule would make), compared
with tinyae's own optimizer, which follows PyTorch's conventions.  A wrong trajectory
is first compared with the trajectories of the task's known wrong rules (``Rule``,
simulated by the task); if none fits, ``describe_steps`` looks at the steps
Δθ_k = θ_k − θ_(k−1) themselves:

* every step −1 × the right one: θ goes UP the gradient;
* every step lr × or 1/lr × the right one: lr applied twice, or not at all;
* every step the same constant c × the right one: a factor in the update;
* the first steps right, then wrong: from the lr change on (lr folded into the state),
  or from step 2 on (the state carried between steps);
* far off only for the parameters whose gradients are tiny: ε;
* otherwise what the first wrong step's error looks like (``patterns.describe``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import tinyae
from tinyae.gradcheck import compare, constant_ratio
from tinyae.workbook.patterns import describe
from tinyae.workbook.task import Mistake, attempt

Rule = Callable[[np.ndarray, dict, np.ndarray, float], None]  # rule(θ, state, g, lr), in place

_rng = np.random.default_rng(21)
THETA0 = _rng.standard_normal(6)
# Gradients of very different sizes, one exactly 0: ε's place only shows where √v̂ is tiny.
SCALES = np.array([1, 1, 0.1, 1e-6, 1e-6, 0])
GRADS = [_rng.standard_normal(6) * SCALES for _ in range(5)]
LRS = [0.1, 0.1, 0.1, 0.05, 0.05]  # a schedule halves lr after three steps
LR_CHANGE = 3  # the index of the first step with the new lr
REGIONS = {"for the parameters whose gradients are tiny (about 1e-6) or 0": SCALES < 1e-3,
           "for the parameters whose gradients are of size 0.1 to 1": SCALES > 1e-3}


def trajectory(rule: Rule) -> np.ndarray:
    """θ after each of the steps of a simulated ``rule``, shape (steps, P)."""
    theta, state, out = THETA0.copy(), {"t": 0}, []
    for g, lr in zip(GRADS, LRS, strict=True):
        state["t"] += 1
        rule(theta, state, g, lr)
        out.append(theta.copy())
    return np.array(out)


def student_trajectory(opt: tinyae.Optimizer, name: str) -> np.ndarray:
    """θ after each step of the student's optimizer, with ``lr`` set before each step."""
    theta, out = THETA0.copy(), []
    for g, lr in zip(GRADS, LRS, strict=True):
        opt.lr = lr
        attempt(f"{name}.step", opt.step, theta, g.copy())
        out.append(theta.copy())
    return np.array(out)


def reference_trajectory(opt: tinyae.Optimizer) -> np.ndarray:
    """θ after each step of tinyae's optimizer."""
    theta, out = THETA0.copy(), []
    for g, lr in zip(GRADS, LRS, strict=True):
        opt.lr = lr
        opt.step(theta, g.copy())
        out.append(theta.copy())
    return np.array(out)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal trajectories, NaN and inf included (a wrong rule may produce them too)."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-15, equal_nan=True))


def compare_trajectories(name: str, got: np.ndarray, right: np.ndarray,
                         wrong: list[tuple[Rule, str]]) -> str:
    """Pass, or name the wrong rule whose trajectory ``got`` follows, or describe the steps."""
    if same(got, right):
        return f"{name}: θ after each of {len(right)} steps matches tinyae's {name}."
    for rule, hint in wrong:
        if same(got, trajectory(rule)):
            raise Mistake(hint)
    if np.array_equal(got, np.tile(THETA0, (len(got), 1))):
        raise Mistake(f"{name}.step never changed params: either it rebinds them — "
                      f"`params = params - …` makes a new array, and the model's weights, views "
                      f"into the old one, never move: update in place, params -= … — or the step "
                      f"it computes is 0 (a factor that is 0 here, like μ = 0 for plain SGD?).")
    raise Mistake(describe_steps(name, got, right), about="θ")


def describe_steps(name: str, got: np.ndarray, right: np.ndarray) -> str:
    """What the steps of a wrong trajectory ``got`` have in common (see the module docstring)."""
    k = next(k for k in range(len(got)) if not same(got[k], right[k]))
    where = (f"At step {k + 1} θ = {np.array2string(got[k], precision=5)} where "
             f"{np.array2string(right[k], precision=5)} is right (lr = {LRS[k]}).")
    steps, right_steps = (np.diff(np.vstack([THETA0, t]), axis=0) for t in (got, right))
    if not np.isfinite(got[k]).all():
        return (f"{name}.step made θ NaN or inf at step {k + 1}: a division by 0 (by √v̂ where "
                f"g = 0, without ε?), or the square root of a negative number. {where}")
    found = (step_factor(name, steps, right_steps) or step_history(name, k)
             or small_gradients(name, steps[k], right_steps[k]))
    if not found:
        row = compare("Δθ", steps[k], right_steps[k])
        found = (f"{name}.step is wrong from step {k + 1} on. Its step there, Δθ = θ_{k + 1} − "
                 f"θ_{k}: " + describe("Δθ", steps[k], right_steps[k], row, REGIONS))
    return f"{found} {where}"


def step_factor(name: str, steps: np.ndarray, right_steps: np.ndarray) -> str:
    """A hint if every step is a constant multiple of the right one, c_k · Δθ_k, else ``""``."""
    ratios = [constant_ratio(a, n, 1e-300) for a, n in zip(steps, right_steps, strict=True)]
    if any(ratio is None for ratio in ratios):
        return ""
    c = np.array(ratios, dtype=float)
    if np.allclose(c, -1, rtol=1e-6):
        return (f"{name}.step goes UP the gradient: every step is exactly −1 × the right one "
                f"(θ += … instead of θ −= …). Gradient descent subtracts the step, "
                f"θ ← θ − lr · …; added, it climbs the loss.")
    if np.allclose(c, LRS, rtol=1e-6):
        return (f"{name}.step applies lr twice: every step is lr × the right one (lr = 0.1 and "
                f"0.05 here). Multiply by lr once, in the update of θ.")
    if np.allclose(c, 1 / np.array(LRS), rtol=1e-6):
        return (f"{name}.step takes steps without lr: every step is 1/lr × the right one. The "
                f"step is lr · …: multiply by self.lr, read at every step (a schedule changes it).")
    if np.allclose(c, c[0], rtol=1e-6):
        return (f"{name}.step takes every step exactly {c[0]:.4g} × the right one: the direction "
                f"is right but a factor of the update is wrong.")
    return ""


def small_gradients(name: str, step: np.ndarray, right_step: np.ndarray) -> str:
    """A hint if the step is far off only for the parameters with tiny gradients (ε's realm)."""
    moved = right_step != 0
    error = np.abs(step - right_step)[moved] / np.abs(right_step)[moved]
    tiny = (SCALES < 1e-3)[moved]
    if (tiny.any() and (~tiny).any() and error[tiny].min() > 0.1
            and error[tiny].min() > 10 * error[~tiny].max()):
        return (f"{name}.step is close for the parameters with large gradients but far off for "
                f"those whose gradients are tiny (about 1e-6): that is where ε matters — is it "
                f"self.eps (1e-8), added to √v̂ outside the root?")
    return ""


def step_history(name: str, k: int) -> str:
    """A hint if the steps before step ``k + 1`` were right, else ``""``."""
    if k == LR_CHANGE:
        return (f"{name}.step is right for the first {k} steps and wrong from step {k + 1} on, the "
                f"first after the learning rate changed (0.1 → 0.05): read self.lr at each step, "
                f"as it is then; do not keep it, or fold it into the state, from earlier steps.")
    if k > 0:
        return (f"{name}.step is right at step 1 but wrong from step {k + 1} on: what carries "
                f"over from one step to the next — the state (self.v, self.m, self.t) — is "
                f"wrong. Is it kept on self and updated exactly once per step?")
    return ""
