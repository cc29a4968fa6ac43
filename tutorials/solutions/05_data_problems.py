# %% [markdown]
# # Solutions to tutorial 05 — when the data is the problem

# %%
import os

import numpy as np

from tinyae import BCE, MSE, SGD, Adam, Dense, Sequential, dense_autoencoder, fit, load_mnist
from tinyae.diagnostics import doctor, format_findings, relative_error

QUICK = os.environ.get("TINYAE_QUICK") == "1"
rng = np.random.default_rng(0)
N = 1000 if QUICK else 4000

# %% [markdown]
# ## Exercise 1: uniform data in [0, 1)
#
# Here the variations are as large as the values themselves, and the diagonal of `W`
# grows steadily towards 1 (the answer in question 3 saw ≈ 0.8 after ~100 epochs on 139k
# rows with a smaller learning rate).

# %%
uniform = rng.uniform(size=(N, 84))
model = Sequential([Dense(84, 84)], seed=0, dtype=np.float64)
diagonals = []
for epoch in range(3 if QUICK else 10):
    fit(model, uniform, loss=MSE(), optimizer=SGD(0.1), epochs=1, batch_size=8, seed=epoch, verbose=False)
    diagonals.append(float(np.diag(model.layers[0].W).mean()))
print("mean diagonal of W per epoch:", np.round(diagonals, 3))
assert diagonals[-1] > diagonals[0] > 0

# %% [markdown]
# ## Exercise 2: the softmax autoencoder with MSE
#
# No: whatever the loss, a softmax row sums to 1 while an image sums to ~100. The loss
# only chooses *which* faint image the model settles on.

# %%
x_raw = load_mnist("mnist-mini", dtype="uint8", verbose=False).x_train[: 1000 if QUICK else 5000]
x01 = x_raw.astype(np.float32) / 255
for loss in (BCE(), MSE()):
    ae = dense_autoencoder("784-128-64-28-64-128-784", hidden="relu", output="softmax", seed=0)
    fit(ae, x_raw, loss=loss, optimizer=Adam(1e-3), epochs=1 if QUICK else 3, batch_size=100, verbose=False)
    error = relative_error(ae.reconstruct(x01), x01)
    print(f"softmax output with {type(loss).__name__}: relative error {error:.2f}")
    assert error > 1

# %% [markdown]
# ## Exercise 3: the doctor on the configurations of this tutorial

# %%
data = rng.normal(1.1090579, 0.0012380764, size=(N, 84))
plain = Sequential([Dense(84, 84)], seed=0, dtype=np.float64)
findings = doctor(plain, MSE(), data, optimizer=SGD(0.01), batch_size=8)
print(format_findings(findings))
assert "tiny-spread" in {finding.code for finding in findings}

ae = dense_autoencoder("784-100-50-100-784", hidden="relu", output="sigmoid", seed=0)
findings = doctor(ae, BCE(), x_raw.astype(np.float32), optimizer=Adam(1e-3))
print(format_findings(findings))
assert {"bce-target-range", "raw-pixels"} <= {finding.code for finding in findings}
