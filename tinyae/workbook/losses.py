"""Exercises 3.1–3.3: MSE, BCE (with its clipping) and BCE on logits, forward and backward."""

from __future__ import annotations

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
from tinyae.workbook.task import Mistake, Part, Task, attempt, attempt_pure, formula

TUTORIAL = "tutorials/03_losses.py"

CODE = '''\
class MSE(tinyae.Loss):
    """Mean squared error, the mean over all N·D elements of p and y (both (N, D))."""

    def forward(self, p: np.ndarray, y: np.ndarray) -> float:
        """Exercise 3.1: ``L = (1 / (N·D)) Σ_n Σ_d (p − y)²``, one float.

        Cache ``p`` and ``y`` as ``self.p``, ``self.y`` for backward.  Tutorial 03, §1.
        """
        # solution 3.1
        self.p, self.y = p, y
        return float(np.mean((p - y) ** 2))
        # end

    def backward(self) -> np.ndarray:
        """Exercise 3.1: ``dp = ∂L/∂p = 2 (p − y) / (N·D)``, shape (N, D)."""
        # solution 3.1
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
        self.p, self.y = np.clip(p, self.eps, 1 - self.eps), y
        return float(-np.mean(y * np.log(self.p) + (1 - y) * np.log(1 - self.p)))
        # end

    def backward(self) -> np.ndarray:
        """Exercise 3.2: ``dp = (p − y) / (p (1 − p)) / (N·D)`` with the clipped p, (N, D)."""
        # solution 3.2
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

N, D = 5, 4  # distinct, so that a factor N, D or N·D names its mistake
_rng = np.random.default_rng(11)
P = _rng.uniform(0.05, 0.95, (N, D))  # away from the clipping, where BCE is smooth
Z = _rng.normal(0.0, 2.0, (N, D))
Y = np.where(_rng.random((N, D)) < 0.3, _rng.integers(0, 2, (N, D)), _rng.random((N, D)))
EDGE_P = np.array([[0.0, 1.0, 0.0, 1.0], [0.5, 0.0, 1.0, 0.2]])  # a sigmoid that rounded
EDGE_Y = np.array([[1.0, 0.0, 0.0, 1.0], [0.5, 0.3, 0.9, 0.0]])
EDGE_Z = np.array([[-1000.0, 1000.0, -800.0, 800.0], [0.0, 50.0, -50.0, 1.0]])


Values = list[tuple[float, str]]  # (a known wrong value of L, the hint that names it)


def check_values(cls: type, reference: tinyae.Loss, p: np.ndarray, y: np.ndarray,
                 wrong_dp: list[tuple[np.ndarray, str]], dp_ratios: dict[float, str],
                 dp: str = "dp", wrong_L: Values | None = None,
                 L_ratios: dict[float, str] | None = None, nonfinite: str = "") -> str:
    """``forward``'s value and ``backward``'s gradient (named ``dp``) against the reference.

    ``wrong_L``, ``L_ratios`` and ``nonfinite`` name wrong values of the loss (see
    ``expect_number``); ``wrong_dp`` and ``dp_ratios`` wrong gradients.
    """
    loss, name = make(cls), cls.__name__
    value = attempt_pure(f"{name}.forward", loss.forward, p=p, y=y)
    expect_number("the loss L", value, reference.forward(p, y), candidates=wrong_L or [],
                  ratios={**reduction_ratios("L", N, D), **(L_ratios or {})}, nonfinite=nonfinite)
    grad = attempt(f"{name}.backward", loss.backward)
    p_ = p.copy()
    right = numerical_gradient(lambda: reference.forward(p_, y), p_)
    row = expect_array(dp, grad, right, candidates=wrong_dp,
                       ratios={**reduction_ratios(dp, N, D), **dp_ratios})
    return (f"L = {float(value):.6f}; {dp} agrees with the numerical gradient (relative error "
            f"{row.error:.1e}).")


def check_mse(cls: type) -> str:
    """Exercise 3.1."""
    half = {0.5: "dp is exactly half the right gradient: the factor 2 is missing. "
                 "d(p − y)²/dp = 2 (p − y), so dp = 2 (p − y) / (N·D)."}
    mse = float(np.mean((P - Y) ** 2))
    wrong_L = [
        (float(np.mean(np.abs(P - Y))), "L is the mean absolute error, mean |p − y|: MSE squares "
                                        "each difference, L = mean((p − y)²)."),
        (float(np.mean(P - Y)) ** 2, "L is the square of the mean, (mean(p − y))²: square each "
                                     "difference first, then average, L = mean((p − y)²) — in "
                                     "the mean, errors of opposite signs cancel."),
        (np.sqrt(mse), "L is the root of the mean squared error (RMSE): the MSE has no square "
                       "root, L = mean((p − y)²)."),
    ]
    L_ratios = {0.5: "L is half the MSE, ½·mean((p − y)²): some texts put a ½ in front so that "
                     "the 2 of the derivative cancels; this MSE has none, L = mean((p − y)²)."}
    return check_values(cls, tinyae.MSE(), P, Y, [], half, wrong_L=wrong_L, L_ratios=L_ratios)


def check_bce(cls: type) -> str:
    """Exercise 3.2: the values, then p = 0 and p = 1 exactly (the clipping)."""
    wrong_dp = [
        ((P - Y) / P.size, "dp = (p − y) / (N·D) is the gradient with respect to the logit "
                           "z = σ⁻¹(p), not p: with respect to p, divide by p (1 − p) too."),
        ((-Y / P - (1 - Y) / (1 - P)) / P.size, (
            "dp's second term has the wrong sign: d/dp log(1 − p) = −1 / (1 − p), so the "
            "minus in front of the loss makes it + (1 − y) / (1 − p): dp = (−y/p + "
            "(1 − y)/(1 − p)) / (N·D) = (p − y) / (p (1 − p)) / (N·D).")),
    ]
    wrong_L = [(float(-np.mean(Y * np.log(P))), (
        "L = −mean(y·log p): the (1 − y)·log(1 − p) term is missing. Without it nothing "
        "penalises p > 0 where y = 0: predicting p = 1 everywhere would score 0."))]
    L_ratios = {-1.0: "L is negative: the minus in front is missing. log p ≤ 0 and log(1 − p) "
                      "≤ 0, so L = −mean[y·log p + (1 − y)·log(1 − p)] is ≥ 0, and smaller is "
                      "better."}
    swapped = ("L is inf or NaN although every p is between 0.05 and 0.95, where log p and "
               "log(1 − p) are finite: a log of 0 — of y or 1 − y, which are 0 at many "
               "entries? p and y are swapped: the logs are of the prediction p, "
               "L = −mean[y·log p + (1 − y)·log(1 − p)].")
    details = check_values(cls, tinyae.BCE(), P, Y, wrong_dp, {}, wrong_L=wrong_L,
                           L_ratios=L_ratios, nonfinite=swapped)
    loss, reference = make(cls), tinyae.BCE()
    value = attempt_pure("BCE.forward", loss.forward, p=EDGE_P, y=EDGE_Y)
    if not np.isfinite(as_array("L", value)).all():
        raise Mistake("BCE is inf or NaN when p is exactly 0 or 1: log 0 = −inf (and 0·log 0 = "
                      "NaN). A sigmoid output does round to 0 or 1 (in float32 for |x| > 17), so "
                      "clip p to [eps, 1 − eps] with np.clip before taking logs.")
    expect_number("the loss L at p = 0 and p = 1", value, reference.forward(EDGE_P, EDGE_Y),
                  otherwise=f"L is right for p between 0 and 1 but wrong at p = 0 or 1 exactly: "
                            f"your clipping differs. Clip p to [eps, 1 − eps] with the class's "
                            f"eps = {reference.eps:g}: np.clip(p, self.eps, 1 - self.eps).")
    dp = as_array("dp", attempt("BCE.backward", loss.backward))
    if not np.isfinite(dp).all():
        raise Mistake("BCE.backward is inf or NaN when p is exactly 0 or 1: it divides by "
                      "p (1 − p) = 0. Use the clipped p (cache it in forward) in backward too.")
    expect_array("dp at p = 0 and p = 1", dp, reference.backward())
    return details + " Finite at p = 0 and p = 1: p is clipped."


def check_bce_logits(cls: type) -> str:
    """Exercise 3.3: the values, then logits of ±1000 (where e^z overflows)."""
    s = sigmoid(Z)
    right = "dz = (σ(z) − y) / (N·D)"
    wrong_dz = [
        ((s - Y) * s * (1 - s) / Z.size, "dz was multiplied by the sigmoid's derivative "
                                         "σ(z)(1 − σ(z)): on logits it cancels against BCE's "
                                         f"1 / (p (1 − p)), so simply {right}."),
        ((s + Y) / Z.size, f"dz = (σ(z) + y) / (N·D): the sign of y is wrong, {right} — the "
                           f"gradient is 0 where the prediction σ(z) equals the target y."),
        ((Z - Y) / Z.size, f"dz used z itself where σ(z) belongs: the prediction is p = σ(z), "
                           f"{right}."),
    ]
    wrong_L = [(float(np.mean(np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-Z)))), (
        "L used log(1 + e^(−z)) without the |z|: for z < 0 that adds −z to the loss (and "
        "e^(−z) overflows for z ≪ 0). The stable form is max(z, 0) − z·y + log(1 + e^(−|z|))."))]
    details = check_values(cls, tinyae.BCEWithLogits(), Z, Y, wrong_dz, {}, dp="dz",
                           wrong_L=wrong_L)
    loss, reference = make(cls), tinyae.BCEWithLogits()
    value = attempt_pure("BCEWithLogits.forward", loss.forward, z=EDGE_Z, y=EDGE_Y)
    if not np.isfinite(as_array("L", value)).all():
        raise Mistake("BCEWithLogits is inf or NaN for logits like ±1000: e^z overflowed or "
                      "σ(z) rounded to 0 before its log. Use the form in the docstring, "
                      "max(z, 0) − z·y + log1p(e^(−|z|)), where every exponent is ≤ 0.")
    expect_number("the loss L at logits like ±1000", value, reference.forward(EDGE_Z, EDGE_Y),
                  otherwise="L is right for moderate logits but wrong for logits like ±1000: "
                            "σ(z) rounded to 0 or 1 there (and was clipped?), which loses the "
                            "loss. Use the form in the docstring, max(z, 0) − z·y + "
                            "log1p(e^(−|z|)), which needs no σ(z).")
    dz = attempt("BCEWithLogits.backward", loss.backward)
    expect_array("dz at logits like ±1000", dz, reference.backward())
    return details + " Finite and right for logits like ±1000."


PART = Part(
    heading="3. Losses",
    intro="A loss compares a prediction p with a target y, both (N, D). `forward(p, y)` returns "
          "one number and caches what `backward()` needs; `backward()` returns dp = ∂L/∂p, "
          "the (N, D) gradient that starts backpropagation. All three take the mean over the "
          "N·D elements (tinyae's reduction \"mean\"): the division by N·D happens exactly once, "
          "in the loss.",
    code=CODE,
    tasks=(
        Task("3.1", "MSE", 2, TUTORIAL, "MSE", formula(CODE, "3.1"), check_mse),
        Task("3.2", "BCE", 3, TUTORIAL, "BCE", formula(CODE, "3.2"), check_bce),
        Task("3.3", "BCEWithLogits", 3, TUTORIAL, "BCEWithLogits", formula(CODE, "3.3"),
             check_bce_logits),
    ),
)
