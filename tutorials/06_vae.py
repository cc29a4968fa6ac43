# %% [markdown]
# # 06 — The variational autoencoder and the weight of the KL term
#
# A VAE's encoder does not output one code per image but a *distribution* over codes:
# a mean `mu` and a log-variance `log_var` for each of the J latent dimensions. The code
# `z` is drawn from it, the decoder turns `z` into `p`, and the loss adds a KL term that
# pulls every posterior towards the prior N(0, I):
#
#     x (N, K) ──encoder──▶ [mu | log_var] (N, 2J) ──sample──▶ z (N, J) ──decoder──▶ p (N, K)
#     L = recon(p, x) + beta · KL
#
# This tutorial follows question 4 of docs/questions.md: how should `beta` weigh the KL against
# the reconstruction? We cover the reparameterisation trick, the KL formula and its
# gradient, reductions and `beta_norm`, a sweep over beta, and KL annealing.

# %%
import os
from pathlib import Path

import numpy as np

from tinyae import BCE, Adam, check_model, evaluate, fit, load_mnist, plot
from tinyae.diagnostics import effective_beta
from tinyae.gradcheck import numerical_gradient
from tinyae.models.vae import beta_from_norm, beta_norm, dense_vae, kl_divergence, kl_gradient
from tinyae.schedules import KLAnnealing, cyclical, linear_warmup, sigmoid_anneal

QUICK = os.environ.get("TINYAE_QUICK") == "1"
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook
    HERE = Path.cwd()
FIGURES = Path(os.environ.get("TINYAE_FIGURES", HERE / "figures")) / "06_vae"
FIGURES.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The reparameterisation trick
#
# Sampling `z ~ N(mu, exp(log_var))` is not differentiable in `mu` and `log_var` — but
# writing it as
#
# `z = mu + std · eps`, with `std = exp(½ · log_var)` and `eps ~ N(0, I)` drawn separately,
#
# is: `∂z/∂mu = 1` and `∂z/∂log_var = ½ · std · eps`. Note `std = exp(½·log_var)`: the
# *square root* of the variance `exp(log_var)` — a classic bug is to use `exp(log_var)`.
# `VAE.forward` keeps `mu`, `log_var`, `eps` and `z`, so we can check it:

# %%
small = dense_vae("6-5-2", seed=0, dtype=np.float64)  # K = 6 inputs, J = 2 latent dimensions
x_small = rng.uniform(0, 1, size=(4, 6))
p_small = small.forward(x_small)
z_by_hand = small.mu + np.exp(0.5 * small.log_var) * small.eps
print("mu =\n", small.mu, "\nz =\n", small.z)
assert np.allclose(small.z, z_by_hand)

# %% [markdown]
# ## 2. The KL term and its gradient
#
# For a diagonal Gaussian posterior against the prior N(0, 1), per sample,
#
# `KL = −½ Σ_j (1 + log_var_j − mu_j² − exp(log_var_j))`
#
# summed over the J latent dimensions. Each term is ≥ 0 and is 0 exactly when
# `mu_j = 0` and `log_var_j = 0` (the posterior *is* the prior). Its gradient is short:
# `∂KL/∂mu = mu`, `∂KL/∂log_var = ½ (exp(log_var) − 1)`.
# (`reduction="batchmean"` then divides the sum over the batch by N.)

# %%
mu, log_var = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
kl_by_hand = -0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var)) / len(mu)
print(f"KL by hand {kl_by_hand:.6f}, kl_divergence {kl_divergence(mu, log_var):.6f}")
assert np.isclose(kl_by_hand, kl_divergence(mu, log_var))
assert kl_divergence(np.zeros((5, 3)), np.zeros((5, 3))) == 0.0

dmu, dlog_var = kl_gradient(mu, log_var)
num_dmu = numerical_gradient(lambda: kl_divergence(mu, log_var), mu)
num_dlog_var = numerical_gradient(lambda: kl_divergence(mu, log_var), log_var)
print(f"gradient errors: dmu {np.abs(dmu - num_dmu).max():.1e}, "
      f"dlog_var {np.abs(dlog_var - num_dlog_var).max():.1e}")
assert np.allclose(dmu, num_dmu, atol=1e-9) and np.allclose(dlog_var, num_dlog_var, atol=1e-9)

# %% [markdown]
# The whole VAE — decoder, sampling, KL, encoder — can be gradient-checked like any
# model once the noise is held fixed: `forward(x, eps=...)` uses the given `eps` instead
# of drawing one. Two small adapters give `check_model` a deterministic model and a loss
# that includes `beta · KL` (whose gradient `VAE.backward` adds itself).

# %%
class FixedNoise:
    """The VAE with one fixed ``eps``: a deterministic function of its parameters."""

    def __init__(self, vae, eps):
        self.vae, self.eps = vae, eps

    def forward(self, x):
        return self.vae.forward(x, eps=self.eps)

    def backward(self, dp):
        return self.vae.backward(dp)

    def zero_grad(self):
        self.vae.zero_grad()

    def parameters(self):
        return self.vae.parameters()


class PlusKL:
    """recon(p, y) + beta · KL of the VAE's last forward; backward is recon's ``dp``."""

    def __init__(self, loss, vae):
        self.loss, self.vae = loss, vae

    def forward(self, p, y):
        return self.loss.forward(p, y) + self.vae.beta * self.vae.kl

    def backward(self):
        return self.loss.backward()


small.beta = 0.7
report = check_model(FixedNoise(small, rng.standard_normal((4, 2))), PlusKL(BCE("batchmean"), small),
                     x_small, x_small)
print(report)
assert report.passed

# %% [markdown]
# ## 3. Reductions, beta and beta_norm
#
# The reconstruction is summed over the K = 784 pixels and the KL over the J latent
# dimensions. How each is averaged — its *reduction* — changes the balance:
#
# * `"batchmean"`: sum over pixels (or latent dimensions), mean over the batch — the ELBO
#   per sample, the VAE's default. With BCE(`"batchmean"`) and beta = 1 the loss is −ELBO.
# * `"mean"`: also divide by K (recon) or by J (KL) — the Keras / PyTorch default.
#
# Question 4's asker divided the reconstruction by K and the KL by J, then weighted the KL
# by 0.1. That is Higgins et al.'s normalised `beta_norm = beta · J / K`: in the ELBO's
# own units it is `beta = beta_norm · K / J`. Mixing reductions silently changes beta:
# recon per pixel with KL per sample makes the KL weigh K = 784 times more.

# %%
K, J = 784, 20
print(f"beta_norm 0.1 with K = {K}, J = {J}  →  beta = {beta_from_norm(0.1, J, K):.2f}")
print(f"beta = 1  →  beta_norm = {beta_norm(1.0, J, K):.4f}")
mixed = effective_beta(1.0, recon_reduction="mean", kl_reduction="batchmean", input_dim=K,
                       latent_dim=J, batch_size=128)
print(f"recon 'mean' + KL 'batchmean', beta = 1: the KL effectively weighs {mixed:.0f}×")
assert np.isclose(beta_from_norm(0.1, J, K), 3.92) and np.isclose(mixed, K)

# %% [markdown]
# ## 4. Training a VAE on MNIST
#
# A VAE with J = 2 latent dimensions can be drawn: each test image becomes a point
# `mu` in the plane, and decoding a grid of points shows what the plane has learned.

# %%
mnist = load_mnist("mnist-mini", dtype="uint8", verbose=False)
x_train = mnist.x_train[:3000] if QUICK else mnist.x_train
x_test = mnist.x_test[:500] if QUICK else mnist.x_test
EPOCHS = 2 if QUICK else 6

vae = dense_vae("784-256-2", beta=1.0, seed=0)
print(vae.summary())
history = fit(vae, x_train, loss=BCE(reduction="batchmean"), optimizer=Adam(1e-3), epochs=EPOCHS,
              batch_size=100, validation_data=x_test, seed=0)
plot.loss_curves(history, keys=["recon", "kl"], path=FIGURES / "vae_loss.png")
mu_test, _ = vae.encode(x_test.astype(np.float32) / 255)
plot.latent_scatter(mu_test, mnist.y_test[: len(x_test)], path=FIGURES / "latent_scatter.png")
plot.latent_manifold(vae.decode, n=12, quantiles=True, path=FIGURES / "latent_manifold.png")
plot.image_grid(vae.sample(30, rng=1), n_cols=10, path=FIGURES / "samples.png",
                title="decoded from z ~ N(0, I)")
print(f"test: recon {history['val_recon'][-1]:.1f} nats, KL {history['val_kl'][-1]:.2f} nats per image")
assert history["val_recon"][-1] < history["val_recon"][0]

# %% [markdown]
# `fit` records `recon` and `kl` separately (and `loss = recon + beta·kl`). In the
# scatter (`latent_scatter.png`) digits form regions of the plane around the origin, as the
# KL pulls every `mu` towards 0. `samples.png` decodes fresh draws from the prior.
#
# ## 5. The trade-off: a sweep over beta
#
# Larger beta: the KL counts more, posteriors stay closer to the prior, the code carries
# less about x, and the reconstruction gets worse. Smaller beta: sharper reconstructions,
# a less regular latent space. Let us measure it.

# %%
betas = [0.1, 1.0, 10.0]
recon, kl = [], []
for beta in betas:
    model = dense_vae("784-256-2", beta=beta, seed=0)
    fit(model, x_train, loss=BCE(reduction="batchmean"), optimizer=Adam(1e-3),
        epochs=max(1, EPOCHS // 2), batch_size=100, seed=0, verbose=False)
    scores = evaluate(model, BCE(reduction="batchmean"), x_test)
    recon.append(scores["recon"])
    kl.append(scores["kl"])
    print(f"beta = {beta:5.1f}: recon {scores['recon']:6.1f}  KL {scores['kl']:5.2f}  nats per image")
plot.beta_sweep(betas, recon, kl, path=FIGURES / "beta_sweep.png")
assert kl[0] > kl[-1] and recon[0] < recon[-1]

# %% [markdown]
# ## 6. KL annealing
#
# Early in training the decoder cannot use `z` yet, so the cheapest way to lower the loss
# is to make KL = 0 — every posterior equal to the prior — after which `z` carries
# nothing ("KL vanishing", "posterior collapse"). Bowman et al. (2015) start with the KL
# weight at 0 and raise it to 1 along a sigmoid; Sønderby et al. (Ladder VAE) use a
# linear warm-up; Fu et al. (2019) repeat the rise in cycles. In tinyae a schedule maps
# the step t to a weight, and the `KLAnnealing` callback sets `vae.beta` before each batch.

# %%
steps_per_epoch = int(np.ceil(len(x_train) / 100))
total = EPOCHS * steps_per_epoch
schedules = {"linear warm-up": lambda t: linear_warmup(t, warmup_steps=total // 2),
             "sigmoid (Bowman)": lambda t: sigmoid_anneal(t, total_steps=total),
             "cyclical (Fu)": lambda t: cyclical(t, total_steps=total, n_cycles=4)}
plot.schedules(schedules, total_steps=total, path=FIGURES / "schedules.png")

annealed = dense_vae("784-256-2", seed=0)
annealed_history = fit(annealed, x_train, loss=BCE(reduction="batchmean"), optimizer=Adam(1e-3),
                       epochs=EPOCHS, batch_size=100, seed=0, verbose=False,
                       callbacks=[KLAnnealing(lambda t: sigmoid_anneal(t, total_steps=total))])
print("mean beta per epoch:", np.round(annealed_history["beta"], 3))
assert annealed_history["beta"][0] < 0.5 < annealed_history["beta"][-1]

# %% [markdown]
# The history records the beta used in each epoch next to its loss. How did annealing
# change the end result? Both models, evaluated on the same test images:

# %%
final = {name: evaluate(m, BCE(reduction="batchmean"), x_test)
         for name, m in (("constant beta = 1 (section 4)", vae), ("sigmoid annealing", annealed))}
for name, scores in final.items():
    print(f"{name:30s} recon {scores['recon']:6.1f}  KL {scores['kl']:5.2f}  nats per image")
constant, annealing = final.values()
assert constant["kl"] > 1  # z carries information: no posterior collapse to rescue
assert abs(annealing["recon"] - constant["recon"]) < 0.1 * constant["recon"]

# %% [markdown]
# The two end up close. Annealing is a remedy for posterior collapse (KL → 0, `z`
# ignored), which strikes VAEs whose decoder can do without `z` — Bowman et al.'s text
# decoder was a language model. This small dense decoder cannot draw a digit without `z`,
# so even with a constant beta = 1 the KL stays well above 0: there is nothing to rescue,
# and annealing mostly changes the path, not the end point.
#
# ## Exercises
#
# 1. **Exercise 1.** Train the 784-256-2 VAE with `BCE(reduction="mean")` while the VAE's
#    KL keeps `reduction="batchmean"`. What is the effective beta? Count the active latent
#    units with `tinyae.diagnostics.active_units(mu)` and compare with the matched model.
# 2. **Exercise 2.** Prove numerically that each KL term is ≥ 0: evaluate
#    `½ (mu² + exp(log_var) − 1 − log_var)` on a grid of mu and log_var and find its minimum.
# 3. **Exercise 3.** Question 4's objective is recon/K + 0.1·KL/J. Build it in tinyae
#    (`BCE(reduction="mean")` and `dense_vae(..., reduction="mean", beta=0.1)`) and check
#    that its loss equals (recon + beta_from_norm(0.1, J, K)·KL)/K in batchmean units.
#
# Solutions: `tutorials/solutions/06_vae.py`.
