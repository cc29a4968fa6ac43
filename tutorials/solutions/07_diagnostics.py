# %% [markdown]
# # Solutions to tutorial 07 — reading the diagnostics

# %%
import os

from tinyae import BCE, SGD, Adam, Dense, ReLU, Sequential, dense_autoencoder, fit, load_mnist
from tinyae.diagnostics import Monitor, doctor, format_findings
from tinyae.models.vae import dense_vae

QUICK = os.environ.get("TINYAE_QUICK") == "1"
x_train = load_mnist("mnist-mini", dtype="uint8", verbose=False).x_train[: 2000 if QUICK else 5000]

# %% [markdown]
# ## Exercise 1: the question-1 network with Adam
#
# `vanishing-gradients` becomes a **note**: the gradient still vanishes, but Adam divides
# each weight's step by the size of its own gradient, which largely makes up for it — the
# message says so.

# %%
model = dense_autoencoder("784-100-50-100-784", hidden="sigmoid", output="sigmoid", seed=0)
findings = doctor(model, BCE(), x_train, optimizer=Adam(1e-3))
print(format_findings(findings))
vanishing = next(f for f in findings if f.code == "vanishing-gradients")
assert vanishing.severity == "note" and "Adam" in vanishing.message

# %% [markdown]
# ## Exercise 2: a far-off learning rate and BCE on a linear output

# %%
linear_output = Sequential([Dense(784, 64), ReLU(), Dense(64, 784)], seed=0)
findings = doctor(linear_output, BCE(), x_train, optimizer=SGD(lr=50))
print(format_findings(findings))
assert {"learning-rate", "bce-output"} <= {f.code for f in findings}

# %% [markdown]
# ## Exercise 3: active units under a Monitor
#
# With beta = 50 the KL dominates: the posteriors are pulled onto the prior, the KL of
# every latent dimension (`zj/kl` in the history) shrinks towards 0, and with enough
# training the active units drop to 0, while beta = 1 keeps them.

# %%
active, kl = {}, {}
for beta in (1.0, 50.0):
    vae = dense_vae("784-256-4", beta=beta, seed=0)
    monitor = Monitor(x_train[:256], BCE(reduction="batchmean"), verbose=False)
    history = fit(vae, x_train, loss=BCE(reduction="batchmean"), optimizer=Adam(1e-3),
                  epochs=2 if QUICK else 4, batch_size=100, callbacks=[monitor], verbose=False)
    active[beta] = history["active_units"]
    kl[beta] = sum(history[f"z{j}/kl"][-1] for j in range(4))
    print(f"beta = {beta:4.0f}: active units per epoch {history['active_units']}, "
          f"final KL summed over z {kl[beta]:.3f}")
assert kl[50.0] < 0.5 * kl[1.0] and active[50.0][-1] <= active[1.0][-1]
