"""Compare tinyae with PyTorch, in float64: gradients, and 50 optimizer steps.

Run it with a Python that has both tinyae and torch installed::

    python benchmarks/check_against_torch.py

PyTorch is *not* a dependency of tinyae: without it this script prints a message and
exits 0 ("skipped").  With it, the script prints one row per compared quantity — the
largest relative error max |tinyae − torch| / max |torch| — and exits 1 if any gradient
differs by more than 1e-6 or any trajectory by more than 1e-5.

What is compared (all float64, fixed seeds):

* the outputs and gradients (dx, dW, db) of Dense and of Sigmoid, ReLU, Tanh, Softmax
  against ``torch.autograd``;
* the value and ∂L/∂p of MSE, BCE and BCEWithLogits with the reductions "mean", "sum"
  and "batchmean" (torch's "sum" divided by N);
* every parameter gradient of a 4-layer model;
* the parameters after 50 steps of SGD (momentum 0.9, plain and Nesterov) and of Adam
  (also with decoupled weight decay), against ``torch.optim.SGD`` / ``Adam`` / ``AdamW`` on
  the same model and batches.

torch's ``Linear`` stores its weight as (out, in), the transpose of tinyae's ``W``
(n_in, n_out), so weights are copied across as ``W.T``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from torch_twin import to_torch

import tinyae as ae

GRAD_TOL = 1e-6
TRAJECTORY_TOL = 1e-5
REDUCTIONS = ("mean", "sum", "batchmean")

Row = tuple[str, float, float]  # (what, max relative error, tolerance)


def relative_error(ours: Any, theirs: Any) -> float:
    """max |ours − theirs| / max |theirs| (the worst disagreement relative to the size)."""
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    return float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-300))


def numpy_of(tensor: Any) -> np.ndarray:
    """A torch tensor as a NumPy array (detached from the graph)."""
    return tensor.detach().numpy()


def dense_rows(torch: Any, rng: np.random.Generator) -> list[Row]:
    """Dense forward and backward against torch.nn.Linear (weight = Wᵀ)."""
    x, dout = rng.standard_normal((5, 7)), rng.standard_normal((5, 4))
    layer = ae.Dense(7, 4)
    layer.b[...] = rng.standard_normal(4)  # a non-zero bias, so db and the output use it
    out, dx = layer.forward(x), layer.backward(dout)
    linear = torch.nn.Linear(7, 4, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(layer.W.T))
        linear.bias.copy_(torch.from_numpy(layer.b))
    x_t = torch.tensor(x, requires_grad=True)
    out_t = linear(x_t)
    out_t.backward(torch.from_numpy(dout))
    return [
        ("Dense out", relative_error(out, numpy_of(out_t)), GRAD_TOL),
        ("Dense dx", relative_error(dx, numpy_of(x_t.grad)), GRAD_TOL),
        ("Dense dW", relative_error(layer.dW, numpy_of(linear.weight.grad).T), GRAD_TOL),
        ("Dense db", relative_error(layer.db, numpy_of(linear.bias.grad)), GRAD_TOL),
    ]


def activation_rows(torch: Any, rng: np.random.Generator) -> list[Row]:
    """Output and dx of each activation against autograd (ReLU inputs kept ≥ 0.05 away from its kink)."""
    cases: dict[str, tuple[ae.Layer, Callable]] = {
        "Sigmoid": (ae.Sigmoid(), torch.sigmoid),
        "ReLU": (ae.ReLU(), torch.relu),
        "Tanh": (ae.Tanh(), torch.tanh),
        "Softmax": (ae.Softmax(), lambda t: torch.softmax(t, dim=1)),
    }
    rows = []
    for name, (layer, torch_fn) in cases.items():
        x = rng.choice([-1.0, 1.0], (6, 5)) * rng.uniform(0.05, 4.0, (6, 5))
        dout = rng.standard_normal((6, 5))
        out = layer.forward(x)
        dx = layer.backward(dout)
        x_t = torch.tensor(x, requires_grad=True)
        out_t = torch_fn(x_t)
        out_t.backward(torch.from_numpy(dout))
        error = max(relative_error(out, numpy_of(out_t)), relative_error(dx, numpy_of(x_t.grad)))
        rows.append((f"{name} out, dx", error, GRAD_TOL))
    return rows


def torch_loss(torch: Any, name: str, reduction: str) -> Callable:
    """The torch loss matching tinyae's ``name`` and ``reduction`` ("batchmean" = sum / N)."""
    fn = {
        "mse": torch.nn.functional.mse_loss,
        "bce": torch.nn.functional.binary_cross_entropy,
        "bce_logits": torch.nn.functional.binary_cross_entropy_with_logits,
    }[name]
    if reduction == "batchmean":
        return lambda p, y: fn(p, y, reduction="sum") / p.shape[0]
    return lambda p, y: fn(p, y, reduction=reduction)


def loss_rows(torch: Any, rng: np.random.Generator) -> list[Row]:
    """Value and ∂L/∂p of every loss and reduction against autograd."""
    y = rng.uniform(0, 1, (4, 6))
    inputs = {"mse": rng.standard_normal((4, 6)), "bce": rng.uniform(0.01, 0.99, (4, 6)),
              "bce_logits": 3 * rng.standard_normal((4, 6))}
    rows = []
    for name, p in inputs.items():
        for reduction in REDUCTIONS:
            loss = ae.get_loss(name, reduction)
            value, dp = loss.forward(p, y), loss.backward()
            p_t = torch.tensor(p, requires_grad=True)
            value_t = torch_loss(torch, name, reduction)(p_t, torch.from_numpy(y))
            value_t.backward()
            label = f"{type(loss).__name__}({reduction})"
            error = max(relative_error(value, value_t.item()), relative_error(dp, numpy_of(p_t.grad)))
            rows.append((f"{label} L, dp", error, GRAD_TOL))
    return rows


def torch_params(torch_model: Any) -> np.ndarray:
    """All torch parameters flattened in tinyae's order (W = weightᵀ, then b, layer by layer)."""
    parts = []
    for module in torch_model:
        if hasattr(module, "weight"):
            parts += [numpy_of(module.weight).T.ravel(), numpy_of(module.bias)]
    return np.concatenate(parts)


def model_rows(torch: Any, rng: np.random.Generator) -> list[Row]:
    """Every parameter gradient of a 4-layer model with BCE, against autograd."""
    layers = [ae.Dense(8, 6), ae.Tanh(), ae.Dense(6, 5), ae.ReLU(), ae.Dense(5, 6), ae.Softmax(),
              ae.Dense(6, 8), ae.Sigmoid()]
    model = ae.Sequential(layers, seed=3, dtype=np.float64)
    x, y = rng.standard_normal((10, 8)), rng.uniform(0, 1, (10, 8))
    loss = ae.BCE()
    model.zero_grad()
    loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    torch_model = to_torch(model.layers, torch)
    torch_loss(torch, "bce", "mean")(torch_model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    torch_grads = np.concatenate(
        [part for m in torch_model if hasattr(m, "weight")
         for part in (numpy_of(m.weight.grad).T.ravel(), numpy_of(m.bias.grad))]
    )
    return [("4-layer model (BCE) dθ", relative_error(model.grads, torch_grads), GRAD_TOL)]


def trajectory_rows(torch: Any) -> list[Row]:
    """Parameters after 50 steps of each optimizer, tinyae vs torch.optim, same model and batches."""
    rng = np.random.default_rng(5)
    batches = [rng.uniform(0, 1, (16, 8)) for _ in range(50)]  # autoencoding: target = input
    cases = [
        ("SGD(0.1, momentum 0.9), MSE", lambda: ae.SGD(0.1, momentum=0.9),
         lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), "mse"),
        ("SGD(0.1, Nesterov 0.9), MSE", lambda: ae.SGD(0.1, momentum=0.9, nesterov=True),
         lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True), "mse"),
        ("Adam(1e-2), BCE", lambda: ae.Adam(1e-2), lambda p: torch.optim.Adam(p, lr=1e-2), "bce"),
        ("Adam(1e-3), MSE", lambda: ae.Adam(1e-3), lambda p: torch.optim.Adam(p, lr=1e-3), "mse"),
        ("AdamW(1e-2, weight_decay 0.5), BCE", lambda: ae.Adam(1e-2, weight_decay=0.5),
         lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.5), "bce"),
    ]
    rows = []
    for label, make_ours, make_theirs, loss_name in cases:
        layers = [ae.Dense(8, 6), ae.Tanh(), ae.Dense(6, 4), ae.Sigmoid(), ae.Dense(4, 8), ae.Sigmoid()]
        model = ae.Sequential(layers, seed=11, dtype=np.float64)
        torch_model = to_torch(model.layers, torch)
        optimizer, loss = make_ours(), ae.get_loss(loss_name)
        torch_optimizer, loss_t = make_theirs(torch_model.parameters()), torch_loss(torch, loss_name, "mean")
        for x in batches:
            model.zero_grad()
            loss.forward(model.forward(x), x)
            model.backward(loss.backward())
            optimizer.step(model.params, model.grads)
            torch_optimizer.zero_grad()
            x_t = torch.from_numpy(x)
            loss_t(torch_model(x_t), x_t).backward()
            torch_optimizer.step()
        error = relative_error(model.params, torch_params(torch_model))
        rows.append((f"50 steps {label}: θ", error, TRAJECTORY_TOL))
    return rows


def print_table(rows: list[Row]) -> None:
    """One line per comparison: what, error, tolerance, verdict."""
    width = max(len(what) for what, _, _ in rows)
    print(f"{'compared with torch (float64)'.ljust(width)}  max rel. error  tolerance  verdict")
    print("-" * (width + 37))
    for what, error, tol in rows:
        print(f"{what.ljust(width)}  {error:14.2e}  {tol:9.0e}  {'ok' if error <= tol else 'FAIL'}")


def main() -> int:
    """Run every comparison; return 0 if all are within tolerance (or torch is missing), else 1."""
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed, so there is nothing to compare against: skipped.")
        return 0
    print(f"tinyae {ae.__version__}, torch {torch.__version__}, numpy {np.__version__}\n")
    rng = np.random.default_rng(0)
    rows = dense_rows(torch, rng) + activation_rows(torch, rng) + loss_rows(torch, rng)
    rows += model_rows(torch, rng) + trajectory_rows(torch)
    print_table(rows)
    failed = [what for what, error, tol in rows if not error <= tol]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} within tolerance", end="")
    print(f"; FAILED: {failed}" if failed else "")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
