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
# same blurry **blob** — the mean image. We measure the blob, and fix it.

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
#
# Solutions: `tutorials/solutions/04_first_autoencoder.py`.
