# %% [markdown]
# # 05 — When the data is the problem
#
# Three of the four questions in docs/questions.md are not about the network at all, but about
# what goes in and what is asked to come out:
#
# 1. **Raw pixels 0..255** (question 2): BCE needs targets in [0, 1]; large inputs
#    saturate the first layer.
# 2. **A softmax output** (question 2): its outputs sum to 1 per image, so it cannot
#    draw an image.
# 3. **Data with tiny variations** (question 3): values around 1.109 that vary by 0.001.
#    The MSE gets "small" while the model learns nothing; standardising fixes it.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from tinyae import (
    BCE,
    MSE,
    SGD,
    Adam,
    Dense,
    Destandardize,
    Sequential,
    Standardize,
    dense_autoencoder,
    fit,
    load_mnist,
    plot,
)
from tinyae.diagnostics import measure, relative_error
from tinyae.scaling import StandardScaler

QUICK = os.environ.get("TINYAE_QUICK") == "1"
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook
    HERE = Path.cwd()
FIGURES = Path(os.environ.get("TINYAE_FIGURES", HERE / "figures")) / "05_data_problems"
FIGURES.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)

mnist = load_mnist("mnist-mini", dtype="uint8", verbose=False)
x_raw = mnist.x_train[:5000]  # uint8, 0..255 (training on them takes under a second)
x01 = x_raw.astype(np.float32) / 255  # floats in [0, 1]

# %% [markdown]
# ## 1. Raw pixels 0..255
#
# tinyae refuses integer pixels outright — a model is given floats — and the message
# says how to fix it. (`fit` itself accepts `uint8` arrays: it divides each batch by 255.)

# %%
model = dense_autoencoder("784-100-50-100-784", hidden="relu", output="sigmoid", seed=0)
try:
    model.forward(x_raw[:4])
except TypeError as error:
    print("forward says:", error)

# %% [markdown]
# The classic mistake is one step further: converting to float *without* dividing by
# 255. Then BCE's targets are 0..255 — tutorial 03 showed the loss is meaningless there,
# and tinyae's BCE refuses it:

# %%
x_float_raw = x_raw.astype(np.float32)  # 0.0 .. 255.0: the bug
try:
    BCE().forward(model.forward(x_float_raw[:4]), x_float_raw[:4])
except ValueError as error:
    print("BCE says:", error)

# %% [markdown]
# The inputs are a problem too. With values up to 255, the first layer's pre-activations
# are 255× larger than the initialisation was designed for. A sigmoid layer then sits
# almost entirely in its flat, saturated region (derivative ≈ 0), and ReLU outputs
# explode. `measure` reports it per layer:

# %%
sigmoid_ae = dense_autoencoder("784-100-50-100-784", hidden="sigmoid", output="sigmoid", seed=0)
for name, batch in (("x / 255", x01[:256]), ("raw 0..255", x_float_raw[:256])):
    measures = measure(sigmoid_ae, batch)
    print(f"{name:11s} first sigmoid layer saturated: {measures['layer1/saturated']:.0%}")
saturated_raw = measure(sigmoid_ae, x_float_raw[:256])["layer1/saturated"]
saturated_scaled = measure(sigmoid_ae, x01[:256])["layer1/saturated"]
assert saturated_raw > 0.5 > saturated_scaled

# %% [markdown]
# ## 2. A softmax output cannot draw an image
#
# Question 2's model ends with a softmax: `p[n, i] = e^(z[n, i]) / Σ_j e^(z[n, j])`. Every
# row of p is positive and **sums to 1**. An MNIST image in [0, 1] sums to about 100
# (784 pixels × mean 0.13). So the best a softmax can do is draw the image *divided by its
# sum*: the right shape, far too faint. Train the same network with a softmax output and
# with a sigmoid output and compare.

# %%
print(f"a training image sums to {x01.sum(axis=1).mean():.1f} on average")
results = {}
for output in ("softmax", "sigmoid"):
    ae = dense_autoencoder("784-128-64-28-64-128-784", hidden="relu", output=output, seed=0)
    fit(ae, x_raw, loss=BCE(), optimizer=Adam(1e-3), epochs=4, batch_size=100, verbose=False)
    p = ae.reconstruct(x01[:500])
    results[output] = p
    print(f"{output:8s} output: rows of p sum to {p.sum(axis=1).mean():7.2f}, "
          f"relative error {relative_error(p, x01[:500]):.2f}")
both = np.concatenate([results["softmax"][:8] * 100, results["sigmoid"][:8]])  # softmax × 100 to be visible
plot.reconstructions(np.concatenate([x01[:8], x01[:8]]), both, n=16,
                     path=FIGURES / "softmax_vs_sigmoid.png",
                     title="left 8: softmax output (×100 to be visible); right 8: sigmoid output")
assert abs(results["softmax"].sum(axis=1).mean() - 1) < 1e-3
rel_softmax = relative_error(results["softmax"], x01[:500])
assert rel_softmax > 1  # worse than drawing the mean image for every input
assert relative_error(results["sigmoid"], x01[:500]) < 0.8  # clearly better than the mean image

# %% [markdown]
# The relative error (MSE divided by the data's own variance — 1 means "no better than
# predicting the mean image") of the softmax model stays above 1 (about 1.6), while the
# sigmoid model's falls to about 0.6 in the same four epochs: softmax is for picking one
# class out of many, not for 784 independent pixels. Use a sigmoid output for targets in
# [0, 1], a linear one otherwise.
#
# ## 3. The identity that cannot be learned (question 3)
#
# The data: rows of 84 values drawn around 1.1090579 with a standard deviation of
# 0.0012380764. The model: one linear `Dense(84, 84)`, MSE, SGD, batch 8. The identity
# matrix would be perfect. Does training find it?

# %%
N = 2000 if QUICK else 4000
data = rng.normal(1.1090579, 0.0012380764, size=(N, 84))
epochs = 6 if QUICK else 15

plain = Sequential([Dense(84, 84)], seed=0, dtype=np.float64)
history = fit(plain, data, loss=MSE(), optimizer=SGD(0.01), epochs=epochs, batch_size=8, verbose=False)
p_plain = plain.predict(data)
print(f"plain Dense:     final MSE {history['loss'][-1]:.2e}, "
      f"relative error {relative_error(p_plain, data):.2f}")

identity = Sequential([Dense(84, 84, init="identity")], seed=0, dtype=np.float64)
print(f"identity init:   MSE {MSE().forward(identity.predict(data), data):.1e}")
assert relative_error(p_plain, data) > 0.9

# %% [markdown]
# An MSE of 3e-6 sounds excellent — but the data's own variance is 0.00124² ≈ 1.5e-6.
# Measured in units of that spread, the error is ~2: the model is *worse than predicting
# the mean row*. The absolute loss hid it. Why it cannot learn: the gradient is
# proportional to the errors, which are about 0.001, so SGD's steps are tiny, and the
# huge common offset 1.109 dominates every input.
#
# **The fix** (the asker's): standardise each sample on the way in —
# `x̂ = (x − mu) / sigma` with the row's own mean `mu` and standard deviation `sigma` — and
# undo it on the way out, `p = h · sigma + mu`. tinyae has this pair of layers,
# `Standardize` and `Destandardize`; the Dense in between sees rows with mean 0 and
# spread 1. The loss is still measured in the data's units, so its gradients are still
# tiny: Adam, whose step size does not depend on the gradient's scale, handles that.

# %%
standardize = Standardize()
wrapped = Sequential([standardize, Dense(84, 84), Destandardize(standardize)], seed=0,
                     dtype=np.float64)
fit(wrapped, data, loss=MSE(), optimizer=Adam(1e-2), epochs=epochs, batch_size=8, verbose=False)
p_wrapped = wrapped.predict(data)
print(f"Standardize pair: relative error {relative_error(p_wrapped, data):.2e}, "
      f"mean diagonal of W {np.diag(wrapped.layers[1].W).mean():.3f}")
assert relative_error(p_wrapped, data) < 0.05

# %% [markdown]
# The dataset-level alternative is a `StandardScaler`: learn one mean and one standard
# deviation per *feature* on the training data, train on `(x − mean) / std`, and map the
# predictions back with `inverse_transform`. Here even plain SGD works.

# %%
scaler = StandardScaler().fit(data)
scaled = Sequential([Dense(84, 84)], seed=0, dtype=np.float64)
fit(scaled, scaler.transform(data), loss=MSE(), optimizer=SGD(0.1), epochs=epochs, batch_size=8,
    verbose=False)
p_scaled = scaler.inverse_transform(scaled.predict(scaler.transform(data)))
print(f"StandardScaler + SGD: relative error {relative_error(p_scaled, data):.2e}")
assert relative_error(p_scaled, data) < 0.05

fig, ax = plt.subplots(figsize=(8, 4))
ax.plot(data[0], "k-", lw=2, label="x (one sample)")
ax.plot(p_plain[0], label="plain Dense + SGD")
ax.plot(p_wrapped[0], "--", label="Standardize pair + Adam")
ax.set_xlabel("feature")
ax.set_ylabel("value")
ax.set_title("question 3: reconstructing one row of 84 values")
ax.legend()
fig.tight_layout()
plot.save(fig, FIGURES / "identity.png")

# %% [markdown]
# The figure shows one sample: the plain model's output is noise around 1.109, while
# the standardised model follows every wiggle.
#
# ## Exercises
#
# 1. **Exercise 1.** Train the plain `Dense(84, 84)` with SGD on uniform data in [0, 1)
#    (`rng.uniform(size=(N, 84))`). Does its diagonal grow towards 1? Print the mean
#    diagonal of `W` after each epoch.
# 2. **Exercise 2.** Train the softmax autoencoder with `MSE()` instead of BCE. Does the
#    relative error change? Why not?
# 3. **Exercise 3.** Run `tinyae.diagnostics.doctor(model, MSE(), data, optimizer=SGD(0.01))`
#    on the plain question-3 model, and on the raw-pixel BCE autoencoder of section 1.
#    Which findings name the problems of this tutorial?
#
# Solutions: `tutorials/solutions/05_data_problems.py`.
