# %% [markdown]
# # Solutions to tutorial 02 — activations and vanishing gradients

# %%
import numpy as np

from tinyae import Dense, ReLU, Sequential, Sigmoid, Softmax, Tanh, load_mnist

rng = np.random.default_rng(0)


def gradient_norms(activation_class, init: str, depth: int, width: int = 64) -> np.ndarray:
    """‖dW‖ of each Dense of a stack, from the input to the output."""
    layers = []
    for _ in range(depth):
        layers += [Dense(width, width, init=init), activation_class()]
    model = Sequential(layers, seed=0, dtype=np.float64)
    out = model.forward(rng.standard_normal((256, width)))
    model.zero_grad()
    model.backward(rng.standard_normal(out.shape))
    return np.array([np.linalg.norm(layer.dW) for layer in model.layers if isinstance(layer, Dense)])


# %% [markdown]
# ## Exercise 1: raw pixels saturate the first sigmoid layer
#
# With inputs up to 255 the pre-activations `x @ W` are ~255× larger than with inputs in
# [0, 1]; nearly every sigmoid output sits at 0 or 1, where p(1 − p) ≈ 0.

# %%
x_raw = load_mnist("mnist-mini", dtype="uint8", verbose=False).x_train[:256].astype(np.float64)
layers = Sequential([Dense(784, 100), Sigmoid()], seed=0, dtype=np.float64)
for name, x in (("x / 255", x_raw / 255), ("raw 0..255", x_raw)):
    p = layers.forward(x)
    saturated = float(np.mean(p * (1 - p) < 0.02))
    print(f"{name:11s} saturated fraction {saturated:.0%}")
assert saturated > 0.5

# %% [markdown]
# ## Exercise 2: ReLU with Glorot initialisation
#
# Glorot gives Var(W) = 2 / (n_in + n_out) = 1 / 64 here, half of He's 2 / n_in = 1 / 32.
# A ReLU passes half of its inputs, so each layer multiplies the mean square of the
# signal by n_in · Var(W) · ½ = ½: its RMS shrinks by √½ ≈ 0.71 per layer (with He: 1).
# (‖dW‖ = ‖xᵀ dout‖ hides this: the shrinking forward signal x and the shrinking backward
# gradient dout meet in the product, so we measure the signal itself.)

# %%
def signal_rms(init: str, depth: int = 8, width: int = 64) -> np.ndarray:
    """RMS of each ReLU layer's output for a standard-normal input batch."""
    model = Sequential([layer for _ in range(depth) for layer in (Dense(width, width, init=init), ReLU())],
                       seed=0, dtype=np.float64)
    out, rms = rng.standard_normal((1024, width)), []
    for layer in model.layers:
        out = layer.forward(out)
        if isinstance(layer, ReLU):
            rms.append(np.sqrt(np.mean(out**2)))
    return np.array(rms)


for init in ("glorot", "he"):
    rms = signal_rms(init)
    factor = (rms[-1] / rms[0]) ** (1 / 7)
    print(f"ReLU + {init:6s}: RMS per layer {np.round(rms, 3)}, factor per layer ≈ {factor:.2f}")
    if init == "glorot":
        assert 0.6 < factor < 0.8
    else:
        assert 0.85 < factor < 1.15

# %% [markdown]
# ## Exercise 3: how deep can tanh go?
#
# tanh′(0) = 1, and Glorot keeps the variance, so the gradient hardly shrinks at first;
# only as the layers' outputs move away from 0 does each derivative 1 − out² drop below 1.
# Measured: even at 32 layers the ratio stays near 1 — a tanh stack with Glorot
# initialisation does not reach a 100× loss at these depths, while 8 sigmoid layers
# already lose a factor of ~10,000.

# %%
ratios = {}
for depth in (4, 8, 16, 32):
    norms = gradient_norms(Tanh, "glorot", depth)
    ratios[depth] = norms[0] / norms[-1]
    print(f"tanh depth {depth:2d}: layer 1 / last = {ratios[depth]:.3f}")
sigmoid_norms = gradient_norms(Sigmoid, "glorot", 8)
print(f"(sigmoid depth 8: {sigmoid_norms[0] / sigmoid_norms[-1]:.1e})")
assert sigmoid_norms[0] / sigmoid_norms[-1] < 1e-2 < min(ratios.values())

# %% [markdown]
# ## Exercise 4: softmax followed by cross-entropy
#
# With `dout_i = −y_i / out_i`, the sum in the backward formula is
# `Σ_j dout_j out_j = Σ_j (−y_j / out_j) · out_j = −Σ_j y_j = −1`, since y sums to 1. So
#
# `dx_i = out_i · (dout_i − Σ_j dout_j out_j) = out_i · (−y_i / out_i + 1) = out_i − y_i`
#
# — the prediction minus the target. The 1/out_i of the loss cancels against the out_i
# of the Jacobian, as BCE's 1/(p(1 − p)) cancels the sigmoid's p(1 − p) (tutorial 03,
# §6): a confident wrong output still gets a gradient of full size.

# %%
x_rows = rng.standard_normal((5, 7))
y = np.eye(7)[rng.integers(0, 7, size=5)]  # one-hot targets: each row sums to 1
y[0] = rng.dirichlet(np.ones(7))  # and one soft target row, which also sums to 1
softmax = Softmax()
out = softmax.forward(x_rows)
dx = softmax.backward(-y / out)  # dout = ∂L/∂out for L = −Σ y log out, row by row
print(f"max |Softmax.backward(−y / out) − (out − y)| = {np.abs(dx - (out - y)).max():.1e}")
assert np.allclose(dx, out - y)
