"""An independent float64 reference for tinyae's gradients and optimizers (used by the tests).

It is written *differently* from tinyae on purpose, so that a shared mistake is unlikely:

* gradients come from explicit per-sample Jacobian matrices J[n] of shape (D_out, D_in),
  J[n][i, j] = ∂out[n, i] / ∂x[n, j], chained one sample at a time with dx[n] = J[n]ᵀ dout[n]
  (tinyae never forms a Jacobian);
* derivatives are computed from the layer *input* (σ′(x) = e^(−x) / (1 + e^(−x))²,
  tanh′(x) = 1 / cosh²(x)), where tinyae uses the cached output;
* a loss derivative is written as a sum of separate terms (BCE: −y/p + (1 − y)/(1 − p)),
  and BCE-with-logits goes through the chain rule instead of the shortcut σ(z) − y;
* the optimizers are per-scalar Python loops in the form of PyTorch's documented pseudo-code.

It never imports tinyae.  Everything is float64; the formulas are the textbook ones, accurate
for |x| < 300 (far beyond what the tests use).

A model is described by a *spec*: a list of ``(kind, params)`` with ``kind`` one of
``"dense"`` (params ``[W, b]``, ``W`` of shape (n_in, n_out)) or an activation name
(params ``[]``).  Gradients come back as a list of arrays in the same order as the params.
"""

from __future__ import annotations

import math

import numpy as np

# --- comparing two arrays ----------------------------------------------------------------


def relative_error(actual: np.ndarray, expected: np.ndarray, scale: float = 0.0) -> float:
    """max |actual − expected| / max(max |expected|, scale).

    ``scale`` is the size of the terms that were summed to get ``expected`` (e.g. from
    ``vjp(|J|, |dout|)``): where they cancel, rounding is relative to them, not to the result.
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"shapes differ: {actual.shape} vs {expected.shape}")
    diff = float(np.max(np.abs(actual - expected), initial=0.0))
    size = max(float(np.max(np.abs(expected), initial=0.0)), scale)
    return diff / size if size > 0 else diff


# --- one activation, one sample: x (D,) → Jacobian (D, D) ---------------------------------


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^(−x)), the textbook formula."""
    return 1.0 / (1.0 + np.exp(-x))


def softmax_row(x: np.ndarray) -> np.ndarray:
    """s = e^(x − logsumexp(x)) for one row x (D,)."""
    return np.exp(x - np.logaddexp.reduce(x))


def activation_forward(kind: str, x: np.ndarray) -> np.ndarray:
    """The activation ``kind`` applied to a batch x (N, D), row by row."""
    rows = {
        "sigmoid": sigmoid,
        "tanh": np.tanh,
        "relu": lambda row: np.where(row > 0, row, 0.0),
        "softmax": softmax_row,
        "identity": lambda row: row.copy(),
    }[kind]
    return np.stack([rows(row) for row in x])


def activation_jacobian(kind: str, x: np.ndarray) -> np.ndarray:
    """∂out/∂x for one sample x (D,): a (D, D) matrix.

    Elementwise activations have a diagonal Jacobian diag(f′(x)); softmax has the full
    matrix diag(s) − s sᵀ, since every output depends on every input through Σ e^x.
    """
    if kind == "softmax":
        s = softmax_row(x)
        return np.diag(s) - np.outer(s, s)
    derivative = {
        "sigmoid": lambda t: np.exp(-t) / (1.0 + np.exp(-t)) ** 2,
        "tanh": lambda t: 1.0 / np.cosh(t) ** 2,
        "relu": lambda t: np.heaviside(t, 0.0),  # derivative 0 at t = 0, as in PyTorch
        "identity": np.ones_like,
    }[kind]
    return np.diag(derivative(x))


def activation_jacobians(kind: str, x: np.ndarray) -> np.ndarray:
    """Per-sample Jacobians of an activation for a batch x (N, D): shape (N, D, D)."""
    return np.stack([activation_jacobian(kind, row) for row in x])


# --- Dense --------------------------------------------------------------------------------


def dense_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """out[n, o] = Σ_i x[n, i] W[i, o] + b[o], as an explicit einsum."""
    return np.einsum("ni,io->no", x, W) + b


def dense_jacobians(W: np.ndarray, n_samples: int) -> np.ndarray:
    """∂out[n]/∂x[n] = Wᵀ for every sample: shape (N, n_out, n_in)."""
    return np.stack([W.T] * n_samples)


def dense_param_grads(x: np.ndarray, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dW = Σ_n outer(x[n], dout[n]) (n_in, n_out) and db = Σ_n dout[n] (n_out,)."""
    outer_products = np.einsum("ni,no->nio", x, dout)
    return outer_products.sum(axis=0), dout.sum(axis=0)


def vjp(jacobians: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """dx[n] = J[n]ᵀ dout[n] for J (N, D_out, D_in) and dout (N, D_out): shape (N, D_in)."""
    return np.einsum("noi,no->ni", jacobians, dout)


# --- losses -------------------------------------------------------------------------------


def reduction_divisor(reduction: str, shape: tuple[int, ...]) -> float:
    """What the sum over all N·D elements is divided by: N·D ("mean"), 1 ("sum"), N ("batchmean")."""
    n_samples, n_features = shape
    return {"mean": n_samples * n_features, "sum": 1, "batchmean": n_samples}[reduction]


def loss_elements(kind: str, p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The elementwise losses ℓ[n, d] (before the reduction).

    For "bce_logits", p holds logits z and log σ(z) = −log(1 + e^(−z)) = −logaddexp(0, −z).
    """
    if kind == "mse":
        return (p - y) ** 2
    if kind == "bce":
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))
    log_sigma, log_one_minus_sigma = -np.logaddexp(0.0, -p), -np.logaddexp(0.0, p)
    return -(y * log_sigma + (1 - y) * log_one_minus_sigma)


def loss_gradient_terms(kind: str, p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The terms whose sum is ∂ℓ/∂p elementwise: shape (n_terms, N, D).

    MSE: 2p and −2y.  BCE: −y/p and (1 − y)/(1 − p).  BCE on logits z: the same two
    BCE terms at p = σ(z), each times σ′(z) (chain rule through the sigmoid's diagonal Jacobian).
    """
    if kind == "mse":
        return np.stack([2 * p, -2 * y])
    if kind == "bce":
        return np.stack([-y / p, (1 - y) / (1 - p)])
    probability = sigmoid(p)
    sigma_prime = np.exp(-p) / (1.0 + np.exp(-p)) ** 2
    return np.stack([-y / probability * sigma_prime, (1 - y) / (1 - probability) * sigma_prime])


def loss_and_gradient(kind: str, p: np.ndarray, y: np.ndarray, reduction: str) -> tuple[float, np.ndarray]:
    """(L, ∂L/∂p) for the loss ``kind`` with ``reduction``; p, y (N, D)."""
    divisor = reduction_divisor(reduction, p.shape)
    value = float(np.sum(loss_elements(kind, p, y))) / divisor
    return value, loss_gradient_terms(kind, p, y).sum(axis=0) / divisor


# --- a whole model, sample by sample ------------------------------------------------------


def model_forward(spec: list, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The output p and the input of every layer (needed for the Jacobians)."""
    inputs = []
    for kind, params in spec:
        inputs.append(x)
        x = dense_forward(x, *params) if kind == "dense" else activation_forward(kind, x)
    return x, inputs


def model_loss_and_gradients(
    spec: list, loss: str, reduction: str, x: np.ndarray, y: np.ndarray
) -> tuple[float, list[np.ndarray]]:
    """L and ∂L/∂θ for every parameter of ``spec`` (the order of the params in ``spec``).

    For each sample n the upstream gradient g = ∂L/∂out[n] goes back through the layers:
    a Dense layer adds outer(x[n], g) to dW and g to db, then every layer maps g ← J[n]ᵀ g.
    """
    p, inputs = model_forward(spec, x)
    value, dp = loss_and_gradient(loss, p, y, reduction)
    grads = [[np.zeros_like(param) for param in params] for _, params in spec]
    for n in range(len(x)):
        g = dp[n]
        for (kind, params), layer_input, layer_grads in reversed(list(zip(spec, inputs, grads))):
            if kind == "dense":
                W = params[0]
                layer_grads[0] += np.outer(layer_input[n], g)
                layer_grads[1] += g
                jacobian = W.T
            else:
                jacobian = activation_jacobian(kind, layer_input[n])
            g = jacobian.T @ g
    return value, [grad for layer_grads in grads for grad in layer_grads]


def spec_params(spec: list) -> list[np.ndarray]:
    """Every parameter array of ``spec`` in order (the arrays themselves, not copies)."""
    return [param for _, params in spec for param in params]


# --- optimizers: per-scalar loops, PyTorch's pseudo-code ---------------------------------


class ReferenceSGD:
    """torch.optim.SGD's documented algorithm (dampening 0, no weight decay), one scalar at a time.

    t = 1: b ← g;  t > 1: b ← μ b + g.   Nesterov: g ← g + μ b, else g ← b.   θ ← θ − lr g.
    """

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False) -> None:
        self.lr, self.momentum, self.nesterov = lr, momentum, nesterov
        self.t = 0
        self.b: list[np.ndarray] = []

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Update every array of ``params`` in place."""
        self.t += 1
        if self.t == 1:
            self.b = [np.zeros_like(theta) for theta in params]
        for theta, grad, b in zip(params, grads, self.b):
            for i in np.ndindex(theta.shape):
                g = float(grad[i])
                if self.momentum != 0:
                    b[i] = g if self.t == 1 else self.momentum * b[i] + g
                    g = g + self.momentum * b[i] if self.nesterov else b[i]
                theta[i] = theta[i] - self.lr * g


class ReferenceAdam:
    """torch.optim.Adam's documented algorithm (Kingma & Ba), one scalar at a time.

    m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  m̂ = m / (1 − β₁ᵗ);  v̂ = v / (1 − β₂ᵗ);
    θ ← θ − lr · m̂ / (√v̂ + ε).  With ``weight_decay`` λ, torch.optim.AdamW's: θ ← θ(1 − lr·λ) first.
    """

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.weight_decay = weight_decay
        self.t = 0
        self.m: list[np.ndarray] = []
        self.v: list[np.ndarray] = []

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Update every array of ``params`` in place."""
        self.t += 1
        if self.t == 1:
            self.m = [np.zeros_like(theta) for theta in params]
            self.v = [np.zeros_like(theta) for theta in params]
        for theta, grad, m, v in zip(params, grads, self.m, self.v):
            for i in np.ndindex(theta.shape):
                theta[i] = theta[i] * (1 - self.lr * self.weight_decay)
                g = float(grad[i])
                m[i] = self.beta1 * m[i] + (1 - self.beta1) * g
                v[i] = self.beta2 * v[i] + (1 - self.beta2) * g * g
                m_hat = m[i] / (1 - self.beta1**self.t)
                v_hat = v[i] / (1 - self.beta2**self.t)
                theta[i] = theta[i] - self.lr * m_hat / (math.sqrt(v_hat) + self.eps)


def train(spec: list, optimizer, loss: str, reduction: str, batches: list) -> list[float]:
    """Run one optimizer step per ``(x, y)`` batch on ``spec`` (in place); return the losses."""
    losses = []
    for x, y in batches:
        value, grads = model_loss_and_gradients(spec, loss, reduction, x, y)
        optimizer.step(spec_params(spec), grads)
        losses.append(value)
    return losses
