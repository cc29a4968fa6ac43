"""Checking a student's layer: its forward against the maths, its backward against numbers.

A layer task compares ``forward`` with a *reference* function of the same parameters
(``x @ W + b``, ``σ(x)``, …) and ``backward`` with the numerical gradient of that
reference function (``tinyae.gradcheck.numerical_gradient``, float64).  The numbers to
match are therefore always those of the right function, never of the student's forward.

A backward task must not fail because the forward is wrong (that is another task): if
the student's forward is not right, the cache its docstring names (``self.x = x``, …)
is set by hand and backward is checked on its own.  A backward that changes a
parameter (an optimizer step taken inside it) is reported before its gradients are
compared.  Last, ``tinyae.check_layer`` runs on the layer (or on ``ReferenceForward``,
the layer with a right forward): it reports a ``dW`` that was overwritten instead of
added to and a ``dout`` changed in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinyae.gradcheck import check_layer, numerical_gradient
from tinyae.workbook.diagnose import expect_array, matches
from tinyae.workbook.patterns import Regions
from tinyae.workbook.task import Mistake, attempt, attempt_pure

Reference = Callable[..., np.ndarray]  # reference(x, **params) -> out
Cache = Callable[[np.ndarray], dict[str, np.ndarray]]  # the attributes forward caches
Candidates = dict[str, list[tuple[np.ndarray, str]]]  # gradient name -> (wrong value, hint)

# dout must not repeat the test inputs: with dout = x, xᵀ @ dout is symmetric and hides a
# transposed dW.  The tasks draw their inputs from small seeds; dout comes from this one.
DOUT_SEED = 2024


def make(cls: Any, *args: Any) -> Any:
    """``cls(*args)``, an instance of the student's class; a ``Mistake`` if that crashes."""
    label = f"{cls.__name__}({', '.join(map(repr, args))})"
    return attempt(label, cls, *args)


def set_params(layer: Any, params: dict[str, np.ndarray]) -> None:
    """Write known values into the layer's parameters (in place, keeping any views)."""
    for name, value in params.items():
        current = getattr(layer, name, None)
        if not isinstance(current, np.ndarray) or current.shape != value.shape:
            got = getattr(current, "shape", type(current).__name__)
            raise Mistake(f"{type(layer).__name__}.{name} should be an array of shape "
                          f"{value.shape} after __init__, got {got}")
        if not isinstance(getattr(layer, "d" + name, None), np.ndarray):
            raise Mistake(f"{type(layer).__name__} has no gradient array d{name}: __init__ must "
                          f"create it, self.d{name} = np.zeros_like(self.{name})")
        current[...] = value


def forward_matches(layer: Any, x: np.ndarray, expected: np.ndarray) -> bool:
    """True if the student's ``forward(x)`` runs and returns ``expected``."""
    try:
        out = attempt_pure("forward", layer.forward, x=x)
    except Mistake:
        return False
    return matches(np.asarray(out, dtype=np.float64), expected) if out is not None else False


class ReferenceForward:
    """The student's layer with a right forward (the reference), to check backward alone.

    ``forward`` sets the cache the docstring prescribes on the student's layer and
    returns the reference output; everything else is the student's layer.
    """

    def __init__(self, layer: Any, reference: Reference, cache: Cache) -> None:
        self.layer, self.reference, self.cache = layer, reference, cache
        self.param_names = getattr(layer, "param_names", ())

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The reference output, with the student's parameters and cache."""
        for name, value in self.cache(x).items():
            setattr(self.layer, name, value)
        return self.reference(x, **{name: getattr(self.layer, name) for name in self.param_names})

    def backward(self, dout: np.ndarray) -> Any:
        """The student's backward."""
        return self.layer.backward(dout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.layer, name)


def numerical(reference: Reference, x: np.ndarray, params: dict[str, np.ndarray],
              dout: np.ndarray) -> dict[str, np.ndarray]:
    """``{"dx": …, "dW": …}``: numerical gradients of Σ reference(x, **params) · dout."""
    x, params = x.copy(), {name: value.copy() for name, value in params.items()}

    def f() -> np.ndarray:
        return reference(x, **params)

    grads = {"dx": numerical_gradient(f, x, dout)}
    grads.update({"d" + name: numerical_gradient(f, value, dout) for name, value in params.items()})
    return grads


def check_backward(layer: Any, x: np.ndarray, params: dict[str, np.ndarray], *,
                   reference: Reference, cache: Cache, fix: str,
                   candidates: Callable[..., Candidates] | None = None,
                   ratios: dict[str, dict[float, str]] | None = None,
                   regions: Regions | None = None) -> str:
    """Check ``layer.backward`` on ``x``; return the gradient-check table (and a note).

    ``params`` were already written into the layer.  ``candidates(x, dout, **params)`` gives the
    classic wrong answers for each gradient (``"dx"``, ``"dW"``, …) with their hints;
    ``ratios`` the hints for gradients off by a known factor; ``regions`` the sets of
    entries of dx a mistake may be confined to ("where the input x < 0").  ``fix`` is the
    id of the forward's task, named when the cache had to be set by hand.
    """
    cls = type(layer).__name__
    expected_out = reference(x, **params)
    note = ""
    if not forward_matches(layer, x, expected_out):
        for name, value in cache(x).items():
            setattr(layer, name, value)
        note = (f"Your forward is not right yet (task {fix}), so backward was checked with "
                f"{', '.join('self.' + n for n in cache(x))} set by hand, as its docstring says.\n")
    dout = np.random.default_rng(DOUT_SEED).standard_normal(expected_out.shape)
    for name in params:
        getattr(layer, "d" + name).fill(0)
    dx = attempt(f"{cls}.backward", layer.backward, dout.copy())
    for name, value in params.items():
        if not np.array_equal(getattr(layer, name), value):
            raise Mistake(f"{cls}.backward changed {name}: backward only computes gradients (into "
                          f"d{name}); the optimizer changes the parameters, once, after every "
                          f"layer's backward has run. Changed here, {name} differs from the one "
                          f"forward used, and the optimizer's own step comes on top.")
    wrong = candidates(x, dout, **params) if candidates else {}
    size = float(np.abs(expected_out * dout).sum())
    for name, right in numerical(reference, x, params, dout).items():
        got = dx if name == "dx" else getattr(layer, name)
        expect_array(name, got, right, candidates=wrong.get(name, ()),
                     ratios=(ratios or {}).get(name), size=size,
                     regions=regions if name == "dx" else None)
    subject = ReferenceForward(layer, reference, cache) if note else layer
    return note + contract(subject, x, cls)


def contract(layer: Any, x: np.ndarray, cls: str) -> str:
    """``check_layer``'s table; a ``Mistake`` for a gradient overwritten or a ``dout`` changed."""
    report = attempt(f"{cls} (in check_layer)", check_layer, layer, x, seed=DOUT_SEED)
    for row in report:
        if row.passed:
            continue
        if "dout" in row.name:
            raise Mistake(f"{cls}.backward modified dout in place (`dout *= …`, `dout[…] = …`): "
                          f"dout belongs to the caller, which may still need it — in a network it "
                          f"is what the layer above returned. Compute a new array instead, "
                          f"dx = dout * …", str(report))
        grad = row.name.split()[0]
        raise Mistake(f"{cls}.backward overwrote {grad} instead of adding to it: called twice, "
                      f"it left {grad} unchanged instead of doubling it. Write self.{grad} += …, "
                      f"not self.{grad} = …: gradients accumulate until zero_grad, and a layer "
                      f"used twice (tied weights) or gradients summed over several batches need "
                      f"the sum.", str(report))
    return str(report)
