"""Exercises 3.1–3.3: MSE, BCE (with its clipping) and BCE on logits, forward and backward.

Each loss is checked in sub-checks: the value L, the gradient backward returns, and for
the two BCEs the extreme inputs a sigmoid produces (p exactly 0 or 1, logits of ±1000).
The inputs are drawn from the check's random numbers, shapes and values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import tinyae
from tinyae.gradcheck import numerical_gradient
from tinyae.layers import sigmoid
from tinyae.workbook.diagnose import (
    as_array,
    expect_array,
    expect_number,
    reduction_ratios,
)
from tinyae.workbook.layercheck import make
from tinyae.workbook.task import Checks, Mistake, Part, Task, attempt, attempt_pure, formula

TUTORIAL = ("tutorials/03_losses.py, §1 Both losses; §2 Where is BCE smallest; "
            "§6 Why a sigmoid output pairs well with BCE")

CODE = '''\
class MSE(tinyae.Loss):
    """Mean squared error, the mean over all N·D elements of p and y (both (N, D))."""

    def forward(self, p: np.ndarray, y: np.ndarray) -> float:
        """Exercise 3.1: ``L = (1 / (N·D)) Σ_n Σ_d (p − y)²``, one float.

        Cache ``p`` and ``y`` as ``self.p``, ``self.y`` for backward.  Tutorial 03, §1.
        """
        # solution 3.1
        # the mean over all N·D entries
        self.p, self.y = p, y
        return float(np.mean((p - y) ** 2))
        # end

    def backward(self) -> np.ndarray:
        """Exercise 3.1: ``dp = ∂L/∂p = 2 (p − y) / (N·D)``, shape (N, D)."""
        # solution 3.1
        # d/dp of mean((p − y)²) is 2 (p − y) / (N·D)
        return 2 * (self.p - self.y) / self.p.size
        # end


class BCE(tinyae.Loss):
    """Binary cross-entropy of probabilities p (N, D) and targets y in [0, 1], mean over N·D."""

    eps = 1e-7  # p is clipped to [eps, 1 − eps], so that log p and log(1 − p) stay finite

    def forward(self, p: np.ndarray, y: np.ndarray) -> float:
        """Exercise 3.2: ``L = −(1 / (N·D)) Σ [y·log p + (1 − y)·log(1 − p)]``, one float.

        A sigmoid output can round to exactly 0 or 1, where log is −inf: first clip p to
        [eps, 1 − eps] (``np.clip``).  Cache the clipped p and y as ``self.p``, ``self.y``.
        Tutorial 03, §2.
        """
        # solution 3.2
        # clipped, so that neither log ever sees 0
        self.p, self.y = np.clip(p, self.eps, 1 - self.eps), y
        return float(-np.mean(y * np.log(self.p) + (1 - y) * np.log(1 - self.p)))
        # end

    def backward(self) -> np.ndarray:
        """Exercise 3.2: ``dp = (p − y) / (p (1 − p)) / (N·D)`` with the clipped p, (N, D)."""
        # solution 3.2
        # dL/dp = (p − y) / (p (1 − p)), over the N·D entries
        return (self.p - self.y) / (self.p * (1 - self.p)) / self.p.size
        # end


class BCEWithLogits(tinyae.Loss):
    """BCE of logits z (N, D), p = σ(z), written so that no z overflows; mean over N·D."""

    def forward(self, z: np.ndarray, y: np.ndarray) -> float:
        """Exercise 3.3: ``L = (1 / (N·D)) Σ [max(z, 0) − z·y + log(1 + e^(−|z|))]``.

        That is −y·log σ(z) − (1 − y)·log(1 − σ(z)), rearranged so that e^(…) is at most
        1 for every z (use ``np.log1p``).  Cache z and y.  Tutorial 03, §6.
        """
        # solution 3.3
        # max(z, 0) − z·y + log(1 + e^(−|z|)) never overflows
        self.z, self.y = z, y
        return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
        # end

    def backward(self) -> np.ndarray:
        """Exercise 3.3: ``dz = (σ(z) − y) / (N·D)``, (N, D): σ′(z) cancels BCE's 1/(p (1 − p))."""
        # solution 3.3
        p = np.exp(-np.logaddexp(0.0, -self.z))  # σ(z) = e^(−log(1 + e^(−z))), never overflows
        return (p - self.y) / self.z.size
        # end
'''

# A sigmoid's output that rounded to exactly 0 or 1, and logits where e^z overflows: fixed,
# since they test the clipping and the overflow, not arithmetic a student could skip.
EDGE_P = np.array([[0.0, 1.0, 0.0, 1.0], [0.5, 0.0, 1.0, 0.2]])
EDGE_Y = np.array([[1.0, 0.0, 0.0, 1.0], [0.5, 0.3, 0.9, 0.0]])
EDGE_Z = np.array([[-1000.0, 1000.0, -800.0, 800.0], [0.0, 50.0, -50.0, 1.0]])


def draw_batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A loss's inputs: probabilities p, logits z and targets y, each (N, D).

    N and D are distinct, 3 to 7, so that a factor N, D or N·D names its mistake.  p is
    in [0.05, 0.95], away from the clipping, where BCE is smooth; y holds soft targets
    and, at about 30 % of the entries, exact 0s and 1s (both), where a log of y is −inf.
    """
    N, D = (int(n) for n in rng.choice(np.arange(3, 8), 2, replace=False))
    p = rng.uniform(0.05, 0.95, (N, D))
    z = rng.normal(0.0, 2.0, (N, D))
    y = rng.random((N, D))
    hard = rng.permutation(N * D)[:max(2, 3 * N * D // 10)]
    y.flat[hard] = np.arange(len(hard)) % 2
    return p, z, y


def forward_for_backward(obj: Any, name: str, inputs: dict[str, np.ndarray],
                         cache: dict[str, np.ndarray], *, right: bool) -> str:
    """Run ``obj.forward(*inputs)`` before its backward is checked; a note if the cache was set.

    Backward is checked on its own: if forward is not ``right`` (its own sub-check says
    why) or fails here, the cache its docstring names (``cache``) is then set by hand, so
    that one mistake in forward does not fail backward too.  Also used by the VAE's pieces.
    """
    try:
        attempt_pure(f"{name}.forward", obj.forward, **inputs)
    except Mistake:
        right = False
    if right:
        return ""
    for attribute, value in cache.items():
        setattr(obj, attribute, value)
    return (f" Forward is not right yet, so backward was checked with "
            f"{', '.join('self.' + attribute for attribute in cache)} set by hand, as its "
            f"docstring says.")


Values = list[tuple[float, str]]  # (a known wrong value of L, the hint that names it)


def check_values(cls: Any, checks: Checks, reference: tinyae.Loss, inputs: dict[str, np.ndarray],
                 wrong_dp: list[tuple[np.ndarray, str]], dp_ratios: dict[float, str],
                 dp: str = "dp", wrong_L: Values | None = None,
                 L_ratios: dict[float, str] | None = None, nonfinite: str = "") -> None:
    """Sub-checks "L value" and ``dp``: forward's value and backward's gradient, each on a fresh loss.

    ``inputs`` are forward's arguments by name (``{"p": …, "y": …}``), which is also the
    cache backward reads.  ``wrong_L``, ``L_ratios`` and ``nonfinite`` name wrong values of
    the loss (see ``expect_number``); ``wrong_dp`` and ``dp_ratios`` wrong gradients.
    """
    name = cls.__name__
    x, y = inputs.values()
    N, D = x.shape

    def value() -> str:
        got = attempt_pure(f"{name}.forward", make(cls).forward, **inputs)
        expect_number("the loss L", got, reference.forward(x, y), candidates=wrong_L or [],
                      ratios={**reduction_ratios("L", N, D), **(L_ratios or {})},
                      nonfinite=nonfinite)
        return f"L = {float(got):.6f}."

    def gradient() -> str:
        loss = make(cls)
        note = forward_for_backward(loss, name, inputs, inputs, right=not checks.failed("L value"))
        got = attempt(f"{name}.backward", loss.backward)
        x_at = x.copy()  # moved by the differences
        right = numerical_gradient(lambda: reference.forward(x_at, y), x_at)
        row = expect_array(dp, got, right, candidates=wrong_dp,
                           ratios={**reduction_ratios(dp, N, D), **dp_ratios})
        return (f"{dp} agrees with the numerical gradient (relative error {row.error:.1e})."
                + note)

    checks.sub("L value", value)
    checks.sub(dp, gradient)


@dataclass(frozen=True)
class Edge:
    """A loss's edge inputs (p exactly 0 or 1, logits of ±1000) and the hints for each failure."""

    where: str  # "at p = 0 and p = 1"
    inputs: dict[str, np.ndarray]
    L_nonfinite: str  # L is inf or NaN there
    L_wrong: str  # L is finite there but wrong
    grad_nonfinite: str  # the gradient is inf or NaN there


def check_edge(cls: Any, checks: Checks, reference: tinyae.Loss, grad: str, edge: Edge) -> None:
    """L and its gradient at ``edge``'s inputs: finite, and right where the drawn batch was.

    L (or the gradient) is compared with the reference only if its own sub-check passed
    on the drawn batch: otherwise that mistake already explains any difference here.
    """
    name, loss = cls.__name__, make(cls)
    value = attempt_pure(f"{name}.forward", loss.forward, **edge.inputs)
    if not np.isfinite(as_array("L", value)).all():
        raise Mistake(edge.L_nonfinite)
    if not checks.failed("L value"):
        expect_number(f"the loss L {edge.where}", value, reference.forward(*edge.inputs.values()),
                      otherwise=edge.L_wrong)
    got = as_array(grad, attempt(f"{name}.backward", loss.backward))
    if not np.isfinite(got).all():
        raise Mistake(edge.grad_nonfinite)
    if not checks.failed(grad):
        expect_array(f"{grad} {edge.where}", got, reference.backward())


def check_mse(cls: Any, checks: Checks) -> str:
    """Exercise 3.1: L and dp on a drawn batch."""
    p, _, y = draw_batch(checks.rng)
    half = {0.5: "dp is exactly half the right gradient: the factor 2 is missing. "
                 "d(p − y)²/dp = 2 (p − y), so dp = 2 (p − y) / (N·D)."}
    mse = float(np.mean((p - y) ** 2))
    wrong_L = [
        (float(np.mean(np.abs(p - y))), "L is the mean absolute error, mean |p − y|: MSE squares "
                                        "each difference, L = mean((p − y)²)."),
        (float(np.mean(p - y)) ** 2, "L is the square of the mean, (mean(p − y))²: square each "
                                     "difference first, then average, L = mean((p − y)²) — in "
                                     "the mean, errors of opposite signs cancel."),
        (np.sqrt(mse), "L is the root of the mean squared error (RMSE): the MSE has no square "
                       "root, L = mean((p − y)²)."),
    ]
    L_ratios = {0.5: "L is half the MSE, ½·mean((p − y)²): some texts put a ½ in front so that "
                     "the 2 of the derivative cancels; this MSE has none, L = mean((p − y)²)."}
    check_values(cls, checks, tinyae.MSE(), {"p": p, "y": y}, [], half, wrong_L=wrong_L,
                 L_ratios=L_ratios)
    return ""


def check_bce(cls: Any, checks: Checks) -> str:
    """Exercise 3.2: L and dp on a drawn batch, then p = 0 and p = 1 exactly (the clipping)."""
    p, _, y = draw_batch(checks.rng)
    wrong_dp = [
        ((p - y) / p.size, "dp = (p − y) / (N·D) is the gradient with respect to the logit "
                           "z = σ⁻¹(p), not p: with respect to p, divide by p (1 − p) too."),
        ((-y / p - (1 - y) / (1 - p)) / p.size, (
            "dp's second term has the wrong sign: d/dp log(1 − p) = −1 / (1 − p), so the "
            "minus in front of the loss makes it + (1 − y) / (1 − p): dp = (−y/p + "
            "(1 − y)/(1 − p)) / (N·D) = (p − y) / (p (1 − p)) / (N·D).")),
    ]
    wrong_L = [(float(-np.mean(y * np.log(p))), (
        "L = −mean(y·log p): the (1 − y)·log(1 − p) term is missing. Without it nothing "
        "penalises p > 0 where y = 0: predicting p = 1 everywhere would score 0."))]
    L_ratios = {-1.0: "L is negative: the minus in front is missing. log p ≤ 0 and log(1 − p) "
                      "≤ 0, so L = −mean[y·log p + (1 − y)·log(1 − p)] is ≥ 0, and smaller is "
                      "better."}
    swapped = ("L is inf or NaN although every p is between 0.05 and 0.95, where log p and "
               "log(1 − p) are finite: a log of 0 — of y or 1 − y, which are 0 at many "
               "entries? p and y are swapped: the logs are of the prediction p, "
               "L = −mean[y·log p + (1 − y)·log(1 − p)].")
    check_values(cls, checks, tinyae.BCE(), {"p": p, "y": y}, wrong_dp, {}, wrong_L=wrong_L,
                 L_ratios=L_ratios, nonfinite=swapped)

    def clipping() -> str:
        usual = attempt_pure(f"{cls.__name__}.forward", make(cls).forward, p=p, y=y)
        if not np.isfinite(as_array("L", usual)).all():
            raise Mistake("L is inf or NaN even for p between 0.05 and 0.95 (see L value), so "
                          "whether p = 0 and p = 1 are clipped cannot be seen.")
        check_edge(cls, checks, tinyae.BCE(), "dp", Edge(
            "at p = 0 and p = 1", {"p": EDGE_P, "y": EDGE_Y},
            L_nonfinite="BCE is inf or NaN when p is exactly 0 or 1: log 0 = −inf (and 0·log 0 "
                        "= NaN). A sigmoid output does round to 0 or 1 (in float32 for |x| > 17), "
                        "so clip p to [eps, 1 − eps] with np.clip before taking logs.",
            L_wrong=f"L is right for p between 0 and 1 but wrong at p = 0 or 1 exactly: your "
                    f"clipping differs. Clip p to [eps, 1 − eps] with the class's eps = "
                    f"{tinyae.BCE().eps:g}: np.clip(p, self.eps, 1 - self.eps).",
            grad_nonfinite="BCE.backward is inf or NaN when p is exactly 0 or 1: it divides by "
                           "p (1 − p) = 0. Use the clipped p (cache it in forward) in backward too."))
        return "Finite at p = 0 and p = 1: p is clipped."

    checks.sub("p = 0 and p = 1 (clipping)", clipping)
    return ""


def check_bce_logits(cls: Any, checks: Checks) -> str:
    """Exercise 3.3: L and dz on a drawn batch, then logits of ±1000 (where e^z overflows)."""
    _, z, y = draw_batch(checks.rng)
    s = sigmoid(z)
    right = "dz = (σ(z) − y) / (N·D)"
    wrong_dz = [
        ((s - y) * s * (1 - s) / z.size, "dz was multiplied by the sigmoid's derivative "
                                         "σ(z)(1 − σ(z)): on logits it cancels against BCE's "
                                         f"1 / (p (1 − p)), so simply {right}."),
        ((s + y) / z.size, f"dz = (σ(z) + y) / (N·D): the sign of y is wrong, {right} — the "
                           f"gradient is 0 where the prediction σ(z) equals the target y."),
        ((z - y) / z.size, f"dz used z itself where σ(z) belongs: the prediction is p = σ(z), "
                           f"{right}."),
    ]
    wrong_L = [(float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-z)))), (
        "L used log(1 + e^(−z)) without the |z|: for z < 0 that adds −z to the loss (and "
        "e^(−z) overflows for z ≪ 0). The stable form is max(z, 0) − z·y + log(1 + e^(−|z|))."))]
    check_values(cls, checks, tinyae.BCEWithLogits(), {"z": z, "y": y}, wrong_dz, {}, dp="dz",
                 wrong_L=wrong_L)

    def extreme_logits() -> str:
        check_edge(cls, checks, tinyae.BCEWithLogits(), "dz", Edge(
            "at logits like ±1000", {"z": EDGE_Z, "y": EDGE_Y},
            L_nonfinite="BCEWithLogits is inf or NaN for logits like ±1000: e^z overflowed or "
                        "σ(z) rounded to 0 before its log. Use the form in the docstring, "
                        "max(z, 0) − z·y + log1p(e^(−|z|)), where every exponent is ≤ 0.",
            L_wrong="L is right for moderate logits but wrong for logits like ±1000: σ(z) rounded "
                    "to 0 or 1 there (and was clipped?), which loses the loss. Use the form in the "
                    "docstring, max(z, 0) − z·y + log1p(e^(−|z|)), which needs no σ(z).",
            grad_nonfinite="BCEWithLogits.backward is inf or NaN for logits like ±1000: e^(−z) "
                           "overflowed in σ(z). Compute σ(z) without overflow, e.g. "
                           "np.exp(-np.logaddexp(0, -z))."))
        return "Finite and right for logits like ±1000."

    checks.sub("extreme logits", extreme_logits)
    return ""


PART = Part(
    heading="3. Losses",
    intro="A loss compares a prediction p with a target y, both (N, D). `forward(p, y)` returns "
          "one number and caches what `backward()` needs; `backward()` returns dp = ∂L/∂p, "
          "the (N, D) gradient that starts backpropagation. All three take the mean over the "
          "N·D elements (tinyae's reduction \"mean\"): the division by N·D happens exactly once, "
          "in the loss.",
    code=CODE,
    tasks=(
        Task("3.1", "MSE", 2, TUTORIAL, "MSE", formula(CODE, "3.1"), check_mse,
             subchecks=(("L value", 1), ("dp", 1))),
        Task("3.2", "BCE", 3, TUTORIAL, "BCE", formula(CODE, "3.2"), check_bce,
             subchecks=(("L value", 1), ("dp", 1), ("p = 0 and p = 1 (clipping)", 1))),
        Task("3.3", "BCEWithLogits", 3, TUTORIAL, "BCEWithLogits", formula(CODE, "3.3"),
             check_bce_logits, subchecks=(("L value", 1), ("dz", 1), ("extreme logits", 1))),
    ),
)
