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
#    "blob" you will meet in tutorial 04.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from tinyae import BCE, Dense, ReLU, Sequential, Sigmoid, Tanh, dense_autoencoder, load_mnist, plot
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
# * `Sigmoid`: `p = σ(x) = 1 / (1 + e^(−x))`, derivative `p (1 − p)`;
# * `Tanh`: `out = tanh(x)`, derivative `1 − out²`;
# * `ReLU`: `out = max(x, 0)`, derivative 1 where x > 0, else 0.

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
#
# Solutions: `tutorials/solutions/02_activations.py`.
