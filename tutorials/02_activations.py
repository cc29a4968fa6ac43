# %% [markdown]
# # 02 — Activations, and why stacked sigmoids learn slowly
#
# Between two dense layers sits an activation: `Sigmoid`, `Tanh`, `ReLU`, … Without one,
# a stack of dense layers is just one big linear map. With one, the network can bend —
# but the activation's *derivative* also multiplies every gradient that flows back
# through it. This tutorial measures what that does:
#
# 1. the sigmoid's derivative is `σ′(x) = p (1 − p)` with `p = σ(x)`, never above 1/4;
# 2. through a stack of sigmoid layers the gradient shrinks layer after layer;
# 3. on the 784-100-50-100-784 MNIST autoencoder of question 1 (docs/questions.md), the first
#    layer gets a tiny fraction of the gradient the last layer gets — one reason for the
#    "blob" you will meet in tutorial 04;
# 4. softmax, the one activation here that is not elementwise: its Jacobian is a matrix,
#    and its backward pass is `dx = out · (dout − Σ_j dout_j out_j)`.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from tinyae import (
    BCE,
    Dense,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    check_layer,
    dense_autoencoder,
    load_mnist,
    plot,
)
from tinyae.diagnostics import measure

QUICK = os.environ.get("TINYAE_QUICK") == "1"
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook
    HERE = Path.cwd()
FIGURES = Path(os.environ.get("TINYAE_FIGURES", HERE / "figures")) / "02_activations"
FIGURES.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Each activation and its derivative
#
# A layer's `backward(dout)` returns `dout` times the derivative, elementwise. So with
# `dout = 1` the backward pass hands us the derivative itself — no formula needed:
#
# * `Sigmoid`: `p = σ(x) = 1 / (1 + e^(−x))`, derivative `p (1 − p)`: differentiate,
#   `σ′(x) = e^(−x) / (1 + e^(−x))² = σ(x) · e^(−x) / (1 + e^(−x))`, and
#   `e^(−x) / (1 + e^(−x)) = 1 − σ(x)`, so `σ′ = p (1 − p)`: the backward pass needs only
#   the cached output p. (For x ≪ 0, e^(−x) overflows — e^1000 is inf — so there tinyae
#   computes the same number as `e^x / (1 + e^x)`.)
# * `Tanh`: `out = tanh(x)`, derivative `1 − out²` (`tanh′ = 1 − tanh²`, again from the
#   output);
# * `ReLU`: `out = max(x, 0)`, derivative 1 where x > 0, else 0 (at x = 0 taken as 0): the
#   backward pass lets `dout` through where the input was positive, `dx = dout · [x > 0]`.
#
# In each case `dx = dout · derivative`, entry by entry: out_i depends on x_i alone.

# %%
x = np.linspace(-8, 8, 1601)[:, None]  # one feature, 1601 "samples"
curves = {}
for layer in (Sigmoid(), Tanh(), ReLU()):
    out = layer.forward(x)
    derivative = layer.backward(np.ones_like(out))
    curves[type(layer).__name__] = (out.ravel(), derivative.ravel())
    print(f"{type(layer).__name__:8s} max derivative {derivative.max():.4f} "
          f"at x = {x[np.argmax(derivative), 0]:+.2f}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for name, (out, derivative) in curves.items():
    axes[0].plot(x.ravel(), out, label=name)
    axes[1].plot(x.ravel(), derivative, label=name)
axes[0].set_title("activation")
axes[1].set_title("its derivative (backward with dout = 1)")
axes[1].axhline(0.25, color="grey", linestyle=":", label="1/4")
for ax in axes:
    ax.set_xlabel("x")
    ax.legend()
fig.tight_layout()
plot.save(fig, FIGURES / "activations.png")

sigmoid_derivative = curves["Sigmoid"][1]
assert abs(sigmoid_derivative.max() - 0.25) < 1e-12  # σ′(0) = ½ · ½
assert sigmoid_derivative[np.abs(x.ravel()) > 5].max() < 0.007  # saturated: |x| > 5

# %% [markdown]
# Why 1/4? `p (1 − p)` is a parabola in p with its top at p = ½, where it is ½ · ½ = ¼.
# And where the sigmoid is *saturated* (p near 0 or 1, i.e. |x| large) the derivative is
# almost 0: at |x| = 5 it is already 0.0066. A saturated unit passes back almost nothing.
#
# ## 2. The gradient through a stack of layers
#
# Backpropagation multiplies: the gradient reaching layer 1 has been multiplied by the
# derivative of every activation above it (and by every `Wᵀ`). With sigmoids each
# factor is at most 1/4. Let us build stacks of 8 `Dense(64, 64)` + activation layers,
# send one random `dout` back, and record the norm of `dW` of each Dense.

# %%
def gradient_norms(activation_class, init: str, depth: int = 8, width: int = 64) -> np.ndarray:
    """‖dW‖ of each Dense of a stack, from the input (first) to the output (last)."""
    layers = []
    for _ in range(depth):
        layers += [Dense(width, width, init=init), activation_class()]
    model = Sequential(layers, seed=0, dtype=np.float64)
    xb = rng.standard_normal((256, width))
    out = model.forward(xb)
    model.zero_grad()
    model.backward(rng.standard_normal(out.shape))
    return np.array([np.linalg.norm(layer.dW) for layer in model.layers if isinstance(layer, Dense)])


stacks = {"sigmoid (glorot)": gradient_norms(Sigmoid, "glorot"),
          "tanh (glorot)": gradient_norms(Tanh, "glorot"),
          "relu (he)": gradient_norms(ReLU, "he")}
for name, norms in stacks.items():
    print(f"{name:17s} ‖dW‖ layer 1 / layer 8 = {norms[0] / norms[-1]:.2e}")

fig, ax = plt.subplots(figsize=(6, 4))
for name, norms in stacks.items():
    ax.semilogy(np.arange(1, len(norms) + 1), norms, marker="o", label=name)
ax.set_xlabel("layer (1 = next to the input)")
ax.set_ylabel("‖dW‖")
ax.set_title("gradient size through 8 layers")
ax.legend()
fig.tight_layout()
plot.save(fig, FIGURES / "gradient_through_depth.png")

assert stacks["sigmoid (glorot)"][0] < 1e-3 * stacks["sigmoid (glorot)"][-1]  # vanished
assert stacks["relu (he)"][0] > 0.1 * stacks["relu (he)"][-1]  # kept its size

# %% [markdown]
# With sigmoids, layer 1 gets a gradient about 10,000 times smaller than layer 8: it
# barely learns. Tanh (derivative up to 1) and ReLU with He initialisation (derivative 1
# on half the units, weights scaled by √(2 / n_in) to make up for the other half) keep
# the gradient's size.
#
# ## 3. The autoencoder of question 1
#
# The network in question 1 is 784 → 100 → 50 → 100 → 784 with a sigmoid after every
# layer. `tinyae.diagnostics.measure` runs one forward and backward pass on a batch and
# reports, per Dense layer k, `layerk/grad_norm = ‖dW‖`. Layers have different sizes, so
# we compare the gradient *per weight*, `‖dW‖ / √(size of W)`.

# %%
mnist = load_mnist("mnist-mini", dtype="uint8", verbose=False)
x_batch = mnist.x_train[: 128 if QUICK else 512]


def gradient_per_weight(hidden: str) -> np.ndarray:
    """RMS of dW for the 4 Dense layers of a fresh 784-100-50-100-784 autoencoder."""
    model = dense_autoencoder("784-100-50-100-784", hidden=hidden, output="sigmoid", seed=0)
    measures = measure(model, x_batch, loss=BCE())
    sizes = [layer.W.size for layer in model.encoder.layers + model.decoder.layers
             if isinstance(layer, Dense)]
    return np.array([measures[f"layer{k}/grad_norm"] / np.sqrt(size)
                     for k, size in enumerate(sizes, start=1)])


for hidden in ("sigmoid", "relu"):
    rms = gradient_per_weight(hidden)
    print(f"{hidden:8s} RMS of dW, layers 1..4: {', '.join(f'{v:.1e}' for v in rms)}; "
          f"layer 1 / layer 4 = {rms[0] / rms[-1]:.3f}")
    if hidden == "sigmoid":
        assert rms[0] < 0.05 * rms[-1]
    else:
        assert rms[0] > 0.1 * rms[-1]

# %% [markdown]
# In the all-sigmoid autoencoder the first layer gets about 1/100 of the output layer's
# gradient per weight. The output layer therefore learns first — and the quickest way to
# lower the loss with the output layer alone is to output the **mean image** for every
# input. Tutorial 04 shows that blob and its fixes.
#
# ## 4. Softmax and its Jacobian
#
# Every activation so far works entry by entry. Softmax — the output layer of question 2
# (tutorial 05, §2) and of every classifier — works on a whole row x of D numbers:
#
# `out_i = e^(x_i) / Σ_k e^(x_k)`   (every out_i > 0, and the row sums to 1)
#
# **Forward, without overflow.** e^1000 is inf in float64, and inf / inf is nan.
# Subtracting the same number c from the whole row changes nothing — in
# `e^(x_i − c) / Σ_k e^(x_k − c)` the factor e^(−c) cancels — so take c = the row's
# maximum: every exponent is then ≤ 0 (no overflow) and the largest term is e^0 = 1 (the
# sum is ≥ 1, never 0).
#
# **The Jacobian.** Each out_i depends on every x_j of its row, so its derivative is a
# D × D matrix, the Jacobian `∂out_i/∂x_j`. Take logs, `log out_i = x_i − log Σ_k e^(x_k)`,
# and differentiate by x_j: `∂ log out_i/∂x_j = δ_ij − e^(x_j) / Σ_k e^(x_k) = δ_ij − out_j`
# (δ_ij is 1 if i = j, else 0). Multiply by out_i:
#
# `∂out_i/∂x_j = out_i (δ_ij − out_j)`,   that is   `J = diag(out) − out outᵀ`
#
# Its diagonal, out_i (1 − out_i), looks like the sigmoid's derivative; the entries off
# the diagonal, −out_i out_j, say that raising x_j lowers every other output (the row
# must still sum to 1). Multiplying `dout` by the diagonal alone — backward as if softmax
# were elementwise — is therefore wrong.
#
# **Backward.** The chain rule needs only the product of dout with J (J is symmetric):
#
# `dx_j = Σ_i dout_i ∂out_i/∂x_j = Σ_i dout_i out_i (δ_ij − out_j) = out_j dout_j − out_j Σ_i dout_i out_i`
#
# so, row by row, **`dx = out · (dout − Σ_j dout_j out_j)`**: one dot product per row, D
# numbers of work instead of the D² of forming J (784² ≈ 615,000 per image for a softmax
# over an image's pixels). Two checks fall out: each row of dx sums to 0 (shifting a row
# of x leaves out unchanged), and a dout equal in every entry of a row gives dx = 0.
#
# First the forward pass, on a row where the naive formula overflows:

# %%
row = np.array([[1000.0, 999.0, 995.0]])
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(row) / np.exp(row).sum(axis=1, keepdims=True)
stable = Softmax().forward(row)
print("naive e^x / Σ e^x:", naive, "  tinyae's Softmax:", stable)
assert np.isnan(naive).all() and np.isclose(stable.sum(), 1)
assert np.allclose(stable, Softmax().forward(row - 1000))  # shifting the row changes nothing

# %% [markdown]
# Now the Jacobian of one row of 4, three ways: by the formula `diag(out) − out outᵀ`, by
# centred differences (column j: nudge x_j by ±h), and as tinyae's `Softmax.backward`
# sees it — `backward(dout)` must equal `dout @ J`.

# %%
x_row = rng.standard_normal((1, 4))
softmax = Softmax()
out_row = softmax.forward(x_row)[0]
J = np.diag(out_row) - np.outer(out_row, out_row)  # ∂out_i/∂x_j = out_i (δ_ij − out_j)
h = 1e-6
J_numerical = np.empty((4, 4))
for j in range(4):
    nudge = np.zeros((1, 4))
    nudge[0, j] = h
    J_numerical[:, j] = (Softmax().forward(x_row + nudge)[0] - Softmax().forward(x_row - nudge)[0]) / (2 * h)
print("J = diag(out) − out outᵀ =\n", np.round(J, 4))
print(f"max |J − J by centred differences| = {np.abs(J - J_numerical).max():.1e}")
dout_row = rng.standard_normal((1, 4))
dx_row = softmax.backward(dout_row)
print(f"max |Softmax.backward(dout) − dout @ J| = {np.abs(dx_row - dout_row @ J).max():.1e}; "
      f"Σ_j dx_j = {dx_row.sum():.1e}")
assert np.allclose(J, J_numerical, atol=1e-8)
assert np.allclose(dx_row, dout_row @ J) and abs(dx_row.sum()) < 1e-12

# %% [markdown]
# `check_layer` checks the backward pass on a whole batch, and catches the elementwise
# mistake: a backward that multiplies dout by the diagonal out (1 − out) only.

# %%
class ElementwiseSoftmax(Softmax):
    """A Softmax whose backward keeps only the Jacobian's diagonal — a wrong gradient."""

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.out * (1 - self.out)  # the bug: −out_i out_j (i ≠ j) forgotten


softmax_report = check_layer(Softmax(), rng.standard_normal((5, 6)))
elementwise_report = check_layer(ElementwiseSoftmax(), rng.standard_normal((5, 6)))
print(softmax_report)
print(elementwise_report)
assert softmax_report.passed and not elementwise_report.passed

# %% [markdown]
# The workbook's exercises 2.4 and 2.5 ask for this forward (with the row's maximum
# subtracted) and this backward. (**Exercise 4** at the end: softmax followed by
# cross-entropy.)
#
# ## Exercises
#
# 1. **Exercise 1.** Feed the sigmoid stack raw pixel values (0..255) instead of values
#    in [0, 1]: what fraction of the first sigmoid layer's outputs is saturated
#    (p(1 − p) < 0.02)? Use `Sigmoid`, a `Dense(784, 100)` and a batch of MNIST.
# 2. **Exercise 2.** Build the ReLU stack with `init="glorot"` instead of `"he"`. By what
#    factor does the signal (the RMS of each ReLU layer's output) shrink per layer now?
#    Explain the number with the variance of `W`.
# 3. **Exercise 3.** How deep can a tanh stack (glorot) go before layer 1's ‖dW‖ is 100×
#    smaller than the last layer's? Try depths 4, 8, 16, 32.
# 4. **Exercise 4.** Softmax followed by cross-entropy, `L = −Σ_i y_i log out_i` for one
#    row, with targets y_i ≥ 0 that sum to 1 (a one-hot label, say): its gradient is
#    `dout_i = −y_i / out_i`. Put that into `dx = out · (dout − Σ_j dout_j out_j)` and
#    show that `dx = out − y`. Check it with `Softmax().backward` on a batch of rows.
#
# Solutions: `tutorials/solutions/02_activations.py`.
