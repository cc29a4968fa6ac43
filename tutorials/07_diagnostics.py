# %% [markdown]
# # 07 — Reading the diagnostics
#
# Tutorials 02–06 found each problem by measuring it by hand. `tinyae.diagnostics`
# packs those measurements up:
#
# * `doctor(model, loss, x, optimizer=...)` examines a configuration **before** training
#   and returns findings — each with a stable `code`, a severity, what is wrong (with the
#   measured numbers) and the fix; `format_findings` prints them.
# * `Monitor(x_probe, loss)` is a `fit` callback that measures the network on a fixed
#   probe batch after every epoch (saturation, dead ReLUs, gradient norms, update ratios,
#   collapse to the mean image, a VAE's active units), stores the numbers in the history
#   and warns the first time a problem appears.
#
# We run the doctor on the four configurations of docs/questions.md, then watch the blob of
# question 1 form with a Monitor.

# %%
import os
from pathlib import Path

import numpy as np

from tinyae import (
    BCE,
    MSE,
    SGD,
    Adam,
    Dense,
    ReLU,
    Sequential,
    Softmax,
    dense_autoencoder,
    fit,
    load_mnist,
    plot,
)
from tinyae.diagnostics import Monitor, doctor, format_findings
from tinyae.models.vae import dense_vae

QUICK = os.environ.get("TINYAE_QUICK") == "1"
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook
    HERE = Path.cwd()
FIGURES = Path(os.environ.get("TINYAE_FIGURES", HERE / "figures")) / "07_diagnostics"
FIGURES.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)

mnist = load_mnist("mnist-mini", dtype="uint8", verbose=False)
x_train = mnist.x_train[:5000] if QUICK else mnist.x_train
x01 = x_train.astype(np.float32) / 255


def codes(findings) -> set[str]:
    """The codes of a list of findings, e.g. {"vanishing-gradients", "bce-floor"}."""
    return {finding.code for finding in findings}


# %% [markdown]
# ## 1. Question 1: the all-sigmoid autoencoder with SGD

# %%
blob_model = dense_autoencoder("784-100-50-100-784", hidden="sigmoid", output="sigmoid", seed=0)
findings = doctor(blob_model, BCE(), x_train, optimizer=SGD(lr=1.0))
print(format_findings(findings))
assert {"vanishing-gradients", "bce-floor"} <= codes(findings)

# %% [markdown]
# Two findings. The **warning** `vanishing-gradients` is tutorial 02's measurement: per
# weight, layer 1 gets ~100× less gradient than the output layer. The **note** `bce-floor`
# is tutorial 03's: on grey targets BCE cannot go below H(y), so do not wait for 0.
# Passing `Adam` instead of SGD turns the warning into a note: Adam rescales every step.
#
# ## 2. Question 2: softmax output, BCE, raw pixels

# %%
softmax_model = Sequential([Dense(784, 128), ReLU(), Dense(128, 64), ReLU(), Dense(64, 28), ReLU(),
                            Dense(28, 64), ReLU(), Dense(64, 128), ReLU(), Dense(128, 784),
                            Softmax()], seed=0)
raw_pixels = x_train.astype(np.float32)  # 0..255, never divided by 255
findings = doctor(softmax_model, BCE(), raw_pixels, optimizer=Adam(1e-3))
print(format_findings(findings))
assert {"softmax-per-pixel", "bce-target-range", "raw-pixels"} <= codes(findings)

# %% [markdown]
# Three problems, as in tutorial 05: a softmax output cannot draw an image, BCE needs
# targets in [0, 1], and inputs up to 255 push the first layer far off its working range.
#
# ## 3. Question 3: the identity on data around 1.109

# %%
data = rng.normal(1.1090579, 0.0012380764, size=(2000, 84))
linear = Sequential([Dense(84, 84)], seed=0, dtype=np.float64)
findings = doctor(linear, MSE(), data, optimizer=SGD(0.01), batch_size=8)
print(format_findings(findings))
assert "tiny-spread" in codes(findings)

# %% [markdown]
# `tiny-spread`: the data vary by 0.1 % of their size, so predicting the mean already
# gives an MSE of ~1.5e-6. Standardise, and judge the model by `relative_error`.
#
# ## 4. Question 4: a VAE with mismatched reductions

# %%
vae = dense_vae("784-256-20", beta=1.0, seed=0)  # KL reduction "batchmean" (per sample)
findings = doctor(vae, BCE(reduction="mean"), x_train, optimizer=Adam(1e-3))  # recon per pixel
print(format_findings(findings))
assert "kl-balance" in codes(findings)
matched = doctor(vae, BCE(reduction="batchmean"), x_train, optimizer=Adam(1e-3))
assert "kl-balance" not in codes(matched)

# %% [markdown]
# Per-pixel reconstruction and per-sample KL: the KL weighs 784× what it does in the
# ELBO. With matching reductions the finding disappears.
#
# ## 5. Watching the blob form: the `Monitor` callback
#
# The doctor looks once, before training. A `Monitor` looks after every epoch. Give it a
# probe batch, the loss, and the mean training image (so that `collapse_ratio` measures
# the distance to the same x̄ throughout).

# %%
EPOCHS = 3 if QUICK else 6
mean_image = x01.mean(axis=0)
blob_monitor = Monitor(x_train[:256], BCE(), y_mean=mean_image)
blob_history = fit(blob_model, x_train, loss=BCE(), optimizer=SGD(lr=1.0), epochs=EPOCHS,
                   batch_size=64, seed=0, callbacks=[blob_monitor], verbose=False)
print("blob: collapse ratio per epoch", np.round(blob_history["collapse_ratio"], 3))
print("blob: layer 1 ‖dW‖ per epoch", ", ".join(f"{v:.1e}" for v in blob_history["layer1/grad_norm"]))
plot.monitors(blob_history, path=FIGURES / "monitor_blob.png")
assert "mean-collapse" in codes(finding for _, finding in blob_monitor.findings)

# %% [markdown]
# The monitor printed a `mean-collapse` warning: the outputs sit near the mean image
# whatever the input. `monitor_blob.png` shows every measure per epoch, one line per
# layer: the collapse ratio climbing to 1, the gradient of layer 1 about 100× smaller than
# layer 4's, and layer 1's `weight_norm` flat with an `update_ratio` near 1e-5: the first
# layer hardly moves, while the output layer (layer 4) learns the mean image.
#
# Now the fix from tutorial 04, ReLU hidden layers and Adam, under the same monitor:

# %%
fixed = dense_autoencoder("784-100-50-100-784", hidden="relu", output="sigmoid", seed=0)
fixed_monitor = Monitor(x_train[:256], BCE(), y_mean=mean_image)
fixed_history = fit(fixed, x_train, loss=BCE(), optimizer=Adam(1e-3), epochs=EPOCHS,
                    batch_size=64, seed=0, callbacks=[fixed_monitor], verbose=False)
print("fixed: collapse ratio per epoch", np.round(fixed_history["collapse_ratio"], 3))
print("fixed: monitor findings:", [finding.code for _, finding in fixed_monitor.findings] or "none")
plot.monitors(fixed_history, path=FIGURES / "monitor_fixed.png")
assert fixed_history["collapse_ratio"][-1] < blob_history["collapse_ratio"][-1] - 0.2
# a fresh network starts near the mean image; a mean-collapse warning after epoch 1 would be a problem
assert all(epoch == 0 for epoch, finding in fixed_monitor.findings if finding.code == "mean-collapse")

# %% [markdown]
# The collapse ratio falls epoch after epoch instead of sitting at 1. (A fresh network
# always starts near the mean image, so a `mean-collapse` warning in the very first epoch
# is normal; it is a problem when it lasts.)
#
# ## Exercises
#
# 1. **Exercise 1.** Run the doctor on the question-1 autoencoder with `Adam(1e-3)`
#    instead of SGD. Which severity does `vanishing-gradients` get now, and what does its
#    message add?
# 2. **Exercise 2.** Give the doctor an obviously bad learning rate, `SGD(lr=50)`, and a
#    BCE loss on a model whose output is linear. Which codes appear?
# 3. **Exercise 3.** Train a VAE under a `Monitor` and read `active_units` from the history
#    after each epoch, with beta = 1 and with a very large beta (e.g. 50).
#
# Solutions: `tutorials/solutions/07_diagnostics.py`.
