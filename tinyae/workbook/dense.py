"""Exercises 1.1 and 1.2: the dense layer ``out = x @ W + b`` and its three gradients.

Both are checked on a square and a rectangular W, with sizes and values drawn from the
seed (``cases``).  Forward's points are split over its values on each W and its input
left alone; backward's over dW, db, dx and the layer contract (``layercheck``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from tinyae.workbook import layercheck
from tinyae.workbook.diagnose import expect_array
from tinyae.workbook.layercheck import (
    ACCUMULATES,
    DOUT_LEFT_ALONE,
    INPUT_LEFT_ALONE,
    PARAMETERS_LEFT_ALONE,
    crashed,
    leaves_input_alone,
    make,
    set_params,
)
from tinyae.workbook.task import Checks, Mistake, Part, Task, attempt, formula

TUTORIAL = "tutorials/01_dense_and_backprop.py, §1 The forward pass; §2 The backward pass"

CODE = '''\
class Dense(tinyae.Layer):
    """Fully connected layer ``out = x @ W + b``: x (N, n_in) → out (N, n_out).

    ``W`` (n_in, n_out) starts Glorot-uniform, ``b`` (n_out,) at 0.  The gradient of
    ``W`` is ``dW`` and that of ``b`` is ``db``; ``backward`` adds into them.
    """

    param_names = ("W", "b")

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator | int = 0) -> None:
        self.n_in, self.n_out = n_in, n_out
        self.reset_parameters(np.random.default_rng(rng))
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)

    def reset_parameters(self, rng: np.random.Generator) -> None:
        """Glorot-uniform ``W`` and zero ``b`` (``Sequential`` calls this with its own rng)."""
        self.W = tinyae.init.glorot((self.n_in, self.n_out), rng)
        self.b = np.zeros(self.n_out)

    def output_dim(self, n_in: int) -> int:
        """The output width, which ``Sequential`` asks every layer for."""
        return self.n_out

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Exercise 1.1: ``out = x @ W + b``.

        Shapes: x (N, n_in) @ W (n_in, n_out) → (N, n_out); b (n_out,) is added to
        every row (broadcasting).  Cache ``x`` as ``self.x``: backward needs it.
        Derived in tutorial 01, §1.
        """
        # solution 1.1
        self.x = x  # dW = xᵀ @ dout needs the input
        return x @ self.W + self.b
        # end

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Exercise 1.2: add ∂L/∂W and ∂L/∂b into ``dW``, ``db``; return ∂L/∂x.

        ``dout = ∂L/∂out`` has shape (N, n_out).  Then

        * ``dW += xᵀ @ dout``    (n_in, N) @ (N, n_out) → (n_in, n_out)
        * ``db += Σ_n dout[n]``  (n_out,): the sum over the batch
        * ``dx = dout @ Wᵀ``     (N, n_out) @ (n_out, n_in) → (N, n_in), returned

        The products already sum over the N samples and the loss already divided by N:
        do not average again.  Use ``+=`` (gradients accumulate until ``zero_grad``) and
        never change ``dout`` itself.  Derived in tutorial 01, §2.
        """
        # solution 1.2
        # each sum over the batch is already the gradient of the mean loss
        self.dW += self.x.T @ dout
        self.db += dout.sum(axis=0)
        return dout @ self.W.T
        # end
'''


def affine(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The reference forward: ``x @ W + b``."""
    return x @ W + b


def cache_x(x: np.ndarray) -> dict[str, np.ndarray]:
    """What forward caches, by its docstring: the input, ``self.x = x``."""
    return {"x": x}


SIZES = np.arange(2, 8)  # the batch sizes and widths the checks draw from


def cases(rng: np.random.Generator) -> list[tuple[str, np.ndarray, dict[str, np.ndarray]]]:
    """Two batches x (N, n_in) with parameters W (n_in, n_out), b (n_out,), drawn from ``rng``.

    Labelled "on a square W" (first) and "on a rectangular W".  With a square W the
    classic shape mistakes (Wᵀ for W, outᵀ for xᵀ) still run and give their own numbers;
    N differs from both widths, so a sum over the wrong axis has the wrong shape.  The
    values are standard normal: non-zero, of both signs.
    """
    square = rng.choice(SIZES, 2, replace=False)[[0, 1, 1]]  # N, n, n
    rectangular = rng.choice(SIZES, 3, replace=False)  # N, n_in, n_out
    out = []
    for where, sizes in (("on a square W", square), ("on a rectangular W", rectangular)):
        N, n_in, n_out = (int(k) for k in sizes)
        x, W = rng.standard_normal((N, n_in)), rng.standard_normal((n_in, n_out))
        out.append((where, x, {"W": W, "b": rng.standard_normal(n_out)}))
    return out


def made(Dense: type, params: dict[str, np.ndarray]) -> Any:
    """The student's ``Dense`` of the shape of ``params``, with these values written into it."""
    layer = make(Dense, *params["W"].shape)
    set_params(layer, params)
    return layer


def check_forward(Dense: type, checks: Checks) -> str:
    """Exercise 1.1: ``forward`` against ``x @ W + b`` on a square and a rectangular W.

    Sub-checks: the values on each W, and the input x left alone.
    """
    for where, x, params in cases(checks.rng):
        layer, doing, values = made(Dense, params), f"{Dense.__name__}.forward", f"values {where}"
        try:
            out = attempt(doing, layer.forward, x.copy())
        except Mistake as crash:
            crashed(checks, (values, INPUT_LEFT_ALONE), crash)
            continue
        checks.sub(values, partial(forward_values, out, x, params["W"], params["b"]))
        checks.sub(INPUT_LEFT_ALONE, partial(leaves_input_alone, doing, layer.forward, x))
    return ""


def forward_values(out: Any, x: np.ndarray, W: np.ndarray, b: np.ndarray) -> str:
    """``out`` against ``x @ W + b``, naming the classic mistakes that still run."""
    wrong = [(x @ W, "out = x @ W: the bias is missing; out = x @ W + b, with b added to every row."),
             (x @ W - b, "out = x @ W − b: the bias is subtracted; it is added, out = x @ W + b. "
                         "With − b, db = Σ_n dout[n] (exercise 1.2) has the wrong sign and every "
                         "step moves b the wrong way.")]
    if W.shape[0] == W.shape[1]:  # only then does the transposed product run
        wrong.append((x @ W.T + b, "out uses Wᵀ: W has shape (n_in, n_out), so x (N, n_in) @ W is "
                                   "already (N, n_out); no transpose in forward."))
    expect_array("out", out, affine(x, W, b), candidates=wrong)
    return f"forward matches x @ W + b for W of shape {W.shape}."


def backward_mistakes(x: np.ndarray, dout: np.ndarray, W: np.ndarray, b: np.ndarray) -> dict:
    """The classic wrong gradients that still run (with a square W, most shapes fit)."""
    out = x @ W + b
    wrong: dict[str, list[tuple[np.ndarray, str]]] = {
        "dx": [(dout @ (x.T @ dout).T, "dx = dout @ dWᵀ: you used the gradient dW instead of W; "
                                       "dx = dout @ Wᵀ, with the layer's weights.")],
        "dW": [(np.outer(x.sum(axis=0), dout.sum(axis=0)), (
            "dW = (Σ_n x[n]) ⊗ (Σ_n dout[n]): x and dout were summed over the batch before "
            "their product. The gradient sums the products of each sample, dW = xᵀ @ dout = "
            "Σ_n x[n]ᵀ dout[n], and a sum of products is not the product of the sums."))],
        "db": [(np.full_like(b, dout.sum()), (
            "db is the sum of dout over every axis (dout.sum()), the same number in each entry: "
            "sum over the batch only, dout.sum(axis=0), one entry per output."))],
    }
    if W.shape[0] == W.shape[1]:  # only then do these shapes fit
        wrong["dx"].append((dout @ W, "dx = dout @ W: the transpose is missing. dx = dout @ Wᵀ, "
                                      "(N, n_out) @ (n_out, n_in) → (N, n_in); with a square W "
                                      "the shapes fit by accident and the numbers are wrong."))
        wrong["dW"].append((out.T @ dout, (
            "dW = outᵀ @ dout: forward cached its output as self.x, so dW used the output where "
            "the input belongs — you cached the output. Cache the input, self.x = x: "
            "out = x @ W + b depends on W through x.")))
    return wrong


AVERAGED = ("{g} is exactly 1/N = 1/{N} of the right gradient: you averaged over the batch. "
            "Don't: the loss already divided by N (its reduction), so the sum over the batch "
            "is the gradient; dividing again makes every step N times smaller.")


def check_backward(Dense: type, checks: Checks) -> str:
    """Exercise 1.2: dW, db and dx against the numerical gradients of ``x @ W + b``.

    On a square and a rectangular W; with the layer contract (the gradients accumulate,
    dout and the parameters are left alone).
    """
    details = []
    for where, x, params in cases(checks.rng):
        ratios = {g: {1 / len(x): AVERAGED.format(g=g, N=len(x))} for g in ("dx", "dW", "db")}
        details.append(layercheck.check_backward(
            checks, made(Dense, params), x, params, reference=affine, cache=cache_x, fix="1.1",
            candidates=backward_mistakes, ratios=ratios, where=where))
    return "\n\n".join(details)


PART = Part(
    heading="1. The dense layer",
    intro="Every network in tinyae is built from layers with `forward(x)`, which caches what "
          "the backward pass needs, and `backward(dout)`, which adds the parameter gradients "
          "into `dW`, `db` and returns `dx`. Your `Dense` follows that contract, so it works "
          "inside `tinyae.Sequential` and with `tinyae.check_layer`.",
    code=CODE,
    tasks=(
        Task("1.1", "Dense.forward", 2, TUTORIAL, "Dense", formula(CODE, "1.1"), check_forward,
             subchecks=(("values on a square W", 2), ("values on a rectangular W", 1),
                        (INPUT_LEFT_ALONE, 1))),
        Task("1.2", "Dense.backward", 4, TUTORIAL, "Dense", formula(CODE, "1.2"), check_backward,
             subchecks=(("dW", 2), ("db", 1), ("dx", 2), (ACCUMULATES, 1), (DOUT_LEFT_ALONE, 1),
                        (PARAMETERS_LEFT_ALONE, 1))),
    ),
)
