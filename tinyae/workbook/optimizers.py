"""Exercises 4.1 and 4.2: SGD with momentum and Adam, each updating θ in place.

Each is checked by its trajectories (``trajectory``), in sub-checks a teacher would
mark separately — for SGD plain SGD, momentum and an lr changed between steps; for Adam
the first step, the bias correction, the later steps, an lr change and ε — each run on
a fresh optimizer, so that one mistake does not hide another.  A wrong trajectory is
compared with the trajectories of the classic wrong rules, simulated below, to name it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tinyae
from tinyae.gradcheck import constant_ratio
from tinyae.workbook.task import Checks, Mistake, Part, Task, attempt, formula
from tinyae.workbook.trajectory import (
    LR,
    STEPS,
    Rule,
    Run,
    close,
    draw_run,
    expect_lr_followed,
    expect_steps,
    follow,
    known_rule,
    steps_of,
    unmoved_hint,
)

TUTORIAL = "tutorials/04_first_autoencoder.py, §7 SGD with momentum; §8 Adam's bias correction"

CODE = '''\
class SGD(tinyae.Optimizer):
    """Stochastic gradient descent with momentum μ, in PyTorch's (and tinyae's) convention."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.0) -> None:
        super().__init__(lr)
        self.momentum = momentum
        self.v: np.ndarray | None = None  # the velocity, one entry per parameter

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Exercise 4.1: ``v ← μ·v + g``, then ``θ ← θ − lr·v``, changing ``params`` in place.

        ``params`` (θ) and ``grads`` (g) are a model's flat vectors, shape (P,); every
        layer's W and b are views into θ, so write ``params -= …``, never ``params = …``.
        μ = 0 gives plain SGD, θ ← θ − lr·g; with μ = 0.9 the velocity sums the last
        ~1 / (1 − μ) = 10 gradients, which speeds up directions where they agree.
        Derived in tutorial 04, §7.
        """
        if self.v is None:  # the first step: the velocity starts at 0
            self.v = np.zeros_like(params)
        # solution 4.1
        # the velocity sums the past gradients, decaying by μ
        self.v = self.momentum * self.v + grads
        params -= self.lr * self.v
        # end


class Adam(tinyae.Optimizer):
    """Adam (Kingma & Ba 2015): steps of about ``lr``, whatever the size of the gradient."""

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        super().__init__(lr)  # this also sets the step count self.t = 0: no step taken yet
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m: np.ndarray | None = None  # running mean of g
        self.v: np.ndarray | None = None  # running mean of g²

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Exercise 4.2: one Adam step, changing ``params`` (P,) in place.

        t ← t + 1   (so the first step has t = 1)
        m ← β₁·m + (1 − β₁)·g,    v ← β₂·v + (1 − β₂)·g²
        m̂ = m / (1 − β₁ᵗ),   v̂ = v / (1 − β₂ᵗ)    (bias correction: m and v start at 0)
        θ ← θ − lr · m̂ / (√v̂ + ε)

        The rules are in ``tinyae/optim.py``; tutorial 04, §8 derives the bias correction.
        """
        if self.m is None:  # the first step: both running means start at 0
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        # solution 4.2
        # t counts the steps, for the bias correction
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grads
        self.v = self.beta2 * self.v + (1 - self.beta2) * grads**2
        m_hat = self.m / (1 - self.beta1**self.t)
        v_hat = self.v / (1 - self.beta2**self.t)
        params -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        # end
'''

MU = 0.9


def sgd_mistakes(mu: float) -> list[tuple[Rule, str]]:
    """The classic wrong momentum rules for momentum ``mu``, each with its hint."""
    convention = "tinyae and PyTorch use v ← μ·v + g, θ ← θ − lr·v (tinyae/optim.py)"

    def dampened(theta: np.ndarray, s: dict, g: np.ndarray, lr: float) -> None:
        s["v"] = mu * s.get("v", 0) + (1 - mu) * g  # an exponential average, as Adam's m
        theta -= lr * s["v"]

    def lr_in_velocity(theta: np.ndarray, s: dict, g: np.ndarray, lr: float) -> None:
        s["v"] = mu * s.get("v", 0) + lr * g  # = v ← μ·v − lr·g, θ ← θ + v, up to sign
        theta -= s["v"]

    def step_before_velocity(theta: np.ndarray, s: dict, g: np.ndarray, lr: float) -> None:
        theta -= lr * s.get("v", 0)
        s["v"] = mu * s.get("v", 0) + g

    def no_momentum(theta: np.ndarray, s: dict, g: np.ndarray, lr: float) -> None:
        theta -= lr * g  # the velocity is not kept from one step to the next

    def nesterov(theta: np.ndarray, s: dict, g: np.ndarray, lr: float) -> None:
        s["v"] = mu * s.get("v", 0) + g
        theta -= lr * (g + mu * s["v"])

    def momentum_on_theta(theta: np.ndarray, s: dict, g: np.ndarray, lr: float) -> None:
        theta -= lr * (mu * theta + g)

    return [
        (dampened, "SGD uses the wrong velocity convention: v ← μ·v + (1 − μ)·g, an average. "
                   f"{convention}; the averaged velocity is 1 − μ = {1 - mu:g} times as large, "
                   "so the same lr takes smaller steps."),
        (lr_in_velocity, "SGD uses the wrong velocity convention: lr is folded into the velocity "
                         "(v ← μ·v + lr·g, θ ← θ − v, as in CS231n). That agrees only while lr "
                         f"is constant: once a schedule changes lr the steps differ. "
                         f"{convention}."),
        (step_before_velocity, "SGD stepped with the old velocity and updated v afterwards, so "
                               "the first step does not move at all: first v ← μ·v + g, then "
                               "θ ← θ − lr·v."),
        (no_momentum, "SGD ignored the momentum: θ moved by lr·g each step, as if μ = 0. Keep "
                      "the velocity from step to step (self.v) and add μ·v to each new gradient."),
        (nesterov, "SGD took a Nesterov step, θ ← θ − lr·(g + μ·v): that is another method "
                   f"(tinyae's SGD(nesterov=True)). Plain momentum steps along v itself: "
                   f"{convention}."),
        (momentum_on_theta, "SGD's μ multiplies θ, θ ← θ − lr·(μ·θ + g) — that is weight decay, "
                            "not momentum. μ multiplies the velocity, which keeps the past "
                            f"gradients: {convention}."),
    ]


def check_sgd(cls: Any, checks: Checks) -> str:
    """Exercise 4.1: plain SGD (μ = 0) and momentum μ = 0.9 at a constant lr, then an lr change.

    Both rules are checked at a constant lr, where the two velocity conventions (lr in
    the step or in the velocity) agree; "lr changed between steps" then tells them apart.
    """
    run = draw_run(checks.rng)

    def sgd(on: Run, momentum: float) -> np.ndarray:
        opt = attempt(f"SGD(lr={LR:g}, momentum={momentum:g})", cls, lr=LR, momentum=momentum)
        return follow(opt, on, "SGD")

    def plain() -> str:
        expect_steps("SGD", sgd(run, 0.0), follow(tinyae.SGD(lr=LR), run, "SGD"),
                     sgd_mistakes(0.0), run)
        return f"Plain SGD: θ after each of {STEPS} steps matches tinyae's SGD."

    def momentum() -> str:
        expect_steps("SGD", sgd(run, MU), follow(tinyae.SGD(lr=LR, momentum=MU), run, "SGD"),
                     sgd_mistakes(MU), run)
        return f"Momentum {MU}: θ after each of {STEPS} steps matches tinyae's SGD."

    def lr_changed() -> str:
        return expect_lr_followed("SGD", sgd(run, MU), sgd(run.with_schedule(), MU),
                                  sgd_mistakes(MU), run)

    checks.sub("plain SGD", plain)
    checks.sub("momentum", momentum)
    checks.sub("lr changed between steps", lr_changed)
    return ""


B1, B2, EPS = 0.9, 0.999, 1e-8


def adam_rule(b1: float = B1, b2: float = B2, *, keep: bool = True,
              average: Callable[[np.ndarray, np.ndarray, float], np.ndarray] | None = None,
              square: Callable[[np.ndarray], np.ndarray] = np.square,
              correct: Callable[[np.ndarray, float, int], np.ndarray] | None = None,
              update: Callable[[np.ndarray, np.ndarray, float], np.ndarray] | None = None,
              t_offset: int = 0) -> Rule:
    """An Adam step; each argument replaces one piece of the rule by a classic mistake.

    ``b1``, ``b2``: the β's used for m and v; ``keep=False``: m and v start from 0 at
    every step; ``average(old, new, β)`` the running mean; ``square`` what v averages;
    ``correct(value, β, t)`` the bias correction; ``update(m̂, v̂, lr)`` the step;
    ``t_offset``: t counted from 0 instead of 1.
    """
    average = average or (lambda old, new, beta: beta * old + (1 - beta) * new)
    correct = correct or (lambda value, beta, t: value / (1 - beta**t))
    update = update or (lambda m_hat, v_hat, lr: lr * m_hat / (np.sqrt(v_hat) + EPS))

    def rule(theta: np.ndarray, s: dict, g: np.ndarray, lr: float) -> None:
        start = np.zeros_like(g)  # m and v before the first step, and every step if not kept
        m = average(s.get("m", start) if keep else start, g, b1)
        v = average(s.get("v", start) if keep else start, square(g), b2)
        s["m"], s["v"], t = m, v, s["t"] - t_offset
        theta -= update(correct(m, B1, t), correct(v, B2, t), lr)
    return rule


ADAM_MISTAKES = [
    (adam_rule(correct=lambda value, beta, t: value),
     "Adam without bias correction: m and v start at 0, so early on they are too small (m by "
     "1 − β₁ᵗ = 0.1 at t = 1); divide them by 1 − β₁ᵗ and 1 − β₂ᵗ: m̂ = m / (1 − β₁ᵗ), "
     "v̂ = v / (1 − β₂ᵗ)."),
    (adam_rule(update=lambda m_hat, v_hat, lr: lr * m_hat / np.sqrt(v_hat + EPS)),
     "Adam has ε inside the square root, √(v̂ + ε): it belongs outside, √v̂ + ε (the paper, "
     "PyTorch, tinyae). Inside, ε = 1e-8 weighs like a gradient of size 1e-4 and shrinks the "
     "steps of parameters with small gradients."),
    (adam_rule(t_offset=1),
     "Adam's step count started at 0 (or was never counted): at the first step 1 − β₁⁰ = 0, "
     "the bias correction divides by 0 and θ becomes NaN. Count the step before using it "
     "(self.t += 1 first), so that the first step has t = 1."),
    (adam_rule(b1=B2, b2=B1),
     "Adam has β₁ and β₂ swapped: m, the mean of g, uses β₁ = 0.9 (it follows the gradient "
     "over ~10 steps); v, the mean of g², uses β₂ = 0.999 (~1000 steps)."),
    (adam_rule(keep=False),
     "Adam's m and v are not kept from step to step: each step started them again from 0, "
     "so they hold only the newest g. Store them on self (self.m = β₁·self.m + …) so that "
     "they average over the steps."),
    (adam_rule(square=lambda g: g),
     "Adam's v averages g, not g² (`grads` where `grads**2` belongs): v is the running mean of "
     "the SQUARED gradient, v ← β₂·v + (1 − β₂)·g², and can then never be negative under √."),
    (adam_rule(update=lambda m_hat, v_hat, lr: lr * m_hat / (v_hat + EPS)),
     "Adam divides by v̂ + ε without the square root: the step is m̂ / (√v̂ + ε), which is "
     "about ±1 whatever the size of g; m̂ / v̂ is about 1/g and explodes for small gradients."),
    (adam_rule(correct=lambda value, beta, t: value / (1 - beta)**t),
     "Adam's bias correction uses (1 − β₁)ᵗ where 1 − β₁ᵗ belongs: the power is on β alone, "
     "m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ); write 1 - self.beta1**self.t."),
    (adam_rule(average=lambda old, new, beta: (1 - beta) * old + beta * new),
     "Adam's running means have their weights swapped: (1 − β)·old + β·g keeps only 10 % of the "
     "past. It is m ← β₁·m + (1 − β₁)·g: the old value gets the large weight β₁."),
    (adam_rule(update=lambda m_hat, v_hat, lr: lr * m_hat / np.sqrt(v_hat) + EPS),
     "Adam's step has ε outside the division — lr·m̂ / √v̂ + ε, the parentheses are missing: "
     "where g = 0 that is 0 / 0 = NaN. It is lr · m̂ / (√v̂ + ε)."),
]


# Adam's steps are compared to this relative error on the parameters with large gradients:
# there ε (1e-8) changes a step by at most ~2e-6 wherever the student puts it, and it has
# a sub-check of its own on the parameters with tiny gradients.
RTOL = 1e-5


def check_adam(cls: Any, checks: Checks) -> str:
    """Exercise 4.2: Adam(lr) against tinyae's Adam, each sub-check on a fresh optimizer.

    The first step, the later steps and an lr change look at the parameters with large
    gradients; ε at those with tiny (about 1e-6) or zero ones; the bias correction at a
    run with the same gradient at every step.
    """
    run = draw_run(checks.rng)
    large = ~run.tiny

    def adam(on: Run) -> np.ndarray:
        return follow(attempt(f"Adam(lr={LR:g})", cls, lr=LR), on, "Adam")

    def right(on: Run) -> np.ndarray:
        return follow(tinyae.Adam(lr=LR), on, "Adam")

    def first_step() -> str:
        expect_steps("Adam", adam(run), right(run), ADAM_MISTAKES, run, steps=slice(0, 1),
                     entries=large, rtol=RTOL)
        return "The first step is lr · g / (|g| + ε), about ±lr, as it must be."

    def bias_correction() -> str:
        return expect_steady(adam(run.with_constant_gradient()), run.with_constant_gradient(),
                             large)

    def later_steps() -> str:
        expect_steps("Adam", adam(run), right(run), ADAM_MISTAKES, run, steps=slice(1, None),
                     entries=large, rtol=RTOL)
        return f"Steps 2 to {STEPS} match tinyae's Adam: m, v and t carry over between steps."

    def lr_changed() -> str:
        return expect_lr_followed("Adam", adam(run), adam(run.with_schedule()), ADAM_MISTAKES, run,
                                  entries=large, rtol=RTOL)

    def epsilon() -> str:
        expect_steps("Adam", adam(run), right(run), ADAM_MISTAKES, run, steps=slice(0, 1),
                     entries=run.tiny, rtol=RTOL)
        return "Parameters with tiny or zero gradients take the right steps: ε is in its place."

    checks.sub("first step", first_step)
    checks.sub("bias correction", bias_correction)
    checks.sub("later steps", later_steps)
    checks.sub("lr changed between steps", lr_changed)
    checks.sub("ε", epsilon)
    return ""


def expect_steady(got: np.ndarray, run: Run, entries: np.ndarray) -> str:
    """The bias correction: given the same gradient at every step, every step equals the first.

    m and v start at 0 and approach g and g² only slowly; m̂ = m / (1 − β₁ᵗ) and
    v̂ = v / (1 − β₂ᵗ) undo exactly that, so m̂ = g and v̂ = g² at every t.  ``got`` is θ
    after each step of ``run`` (whose gradient is constant); ``entries`` the parameters
    looked at.  This holds whatever the first step is, so it judges the bias correction
    on its own.
    """
    steps = steps_of(run, got)[:, entries]
    if steps[0].any() and close(steps, np.tile(steps[0], (STEPS, 1)), RTOL):
        return (f"Given the same gradient {STEPS} times, every step equals the first: "
                f"m̂ = g and v̂ = g² at every t.")
    if not np.any(got - run.theta0):
        raise Mistake(unmoved_hint("Adam"))
    if hint := known_rule(got, ADAM_MISTAKES, run):
        raise Mistake(hint)
    if not np.isfinite(steps).all():
        raise Mistake("Adam.step made θ NaN or inf, given the same gradient at every step: does "
                      "the bias correction divide by 1 − β₁ᵗ = 0 (t counted from 0 — count the "
                      "step first, self.t += 1), or is there a square root of a negative number?")
    if not steps[0].any():
        raise Mistake("Adam's first step leaves the parameters with large gradients where they "
                      "are: m̂ = g at the first step, so it must move them by about lr.")
    k = next(k for k in range(1, STEPS) if not close(steps[k], steps[0], RTOL))
    c = constant_ratio(steps[k], steps[0], 1e-300)
    change = f": step {k + 1} is {c:.3g} × step 1" if c is not None else f" at step {k + 1}"
    raise Mistake(f"Given the same gradient g at every step, Adam's steps should all be equal — m "
                  f"and v start at 0 and approach g and g² only slowly, and the bias correction "
                  f"m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ) undoes exactly that, so m̂ = g and "
                  f"v̂ = g² at every t. Yours change{change}. Is t counted once per step, from 1 "
                  f"(self.t += 1 first)? Is the power on β alone, 1 − β₁ᵗ, with β₁ for m and β₂ "
                  f"for v?")


PART = Part(
    heading="4. Optimizers",
    intro="An optimizer knows nothing about layers: `step(params, grads)` gets a model's flat "
          "parameter vector θ and its gradient g and changes θ in place, so every layer's W "
          "and b (views into θ) move with it.",
    code=CODE,
    tasks=(
        Task("4.1", "SGD with momentum", 2, TUTORIAL, "SGD", formula(CODE, "4.1"), check_sgd,
             subchecks=(("plain SGD", 1), ("momentum", 2), ("lr changed between steps", 1))),
        Task("4.2", "Adam", 3, TUTORIAL, "Adam", formula(CODE, "4.2"), check_adam,
             subchecks=(("first step", 2), ("bias correction", 2), ("later steps", 2),
                        ("lr changed between steps", 1), ("ε", 1))),
    ),
)
