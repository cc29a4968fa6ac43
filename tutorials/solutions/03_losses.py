# %% [markdown]
# # Solutions to tutorial 03 — losses

# %%
import os

import numpy as np

from tinyae import BCE, binary_entropy, load_mnist

QUICK = os.environ.get("TINYAE_QUICK") == "1"

# %% [markdown]
# ## Exercise 1: the BCE floor per image
#
# With `reduction="batchmean"` the loss is summed over the 784 pixels and averaged over
# the images, so the floor per image is 784 × the per-pixel floor (the `"mean"` value).

# %%
x_test = load_mnist("mnist-mini", verbose=False).x_test.astype(np.float64)
x_test = x_test[:500] if QUICK else x_test
p = np.clip(x_test, 1e-7, 1 - 1e-7)  # a perfect reconstruction (clipped as BCE does)
per_image = BCE(reduction="batchmean").forward(p, x_test)
per_pixel = BCE(reduction="mean").forward(p, x_test)
print(f"floor per image {per_image:.2f} nats = 784 × {per_pixel:.4f} per pixel")
assert np.isclose(per_image, 784 * per_pixel)
assert np.isclose(per_image, binary_entropy(x_test).sum(axis=1).mean(), rtol=1e-4)

# %% [markdown]
# ## Exercise 2: the slope is 0 at p = y and the curvature is positive

# %%
y = np.linspace(0.05, 0.95, 19)[:, None] * np.ones((1, 50))
p = np.linspace(0.01, 0.99, 50)[None, :] * np.ones((19, 1))
curvature = y / p**2 + (1 - y) / (1 - p) ** 2
assert curvature.min() > 0
bce = BCE(reduction="sum")  # "sum": backward returns dℓ/dp of each element, unscaled
bce.forward(y[:, :1].copy(), y[:, :1])  # p = y
slope_at_target = bce.backward()
print(f"smallest curvature {curvature.min():.3f}; "
      f"largest |slope| at p = y: {np.abs(slope_at_target).max():.1e}")
assert np.abs(slope_at_target).max() < 1e-12

# %% [markdown]
# ## Exercise 3: how far from y = 0.8 does a shifted BCE of 0.05 lie?
#
# Solve BCE(p) − H(0.8) = 0.05 on each side by bisection. BCE rises faster towards 1
# (the overshoot side), so the upper answer lies closer to y; MSE's two answers are
# symmetric, 0.8 ± √0.05.

# %%
target, level = 0.8, 0.05


def shifted_bce(p: float) -> float:
    return float(-target * np.log(p) - (1 - target) * np.log(1 - p) - binary_entropy(target))


def solve(lo: float, hi: float) -> float:
    """Bisection for shifted_bce(p) = level on [lo, hi], where it changes sides once."""
    for _ in range(60):
        mid = (lo + hi) / 2
        if (shifted_bce(mid) - level) * (shifted_bce(lo) - level) > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


below, above = solve(1e-6, target), solve(target, 1 - 1e-9)
print(f"BCE: p = {below:.4f} (y − {target - below:.4f}) and p = {above:.4f} (y + {above - target:.4f})")
print(f"MSE: p = {target - np.sqrt(level):.4f} and {target + np.sqrt(level):.4f} (± {np.sqrt(level):.4f})")
assert above - target < target - below
