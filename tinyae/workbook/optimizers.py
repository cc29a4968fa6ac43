"""Exercises 4.1 and 4.2: SGD with momentum and Adam, each updating θ in place.

An optimizer is checked by its trajectory: five steps from one θ with given gradients
(a learning-rate change after the third, as a schedule would make), compared with
tinyae's own optimizer, which follows PyTorch's conventions.  A wrong trajectory is
compared with the trajectories of the classic wrong rules, simulated below, to name it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import tinyae
from tinyae.workbook.task import Mistake, Part, Task, attempt, formula

TUTORIAL = "tutorials/04_first_autoencoder.py"

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
        """
        if self.v is None:  # the first step: the velocity starts at 0
            self.v = np.zeros_like(params)
        # solution 4.1
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

        The rules are in ``tinyae/optim.py``; tutorial 04, §6 shows what Adam changes.
        """
        if self.m is None:  # the first step: both running means start at 0
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        # solution 4.2
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grads
        self.v = self.beta2 * self.v + (1 - self.beta2) * grads**2
        m_hat = self.m / (1 - self.beta1**self.t)
        v_hat = self.v / (1 - self.beta2**self.t)
        params -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        # end
'''

Rule = Callable[[np.ndarray, dict, np.ndarray, float], None]  # rule(θ, state, g, lr), in place

_rng = np.random.default_rng(21)
THETA0 = _rng.standard_normal(6)
# Gradients of very different sizes, one exactly 0: ε's place only shows where √v̂ is tiny.
GRADS = [_rng.standard_normal(6) * np.array([1, 1, 0.1, 1e-6, 1e-6, 0]) for _ in range(5)]
LRS = [0.1, 0.1, 0.1, 0.05, 0.05]  # a schedule halves lr after three steps
MU = 0.9


def trajectory(rule: Rule) -> np.ndarray:
    """θ after each of the steps of a simulated ``rule``, shape (steps, P)."""
    theta, state, out = THETA0.copy(), {"t": 0}, []
    for g, lr in zip(GRADS, LRS):
        state["t"] += 1
        rule(theta, state, g, lr)
        out.append(theta.copy())
    return np.array(out)


def student_trajectory(opt: tinyae.Optimizer, name: str) -> np.ndarray:
    """θ after each step of the student's optimizer, with ``lr`` set before each step."""
    theta, out = THETA0.copy(), []
    for g, lr in zip(GRADS, LRS):
        opt.lr = lr
        attempt(f"{name}.step", opt.step, theta, g.copy())
        out.append(theta.copy())
    return np.array(out)


def reference_trajectory(opt: tinyae.Optimizer) -> np.ndarray:
    """θ after each step of tinyae's optimizer."""
    theta, out = THETA0.copy(), []
    for g, lr in zip(GRADS, LRS):
        opt.lr = lr
        opt.step(theta, g.copy())
        out.append(theta.copy())
    return np.array(out)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal trajectories, NaN and inf included (a wrong rule may produce them too)."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-15, equal_nan=True))


def compare_trajectories(name: str, got: np.ndarray, right: np.ndarray,
                         wrong: list[tuple[Rule, str]]) -> str:
    """Pass, or name the wrong rule whose trajectory ``got`` follows, or the first bad step."""
    if same(got, right):
        return f"{name}: θ after each of {len(right)} steps matches tinyae's {name}."
    for rule, hint in wrong:
        if same(got, trajectory(rule)):
            raise Mistake(hint)
    if np.array_equal(got, np.tile(THETA0, (len(got), 1))):
        raise Mistake(f"{name}.step never changed params: update it in place (params -= …). "
                      f"`params = params - …` makes a new array, and the model's weights, which "
                      f"are views into the old one, never move.")
    k = next(k for k in range(len(got)) if not same(got[k], right[k]))
    raise Mistake(f"{name}.step is wrong from step {k + 1} on: θ = "
                  f"{np.array2string(got[k], precision=5)} where "
                  f"{np.array2string(right[k], precision=5)} is right (lr = {LRS[k]}).")


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
    ]


def check_sgd(cls: type) -> str:
    """Exercise 4.1: plain SGD (μ = 0), then momentum μ = 0.9 with an lr schedule."""
    plain = attempt("SGD(lr=0.1)", cls, lr=0.1)
    got = student_trajectory(plain, "SGD")
    right = reference_trajectory(tinyae.SGD(lr=0.1))
    details = [compare_trajectories("SGD", got, right, sgd_mistakes(0.0))]
    heavy = attempt(f"SGD(lr=0.1, momentum={MU})", cls, lr=0.1, momentum=MU)
    got = student_trajectory(heavy, "SGD")
    right = reference_trajectory(tinyae.SGD(lr=0.1, momentum=MU))
    details.append(compare_trajectories("SGD", got, right, sgd_mistakes(MU)) + f" (momentum {MU})")
    return "\n".join(details)


B1, B2, EPS = 0.9, 0.999, 1e-8


def adam_rule(correct: bool = True, eps_inside: bool = False, t_offset: int = 0) -> Rule:
    """An Adam step; the arguments switch on one classic mistake each."""
    def rule(theta: np.ndarray, s: dict, g: np.ndarray, lr: float) -> None:
        s["m"] = B1 * s.get("m", 0) + (1 - B1) * g
        s["v"] = B2 * s.get("v", 0) + (1 - B2) * g**2
        t = s["t"] - t_offset
        m_hat = s["m"] / (1 - B1**t) if correct else s["m"]
        v_hat = s["v"] / (1 - B2**t) if correct else s["v"]
        theta -= lr * m_hat / (np.sqrt(v_hat + EPS) if eps_inside else np.sqrt(v_hat) + EPS)
    return rule


ADAM_MISTAKES = [
    (adam_rule(correct=False), "Adam without bias correction: m and v start at 0, so early on "
                               "they are too small (m by 1 − β₁ᵗ = 0.1 at t = 1); divide them by "
                               "1 − β₁ᵗ and 1 − β₂ᵗ: m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ)."),
    (adam_rule(eps_inside=True), "Adam has ε inside the square root, √(v̂ + ε): it belongs "
                                 "outside, √v̂ + ε (the paper, PyTorch, tinyae). Inside, ε = 1e-8 "
                                 "weighs like a gradient of size 1e-4 and shrinks the steps of "
                                 "parameters with small gradients."),
    (adam_rule(t_offset=1), "Adam's step count started at 0: at the first step 1 − β₁⁰ = 0, the "
                            "bias correction divides by 0 and θ becomes NaN. Count the step "
                            "before using it (self.t += 1 first), so that the first step has "
                            "t = 1."),
]


def check_adam(cls: type) -> str:
    """Exercise 4.2: five steps of Adam(lr) with an lr schedule, against tinyae's Adam."""
    got = student_trajectory(attempt("Adam(lr=0.1)", cls, lr=0.1), "Adam")
    right = reference_trajectory(tinyae.Adam(lr=0.1))
    return compare_trajectories("Adam", got, right, ADAM_MISTAKES)


PART = Part(
    heading="4. Optimizers",
    intro="An optimizer knows nothing about layers: `step(params, grads)` gets a model's flat "
          "parameter vector θ and its gradient g and changes θ in place, so every layer's W "
          "and b (views into θ) move with it.",
    code=CODE,
    tasks=(
        Task("4.1", "SGD with momentum", 2, TUTORIAL, "SGD", formula(CODE, "4.1"), check_sgd),
        Task("4.2", "Adam", 3, TUTORIAL, "Adam", formula(CODE, "4.2"), check_adam),
    ),
)
