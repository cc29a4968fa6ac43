"""Exercises 2.1–2.5: sigmoid, ReLU, tanh and softmax, forward and backward.

An elementwise activation is described once (``Activation``: f, and f′ written with the
output), so the mistakes every such backward can make — no dout, times the output, f
applied twice, the derivative taken of the input — are computed for all three
(``derivative_mistakes``); each check adds its own (tanh′ for σ′, an inverted mask, …).

A task's points are split over its sub-checks: the forward's values on a batch drawn
from the seed (``draw_x``), finite and right for inputs like ±1000 (``EXTREME``), and
its input left alone; the backward's dx and its dout left alone; for ReLU, two layers
in one network each keeping its own mask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from tinyae.layers import sigmoid, softmax
from tinyae.workbook import layercheck
from tinyae.workbook.diagnose import Known, as_array, expect_array, known_mistake, matches
from tinyae.workbook.layercheck import (
    DOUT_LEFT_ALONE,
    INPUT_LEFT_ALONE,
    Candidates,
    crashed,
    leaves_input_alone,
    make,
)
from tinyae.workbook.patterns import Regions
from tinyae.workbook.task import Checks, Mistake, Part, Task, attempt, formula

TUTORIAL = "tutorials/02_activations.py, §1 Each activation and its derivative"
SOFTMAX_TUTORIAL = "tutorials/02_activations.py, §4 Softmax and its Jacobian"  # not elementwise

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
        # σ′ = p (1 − p): the cached output is all it needs
        return dout * self.p * (1 - self.p)
        # end


class ReLU(tinyae.Layer):
    """``out = max(x, 0)``, elementwise: x (N, D) → out (N, D)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Exercise 2.2: ``out = max(x, 0)``.  Cache the mask ``x > 0`` as ``self.mask``."""
        # solution 2.2
        # the mask remembers where the gradient may pass
        self.mask = x > 0
        return np.maximum(x, 0)
        # end

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Exercise 2.2: ``dx = dout · [x > 0]``, the gradient passes where the input was > 0.

        dout, dx: (N, D).  At x = 0 the derivative is taken as 0.  Tutorial 02, §1.
        """
        # solution 2.2
        # the gradient passes only where the input was positive
        return dout * self.mask
        # end


class Tanh(tinyae.Layer):
    """``out = tanh(x)``, elementwise: x (N, D) → out (N, D), each in (−1, 1)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Exercise 2.3: ``out = tanh(x)`` (``np.tanh``).  Cache the output as ``self.out``."""
        # solution 2.3
        # the output is all the derivative needs
        self.out = np.tanh(x)
        return self.out
        # end

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Exercise 2.3: ``dx = dout · (1 − tanh(x)²) = dout · (1 − out²)``.  Tutorial 02, §1."""
        # solution 2.3
        # tanh′ = 1 − tanh², from the cached output
        return dout * (1 - self.out**2)
        # end


class Softmax(tinyae.Layer):
    """Row-wise softmax: x (N, D) → out (N, D), every row positive and summing to 1."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Exercise 2.4: ``out[n, i] = e^(x[n, i]) / Σ_j e^(x[n, j])``, one row per sample.

        Stable: subtract each row's maximum first (the factor e^(−max) cancels, and no
        exponent is then > 0, so e^x cannot overflow).  Cache the output as ``self.out``.
        Tutorial 02, §4 derives it; tutorial 05, §2 shows what a softmax output can and
        cannot draw.
        """
        # solution 2.4
        # subtracting the row maximum keeps every exponent ≤ 0
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out
        # end

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Exercise 2.5: ``dx = out · (dout − Σ_j dout_j · out_j)``, row by row.

        The Jacobian of one row is ∂out_i/∂x_j = out_i (δ_ij − out_j): every output
        depends on every input of its row.  dout, dx: (N, D).  Derived in tutorial 02, §4.
        """
        # solution 2.5
        dot = (dout * self.out).sum(axis=1, keepdims=True)  # (N, 1): Σ_j dout_j out_j
        return self.out * (dout - dot)
        # end
'''

SIZES = np.arange(3, 8)  # the batch sizes and widths the checks draw from
# Fixed on purpose: these test overflow, e^1000 = inf in float64 whatever the seed.
EXTREME = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0], [700.0, 699.0, -1.0, 0.5, 1.0]])

# The sub-checks of an activation task, besides "dx", "input left alone" and "dout left
# alone" (``layercheck``).
FORWARD_VALUES = "forward values"
EXTREME_INPUTS = "extreme inputs"  # finite, and right, for inputs like ±1000
OWN_MASK = "each layer its own mask"  # two ReLU layers in one network


def draw_x(rng: np.random.Generator) -> np.ndarray:
    """A batch x (N, D) drawn from ``rng``: entries 0.2 to 2.5 in size, half of them negative.

    Away from 0 (ReLU's kink) and moderate (the derivatives are not all ≈ 0); both signs,
    since an activation's mistake often lives on one side of 0; N ≠ D, so that a max or
    a sum over the wrong axis without keepdims does not broadcast by accident.
    """
    N, D = (int(k) for k in rng.choice(SIZES, 2, replace=False))
    signs = np.where(rng.permutation(N * D) % 2 == 0, -1.0, 1.0).reshape(N, D)
    return rng.uniform(0.2, 2.5, (N, D)) * signs


def regions(x: np.ndarray) -> Regions:
    """Where an activation's mistake often lives: on one side of 0."""
    return {"where the input x < 0": x < 0, "where the input x > 0": x > 0}


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


def check_forward(checks: Checks, cls: type, x: np.ndarray,
                  reference: Callable[[np.ndarray], np.ndarray],
                  values: Callable[[Any], None]) -> None:
    """The sub-checks of a forward: its values on x, x left alone, finite and right at ±1000.

    ``values(out)`` raises a ``Mistake`` naming what is wrong with the output on x.  The
    output at ±1000 is compared with the right one only if the values on x are right: a
    wrong formula is named once, under "forward values".
    """
    doing, layer = f"{cls.__name__}.forward", make(cls)
    try:
        out = attempt(doing, layer.forward, x.copy())
    except Mistake as crash:
        crashed(checks, (FORWARD_VALUES, INPUT_LEFT_ALONE), crash)
    else:
        checks.sub(FORWARD_VALUES, partial(values, out))
        checks.sub(INPUT_LEFT_ALONE, partial(leaves_input_alone, doing, layer.forward, x))
    try:
        extreme = attempt(doing, make(cls).forward, EXTREME.copy())
    except Mistake as crash:
        crashed(checks, (EXTREME_INPUTS,), crash)
    else:
        right = None if checks.failed(FORWARD_VALUES) else reference(EXTREME)
        checks.sub(EXTREME_INPUTS, partial(finite_at_extremes, cls.__name__, extreme, right))


def finite_at_extremes(name: str, out: Any, right: np.ndarray | None) -> None:
    """``out``, the forward of ``EXTREME``, has no NaN or inf, and is ``right`` if one is given."""
    out = as_array("out", out)
    if out.shape == EXTREME.shape and not np.isfinite(out).all():
        raise Mistake(f"{name}.forward gives NaN or inf for inputs like ±1000, where every right "
                      f"value is finite: usually e^x overflowed (e^710 is already inf in "
                      f"float64). Rewrite it so that no exponent is > 0 (see its docstring).")
    if right is not None:
        expect_array("out for inputs like ±1000", out, right)


def check_activation(cls: type, checks: Checks, task_id: str, act: Activation,
                     forward_wrong: Callable[[np.ndarray], Known],
                     backward_wrong: Callable[[np.ndarray, np.ndarray], Candidates]) -> str:
    """An activation task: forward (finite at ±1000), then backward against the numbers.

    ``forward_wrong(x)`` and ``backward_wrong(x, dout)`` give the activation's own wrong
    outputs and dx; the latter are tried before the ones every activation can make
    (``derivative_mistakes``).
    """
    x = draw_x(checks.rng)

    def values(out: Any) -> None:
        expect_array(act.out, out, act.f(x), candidates=forward_wrong(x), regions=regions(x))

    def wrong(x: np.ndarray, dout: np.ndarray) -> Candidates:
        return {"dx": backward_wrong(x, dout)["dx"] + derivative_mistakes(act, x, dout)["dx"]}

    check_forward(checks, cls, x, act.f, values)
    return layercheck.check_backward(checks, make(cls), x, {}, reference=act.f, cache=act.cache,
                                     fix=task_id, candidates=wrong, regions=regions(x))


def check_sigmoid(cls: type, checks: Checks) -> str:
    """Exercise 2.1."""
    def forward_wrong(x: np.ndarray) -> Known:
        return [(sigmoid(-x), (
            "p is σ(−x) = 1 − σ(x): the sign of the exponent is flipped (e^x where e^(−x) "
            "belongs), or the two branches of the stable form are swapped — for x ≥ 0 it is "
            "1 / (1 + e^(−|x|)), for x < 0 it is e^(−|x|) / (1 + e^(−|x|))."))]

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
    return check_activation(cls, checks, "2.1", SIGMOID, forward_wrong, wrong)


def check_relu(cls: type, checks: Checks) -> str:
    """Exercise 2.2, including two ReLUs in one network (each must keep its own mask)."""
    def forward_wrong(x: np.ndarray) -> Known:
        return [(np.max(x, 0), (
            "out is np.max(x, 0), the largest entry of each column — np.max reduces over an "
            "axis (here axis 0). The elementwise maximum of x and 0 is np.maximum(x, 0)."))]

    def wrong(x: np.ndarray, dout: np.ndarray) -> Candidates:
        return {"dx": [
            (dout * (dout > 0), "ReLU.backward took its mask from dout (dout > 0): the gradient "
                                "passes where the INPUT x was positive, whatever the sign of "
                                "dout: dx = dout · [x > 0], with the mask cached in forward."),
            (dout * (x < 0), "ReLU.backward's mask is inverted: the gradient passed where x < 0, "
                             "where the output is the constant 0. It passes where x > 0: "
                             "self.mask = x > 0."),
        ]}
    details = check_activation(cls, checks, "2.2", RELU, forward_wrong, wrong)
    x = draw_x(checks.rng)
    dout = checks.rng.standard_normal(x.shape)
    try:  # the first layer's dx alone, the other one's alone, and the first's next to the other
        alone, other, together = (first_dx(cls, inputs, dout) for inputs in ([x], [-x], [x, -x]))
    except Mistake as crash:
        crashed(checks, (OWN_MASK,), crash)
    else:
        checks.sub(OWN_MASK, partial(own_mask, alone, other, together))
    return details


def first_dx(cls: type, inputs: list[np.ndarray], dout: np.ndarray) -> np.ndarray:
    """dx of the first of ``len(inputs)`` new layers, after each ran forward on its input."""
    layers = [make(cls) for _ in inputs]
    for layer, x in zip(layers, inputs):
        attempt(f"{cls.__name__}.forward", layer.forward, x.copy())
    return as_array("dx", attempt(f"{cls.__name__}.backward", layers[0].backward, dout.copy()))


def own_mask(alone: np.ndarray, other: np.ndarray, together: np.ndarray) -> None:
    """The first of two ReLU layers gives the dx it gives alone (``together`` vs ``alone``).

    ``other`` is the dx the second layer's input (−x, the opposite mask) gives.
    """
    if matches(together, alone):
        return
    if matches(together, other):
        raise Mistake("ReLU.backward used the mask of another ReLU: in a network with two ReLU "
                      "layers, the first one's backward used the mask of the second one's "
                      "forward (the wrong layer's cache). Store the mask on self in forward "
                      "(self.mask = x > 0), not in a global or class variable, so every layer "
                      "keeps its own.")
    raise Mistake("ReLU.backward of the first of two ReLU layers gives another dx than the same "
                  "layer alone: it depends on what the other layer's forward did. Store the mask "
                  "on self in forward (self.mask = x > 0), not in a global or class variable, "
                  "so every layer keeps its own.")


def check_tanh(cls: type, checks: Checks) -> str:
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
    return check_activation(cls, checks, "2.3", TANH, lambda x: [], wrong)


def check_softmax_forward(cls: type, checks: Checks) -> str:
    """Exercise 2.4: the values (each row summing to 1), x left alone, no overflow at ±1000."""
    x = draw_x(checks.rng)
    check_forward(checks, cls, x, softmax, partial(softmax_values, x))
    return ""


def softmax_values(x: np.ndarray, out: Any) -> None:
    """``out`` against the row-wise softmax of x, naming the classic mistakes."""
    out = as_array("out", out)
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    column_shift = np.exp(x - x.max(axis=0, keepdims=True))
    hint = known_mistake(out, [
        (shifted, "out = e^(x − max) is not normalised: divide each row by its sum "
                  "Σ_j e^(x_j − max), not by its maximum (which is 1 after the shift)."),
        (np.log(softmax(x)), "out is the log of the softmax (log-softmax, x − max − log Σ e^…): "
                             "return the probabilities themselves, "
                             "e^(x − max) / Σ_j e^(x_j − max)."),
        (column_shift / column_shift.sum(axis=1, keepdims=True), (
            "out subtracted the maximum of each column (axis=0), over the batch: only a constant "
            "per ROW cancels between numerator and denominator — x.max(axis=1, keepdims=True).")),
    ])
    if hint:
        raise Mistake(hint)
    if out.shape == x.shape and not np.allclose(out.sum(axis=1), 1):
        over = ("each column (axis=0), over the batch" if np.allclose(out.sum(axis=0), 1)
                else "the whole batch at once" if np.isclose(out.sum(), 1) else "something else")
        raise Mistake(f"the rows of Softmax's output do not sum to 1: it normalised over {over}. "
                      f"Each ROW is one sample and must sum to 1: sum over axis=1, with "
                      f"keepdims=True so that the (N, 1) sums divide their own rows.")
    expect_array("out", out, softmax(x), regions=regions(x))


def check_softmax_backward(cls: type, checks: Checks) -> str:
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
    x = draw_x(checks.rng)
    return layercheck.check_backward(checks, make(cls), x, {}, reference=softmax,
                                     cache=lambda x: {"out": softmax(x)}, fix="2.4",
                                     candidates=wrong, regions=regions(x))


# The points of an activation task: half for forward, half for backward.
FORWARD = ((FORWARD_VALUES, 2), (EXTREME_INPUTS, 1), (INPUT_LEFT_ALONE, 1))
BACKWARD = (("dx", 3), (DOUT_LEFT_ALONE, 1))


PART = Part(
    heading="2. Activations",
    intro="An activation is a layer without parameters, applied elementwise (softmax: row by "
          "row). Its backward multiplies dout by the derivative, which is best written with the "
          "output the forward pass cached.",
    code=CODE,
    tasks=(
        Task("2.1", "Sigmoid", 2, TUTORIAL, "Sigmoid", formula(CODE, "2.1"), check_sigmoid,
             subchecks=FORWARD + BACKWARD),
        Task("2.2", "ReLU", 2, TUTORIAL, "ReLU", formula(CODE, "2.2"), check_relu,
             subchecks=FORWARD + (("dx", 2), (DOUT_LEFT_ALONE, 1), (OWN_MASK, 1))),
        Task("2.3", "Tanh", 2, TUTORIAL, "Tanh", formula(CODE, "2.3"), check_tanh,
             subchecks=FORWARD + BACKWARD),
        Task("2.4", "Softmax.forward", 2, SOFTMAX_TUTORIAL, "Softmax", formula(CODE, "2.4"),
             check_softmax_forward, subchecks=FORWARD),
        Task("2.5", "Softmax.backward", 3, SOFTMAX_TUTORIAL, "Softmax", formula(CODE, "2.5"),
             check_softmax_backward, subchecks=(("dx", 2), (DOUT_LEFT_ALONE, 1))),
    ),
)
