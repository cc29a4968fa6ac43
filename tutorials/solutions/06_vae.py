# %% [markdown]
# # Solutions to tutorial 06 — the VAE and the KL weight

# %%
import os

import numpy as np

from tinyae import BCE, Adam, fit, load_mnist
from tinyae.diagnostics import active_units, effective_beta
from tinyae.models.vae import beta_from_norm, dense_vae

QUICK = os.environ.get("TINYAE_QUICK") == "1"
mnist = load_mnist("mnist-mini", dtype="uint8", verbose=False)
x_train = mnist.x_train[:2000] if QUICK else mnist.x_train[:6000]
x01 = mnist.x_test[:500].astype(np.float32) / 255
EPOCHS = 1 if QUICK else 4

# %% [markdown]
# ## Exercise 1: mismatched reductions
#
# Recon per pixel ("mean", ÷ 784) with KL per sample ("batchmean"): the effective beta is
# 784. The KL then wins: every posterior is pulled onto the prior — the KL per image
# falls far below the matched model's, and with enough training the latent units become
# inactive (Var of mu_j ≤ 0.01), while the matched model keeps both of its units.

# %%
print("effective beta:", effective_beta(1.0, "mean", "batchmean", 784, 2, 100))
units, kl = {}, {}
for reduction in ("mean", "batchmean"):
    vae = dense_vae("784-256-2", seed=0)
    fit(vae, x_train, loss=BCE(reduction=reduction), optimizer=Adam(1e-3), epochs=EPOCHS,
        batch_size=100, verbose=False)
    mu, log_var = vae.encode(x01)
    units[reduction] = active_units(mu)
    kl[reduction] = float(np.mean(np.sum(mu**2 + np.expm1(log_var) - log_var, axis=1)) / 2)
    print(f"recon reduction {reduction!r:11s}: KL {kl[reduction]:.3f} nats per image, "
          f"{units[reduction]} of 2 latent units active")
assert kl["mean"] < 0.5 * kl["batchmean"] and units["mean"] <= units["batchmean"]

# %% [markdown]
# ## Exercise 2: each KL term is ≥ 0
#
# ½ (mu² + e^log_var − 1 − log_var): mu² ≥ 0, and e^log_var ≥ 1 + log_var (the
# exponential lies above its tangent at 0), so both parts are ≥ 0 and the minimum, 0, is
# at mu = 0, log_var = 0.

# %%
mu, log_var = np.meshgrid(np.linspace(-3, 3, 601), np.linspace(-5, 5, 1001))
terms = 0.5 * (mu**2 + np.exp(log_var) - 1 - log_var)
i = np.unravel_index(np.argmin(terms), terms.shape)
print(f"smallest term {terms.min():.2e} at mu = {mu[i]:.3f}, log_var = {log_var[i]:.3f}")
assert terms.min() >= 0 and abs(mu[i]) < 1e-9 and abs(log_var[i]) < 1e-9

# %% [markdown]
# ## Exercise 3: question 4's objective
#
# recon/K + 0.1·KL/J = (recon + (0.1·K/J)·KL) / K: the batchmean objective with
# beta = beta_from_norm(0.1, J, K), divided by K.

# %%
K, J = 784, 20
vae_mean = dense_vae("784-256-20", seed=0, reduction="mean", beta=0.1)
vae_sum = dense_vae("784-256-20", seed=0, reduction="batchmean", beta=beta_from_norm(0.1, J, K))
eps = np.random.default_rng(0).standard_normal((len(x01), J)).astype(np.float32)
loss_mean = BCE(reduction="mean").forward(vae_mean.forward(x01, eps=eps), x01) + vae_mean.beta * vae_mean.kl
loss_sum = BCE(reduction="batchmean").forward(vae_sum.forward(x01, eps=eps), x01) + vae_sum.beta * vae_sum.kl
print(f"recon/K + 0.1·KL/J = {loss_mean:.6f};  (recon + {vae_sum.beta:.2f}·KL) / K = {loss_sum / K:.6f}")
assert np.isclose(loss_mean, loss_sum / K, rtol=1e-4)
