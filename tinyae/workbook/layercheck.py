"""Checking a student's layer: its forward against the maths, its backward against numbers.

A layer task compares ``forward`` with a *reference* function of the same parameters
(``x @ W + b``, ``σ(x)``, …) and ``backward`` with the numerical gradient of that
reference function (``tinyae.gradcheck.numerical_gradient``, float64).  The numbers to
match are therefore always those of the right function, never of the student's forward.

A backward task must not fail because the forward is wrong (that is another task): if
the student's forward is not right, the cache its docstring names (``self.x = x``, …)
is set by hand and backward is checked on its own.  ``check_backward`` then records one
sub-check per gradient (``dx``, ``dW``, …) and the layer contract: the gradients
accumulate (``backward`` called twice with the same ``dout`` doubles them), ``dout`` is
left alone, and so are the parameters (no optimizer step inside ``backward``).

The layer may live in the student's process (``remote.Remote``): arrays read from it are
copies, so it is written into with ``remote.assign`` / ``remote.fill`` and its cache is
set with ``setattr``; nothing but arrays is passed to its methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import numpy as np

from tinyae.gradcheck import GradCheckReport, GradientCheck, compare, numerical_gradient
from tinyae.workbook.diagnose import as_array, expect_array, matches
from tinyae.workbook.patterns import Regions
from tinyae.workbook.remote import assign, fill, type_name
from tinyae.workbook.task import Checks, Mistake, attempt, attempt_pure

Reference = Callable[..., np.ndarray]  # reference(x, **params) -> out
Cache = Callable[[np.ndarray], dict[str, np.ndarray]]  # the attributes forward caches
Candidates = dict[str, list[tuple[np.ndarray, str]]]  # gradient name -> (wrong value, hint)

# The sub-checks of the layer contract, named as a teacher would name them; a backward
# task also has one sub-check per gradient, named after it ("dx", "dW", "db").
INPUT_LEFT_ALONE = "input left alone"  # forward did not change x
ACCUMULATES = "accumulates"  # the same batch twice through forward and backward doubles dW, db
DOUT_LEFT_ALONE = "dout left alone"  # backward did not change dout
PARAMETERS_LEFT_ALONE = "parameters left alone"  # backward did not change W, b


def make(cls: Any, *args: Any) -> Any:
    """``cls(*args)``, an instance of the student's class; a ``Mistake`` if that crashes."""
    label = f"{cls.__name__}({', '.join(map(repr, args))})"
    return attempt(label, cls, *args)


def set_params(layer: Any, params: dict[str, np.ndarray]) -> None:
    """Write known values into the layer's parameters (in place, keeping any views)."""
    cls = type_name(layer)
    for name, value in params.items():
        current = getattr(layer, name, None)
        if not isinstance(current, np.ndarray) or current.shape != value.shape:
            got = getattr(current, "shape", type(current).__name__)
            raise Mistake(f"{cls}.{name} should be an array of shape {value.shape} after "
                          f"__init__, got {got}")
        if not isinstance(getattr(layer, "d" + name, None), np.ndarray):
            raise Mistake(f"{cls} has no gradient array d{name}: __init__ must create it, "
                          f"self.d{name} = np.zeros_like(self.{name})")
        assign(layer, name, value)


def crashed(checks: Checks, names: Iterable[str], crash: Mistake, where: str = "") -> None:
    """Record ``crash`` (a call that raised) as the failure of the sub-checks ``names``.

    None of them could be checked (``where``: on which input, "on a rectangular W").  A
    crash before anything was checked that leaves nothing to check is the whole task's
    failure: it is raised.  Sub-checks that failed with the same hint are reported
    together ("dx, dout left alone: …"), so one error is told once.
    """
    if not checks.done and set(names) >= set(checks.weights):
        raise crash
    hint = checks.hint_of(crash)
    if where:
        hint = f"not checked {where}: {hint}"
    for name in names:
        if not checks.failed(name):  # one that failed already has a hint of its own
            checks.sub(name, partial(_raise, Mistake(hint)))


def _raise(mistake: Mistake) -> None:
    raise mistake


def leaves_input_alone(doing: str, forward: Callable[..., Any], x: np.ndarray) -> None:
    """The sub-check "input left alone": ``forward(x)`` must not change x in place."""
    attempt_pure(doing, forward, x=x)  # its Mistake says how x was changed, and why that hurts


def forward_matches(layer: Any, x: np.ndarray, expected: np.ndarray) -> bool:
    """True if the student's ``forward(x)`` runs and returns ``expected``."""
    try:
        out = attempt_pure("forward", layer.forward, x=x)
    except Mistake:
        return False
    return matches(np.asarray(out, dtype=np.float64), expected) if out is not None else False


def numerical(reference: Reference, x: np.ndarray, params: dict[str, np.ndarray],
              dout: np.ndarray) -> dict[str, np.ndarray]:
    """``{"dx": …, "dW": …}``: numerical gradients of Σ reference(x, **params) · dout."""
    x, params = x.copy(), {name: value.copy() for name, value in params.items()}

    def f() -> np.ndarray:
        return reference(x, **params)

    grads = {"dx": numerical_gradient(f, x, dout)}
    grads.update({"d" + name: numerical_gradient(f, value, dout) for name, value in params.items()})
    return grads


def check_backward(checks: Checks, layer: Any, x: np.ndarray, params: dict[str, np.ndarray], *,
                   reference: Reference, cache: Cache, fix: str,
                   candidates: Callable[..., Candidates] | None = None,
                   ratios: dict[str, dict[float, str]] | None = None,
                   regions: Regions | None = None, where: str = "") -> str:
    """Check ``layer.backward`` on ``x``; return the gradient-check table (and a note).

    Records the sub-checks ``dx`` and ``d<name>`` for each parameter, ``DOUT_LEFT_ALONE``
    and, for a layer with parameters, ``ACCUMULATES`` and ``PARAMETERS_LEFT_ALONE``.
    ``params`` were already written into the layer; ``dout`` is drawn from ``checks.rng``,
    independently of x (with dout = x, xᵀ @ dout is symmetric and hides a transposed dW).
    ``candidates(x, dout, **params)`` gives the classic wrong answers for each gradient
    with their hints; ``ratios`` the hints for gradients off by a known factor;
    ``regions`` the sets of entries of dx a mistake may be confined to ("where the input
    x < 0").  ``fix`` is the id of the forward's task, named when the cache had to be set
    by hand; ``where`` says which input this is ("on a rectangular W") when backward crashes.
    """
    cls = type_name(layer)
    expected_out = reference(x, **params)
    own_forward = forward_matches(layer, x, expected_out)
    note = "" if own_forward else (
        f"Your forward is not right yet (task {fix}), so backward was checked with "
        f"{', '.join('self.' + n for n in cache(x))} set by hand, as its docstring says.\n")

    def through_forward() -> None:
        """The batch x through the layer: its own forward if that is right, else the cache."""
        if own_forward:
            attempt(f"{cls}.forward", layer.forward, x.copy())
        else:
            for name, value in cache(x).items():
                setattr(layer, name, value)

    dout = checks.rng.standard_normal(expected_out.shape)
    right = numerical(reference, x, params, dout)
    contract = [DOUT_LEFT_ALONE] + ([ACCUMULATES, PARAMETERS_LEFT_ALONE] if params else [])
    for name in params:
        fill(layer, "d" + name, 0)
    given = dout.copy()  # the student's backward may change it: compared with dout below
    try:
        through_forward()
        dx = attempt(f"{cls}.backward", layer.backward, given)
        first = gradients(layer, params)
        after = {name: np.array(getattr(layer, name)) for name in params}
        through_forward()  # the same batch again: its gradients add to the first
        attempt(f"{cls}.backward", layer.backward, dout.copy())
        second = gradients(layer, params)
    except Mistake as crash:
        crashed(checks, [*right, *contract], crash, where)
        return note
    wrong = candidates(x, dout, **params) if candidates else {}
    stepped = {name: value for name, value in after.items() if value.dtype.kind == "f"
               and value.shape == params[name].shape and not np.array_equal(value, params[name])}
    if stepped:  # dx from the parameters as backward left them: one more wrong answer to name
        wrong["dx"] = [*wrong.get("dx", []), (
            numerical(reference, x, {**params, **stepped}, dout)["dx"],
            f"dx was computed with the {' and '.join(stepped)} that backward had just changed (see "
            f"\"{PARAMETERS_LEFT_ALONE}\"); with the parameters forward used, dx is right.")]
    size = float(np.abs(expected_out * dout).sum())
    rows: list[GradientCheck] = []

    def gradient(name: str) -> None:
        rows.append(expect_array(name, dx if name == "dx" else first[name], right[name],
                                 candidates=wrong.get(name, ()), ratios=(ratios or {}).get(name),
                                 size=size, regions=regions if name == "dx" else None))

    for name in right:
        checks.sub(name, partial(gradient, name))
    checks.sub(DOUT_LEFT_ALONE, lambda: dout_left_alone(cls, given, dout))
    if params:
        checks.sub(ACCUMULATES, lambda: rows.extend(accumulated(cls, first, second, size)))
        checks.sub(PARAMETERS_LEFT_ALONE, lambda: parameters_left_alone(cls, after, params))
    return note + str(GradCheckReport(rows))


def gradients(layer: Any, params: dict[str, np.ndarray]) -> dict[str, Any]:
    """The layer's gradients ``d<name>`` now, as copies (a later backward adds into them)."""
    grads = {"d" + name: getattr(layer, "d" + name, None) for name in params}
    return {name: g.copy() if isinstance(g, np.ndarray) else g for name, g in grads.items()}


def dout_left_alone(cls: str, given: np.ndarray, dout: np.ndarray) -> None:
    """A ``Mistake`` if backward changed ``given``, its copy of ``dout``."""
    if not np.array_equal(given, dout, equal_nan=True):
        raise Mistake(f"{cls}.backward modified dout in place (`dout *= …`, `dout[…] = …`): "
                      f"dout belongs to the caller, which may still need it — in a network it "
                      f"is what the layer above returned. Compute a new array instead, "
                      f"dx = dout * …")


def accumulated(cls: str, first: dict[str, Any], second: dict[str, Any],
                size: float) -> list[GradientCheck]:
    """The rows "dW accumulates": the second backward on the same batch doubled each gradient.

    A gradient that is not a finite array is left to its own sub-check, which names it.
    """
    rows = []
    for name, once in first.items():
        if not (isinstance(once, np.ndarray) and np.isfinite(once).all()):
            continue
        twice = as_array(name, second[name])
        if twice.shape == once.shape and matches(twice, 2 * once):
            rows.append(compare(f"{name} accumulates", twice, 2 * once, size=size))
            continue
        if twice.shape == once.shape and matches(twice, once):
            raise Mistake(f"{cls}.backward overwrote {name} instead of adding to it: called twice, "
                          f"it left {name} unchanged instead of doubling it. Write self.{name} += …, "
                          f"not self.{name} = …: gradients accumulate until zero_grad, and a layer "
                          f"used twice (tied weights) or gradients summed over several batches "
                          f"need the sum.")
        raise Mistake(f"{cls}.backward, called twice on the same batch, should leave twice the "
                      f"first call's {name} (self.{name} += …: gradients accumulate until "
                      f"zero_grad), but it left something else: does backward change what it "
                      f"reads (its cache, a parameter) or keep a count of its calls?")
    return rows


def parameters_left_alone(cls: str, after: dict[str, np.ndarray],
                          params: dict[str, np.ndarray]) -> None:
    """A ``Mistake`` if backward changed a parameter (``after``: their values after it ran)."""
    for name, value in params.items():
        if not np.array_equal(after[name], value):
            raise Mistake(f"{cls}.backward changed {name}: backward only computes gradients (into "
                          f"d{name}); the optimizer changes the parameters, once, after every "
                          f"layer's backward has run. Changed here, {name} differs from the one "
                          f"forward used, and the optimizer's own step comes on top.")
