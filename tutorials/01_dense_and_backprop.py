# %% [markdown]
# # 01 — A dense layer and backpropagation by hand
#
# Every network in tinyae is built from layers that follow one small contract:
#
# * `forward(x)` computes the output and **caches** what the backward pass needs;
# * `backward(dout)` receives `dout = ∂L/∂out`, **adds** the parameter gradients into
#   `dW`, `db`, … and returns `dx = ∂L/∂x`.
#
# In this tutorial you compute a dense layer's output and its three gradients by hand,
# compare them with `tinyae.Dense`, check them against finite differences with
# `tinyae.check_layer`, and then write a layer of your own and check it the same way.
# Last, you see where a model keeps the weights: one vector θ, with each `W` a view into it.
#
# Run it as a script (`python tutorials/01_dense_and_backprop.py`) or as the notebook
# beside it (`01_dense_and_backprop.ipynb`), where each figure appears below its cell.
# Figures are also saved to `tutorials/figures/01_dense_and_backprop/` (or to
# `$TINYAE_FIGURES/01_dense_and_backprop/`).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import tinyae
from tinyae import MSE, Dense, Sequential, Sigmoid, check_layer, check_model, plot
from tinyae.gradcheck import centred_difference

QUICK = os.environ.get("TINYAE_QUICK") == "1"  # the tests set it: fewer, smaller steps
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # running inside a notebook: the notebook's folder
    HERE = Path.cwd()
FIGURES = Path(os.environ.get("TINYAE_FIGURES", HERE / "figures")) / "01_dense_and_backprop"
FIGURES.mkdir(parents=True, exist_ok=True)
print("tinyae", tinyae.__version__, "- figures go to", FIGURES)

# %% [markdown]
# ## 1. The forward pass: `out = x @ W + b`
#
# A batch `x` has one sample per row: shape `(N, n_in)`. The weights `W` have shape
# `(n_in, n_out)` and the bias `b` has shape `(n_out,)`. Row `n` of the output is
# `x[n] @ W + b`: every output unit is a weighted sum of all inputs plus its bias.
#
# We work in float64 in this tutorial: the gradient checker needs it (float32 rounding
# would drown the tiny differences it measures).

# %%
rng = np.random.default_rng(0)
N, n_in, n_out = 4, 3, 2
x = rng.standard_normal((N, n_in))
layer = Dense(n_in, n_out, rng=0)
layer.b[...] = [0.5, -0.5]  # a non-zero bias, so that we can see it at work

out = layer.forward(x)
out_by_hand = x @ layer.W + layer.b
print("W =\n", layer.W, "\nb =", layer.b)
print("out (N, n_out) =\n", out)
assert out.shape == (N, n_out)
assert np.allclose(out, out_by_hand)

# %% [markdown]
# ## 2. The backward pass: three formulas
#
# Suppose some loss `L` sits after the layer and we are told `dout = ∂L/∂out`, an array
# of the same shape as `out`. Each output is `out[n, j] = Σ_i x[n, i] W[i, j] + b[j]`,
# so by the chain rule:
#
# * `dW[i, j] = Σ_n x[n, i] · dout[n, j]`, that is **`dW = xᵀ @ dout`** — shape `(n_in, n_out)`,
#   the sum over the batch happens inside the matrix product;
# * `db[j] = Σ_n dout[n, j]`, that is **`db = dout.sum(axis=0)`** — shape `(n_out,)`;
# * `dx[n, i] = Σ_j dout[n, j] · W[i, j]`, that is **`dx = dout @ Wᵀ`** — shape `(N, n_in)`,
#   passed on to the layer before.
#
# A handy sanity rule: each gradient has exactly the shape of the thing it is the
# gradient of. If your formula gives another shape, a transpose is missing.

# %%
dout = rng.standard_normal(out.shape)  # pretend this came from the loss
layer.zero_grad()  # gradients accumulate (+=), so start from 0
dx = layer.backward(dout)

dW_by_hand = x.T @ dout
db_by_hand = dout.sum(axis=0)
dx_by_hand = dout @ layer.W.T
for name, by_tinyae, by_hand in (("dW", layer.dW, dW_by_hand), ("db", layer.db, db_by_hand),
                                 ("dx", dx, dx_by_hand)):
    print(f"{name}: shape {by_hand.shape}, max |tinyae − by hand| = {np.abs(by_tinyae - by_hand).max():.1e}")
    assert np.allclose(by_tinyae, by_hand)

# %% [markdown]
# ## 3. Checking one number with finite differences
#
# How do we know the formulas are right? Take the scalar `L = Σ out · dout` (its
# gradient with respect to `out` is exactly `dout`), nudge one weight by `±h` and watch
# `L` change:
#
# `∂L/∂W[0, 0] ≈ (L(W[0, 0] + h) − L(W[0, 0] − h)) / (2h)`
#
# This *centred difference* is off by a term of order h², so with h = 1e-5 it agrees
# with the true derivative to about 10 digits.

# %%
def scalar_loss() -> float:
    """L = Σ out · dout for the current weights."""
    return float(np.sum(layer.forward(x) * dout))


h = 1e-5
saved = layer.W[0, 0]
layer.W[0, 0] = saved + h
L_plus = scalar_loss()
layer.W[0, 0] = saved - h
L_minus = scalar_loss()
layer.W[0, 0] = saved  # always put the weight back
numerical = (L_plus - L_minus) / (2 * h)
print(f"dW[0, 0]: analytic {dW_by_hand[0, 0]:+.10f}, numerical {numerical:+.10f}")
assert abs(numerical - dW_by_hand[0, 0]) < 1e-8

# %% [markdown]
# ## 4. `check_layer`: every entry, every gradient
#
# `tinyae.check_layer(layer, x)` does the same for every entry of `x`, `W` and `b`, with
# a random `dout`, and reports the worst **relative error**
# `max |analytic − numerical| / max |gradient|` per gradient. The scale (as in CS231n):
# below 1e-7 the gradient is right, above 1e-2 it is certainly wrong.

# %%
report = check_layer(Dense(5, 3, rng=1), rng.standard_normal((6, 5)))
print(report)
assert report.passed and report.max_error < 1e-7

# %% [markdown]
# A check is only worth something if it fails when the code is wrong. Here is a Dense
# layer with a classic bug: its `db` averages over the batch instead of summing.

# %%
class BuggyDense(Dense):
    """A Dense whose backward *averages* db over the batch — a wrong gradient."""

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = super().backward(dout)
        self.db *= 1.0 / len(dout)  # the bug
        return dx


buggy_report = check_layer(BuggyDense(5, 3, rng=1), rng.standard_normal((6, 5)))
print(buggy_report)
assert not buggy_report.passed
assert [row.verdict for row in buggy_report] == ["ok", "ok", "WRONG"]  # dx, dW right; db wrong

# %% [markdown]
# ## 5. Where the step size h matters
#
# Why h = 1e-5 and not 1e-12? The centred difference has two errors: truncation (≈ c·h²,
# shrinks with h; c depends on the curvature of the function) and rounding
# (≈ ε_machine·|L| / h, *grows* as h shrinks). A dense layer is linear in `W`, so it has
# no truncation error at all; to see both errors we differentiate a curved function, the
# sigmoid, `out = σ(x)`, whose gradient is `dx = dout · p (1 − p)`. The error against h
# is a "V" with its bottom in the middle. (`check_layer` goes one better and cancels the
# h² term by Richardson extrapolation, so a larger h can be used.)

# %%
sigmoid_layer = Sigmoid()
x_curved = 2 * rng.standard_normal((N, n_in))
dout_curved = rng.standard_normal(x_curved.shape)  # any dout of the output's shape
sigmoid_layer.forward(x_curved)
dx_exact = sigmoid_layer.backward(dout_curved)
hs = np.logspace(-13, -1, 7 if QUICK else 25)
errors = []
for step in hs:
    dx_numerical = centred_difference(lambda: sigmoid_layer.forward(x_curved), x_curved,
                                      dout_curved, step)
    errors.append(np.abs(dx_numerical - dx_exact).max() / np.abs(dx_exact).max())
errors = np.array(errors)

fig, ax = plt.subplots(figsize=(6, 4))
ax.loglog(hs, np.maximum(errors, 1e-17), marker="o")
ax.set_xlabel("step h")
ax.set_ylabel("relative error of the numerical dx")
ax.set_title("centred differences of σ: rounding (left) vs truncation (right)")
fig.tight_layout()
plot.save(fig, FIGURES / "step_size.png")
best = hs[np.argmin(errors)]
print(f"smallest error {errors.min():.1e} at h = {best:.0e}; "
      f"at h = {hs[0]:.0e} it is {errors[0]:.1e}, at h = {hs[-1]:.0e} it is {errors[-1]:.1e}")
assert errors.min() < 1e-8
assert errors[0] > 100 * errors.min() and errors[-1] > 100 * errors.min()  # the two arms of the V

# %% [markdown]
# ## 6. Write your own layer
#
# Any object with `forward`, `backward` and `param_names` works with the checker; subclass
# `tinyae.Layer` and it works inside a `Sequential` too (the base class supplies the rest
# of the contract). Here is such a layer; it multiplies every feature by a learned
# factor `a` of shape `(D,)`: `out = x · a` (elementwise, broadcast over the batch).
#
# Backward: `out[n, d] = x[n, d] · a[d]`, so `da[d] = Σ_n dout[n, d] · x[n, d]` and
# `dx[n, d] = dout[n, d] · a[d]`.

# %%
class Scale(tinyae.Layer):
    """``out = x · a`` feature by feature; ``a`` (D,) starts at 1.

    Backward: ``da = Σ_n dout · x`` (D,), ``dx = dout · a`` (N, D).
    """

    param_names = ("a",)

    def __init__(self, n_features: int) -> None:
        self.a = np.ones(n_features)
        self.da = np.zeros(n_features)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x  # cache: da needs x
        return x * self.a

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.da += (dout * self.x).sum(axis=0)  # += : gradients accumulate
        return dout * self.a


scale = Scale(4)
scale.a[...] = [0.5, 2.0, -1.0, 3.0]
scale_report = check_layer(scale, rng.standard_normal((5, 4)))
print(scale_report)
assert scale_report.passed

# %% [markdown]
# Because it follows the contract, `Scale` drops into a `Sequential`, and
# `check_model` checks the gradient of a whole network's loss with respect to every
# parameter, through all the layers at once.

# %%
model = Sequential([Dense(4, 3), Sigmoid(), Dense(3, 4), Scale(4)], seed=0, dtype=np.float64)
xb = rng.standard_normal((8, 4))
model_report = check_model(model, MSE(), xb, xb)
print(model.summary())
print(model_report)
assert model_report.passed

# %% [markdown]
# ## 7. Where `W` lives: one vector θ and views into it
#
# Inside a model the layers do not own their parameters. The model keeps all of them in
# one flat vector `model.params` (θ) and all the gradients in `model.grads`; each layer's
# `W`, `b`, `dW`, `db` is a **view**: a reshaped window onto a slice of that vector,
# sharing its memory. Write into `W` and θ changes, and the other way round. That is how
# `optimizer.step(model.params, model.grads)` updates every layer at once without knowing
# what a layer is.

# %%
def small_net() -> Sequential:
    """The same small network every time (same seed)."""
    return Sequential([Dense(4, 3), Sigmoid(), Dense(3, 4)], seed=0, dtype=np.float64)


net = small_net()
first = net.layers[0]
print("W shares memory with θ:", np.shares_memory(first.W, net.params))
print("θ[:12] is W row by row:", np.array_equal(net.params[:12], first.W.ravel()))
assert np.shares_memory(first.W, net.params) and np.shares_memory(first.dW, net.grads)

# %% [markdown]
# So one step of gradient descent, `W ← W − lr · dW`, can be taken layer by layer or on θ
# at once. Two copies of the same network compute their gradients on the same batch; one
# takes the step by hand, `W -= lr * dW` for each layer, the other with `SGD`. They end
# with exactly the same θ.

# %%
lr, mse = 0.1, MSE()
by_hand, by_optimizer = small_net(), small_net()
for net in (by_hand, by_optimizer):
    net.zero_grad()
    mse.forward(net.forward(xb), xb)
    net.backward(mse.backward())

for dense in (by_hand.layers[0], by_hand.layers[2]):  # the two Dense layers
    dense.W -= lr * dense.dW  # in place: the view, and so θ, changes
    dense.b -= lr * dense.db
tinyae.SGD(lr).step(by_optimizer.params, by_optimizer.grads)  # all of θ in one operation
print("max |θ by hand − θ by SGD| =", np.abs(by_hand.params - by_optimizer.params).max())
assert np.array_equal(by_hand.params, by_optimizer.params)

# %% [markdown]
# And the way the update is usually first written, `W = W - lr * dW`? On a plain Python
# object `=` *rebinds* the name to a new array: the layer would keep its new array while
# the optimizer moved θ, and nothing would tell you. A `tinyae.Layer` therefore writes an
# assigned value into its view (so `=` and `-=` do the same), and refuses a value of the
# wrong shape with a `ShapeError`. A layer class of your own that does not subclass
# `tinyae.Layer` gets a `DetachedParameterError` from the model at its next forward.

# %%
before = by_hand.params.copy()
first = by_hand.layers[0]
first.W = first.W - lr * first.dW  # an assignment: written into the view
assert np.shares_memory(first.W, by_hand.params)
assert not np.array_equal(by_hand.params, before)  # θ moved with it
try:
    first.W = first.W.T  # (3, 4) where (4, 3) belongs
except tinyae.ShapeError as error:
    print("ShapeError:", error)
else:
    raise AssertionError("a transposed W should be refused")

# %% [markdown]
# ## What you learned
#
# * `forward` caches, `backward` takes `dout` and returns `dx` while filling `dW`, `db`.
# * `dW = xᵀ @ dout`, `db = Σ_n dout`, `dx = dout @ Wᵀ` — each the shape of its variable.
# * A finite-difference check (`check_layer`, `check_model`) catches wrong gradients;
#   run it on every layer you write, in float64.
# * In a model, `W` and `dW` are views into θ and its gradient vector: a step on θ and
#   `W -= lr * dW` for each layer are the same update.
#
# ## Exercises
#
# 1. **Exercise 1.** Write a `LeakyReLU` layer (`out = x` for x > 0, `0.01·x` otherwise)
#    and check it with `check_layer`. Why should the test input avoid values very close to 0?
# 2. **Exercise 2.** Break `Dense` in another way: return `dout @ W` instead of
#    `dout @ W.T` (use a square layer so that the shapes still fit). Which gradient does
#    `check_layer` flag, and which ones stay correct?
# 3. **Exercise 3.** Call `check_layer` with a float32 batch. What happens, and why is
#    refusing better than reporting a number?
#
# Solutions: `tutorials/solutions/01_dense_and_backprop.py`.
