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

# %% [markdown]
# ## Exercise 4: CS231n's momentum against tinyae's
#
# By induction: both velocities start at 0, and if `v_cs = −lr·v` before a step, then
# after it `v_cs ← μ·v_cs − lr·g = −lr·(μ·v + g) = −lr·v`, so `θ + v_cs = θ − lr·v`: the
# same step. That needs the *same* lr at every step. Halve lr after 5 steps: tinyae's
# next step is `lr_new·v`, the whole velocity at the new rate, so it halves at once.
# CS231n's velocity was built from steps `lr_old·g` and keeps them: only the newest
# gradient enters at `lr_new`, so its next step is nearly as long as before, and it slows
# down only as the old velocity decays by μ per step (about 10 steps for μ = 0.9).

# %%
rng = np.random.default_rng(0)
mu, lr = 0.9, 0.1
gradients = rng.standard_normal((6, 5)) + 1.0  # gradients that mostly agree: a velocity builds up
theta_tinyae, theta_cs = np.ones(5), np.ones(5)
optimizer, v_cs = SGD(lr, momentum=mu), np.zeros(5)
for t, g in enumerate(gradients):
    if t == 5:  # a schedule halves lr before the sixth step
        optimizer.lr = lr = lr / 2
        before_tinyae, before_cs = theta_tinyae.copy(), theta_cs.copy()
    optimizer.step(theta_tinyae, g.copy())
    v_cs = mu * v_cs - lr * g  # v ← μ·v − lr·g
    theta_cs += v_cs  # θ ← θ + v
    if t == 4:
        print(f"after 5 steps at lr = {lr}: max |θ tinyae − θ CS231n| = "
              f"{np.abs(theta_tinyae - theta_cs).max():.1e}")
        assert np.allclose(theta_tinyae, theta_cs)
        assert np.allclose(v_cs, -lr * optimizer.state["v"])  # v_cs = −lr·v
step_tinyae = np.linalg.norm(theta_tinyae - before_tinyae)
step_cs = np.linalg.norm(theta_cs - before_cs)
print(f"the step after lr was halved: tinyae {step_tinyae:.4f}, CS231n {step_cs:.4f}")
assert step_tinyae < 0.6 * step_cs

# %% [markdown]
# ## Exercise 5: half a bias correction
#
# For a constant gradient g, after t steps `m = (1 − β₁ᵗ)·g` and `v = (1 − β₂ᵗ)·g²`.
#
# * m corrected, v not: the step is `lr·g / √((1 − β₂ᵗ)·g²) = lr / √(1 − β₂ᵗ)` — at
#   t = 1, `lr / √0.001 ≈ 31.6·lr`, and still 1.26·lr after 1000 steps.
# * v corrected, m not: `lr·(1 − β₁ᵗ)·g / |g| = (1 − β₁ᵗ)·lr` — 0.1·lr at t = 1, about
#   lr after 50 steps.
#
# Forgetting v's correction is the dangerous half: the first steps are 30 times too long,
# enough to throw a network's weights far from their initialisation. Forgetting m's
# only makes the first few dozen steps timid.

# %%
beta1, beta2, adam_lr = 0.9, 0.999, 1e-3
g = np.array([0.5])
m, v = np.zeros(1), np.zeros(1)
only_m, only_v = [], []  # the steps of the two half-corrected rules, in units of lr
for t in range(1, 1001):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    only_m.append(float(m_hat[0] / (np.sqrt(v[0]) + 1e-8)))
    only_v.append(float(m[0] / (np.sqrt(v_hat[0]) + 1e-8)))
t_axis = np.arange(1, 1001)
print(f"m corrected, v not: first step {only_m[0]:.1f}·lr, after 1000 steps {only_m[-1]:.2f}·lr")
print(f"v corrected, m not: first step {only_v[0]:.2f}·lr, after 50 steps {only_v[49]:.3f}·lr")
assert np.allclose(only_m, 1 / np.sqrt(1 - beta2**t_axis), rtol=1e-6)
assert np.allclose(only_v, 1 - beta1**t_axis, rtol=1e-6)

theta = np.zeros(1)  # tinyae's Adam, both corrected: lr from the first step
Adam(adam_lr).step(theta, g.copy())
print(f"both corrected (tinyae's Adam): first step {-theta[0] / adam_lr:.4f}·lr")
assert np.isclose(-theta[0], adam_lr)
