"""Exercises 2.1–2.5: sigmoid, ReLU, tanh and softmax, forward and backward.

An elementwise activation is described once (``Activation``: f, and f′ written with the
output), so the mistakes every such backward can make — no dout, times the output, f
applied twice, the derivative taken of the input — are computed for all three
(``derivative_mistakes``); each check adds its own (tanh′ for σ′, an inverted mask, …).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tinyae.layers import sigmoid, softmax
from tinyae.workbook import layercheck
from tinyae.workbook.diagnose import as_array, expect_array, known_mistake, matches
from tinyae.workbook.layercheck import Candidates, make
from tinyae.workbook.task import Mistake, Part, Task, attempt, attempt_pure, formula

TUTORIAL = "tutorials/02_activations.py"
SOFTMAX_TUTORIAL = "tutorials/05_data_problems.py"  # where softmax meets an image

CODE = '''\
class Sigmoid(tinyae.Layer):
    """``p = σ(x)``, elementwise: x (N, D) → p (N, D), each p in (0, 1)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Exercise 2.1: ``p = σ(x) = 1 / (1 + e^(−x))``, finite for every x.

        e^(−x) overflows for x ≪ 0; for x < 0 use the equal form e^x / (1 + e^x).
        Cache the output as ``self.p``: the derivative needs only p.  Tutorial 02, §1.
        """
        # solution 2.1
        e = np.exp(-np.abs(x))  # e^(−|x|) ≤ 1 never overflows
        self.p = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.p
        # end

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Exercise 2.1: ``dx = dout · σ′(x)`` with σ′(x) = σ(x)(1 − σ(x)) = p (1 − p).

        dout, dx: (N, D).  Tutorial 02, §1.
        """
        # solution 2.1
        return dout * self.p * (1 - self.p)
        # end


class ReLU(tinyae.Layer):
    """``out = max(x, 0)``, elementwise: x (N, D) → out (N, D)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Exercise 2.2: ``out = max(x, 0)``.  Cache the mask ``x > 0`` as ``self.mask``."""
        # solution 2.2
        self.mask = x > 0
        return np.maximum(x, 0)
        # end

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Exercise 2.2: ``dx = dout · [x > 0]``, the gradient passes where the input was > 0.

        dout, dx: (N, D).  At x = 0 the derivative is taken as 0.  Tutorial 02, §1.
        """
        # solution 2.2
        return dout * self.mask
        # end


class Tanh(tinyae.Layer):
    """``out = tanh(x)``, elementwise: x (N, D) → out (N, D), each in (−1, 1)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Exercise 2.3: ``out = tanh(x)`` (``np.tanh``).  Cache the output as ``self.out``."""
        # solution 2.3
        self.out = np.tanh(x)
        return self.out
        # end

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Exercise 2.3: ``dx = dout · (1 − tanh(x)²) = dout · (1 − out²)``.  Tutorial 02, §1."""
        # solution 2.3
        return dout * (1 - self.out**2)
        # end


class Softmax(tinyae.Layer):
    """Row-wise softmax: x (N, D) → out (N, D), every row positive and summing to 1."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Exercise 2.4: ``out[n, i] = e^(x[n, i]) / Σ_j e^(x[n, j])``, one row per sample.

        Stable: subtract each row's maximum first (the factor e^(−max) cancels, and no
        exponent is then > 0, so e^x cannot overflow).  Cache the output as ``self.out``.
        Tutorial 05, §2 shows what a softmax output can and cannot draw.
        """
        # solution 2.4
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out
        # end

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Exercise 2.5: ``dx = out · (dout − Σ_j dout_j · out_j)``, row by row.

        The Jacobian of one row is ∂out_i/∂x_j = out_i (δ_ij − out_j): every output
        depends on every input of its row.  dout, dx: (N, D).
        """
        # solution 2.5
        dot = (dout * self.out).sum(axis=1, keepdims=True)  # (N, 1): Σ_j dout_j out_j
        return self.out * (dout - dot)
        # end
'''

# Inputs away from 0 (ReLU's kink) and moderate (the derivatives are not all ≈ 0).
X = np.random.default_rng(3).uniform(0.2, 2.5, size=(5, 4)) * np.where(
    np.random.default_rng(4).random((5, 4)) < 0.5, -1, 1)
EXTREME = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0], [700.0, 699.0, -1.0, 0.5, 1.0]])
# Where an activation's mistake often lives: on one side of 0.
REGIONS = {"where the input x < 0": X < 0, "where the input x > 0": X > 0}


@dataclass(frozen=True)
class Activation:
    """An elementwise activation as its checks see it: f, and f′ written with the output.

    ``slope(f(x)) = f′(x)``; ``out`` is the name of the output and ``derivative`` the
    slope as the docstring writes it (``"p (1 − p)"``); ``cache(x)`` is what the
    docstring tells forward to cache.
    """

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    slope: Callable[[np.ndarray], np.ndarray]
    out: str
    derivative: str
    cache: layercheck.Cache


SIGMOID = Activation("Sigmoid", sigmoid, lambda p: p * (1 - p), "p", "p (1 − p)",
                     lambda x: {"p": sigmoid(x)})
RELU = Activation("ReLU", lambda x: np.maximum(x, 0), lambda out: (out > 0) * 1.0, "out",
                  "[x > 0]", lambda x: {"mask": x > 0})
TANH = Activation("Tanh", np.tanh, lambda out: 1 - out**2, "out", "(1 − out²)",
                  lambda x: {"out": np.tanh(x)})


def derivative_mistakes(act: Activation, x: np.ndarray, dout: np.ndarray) -> Candidates:
    """The wrong dx any elementwise activation's backward can return, with their hints."""
    out, name, f_prime = act.f(x), act.name, act.derivative
    return {"dx": [
        (act.slope(out), f"{name}.backward returned the derivative {f_prime} without dout: the "
                         f"chain rule multiplies them, dx = dout · {f_prime}; dout carries how "
                         f"the loss depends on this layer's output."),
        (dout, f"{name}.backward returned dout unchanged: the derivative is missing, "
               f"dx = dout · {f_prime}."),
        (dout * out, f"{name}.backward multiplied dout by the output {act.out} = "
                     f"{name.lower()}(x), not its derivative: dx = dout · {f_prime}."),
        (dout * act.slope(act.f(out)), (
            f"{name}.backward applied {name.lower()} again to the cached output: {act.out} "
            f"already is {name.lower()}(x), so the derivative is {f_prime} with {act.out} as it "
            f"is.")),
        (dout * act.slope(x), f"{name}.backward computed the derivative from the input: it is "
                              f"{f_prime}, with {act.out} the OUTPUT; cache {act.out} in "
                              f"forward and use it."),
    ]}


def check_forward(cls: type, reference: Callable[[np.ndarray], np.ndarray],
                  candidates: list[tuple[np.ndarray, str]] | None = None, out_name: str = "out",
                  ) -> None:
    """Check ``forward`` (its output named ``out_name``) on moderate inputs and at ±1000."""
    name = cls.__name__
    out = attempt_pure(f"{name}.forward", make(cls).forward, x=X)
    expect_array(out_name, out, reference(X), candidates=candidates or [], regions=REGIONS)
    out = as_array("out", attempt_pure(f"{name}.forward", make(cls).forward, x=EXTREME))
    if out.shape == EXTREME.shape and not np.isfinite(out).all():
        raise Mistake(f"{name}.forward gives NaN or inf for inputs like ±1000: e^x overflowed "
                      f"(e^710 is already inf in float64). Rewrite it so that no exponent is "
                      f"> 0 (see its docstring).")
    expect_array("out for inputs like ±1000", out, reference(EXTREME))


def check_activation(cls: type, task_id: str, act: Activation,
                     forward_wrong: list[tuple[np.ndarray, str]],
                     backward_wrong: Callable[[np.ndarray, np.ndarray], Candidates]) -> str:
    """An activation task: forward (finite at ±1000), then backward against the numbers.

    ``backward_wrong(x, dout)`` gives the activation's own wrong dx; they are tried
    before the ones every activation can make (``derivative_mistakes``).
    """
    check_forward(cls, act.f, forward_wrong, act.out)

    def wrong(x: np.ndarray, dout: np.ndarray) -> Candidates:
        return {"dx": backward_wrong(x, dout)["dx"] + derivative_mistakes(act, x, dout)["dx"]}

    return layercheck.check_backward(make(cls), X, {}, reference=act.f, cache=act.cache,
                                     fix=task_id, candidates=wrong, regions=REGIONS)


def check_sigmoid(cls: type) -> str:
    """Exercise 2.1."""
    def wrong(x: np.ndarray, dout: np.ndarray) -> Candidates:
        p = sigmoid(x)
        return {"dx": [
            (dout * p, "Sigmoid.backward: the factor (1 − p) is missing; dx = dout · p (1 − p), "
                       "the derivative σ′(x) = σ(x)(1 − σ(x)) has two factors."),
            (dout * (1 - p), "Sigmoid.backward: the factor p is missing; dx = dout · p (1 − p), "
                             "the derivative σ′(x) = σ(x)(1 − σ(x)) has two factors."),
            (dout * (1 - p**2), "Sigmoid.backward used tanh's derivative, 1 − p² (that is "
                                "1 − tanh²): the sigmoid's is p (1 − p)."),
        ]}
    forward_wrong = [(sigmoid(-X), (
        "p is σ(−x) = 1 − σ(x): the sign of the exponent is flipped (e^x where e^(−x) "
        "belongs), or the two branches of the stable form are swapped — for x ≥ 0 it is "
        "1 / (1 + e^(−|x|)), for x < 0 it is e^(−|x|) / (1 + e^(−|x|))."))]
    return check_activation(cls, "2.1", SIGMOID, forward_wrong, wrong)


def check_relu(cls: type) -> str:
    """Exercise 2.2, including two ReLUs in one network (each must keep its own mask)."""
    def wrong(x: np.ndarray, dout: np.ndarray) -> Candidates:
        return {"dx": [
            (dout * (dout > 0), "ReLU.backward took its mask from dout (dout > 0): the gradient "
                                "passes where the INPUT x was positive, whatever the sign of "
                                "dout: dx = dout · [x > 0], with the mask cached in forward."),
            (dout * (x < 0), "ReLU.backward's mask is inverted: the gradient passed where x < 0, "
                             "where the output is the constant 0. It passes where x > 0: "
                             "self.mask = x > 0."),
        ]}
    forward_wrong = [(np.max(X, 0), (
        "out is np.max(x, 0), the largest entry of each column — np.max reduces over an axis "
        "(here axis 0). The elementwise maximum of x and 0 is np.maximum(x, 0)."))]
    details = check_activation(cls, "2.2", RELU, forward_wrong, wrong)
    first, second = make(cls), make(cls)
    attempt_pure("ReLU.forward", first.forward, x=X)
    attempt_pure("ReLU.forward", second.forward, x=-X)  # the other signs: the opposite mask
    dout = np.random.default_rng(5).standard_normal(X.shape)
    dx = as_array("dx", attempt("ReLU.backward", first.backward, dout.copy()))
    if matches(dx, dout * (X < 0)):
        raise Mistake("ReLU.backward used the mask of another ReLU: in a network with two ReLU "
                      "layers, the first one's backward used the mask of the second one's "
                      "forward (the wrong layer's cache). Store the mask on self in forward "
                      "(self.mask = x > 0), not in a global or class variable, so every layer "
                      "keeps its own.")
    expect_array("dx of the first of two ReLU layers", dx, dout * (X > 0))
    return details


def check_tanh(cls: type) -> str:
    """Exercise 2.3."""
    def wrong(x: np.ndarray, dout: np.ndarray) -> Candidates:
        out = np.tanh(x)
        return {"dx": [
            (dout * (1 - out)**2, "Tanh.backward squared in the wrong place: (1 − out)², where "
                                  "1 − out² is right — square out first, then subtract it "
                                  "from 1."),
            (dout * (1 - out), "Tanh.backward: the square is missing, 1 − out where 1 − out² "
                               "is right (tanh′(x) = 1 − tanh(x)²)."),
            (dout * out * (1 - out), "Tanh.backward used the sigmoid's derivative, out (1 − out): "
                                     "tanh's is 1 − out²."),
            (dout - out**2, "Tanh.backward computed dout · 1 − out², which is dout − out²: the "
                            "parentheses are missing, dx = dout * (1 - out**2)."),
        ]}
    return check_activation(cls, "2.3", TANH, [], wrong)


def check_softmax_forward(cls: type) -> str:
    """Exercise 2.4: the values, each row summing to 1, and no overflow at ±1000."""
    out = as_array("out", attempt_pure("Softmax.forward", make(cls).forward, x=X))
    shifted = np.exp(X - X.max(axis=1, keepdims=True))
    column_shift = np.exp(X - X.max(axis=0, keepdims=True))
    hint = known_mistake(out, [
        (shifted, "out = e^(x − max) is not normalised: divide each row by its sum "
                  "Σ_j e^(x_j − max), not by its maximum (which is 1 after the shift)."),
        (np.log(softmax(X)), "out is the log of the softmax (log-softmax, x − max − log Σ e^…): "
                             "return the probabilities themselves, "
                             "e^(x − max) / Σ_j e^(x_j − max)."),
        (column_shift / column_shift.sum(axis=1, keepdims=True), (
            "out subtracted the maximum of each column (axis=0), over the batch: only a constant "
            "per ROW cancels between numerator and denominator — x.max(axis=1, keepdims=True).")),
    ])
    if hint:
        raise Mistake(hint)
    if out.shape == X.shape and not np.allclose(out.sum(axis=1), 1):
        over = ("each column (axis=0), over the batch" if np.allclose(out.sum(axis=0), 1)
                else "the whole batch at once" if np.isclose(out.sum(), 1) else "something else")
        raise Mistake(f"the rows of Softmax's output do not sum to 1: it normalised over {over}. "
                      f"Each ROW is one sample and must sum to 1: sum over axis=1, with "
                      f"keepdims=True so that the (N, 1) sums divide their own rows.")
    check_forward(cls, softmax)
    return "forward matches the row-wise softmax, and stays finite for inputs like ±1000."


def check_softmax_backward(cls: type) -> str:
    """Exercise 2.5; with the cache ``self.out`` set by hand if 2.4 is not right yet."""
    def wrong(x: np.ndarray, dout: np.ndarray) -> Candidates:
        out = softmax(x)
        dot = (dout * out).sum(axis=1, keepdims=True)
        right = "dx = out · (dout − Σ_j dout_j out_j)"
        return {"dx": [
            (dout * out * (1 - out), (
                "Softmax.backward used only the diagonal of the Jacobian, dout · out (1 − out), "
                "as for a sigmoid. But a softmax output depends on every input of its row "
                "(they sum to 1): ∂out_i/∂x_j = out_i (δ_ij − out_j) ≠ 0 for i ≠ j, so "
                f"{right}.")),
            (dout * out, f"Softmax.backward: dx = dout · out, the − Σ_j dout_j out_j term is "
                         f"missing. Every output of a row depends on every input, {right}."),
            (out * (dout - (dout * out).sum(axis=0, keepdims=True)), (
                f"Softmax.backward summed dout · out over axis=0, the batch: the sum runs over "
                f"the D entries of each row (axis=1, keepdims=True), {right}.")),
            (out * (dout - dout.sum(axis=1, keepdims=True)), (
                f"Softmax.backward: in the sum Σ_j dout_j · out_j the out_j is missing, {right}.")),
            (out * dout - dot, f"Softmax.backward: out · dout − Σ_j dout_j out_j, the parentheses "
                               f"are missing — the leading out multiplies both terms, {right}."),
            (dout - dot, f"Softmax.backward: the leading out · is missing, {right}."),
            (out * (dout + dot), f"Softmax.backward adds Σ_j dout_j out_j where it is "
                                 f"subtracted: {right}."),
        ]}
    return layercheck.check_backward(make(cls), X, {}, reference=softmax,
                                     cache=lambda x: {"out": softmax(x)}, fix="2.4",
                                     candidates=wrong, regions=REGIONS)


PART = Part(
    heading="2. Activations",
    intro="An activation is a layer without parameters, applied elementwise (softmax: row by "
          "row). Its backward multiplies dout by the derivative, which is best written with the "
          "output the forward pass cached.",
    code=CODE,
    tasks=(
        Task("2.1", "Sigmoid", 2, TUTORIAL, "Sigmoid", formula(CODE, "2.1"), check_sigmoid),
        Task("2.2", "ReLU", 2, TUTORIAL, "ReLU", formula(CODE, "2.2"), check_relu),
        Task("2.3", "Tanh", 2, TUTORIAL, "Tanh", formula(CODE, "2.3"), check_tanh),
        Task("2.4", "Softmax.forward", 2, SOFTMAX_TUTORIAL, "Softmax", formula(CODE, "2.4"),
             check_softmax_forward),
        Task("2.5", "Softmax.backward", 3, SOFTMAX_TUTORIAL, "Softmax", formula(CODE, "2.5"),
             check_softmax_backward),
    ),
)
