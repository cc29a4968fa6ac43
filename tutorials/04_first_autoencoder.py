# %% [markdown]
# # 04 — Your first MNIST autoencoder, and the blob
#
# An autoencoder squeezes each image `x` (784 pixels) through a narrow code `z` and
# rebuilds it as `p`. Training makes `p` close to `x`; because the code is small, the
# network has to learn what matters about a digit.
#
#     x (N, 784) ──encoder──▶ z (N, 50) ──decoder──▶ p (N, 784)
#
# We train one on the MNIST subset bundled with tinyae (10,000 training and 2,000 test
# images — no download), look at its reconstructions, and then reproduce question 1 of
# docs/questions.md: the all-sigmoid network trained with SGD whose every reconstruction is the
# same blurry **blob** — the mean image. We measure the blob, and fix it. Last, we derive
# the two optimizers' update rules and check them step by step against tinyae's own: SGD
# with momentum (§7) and Adam with its bias correction (§8).

# %%
import os
from pathlib import Path

import numpy as np

from tinyae import BCE, SGD, Adam, dense_autoencoder, evaluate, fit, load_mnist, plot
from tinyae.diagnostics import collapse_ratio

QUICK = os.environ.get("TINYAE_QUICK") == "1"
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook
    HERE = Path.cwd()
FIGURES = Path(os.environ.get("TINYAE_FIGURES", HERE / "figures")) / "04_first_autoencoder"
FIGURES.mkdir(parents=True, exist_ok=True)

EPOCHS = 3 if QUICK else 6
N_TRAIN = 5000 if QUICK else 10_000

# %% [markdown]
# ## 1. The data
#
# `load_mnist("mnist-mini", dtype="uint8")` returns the raw pixels 0..255 as `uint8`,
# one flattened 28 × 28 image per row. Keeping them as bytes takes 4× less memory;
# `fit` scales each batch to floats in [0, 1] (pixel / 255) as it goes.

# %%
mnist = load_mnist("mnist-mini", dtype="uint8")
x_train, x_test = mnist.x_train[:N_TRAIN], mnist.x_test
print(mnist)
print("pixel range:", x_train.min(), "to", x_train.max(), "dtype", x_train.dtype)
x_test01 = x_test.astype(np.float32) / 255  # the test images in [0, 1], for measuring
mean_image = x_train.mean(axis=0) / 255  # x̄: the average training image, (784,)

# %% [markdown]
# ## 2. The model
#
# `dense_autoencoder("784-100-50-100-784")` builds Dense layers of those widths; the
# narrowest (50) is the code. ReLU after the hidden layers, a sigmoid on the output so
# that every `p` is a grey level in (0, 1), He initialisation for the ReLU layers.

# %%
model = dense_autoencoder("784-100-50-100-784", hidden="relu", output="sigmoid", seed=0)
print(model.summary())

# %% [markdown]
# ## 3. Training
#
# `fit` is tinyae's one training loop: for each shuffled batch it runs
# `zero_grad → forward → loss → backward → optimizer.step`. The loss is BCE (the
# targets are grey levels in [0, 1]; tutorial 03) and the optimizer Adam.

# %%
history = fit(model, x_train, loss=BCE(), optimizer=Adam(1e-3), epochs=EPOCHS, batch_size=64,
              validation_data=x_test, seed=0)
plot.loss_curves(history, path=FIGURES / "loss_curves.png")
p_test = model.reconstruct(x_test01)
plot.reconstructions(x_test01, p_test, n=10, path=FIGURES / "reconstructions.png",
                     title="ReLU + Adam: originals (top), reconstructions (bottom)")
assert history["val_loss"][-1] < history["val_loss"][0]

# %% [markdown]
# ## 4. Measuring "is it reconstructing, or drawing the blob?"
#
# Looking at pictures is good; a number is better. For each test image we measure two
# distances:
#
# * `d_self = ‖p − x‖`: how far the reconstruction is from its own image;
# * `d_mean = ‖p − x̄‖`: how far it is from the **mean image** x̄.
#
# A model that outputs the mean image for every input has `d_mean = 0` and `d_self` equal
# to the spread of the data `‖x − x̄‖`. `collapse_ratio` sums them up in one number:
# `D_self / (D_self + D_mean)` with squared distances — near 0 for good reconstructions,
# near 1 for the blob.

# %%
def blob_report(name: str, p: np.ndarray) -> dict[str, float]:
    """Mean distances of the reconstructions p to their own images and to x̄."""
    row = {"d_self": float(np.linalg.norm(p - x_test01, axis=1).mean()),
           "d_mean": float(np.linalg.norm(p - mean_image, axis=1).mean()),
           "collapse": collapse_ratio(p, x_test01, mean_image)}
    print(f"{name:28s} ‖p − x‖ = {row['d_self']:5.2f}   ‖p − x̄‖ = {row['d_mean']:5.2f}   "
          f"collapse ratio = {row['collapse']:.2f}")
    return row


spread = float(np.linalg.norm(x_test01 - mean_image, axis=1).mean())
print(f"{'predicting x̄ for everything':28s} ‖x̄ − x‖ = {spread:5.2f}")
fixed = blob_report("ReLU + Adam", p_test)
assert fixed["d_self"] < 0.8 * spread and fixed["collapse"] < 0.6

# %% [markdown]
# ## 5. The blob (question 1)
#
# Now the network of question 1: a sigmoid after *every* layer, BCE, plain SGD. Same
# data, same number of epochs.

# %%
blob_model = dense_autoencoder("784-100-50-100-784", hidden="sigmoid", output="sigmoid", seed=0)
blob_history = fit(blob_model, x_train, loss=BCE(), optimizer=SGD(lr=1.0), epochs=EPOCHS,
                   batch_size=64, seed=0)
p_blob = blob_model.reconstruct(x_test01)
plot.reconstructions(x_test01, p_blob, n=10, path=FIGURES / "reconstructions_blob.png",
                     title="all-sigmoid + SGD: the blob")
blob = blob_report("all-sigmoid + SGD (blob)", p_blob)
assert blob["collapse"] > 0.9 and blob["d_mean"] < 0.25 * blob["d_self"]

# %% [markdown]
# Every reconstruction sits within a small distance of the mean image, while it is as far
# from its own digit as x̄ is. The loss went down — outputting x̄ *is* the best a network
# can do when the code carries no information — so the loss curve alone would not tell
# you. Why the code carries nothing: tutorial 02 measured that in this network the first
# layer receives about 1/100 of the output layer's gradient per weight. The output
# layer's bias learns the mean image long before the encoder learns anything.
#
# ## 6. The fixes, side by side
#
# Two changes attack the cause: ReLU hidden layers (the gradient keeps its size) and Adam
# (every weight's step is scaled by its own gradient's size, so small gradients still
# move weights). Let us also try Adam alone, keeping the sigmoids.

# %%
sigmoid_adam = dense_autoencoder("784-100-50-100-784", hidden="sigmoid", output="sigmoid", seed=0)
fit(sigmoid_adam, x_train, loss=BCE(), optimizer=Adam(1e-3), epochs=EPOCHS, batch_size=64,
    seed=0, verbose=False)
partial = blob_report("all-sigmoid + Adam", sigmoid_adam.reconstruct(x_test01))
print()
print(f"{'configuration':28s} {'test BCE':>9s} {'collapse':>9s}")
for name, m, row in (("all-sigmoid + SGD (blob)", blob_model, blob),
                     ("all-sigmoid + Adam", sigmoid_adam, partial),
                     ("ReLU + Adam (fix)", model, fixed)):
    print(f"{name:28s} {evaluate(m, BCE(), x_test)['loss']:9.4f} {row['collapse']:9.2f}")
assert fixed["collapse"] < min(partial["collapse"], blob["collapse"]) - 0.3

# %% [markdown]
# Adam alone moves the sigmoid network only a little way off the blob in these few epochs;
# with ReLU hidden layers as well, the reconstructions become digits. Training longer
# helps all of them (try it: the all-sigmoid + Adam network does get there, slowly).
#
# The filters of the first layer — each hidden unit's 784 weights drawn as an image —
# show what the fixed encoder looks for: strokes and blobs of digit parts.

# %%
first_dense = model.encoder.layers[0]
plot.filters(first_dense.W, n=36, path=FIGURES / "filters.png")

# %% [markdown]
# ## 7. SGD with momentum
#
# Plain SGD steps along the gradient of this batch only, `θ ← θ − lr·g`. In a long,
# narrow valley of the loss — steep across, nearly flat along — an lr small enough not to
# bounce across the valley crawls along it. Momentum keeps a **velocity** `v`, one entry
# per parameter, that starts at 0:
#
# `v ← μ·v + g`,   then   `θ ← θ − lr·v`
#
# That is PyTorch's convention (`torch.optim.SGD`) and tinyae's (`tinyae/optim.py`);
# μ = 0 gives plain SGD back. Unroll the recursion from v = 0:
#
# `v_t = g_t + μ·g_(t−1) + μ²·g_(t−2) + … + μ^(t−1)·g_1`
#
# a sum of all past gradients, each older one weighted down by one more factor μ. Two
# cases show what momentum does:
#
# * the gradients agree (a constant g): `v_t = (1 + μ + … + μ^(t−1))·g = (1 − μᵗ)/(1 − μ)·g`,
#   so the step grows to `lr·g/(1 − μ)`, 10 plain steps at once for μ = 0.9: momentum
#   speeds up where the gradient is small but consistent;
# * the gradients alternate (bouncing across the valley: +g, −g, +g, …): they cancel in
#   the sum, and the velocity stays near `g/(1 + μ)`, about half a plain step.
#
# Other texts write momentum differently. CS231n folds lr into the velocity,
# `v ← μ·v − lr·g`, `θ ← θ + v`: the same steps while lr is constant, not once a
# schedule changes it (exercise 4). The average `v ← μ·v + (1 − μ)·g` (like Adam's m
# below) makes every step 1 − μ times as large. The workbook's exercise 4.1 asks for the
# convention above.
#
# First a constant gradient g = 1, with tinyae's `SGD`: each step against
# `lr·(1 − μᵗ)/(1 − μ)`, and the same rule written out by hand on random gradients.

# %%
lr, mu = 0.1, 0.9
theta, g = np.zeros(1), np.ones(1)
sgd = SGD(lr, momentum=mu)
momentum_steps = []
for _ in range(40):
    before = theta.copy()
    sgd.step(theta, g)  # θ is changed in place
    momentum_steps.append(float(before[0] - theta[0]))
t_axis = np.arange(1, 41)
predicted = lr * (1 - mu**t_axis) / (1 - mu)
for t in (1, 2, 5, 10, 40):
    print(f"step {t:2d}: tinyae moved θ by {momentum_steps[t - 1]:.5f}, "
          f"lr·(1 − μᵗ)/(1 − μ) = {predicted[t - 1]:.5f}")
print(f"the limit lr/(1 − μ) = {lr / (1 - mu):.2f}: {1 / (1 - mu):.0f} plain steps at once")
assert np.allclose(momentum_steps, predicted)

rng = np.random.default_rng(0)
theta_tinyae, theta_by_hand = np.ones(5), np.ones(5)
sgd, v = SGD(lr, momentum=mu), np.zeros(5)
for g_t in rng.standard_normal((10, 5)):
    sgd.step(theta_tinyae, g_t.copy())
    v = mu * v + g_t  # v ← μ·v + g
    theta_by_hand -= lr * v  # θ ← θ − lr·v
print("10 random gradients: max |θ tinyae − θ by hand| =",
      np.abs(theta_tinyae - theta_by_hand).max())
assert np.allclose(theta_tinyae, theta_by_hand)

# %% [markdown]
# Now a valley: the loss `½·(θ₁² + 0.01·θ₂²)`, whose gradient is `g = (θ₁, 0.01·θ₂)` —
# a hundred times steeper across (θ₁) than along (θ₂). Plain SGD bounces across the
# valley beyond lr = 2, so lr = 1; then θ₂ shrinks by only 1 − 0.01 per step. With
# μ = 0.9 the same lr gets within 10⁻³ of the minimum in a fraction of the steps.

# %%
curvature = np.array([1.0, 0.01])


def steps_to_minimum(momentum: float) -> int:
    """Steps of SGD(lr=1, momentum) from θ = (1, 1) until both |θᵢ| < 10⁻³."""
    theta, grads = np.ones(2), np.zeros(2)
    optimizer = SGD(1.0, momentum=momentum)
    for t in range(1, 10_000):
        grads[...] = curvature * theta  # the gradient of ½·Σ curvature·θ²
        optimizer.step(theta, grads)
        if np.abs(theta).max() < 1e-3:
            return t
    raise AssertionError("did not converge")


plain, with_momentum = steps_to_minimum(0.0), steps_to_minimum(0.9)
print(f"steps to the minimum: plain SGD {plain}, with momentum 0.9 {with_momentum}")
assert with_momentum < plain / 4

# %% [markdown]
# (**Exercise 4** at the end: CS231n's convention against tinyae's when lr changes.)
#
# ## 8. Adam's bias correction
#
# Adam (Kingma & Ba 2015) keeps two running means per parameter, of the gradient and of
# its square, both starting at 0:
#
# `m ← β₁·m + (1 − β₁)·g`,   `v ← β₂·v + (1 − β₂)·g²`   (β₁ = 0.9, β₂ = 0.999)
#
# and steps by `lr·m/√v`: the gradient divided by its own typical size, so every
# parameter moves by about lr whatever the scale of its gradient (why §6 set Adam against
# the sigmoid network's tiny gradients). But starting at 0 biases both means towards 0.
# Unroll m from 0:
#
# `m_t = (1 − β₁)·(g_t + β₁·g_(t−1) + … + β₁^(t−1)·g_1)`
#
# If the gradients have a steady mean ḡ, the mean of m_t is
# `(1 − β₁)·(1 + β₁ + … + β₁^(t−1))·ḡ = (1 − β₁ᵗ)·ḡ`: too small by the factor `1 − β₁ᵗ`,
# 0.1 at the first step and 0.65 at the tenth. The same argument makes v too small by
# `1 − β₂ᵗ`: 0.001 at the first step. Dividing each bias out is the **bias correction**:
#
# `m̂ = m / (1 − β₁ᵗ)`,   `v̂ = v / (1 − β₂ᵗ)`,   `θ ← θ − lr · m̂ / (√v̂ + ε)`
#
# where t counts the steps from 1 (`t ← t + 1` before the update). At t = 1, m̂ = g and
# v̂ = g², so the first step is `lr·g/(|g| + ε)`: a step of lr against the gradient, for a
# gradient of 10⁻⁴ as for one of 100. As t grows, βᵗ → 0 and the correction fades away.
#
# Without it the two biases do not cancel. v's is far stronger (1 − β₂ = 0.001 against
# 1 − β₁ = 0.1) and fades far more slowly, and only its square root divides, so for a
# constant gradient the uncorrected step is `lr·(1 − β₁ᵗ)/√(1 − β₂ᵗ)`: 3.2·lr at the
# first step, 6.5·lr near the tenth, still 1.26·lr after 1000 steps.
#
# tinyae's `Adam` against the same rule by hand without the correction, on constant
# gradients of three sizes:

# %%
beta1, beta2, adam_lr = 0.9, 0.999, 1e-3
gradient = np.array([1e-4, 1.0, 100.0])  # three parameters, three very different scales
theta = np.zeros(3)
adam = Adam(adam_lr, beta1=beta1, beta2=beta2)
m, v = np.zeros(3), np.zeros(3)  # the uncorrected Adam's running means
corrected, uncorrected = [], []
for t in range(1, 1001):
    before = theta.copy()
    adam.step(theta, gradient.copy())
    corrected.append((before - theta) / adam_lr)  # each step in units of lr
    m = beta1 * m + (1 - beta1) * gradient
    v = beta2 * v + (1 - beta2) * gradient**2
    uncorrected.append(m / (np.sqrt(v) + 1e-8))  # lr · m / (√v + ε), in units of lr
    if t == 1:
        print(f"after step 1: tinyae's m = {adam.state['m']} = (1 − β₁)·g, "
              f"m̂ = m / (1 − β₁) = {adam.state['m'] / (1 - beta1)}")
corrected, uncorrected = np.array(corrected), np.array(uncorrected)
print("steps in units of lr:")
print(f"{'t':>5s}   {'tinyae, g = 1e-4, 1, 100':>26s}   {'uncorrected, g = 1':>18s}   "
      f"{'(1 − β₁ᵗ)/√(1 − β₂ᵗ)':>20s}")
for t in (1, 2, 5, 10, 100, 1000):
    formula = (1 - beta1**t) / np.sqrt(1 - beta2**t)
    tinyae_steps = "  ".join(f"{step:.4f}" for step in corrected[t - 1])
    print(f"{t:5d}   {tinyae_steps:>26s}   {uncorrected[t - 1, 1]:18.4f}   {formula:20.4f}")
assert np.allclose(corrected, 1, atol=1e-3)  # a step of lr from the very first one
assert np.isclose(uncorrected[0, 1], (1 - beta1) / np.sqrt(1 - beta2))  # 3.16·lr
assert uncorrected[:, 1].max() > 6 and uncorrected[-1, 1] > 1.2

# %% [markdown]
# With the correction every step is lr from the first one on, whatever the gradient's
# size; without it Adam's first few hundred steps are 3 to 6.5 times longer than the lr
# you chose. The workbook's exercise 4.2 asks for the corrected rule.
# (**Exercise 5** at the end: correct only one of the two means.)

# %% [markdown]
# ## Exercises
#
# 1. **Exercise 1.** Train the blob network (all sigmoid, SGD lr = 1) with `MSE()`
#    (`from tinyae import MSE`) instead of `BCE()`. Does it escape the blob? Measure the
#    collapse ratio with `blob_report`.
# 2. **Exercise 2.** Build an autoencoder with a 2-number code, `"784-128-2-128-784"`:
#    ReLU hidden layers, but a linear code layer (`code="identity"`). Train it and draw the
#    codes of the test images coloured by digit with
#    `plot.latent_scatter(model.encode(x_test01), mnist.y_test)`. Then try a ReLU code
#    (`code="relu"`) and print `model.encode(x_test01).std(axis=0)`: why is that code
#    not really 2-D?
# 3. **Exercise 3.** Save a trained model with `tinyae.save` (after `import tinyae`), load
#    it back with `tinyae.load` and check that its reconstructions are identical.
# 4. **Exercise 4.** Write CS231n's momentum, `v ← μ·v − lr·g` then `θ ← θ + v`, with NumPy
#    alone. Show that its v is −lr times the v of §7 while lr stays constant, so that θ
#    moves the same as with `SGD(lr, momentum=0.9)`; then halve lr after 5 steps (set
#    `optimizer.lr`) and compare the next step of each. Which one slows down at once, and
#    why does the other keep most of its old speed?
# 5. **Exercise 5.** Forget half of Adam's bias correction: correct m but not v, or v but
#    not m. Derive each first step for a constant gradient as a multiple of lr, then check
#    both by hand against §8's formulas. Which half is the dangerous one to forget?
#
# Solutions: `tutorials/solutions/04_first_autoencoder.py`.
