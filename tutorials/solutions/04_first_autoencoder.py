# %% [markdown]
# # Solutions to tutorial 04 — your first MNIST autoencoder

# %%
import os
import tempfile
from pathlib import Path

import numpy as np

import tinyae
from tinyae import BCE, MSE, SGD, Adam, dense_autoencoder, fit, load_mnist, plot
from tinyae.diagnostics import collapse_ratio

QUICK = os.environ.get("TINYAE_QUICK") == "1"
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook
    HERE = Path.cwd()
FIGURES = Path(os.environ.get("TINYAE_FIGURES", HERE.parent / "figures")) / "04_first_autoencoder_solutions"
FIGURES.mkdir(parents=True, exist_ok=True)

mnist = load_mnist("mnist-mini", dtype="uint8", verbose=False)
x_train = mnist.x_train[:5000] if QUICK else mnist.x_train
x_test01 = mnist.x_test.astype(np.float32) / 255
mean_image = x_train.mean(axis=0) / 255
EPOCHS = 3 if QUICK else 6

# %% [markdown]
# ## Exercise 1: the blob network with MSE
#
# MSE does not rescue it within a few epochs: the cause — the gradient vanishing through
# the sigmoids, so that only the output layer learns — does not depend on the loss. (MSE
# even adds one more sigmoid derivative at the output, which BCE cancels.)

# %%
results = {}
for loss in (BCE(), MSE()):
    model = dense_autoencoder("784-100-50-100-784", hidden="sigmoid", output="sigmoid", seed=0)
    fit(model, x_train, loss=loss, optimizer=SGD(lr=1.0), epochs=EPOCHS, batch_size=64, verbose=False)
    results[type(loss).__name__] = collapse_ratio(model.reconstruct(x_test01), x_test01, mean_image)
    print(f"all-sigmoid + SGD with {type(loss).__name__}: collapse ratio {results[type(loss).__name__]:.2f}")
assert results["BCE"] > 0.9

# %% [markdown]
# ## Exercise 2: a 2-number code
#
# A ReLU outputs 0 wherever its input is negative, and passes back no gradient there. With
# only two code units, one of them can end up negative for *every* image: it is dead, it
# never learns again, and the "2-D" code is a line (here unit 1 is 0 for all test images;
# with `seed=1` both units die and the code is a point). Nothing asks a code to be
# positive — it is a coordinate in the plane — so the code layer is left linear
# (`code="identity"`), while the hidden layers keep their ReLUs. We train both and check
# that both linear code units vary.

# %%
models = {code: dense_autoencoder("784-128-2-128-784", hidden="relu", output="sigmoid",
                                 code=code, seed=0) for code in ("relu", "identity")}
codes = {}
for code, ae in models.items():
    fit(ae, x_train, loss=BCE(), optimizer=Adam(1e-3), epochs=EPOCHS, batch_size=64, verbose=False)
    codes[code] = ae.encode(x_test01)
    print(f"{code!r:10s} code: spread (std) of each unit over the test images "
          f"{np.round(codes[code].std(axis=0), 3)}")
plot.latent_scatter(codes["identity"], mnist.y_test, path=FIGURES / "latent_scatter.png")
assert codes["identity"].shape == (len(x_test01), 2)
assert np.any(np.all(codes["relu"] == 0, axis=0))  # a ReLU code unit dead for every image
assert np.all(codes["identity"].std(axis=0) > 0.5)  # both linear units vary: a real 2-D code

# %% [markdown]
# ## Exercise 3: save and load
#
# `tinyae.save` writes the architecture (JSON) and the flat parameter vector θ to one
# `.npz`; `tinyae.load` rebuilds the model, so its predictions are bit-identical.

# %%
model = models["identity"]  # the 2-D code of exercise 2
with tempfile.TemporaryDirectory() as folder:
    path = tinyae.save(model, Path(folder) / "ae.npz")
    loaded = tinyae.load(path)
    assert np.array_equal(loaded.reconstruct(x_test01), model.reconstruct(x_test01))
    print(f"{path.name}: {loaded.n_params:,} parameters, identical reconstructions")
