# %% [markdown]
# # 03 — Losses: MSE against BCE, and why BCE never reaches 0 on grey pixels
#
# A loss compares the prediction `p` with the target `y` (for an autoencoder, `y = x`).
# tinyae has three:
#
# * `MSE`: `ℓ = (p − y)²`, gradient `2 (p − y)`;
# * `BCE`: `ℓ = −y·log p − (1 − y)·log(1 − p)` for probabilities p in (0, 1);
# * `BCEWithLogits`: the same, computed from the logit z with p = σ(z), gradient `σ(z) − y`.
#
# Questions 1 and 2 of docs/questions.md turn on two facts this tutorial derives and measures:
# BCE is smallest exactly at `p = y` (also for grey targets), and its smallest value is
# the binary entropy `H(y)`, which is **not 0** when 0 < y < 1.

# %%
import os
from pathlib import Path

import numpy as np

from tinyae import BCE, MSE, BCEWithLogits, binary_entropy, check_loss, load_mnist, plot

QUICK = os.environ.get("TINYAE_QUICK") == "1"
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook
    HERE = Path.cwd()
FIGURES = Path(os.environ.get("TINYAE_FIGURES", HERE / "figures")) / "03_losses"
FIGURES.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Both losses, and their gradients checked
#
# A loss has `forward(p, y) -> number` and `backward() -> dp = ∂L/∂p`. The default
# reduction `"mean"` divides the sum over all N·D elements by N·D, once:
#
# * `MSE`: `L = (1 / (N·D)) Σ (p − y)²`. Each p appears in one term only, so
#   `dp = ∂L/∂p = 2 (p − y) / (N·D)`.
# * `BCE`: `L = −(1 / (N·D)) Σ [y·log p + (1 − y)·log(1 − p)]`, whose gradient is
#   `dp = (p − y) / (p (1 − p)) / (N·D)` (derived in §2). A sigmoid output can round to
#   exactly 0 or 1, where log is −inf, so p is first clipped to [ε, 1 − ε] (ε = 10⁻⁷).
#
# The 1/(N·D) is there once, in the loss: the layers below sum their gradients over the
# batch (`dW = xᵀ @ dout`) and must not average again. `check_loss` compares `dp` with
# finite differences, as `check_layer` did in tutorial 01.

# %%
y = rng.uniform(0, 1, size=(4, 5))  # grey targets
p = rng.uniform(0.05, 0.95, size=(4, 5))  # predictions
mse, bce = MSE(), BCE()
assert np.isclose(mse.forward(p, y), np.mean((p - y) ** 2))
assert np.allclose(mse.backward(), 2 * (p - y) / p.size)  # 2 (p − y) / (N·D)
assert np.isclose(bce.forward(p, y), -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
assert np.allclose(bce.backward(), (p - y) / (p * (1 - p)) / p.size)
for loss in (MSE(), BCE(), BCEWithLogits()):
    report = check_loss(loss, p, y)
    print(f"{loss!r:40s} L = {loss.forward(p, y):.4f}   gradient check error {report.max_error:.1e}")
    assert report.passed

# %% [markdown]
# ## 2. Where is BCE smallest? The derivation
#
# Hold one target `y` in [0, 1] fixed and look at `ℓ(p) = −y·log p − (1 − y)·log(1 − p)`:
#
# `dℓ/dp = −y/p + (1 − y)/(1 − p) = (−y(1 − p) + (1 − y)p) / (p(1 − p)) = (p − y) / (p(1 − p))`
#
# For p in (0, 1) the denominator `p(1 − p)` is positive, so the slope has the sign of
# `p − y`: negative left of y, **zero only at p = y**, positive right of it. The second
# derivative `d²ℓ/dp² = y/p² + (1 − y)/(1 − p)²` is positive, so ℓ is convex and p = y is
# its one minimum — for y = 0.8 just as for y = 1.
#
# Let us check it numerically: minimise BCE over a fine grid of p for a few targets.

# %%
p_grid = np.linspace(1e-4, 1 - 1e-4, 99_999)
for target in (0.1, 0.3, 0.5, 0.8, 0.95):
    bce = -target * np.log(p_grid) - (1 - target) * np.log(1 - p_grid)
    best = p_grid[np.argmin(bce)]
    print(f"y = {target:4.2f}: BCE smallest at p = {best:.4f}, smallest value {bce.min():.4f}, "
          f"H(y) = {float(binary_entropy(target)):.4f}")
    assert abs(best - target) < 1e-4
    assert abs(bce.min() - binary_entropy(target)) < 1e-6

# %% [markdown]
# ## 3. The floor: BCE's minimum is H(y) > 0
#
# Put p = y into ℓ: `ℓ(y) = −y·log y − (1 − y)·log(1 − y) = H(y)`, the *binary entropy* of
# y (`tinyae.binary_entropy`). It is 0 only for y = 0 or y = 1 and positive in between
# (log 2 ≈ 0.693 at y = ½). So on grey images a **perfect** reconstruction has a BCE above
# 0. How much, on MNIST? Compute H of every pixel of the data:

# %%
mnist = load_mnist("mnist-mini", verbose=False)  # float32 in [0, 1]
x = mnist.x_train[:2000] if QUICK else mnist.x_train
floor_per_pixel = float(binary_entropy(x).mean())
perfect = BCE().forward(np.clip(x, 1e-7, 1 - 1e-7).astype(np.float64), x.astype(np.float64))
grey = float(np.mean((x > 0) & (x < 1)))
print(f"{grey:.1%} of the pixels are grey (strictly between 0 and 1)")
print(f"BCE of a perfect reconstruction p = x: {perfect:.4f} per pixel "
      f"(= mean H(x) = {floor_per_pixel:.4f}), {floor_per_pixel * 784:.1f} nats per image")
assert floor_per_pixel > 0.05 and abs(perfect - floor_per_pixel) < 1e-3

# %% [markdown]
# That number is the best BCE any autoencoder can reach on this data. Compare your
# training loss with it (`loss − floor`), not with 0: a BCE that "stops at 0.07" is not
# stuck, it may be nearly perfect. MSE has no such floor: its minimum is 0 for any target.
#
# ## 4. Asymmetric against symmetric
#
# Question 1's answer plotted both losses for a target of 0.8, with BCE shifted down by
# its floor `H(0.8)` so both are 0 at p = y. MSE is symmetric around the target;
# BCE is not: overshooting to 0.9 costs a different amount from undershooting to 0.7.

# %%
target = 0.8
for p_value in (0.7, 0.9):
    bce_shifted = -target * np.log(p_value) - (1 - target) * np.log(1 - p_value) - binary_entropy(target)
    print(f"p = {p_value}: BCE − H(y) = {float(bce_shifted):.4f},  MSE = {(p_value - target) ** 2:.4f}")
below = -target * np.log(0.7) - 0.2 * np.log(0.3) - binary_entropy(target)
above = -target * np.log(0.9) - 0.2 * np.log(0.1) - binary_entropy(target)
assert above > 1.2 * below  # BCE punishes the overshoot towards 1 harder

plot.loss_vs_target(y=0.8, path=FIGURES / "loss_vs_target.png")

# %% [markdown]
# The figure (`loss_vs_target.png`), left: the shifted BCE and MSE against p for y = 0.8, both
# zero at p = y. Right: raw BCE for several targets with its floor H(y) dashed — only the
# targets 0 and 1 have a floor at 0.
#
# ## 5. Targets outside [0, 1]: the derivation breaks
#
# Question 2 fed raw pixels 0..255 as targets. For y > 1 the slope `(p − y) / (p(1 − p))`
# is negative for *every* p in (0, 1): there is no minimum at p = y (p = y is not even a
# probability), and the loss goes **negative**. tinyae's `BCE` refuses such targets with
# a message saying what to do:

# %%
y_raw = np.full((1, 1), 255.0)
p_value = 0.99
by_formula = -255 * np.log(p_value) - (1 - 255) * np.log(1 - p_value)
print(f"the BCE formula with y = 255, p = {p_value}: {by_formula:.1f}  (a negative 'loss')")
assert by_formula < 0
try:
    BCE().forward(np.full((1, 1), p_value), y_raw)
except ValueError as error:
    print("BCE says:", error)
else:
    raise AssertionError("BCE should refuse targets outside [0, 1]")

# %% [markdown]
# ## 6. Why a sigmoid output pairs well with BCE
#
# With `p = σ(z)` the chain rule multiplies BCE's gradient by `σ′(z) = p(1 − p)`:
# `∂ℓ/∂z = (p − y) / (p(1 − p)) · p(1 − p) = p − y`. The saturating factor cancels, so a
# sigmoid output unit that is wrong always gets a gradient of size |p − y|. With MSE it
# gets `2 (p − y) · p(1 − p)`, which vanishes when p saturates at the wrong end.
# `BCEWithLogits` computes this directly from z, without ever taking log of 0.
#
# Its forward pass, from z: `log p = −log(1 + e^(−z))` and
# `log(1 − p) = −z − log(1 + e^(−z))`, so `ℓ = −y·log p − (1 − y)·log(1 − p)` becomes
# `ℓ = z − z·y + log(1 + e^(−z))`. That is safe for z ≥ 0; for z ≪ 0, e^(−z) overflows,
# and there `log(1 + e^(−z)) = −z + log(1 + e^z)` gives `ℓ = −z·y + log(1 + e^z)`. Both
# cases in one formula, in which e^(…) is never above 1:
#
# `ℓ = max(z, 0) − z·y + log(1 + e^(−|z|))`   (`np.log1p` keeps log(1 + tiny) accurate)

# %%
z = np.array([[-12.0, 12.0]])  # two badly wrong, saturated output units
y_wrong = np.array([[1.0, 0.0]])
p_sat = 1 / (1 + np.exp(-z))
bce_logits = BCEWithLogits()
bce_logits.forward(z, y_wrong)
dz_bce = bce_logits.backward() * z.size  # undo the 1 / (N·D) of the "mean" reduction
dz_mse = 2 * (p_sat - y_wrong) * p_sat * (1 - p_sat)
print("∂ℓ/∂z with BCE:", dz_bce.ravel(), "  with MSE:", dz_mse.ravel())
assert np.all(np.abs(dz_bce) > 0.99) and np.all(np.abs(dz_mse) < 1e-4)

z_far = np.array([[-1000.0, -3.0, 0.5, 1000.0]])
y_far = np.array([[1.0, 0.2, 0.7, 0.0]])
stable = np.mean(np.maximum(z_far, 0) - z_far * y_far + np.log1p(np.exp(-np.abs(z_far))))
with np.errstate(over="ignore"):
    naive = np.mean(z_far - z_far * y_far + np.log(1 + np.exp(-z_far)))  # e^1000 = inf
print(f"mean ℓ at z = −1000, −3, 0.5, 1000: naive {naive}, stable {stable:.4f}, "
      f"BCEWithLogits {BCEWithLogits().forward(z_far, y_far):.4f}")
assert not np.isfinite(naive) and np.isclose(stable, BCEWithLogits().forward(z_far, y_far))

# %% [markdown]
# **Which loss for real-valued targets in [0, 1]?** (the follow-up in question 1) Both
# work: BCE's minimum is still at p = y, it just floors at H(y); MSE's at 0. Outside
# [0, 1], use MSE (or MAE) with a linear output.
#
# ## Exercises
#
# 1. **Exercise 1.** Compute the BCE floor of the MNIST *test* split per image (in nats),
#    using `BCE(reduction="batchmean")` on p = x. How does it relate to the per-pixel floor?
# 2. **Exercise 2.** Check numerically that d²ℓ/dp² = y/p² + (1 − y)/(1 − p)² is positive
#    on a grid of p and y, and that the slope is 0 at p = y (use `BCE().backward()`).
# 3. **Exercise 3.** For y = 0.8, find the two predictions p below and above y whose
#    shifted BCE equals 0.05. How far is each from y? Compare with MSE's two answers.
#
# Solutions: `tutorials/solutions/03_losses.py`.
