"""Exercises 2.1–2.5: sigmoid, ReLU, tanh and softmax, forward and backward."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyae.layers import sigmoid, softmax
from tinyae.workbook import layercheck
from tinyae.workbook.diagnose import as_array, expect_array, matches
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


def check_forward(cls: type, reference: Callable[[np.ndarray], np.ndarray]) -> None:
    """Check ``forward`` on moderate inputs and at ±1000 (where e^x overflows)."""
    name = cls.__name__
    out = attempt_pure(f"{name}.forward", make(cls).forward, x=X)
    expect_array("out", out, reference(X))
    out = as_array("out", attempt_pure(f"{name}.forward", make(cls).forward, x=EXTREME))
    if out.shape == EXTREME.shape and not np.isfinite(out).all():
        raise Mistake(f"{name}.forward gives NaN or inf for inputs like ±1000: e^x overflowed "
                      f"(e^710 is already inf in float64). Rewrite it so that no exponent is "
                      f"> 0 (see its docstring).")
    expect_array("out for inputs like ±1000", out, reference(EXTREME))


def check_activation(cls: type, task_id: str, reference: Callable[[np.ndarray], np.ndarray],
                     cache: layercheck.Cache,
                     backward_wrong: Callable[..., Candidates] | None = None) -> str:
    """An activation task: forward (finite at ±1000), then backward against the numbers."""
    check_forward(cls, reference)
    return layercheck.check_backward(make(cls), X, {}, reference=reference, cache=cache,
                                     fix=task_id, candidates=backward_wrong)


def check_sigmoid(cls: type) -> str:
    """Exercise 2.1."""
    def wrong(x: np.ndarray, dout: np.ndarray) -> Candidates:
        return {"dx": [(dout * x * (1 - x), (
            "Sigmoid.backward computed the derivative from the input: x (1 − x). The "
            "derivative is σ′(x) = σ(x)(1 − σ(x)) = p (1 − p), with p = σ(x) the OUTPUT; "
            "cache p in forward and use it."))]}
    return check_activation(cls, "2.1", sigmoid, lambda x: {"p": sigmoid(x)}, backward_wrong=wrong)


def check_relu(cls: type) -> str:
    """Exercise 2.2, including two ReLUs in one network (each must keep its own mask)."""
    def wrong(x: np.ndarray, dout: np.ndarray) -> Candidates:
        return {"dx": [
            (dout * (dout > 0), "ReLU.backward took its mask from dout (dout > 0): the gradient "
                                "passes where the INPUT x was positive, whatever the sign of "
                                "dout: dx = dout · [x > 0], with the mask cached in forward."),
            (dout, "ReLU.backward returned dout unchanged: the mask is missing; where x ≤ 0 the "
                   "output is constant and no gradient passes."),
        ]}
    details = check_activation(cls, "2.2", lambda x: np.maximum(x, 0), lambda x: {"mask": x > 0},
                               backward_wrong=wrong)
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
        return {"dx": [(dout * (1 - x**2), (
            "Tanh.backward computed the derivative from the input: 1 − x². It is "
            "1 − tanh(x)² = 1 − out², with out the OUTPUT; cache it in forward and use it."))]}
    return check_activation(cls, "2.3", np.tanh, lambda x: {"out": np.tanh(x)},
                            backward_wrong=wrong)


def check_softmax_forward(cls: type) -> str:
    """Exercise 2.4: the values, each row summing to 1, and no overflow at ±1000."""
    out = as_array("out", attempt_pure("Softmax.forward", make(cls).forward, x=X))
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
        return {"dx": [(dout * out * (1 - out), (
            "Softmax.backward used only the diagonal of the Jacobian, dout · out (1 − out), "
            "as for a sigmoid. But a softmax output depends on every input of its row "
            "(they sum to 1): ∂out_i/∂x_j = out_i (δ_ij − out_j) ≠ 0 for i ≠ j, so "
            "dx = out · (dout − Σ_j dout_j out_j)."))]}
    return layercheck.check_backward(make(cls), X, {}, reference=softmax,
                                     cache=lambda x: {"out": softmax(x)}, fix="2.4",
                                     candidates=wrong)


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
