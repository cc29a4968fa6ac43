"""The same network in PyTorch: tinyae layers copied, weights included, into ``torch.nn``.

Used by the benchmarks that run tinyae and PyTorch side by side.  PyTorch is never a
tinyae dependency: callers import torch themselves and pass it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import tinyae


def to_torch(layers: Sequence[tinyae.Layer], torch: Any) -> Any:
    """A ``torch.nn.Sequential`` with the same layers and a copy of the weights.

    tinyae's ``W`` is (n_in, n_out) and torch's ``Linear.weight`` its transpose
    (n_out, n_in); the copy keeps the weights' dtype (float32 or float64).
    """
    activations = {tinyae.Sigmoid: torch.nn.Sigmoid, tinyae.Tanh: torch.nn.Tanh, tinyae.ReLU: torch.nn.ReLU,
                   tinyae.Identity: torch.nn.Identity, tinyae.Softmax: lambda: torch.nn.Softmax(dim=1)}
    modules = []
    for layer in layers:
        if isinstance(layer, tinyae.Dense):
            weight = torch.from_numpy(np.ascontiguousarray(layer.W.T))
            linear = torch.nn.Linear(layer.n_in, layer.n_out, dtype=weight.dtype)
            with torch.no_grad():
                linear.weight.copy_(weight)
                linear.bias.copy_(torch.from_numpy(np.array(layer.b)))
            modules.append(linear)
        else:
            modules.append(activations[type(layer)]())
    return torch.nn.Sequential(*modules)
