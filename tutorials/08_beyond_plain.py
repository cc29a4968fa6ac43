# %% [markdown]
# # 08 — Beyond the plain autoencoder: denoising, sparse, tied and deep
#
# Tutorial 04 trained the plain autoencoder: squeeze `x` through a code, rebuild it,
# minimise the reconstruction error. Four classic variants change one thing each, and in
# tinyae each is one argument of `dense_autoencoder`:
#
# | variant | what changes | in tinyae |
# |---|---|---|
# | denoising (Vincent et al. 2008) | the input is corrupted, the target stays clean | `noise="mask:0.5"` |
# | sparse (Ng, CS294A; UFLDL) | a penalty keeps each code unit off most of the time | `sparsity=ρ` |
# | tied | the decoder reuses the encoder's weights, transposed | `tied=True` |
# | deep (Hinton & Salakhutdinov 2006) | many layers, trained end to end | a longer spec |
#
# For each we write down the maths, check the gradient it needs, train it on MNIST and
# measure what it changed. Each part lives in a module you can read: `tinyae/noise.py`,
# `tinyae/regularizers.py`, `tinyae/tied.py`, `tinyae/models/autoencoder.py`.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from tinyae import BCE, MSE, Adam, check_model, dense_autoencoder, evaluate, fit, load_mnist, plot
from tinyae.gradcheck import compare, numerical_gradient
from tinyae.noise import MaskingNoise, parse_noise
from tinyae.regularizers import SparsityPenalty

QUICK = os.environ.get("TINYAE_QUICK") == "1"
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook
    HERE = Path.cwd()
FIGURES = Path(os.environ.get("TINYAE_FIGURES", HERE / "figures")) / "08_beyond_plain"
FIGURES.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)

# Quick mode: the bundled subset and a few epochs.  Otherwise full MNIST when it is on
# disk (TINYAE_DATA_DIR) or downloadable, else the bundled subset (load_mnist says which).
mnist = load_mnist("mnist-mini" if QUICK else "auto", dtype="uint8")
x_train = mnist.x_train[:4000] if QUICK else mnist.x_train
x_test01 = (mnist.x_test[:1000] if QUICK else mnist.x_test).astype(np.float32) / 255
EPOCHS = 3 if QUICK else 5
print(f"{len(x_train):,} training images, {len(x_test01):,} test images, {EPOCHS} epochs per model")

# %% [markdown]
# ## 1. Denoising autoencoders (Vincent et al. 2008)
#
# A plain autoencoder with a wide enough code can come close to copying its input. A
# denoising autoencoder cannot: it is given a *corrupted* copy `x̃` of each image and
# must rebuild the *clean* `x`:
#
# `minimise  L(decoder(encoder(x̃)), x)`,  with `x̃ ~ q(x̃ | x)` drawn afresh for every batch.
#
# To undo the damage it has to know what digits look like. Two corruptions
# (`tinyae/noise.py`):
#
# * masking, `"mask:q"`: `x̃ = m ⊙ x` with `m[n, d] ~ Bernoulli(1 − q)` — each pixel is
#   zeroed with probability q (Vincent et al. zero a fixed fraction q of each image's
#   pixels, chosen at random: the same on average);
# * Gaussian, `"gaussian:σ"`: `x̃ = clip(x + σ·ε, 0, 1)`, `ε ~ N(0, 1)` per pixel.
#
# The noise enters only the input: `x̃` is data, not a function of θ, so the gradient is
# the plain autoencoder's, evaluated at `x̃` with target `x`. `fit` draws the noise per
# batch from its own seed; validation and `evaluate` use the inputs as given. Here are the
# test images corrupted once, with a fixed seed, so that every model below sees the same `x̃`:

# %%
NOISE = "mask:0.5"
x_noisy = parse_noise(NOISE)(x_test01, np.random.default_rng(1))  # (N, 784), the same x̃ for all
ink = x_test01 > 0  # the pixels that have something to lose
print(f"{NOISE}: {np.mean(x_noisy[ink] == 0):.1%} of the inked test pixels set to 0; "
      f"the clean image is the target")

# %% [markdown]
# Two autoencoders of the same shape, trained the same way (BCE, Adam, the same seed) —
# one on clean inputs, one with `noise=NOISE`:

# %%
SPEC = "784-256-64-256-784"
models = {}
for name, noise in (("plain", None), ("denoising", NOISE)):
    models[name] = dense_autoencoder(SPEC, noise=noise, seed=0)
    fit(models[name], x_train, loss=BCE(), optimizer=Adam(1e-3), epochs=EPOCHS, batch_size=64,
        seed=0, verbose=False)

# %% [markdown]
# Now give both the same corrupted test images and measure each output against the
# *clean* images: `evaluate(model, MSE(), x̃, x)` feeds `x̃` and compares with `x`
# (MSE per pixel).

# %%
mse = {"the corrupted input x̃ itself": float(np.mean((x_noisy - x_test01) ** 2))}
for name, model in models.items():
    mse[f"{name} AE, given x̃"] = evaluate(model, MSE(), x_noisy, x_test01)["loss"]
    mse[f"{name} AE, given the clean x"] = evaluate(model, MSE(), x_test01)["loss"]
print("test MSE per pixel against the clean images:")
for name, value in mse.items():
    print(f"  {name:34s} {value:.4f}")
plot.image_rows({"noisy x̃": x_noisy, "plain AE(x̃)": models["plain"].reconstruct(x_noisy),
                 "denoising AE(x̃)": models["denoising"].reconstruct(x_noisy), "clean x": x_test01},
                n=10, path=FIGURES / "denoising.png",
                title=f"{NOISE}: corrupted input, two reconstructions of it, the clean target")
assert mse["denoising AE, given x̃"] < mse["plain AE, given x̃"] < mse["the corrupted input x̃ itself"]

# %% [markdown]
# Given `x̃`, the denoising autoencoder's output is the closest to the clean images. The
# plain one, trained only to copy, fills in a little of what is missing because its
# 64-number code cannot keep every pixel — and the longer it trains, the better it copies,
# holes included. The price: on *clean* inputs the denoising autoencoder is the worse of
# the two — it was only ever shown digits with half their ink gone, and a whole digit is
# an input it never saw. It was trained for another job; what it learned on the way —
# which strokes go together — is what Vincent et al. were after, as features for a
# classifier.
# (**Exercise 1** at the end: write the masking noise yourself.)
#
# ## 2. Sparse autoencoders (Ng, CS294A lecture notes; the UFLDL tutorial)
#
# A sparse autoencoder has sigmoid code units `a = σ(x W₁ + b₁)`, (N, J), decodes them
# as `x̂ = σ(a W₂ + b₂)`, and asks each unit j to be *on* for few images: its mean
# activation over the batch,
#
# `ρ̂ⱼ = (1/N) Σₙ a[n, j]`,
#
# should stay near a small target ρ (0.1). The penalty is a KL divergence between two
# Bernoulli distributions, with mean ρ and with mean ρ̂ⱼ, summed over the J units:
#
# `KL(ρ ‖ ρ̂ⱼ) = ρ log(ρ/ρ̂ⱼ) + (1 − ρ) log((1 − ρ)/(1 − ρ̂ⱼ))`
#
# It is 0 at ρ̂ⱼ = ρ and grows without bound as ρ̂ⱼ → 0 or 1. UFLDL's whole objective, for
# N images, adds L2 weight decay on both weight matrices (not the biases):
#
# `J = (1/N) Σₙ ½‖x̂ₙ − xₙ‖²  +  (λ/2)(‖W₁‖² + ‖W₂‖²)  +  β Σⱼ KL(ρ ‖ ρ̂ⱼ)`
#
# **The gradient of the KL term.** It depends on `a[n, j]` only through ρ̂ⱼ, and
# `∂ρ̂ⱼ/∂a[n, j] = 1/N`. Differentiating the two logarithms,
# `∂KL/∂ρ̂ⱼ = −ρ/ρ̂ⱼ + (1 − ρ)/(1 − ρ̂ⱼ)`, so
#
# `∂(β Σⱼ KL)/∂a[n, j] = β (−ρ/ρ̂ⱼ + (1 − ρ)/(1 − ρ̂ⱼ)) / N`
#
# — the same for every image n of the batch, positive when the unit is on too often
# (ρ̂ⱼ > ρ), pushing all its activations down. The model adds it to the gradient that
# reaches the code from the decoder, before the encoder's backward
# (`Autoencoder.backward`). `SparsityPenalty` computes the value and this gradient; we
# check it against finite differences, in float64:

# %%
a_check = rng.uniform(0.05, 0.95, size=(8, 5))  # sigmoid activations: 8 images, 5 units
RHO, BETA = 0.1, 3.0
penalty = SparsityPenalty(a_check, RHO, BETA)
rho_hat = a_check.mean(axis=0)
by_formula = BETA * (-RHO / rho_hat + (1 - RHO) / (1 - rho_hat)) / len(a_check)  # (J,): one per unit
numerical_da = numerical_gradient(lambda: BETA * SparsityPenalty(a_check, RHO, BETA).value, a_check)
print(f"Σ KL = {penalty.value:.4f};  da: relative error against finite differences "
      f"{compare('da', penalty.da, numerical_da).error:.1e}")
assert np.allclose(penalty.da, by_formula) and compare("da", penalty.da, numerical_da).passed
assert SparsityPenalty(np.full((4, 3), RHO), RHO, BETA).value == 0.0  # ρ̂ = ρ: no penalty

# %% [markdown]
# And the whole model — reconstruction, sparsity and weight decay together — passes the
# gradient check of tutorial 01 (`check_model` checks the objective `fit` minimises,
# penalties included):

# %%
tiny = dense_autoencoder("6-4-6", hidden="sigmoid", sparsity=RHO, sparsity_weight=BETA,
                         weight_decay=0.1, dtype=np.float64, seed=0)
x6 = rng.uniform(size=(5, 6))
report = check_model(tiny, MSE(reduction="batchmean"), x6, x6)
print(report)
assert report.passed

# %% [markdown]
# **UFLDL's scale in tinyae.** `MSE(reduction="batchmean")` is `(1/N) Σₙ Σ_d (x̂ − x)²`:
# the squared error summed over an image's 784 pixels, averaged over images — **twice**
# UFLDL's `½‖x̂ − x‖²`. `dense_autoencoder` then adds `sparsity_weight · Σⱼ KL` and
# `weight_decay · ½ Σ ‖W‖²` (every Dense's W, biases excluded, as in UFLDL). So with
#
# `sparsity_weight = 2β`  and  `weight_decay = 2λ`
#
# tinyae's objective is exactly `2·J`: the same minimum, the same balance between its
# three terms, and — since Adam divides each step by the gradient's own size — the same
# Adam steps up to its ε. UFLDL's MNIST exercise used ρ = 0.1, β = 3, λ = 3e-3 and 196
# hidden units; in tinyae that is `sparsity_weight=6`, `weight_decay=6e-3`. Checked on
# one batch (one batch, so that ρ̂ is the mean over exactly these images):

# %%
LAMBDA = 3e-3
sparse = dense_autoencoder("784-196-784", hidden="sigmoid", sparsity=RHO, sparsity_weight=2 * BETA,
                           weight_decay=2 * LAMBDA, seed=0)
xb = x_test01[:500]
x_hat, a = sparse.reconstruct(xb), sparse.encode(xb)
W1, W2 = sparse.encoder.layers[0].W, sparse.decoder.layers[0].W
J = (np.mean(0.5 * np.sum((x_hat - xb) ** 2, axis=1)) + LAMBDA / 2 * (np.sum(W1**2) + np.sum(W2**2))
     + BETA * SparsityPenalty(a, RHO, BETA).value)
tinyae_loss = evaluate(sparse, MSE(reduction="batchmean"), xb, batch_size=len(xb))["loss"]
print(f"UFLDL's J by hand = {J:.4f};  tinyae's loss = {tinyae_loss:.4f} = {tinyae_loss / J:.5f} · J")
assert np.isclose(tinyae_loss, 2 * J, rtol=1e-4)

# %% [markdown]
# Two differences from UFLDL remain, and neither changes what is minimised: UFLDL ran
# L-BFGS on all images at once, so its ρ̂ⱼ is the mean over the whole training set, while
# `fit` takes minibatches and uses each batch's ρ̂ⱼ (a noisier estimate, the noisier the
# smaller the batch: we use 128 images); and we use Adam. Train it, and the same network
# without either penalty for comparison:

# %%
plain_196 = dense_autoencoder("784-196-784", hidden="sigmoid", seed=0)
for model in (sparse, plain_196):
    fit(model, x_train, loss=MSE(reduction="batchmean"), optimizer=Adam(3e-3), epochs=EPOCHS,
        batch_size=128, seed=0, verbose=False)
rho_hats = {name: model.encode(x_test01).mean(axis=0)  # ρ̂ⱼ over the test images, (196,)
            for name, model in (("sparse", sparse), ("no penalty", plain_196))}
for name, model in (("sparse", sparse), ("no penalty", plain_196)):
    scores = evaluate(model, MSE(reduction="batchmean"), x_test01)
    recon = scores.get("recon", scores["loss"]) / 2  # ½ Σ (x̂ − x)² per image: UFLDL's units
    print(f"{name:10s}  test ½Σ(x̂ − x)² per image {recon:6.2f}   mean ρ̂ⱼ {rho_hats[name].mean():.3f} "
          f"(units from {rho_hats[name].min():.3f} to {rho_hats[name].max():.3f})   "
          f"max |W₁| {np.abs(model.encoder.layers[0].W).max():.2f}")
plot.filters(sparse.encoder.layers[0].W, n=64, path=FIGURES / "sparse_filters.png")

# %%
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
for name, values in rho_hats.items():
    ax.plot(np.sort(values), marker=".", linestyle="none", label=f"{name} (mean {values.mean():.2f})")
ax.axhline(RHO, color="black", linestyle=":", label=f"target ρ = {RHO:g}")
ax.set_xlabel("code unit j (sorted by ρ̂ⱼ)")
ax.set_ylabel("ρ̂ⱼ: mean activation over the test images")
ax.set_ylim(0, 1)
ax.set_title("how often each of the 196 code units is on")
ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
plot.save(fig, FIGURES / "rho_hat.png")
# measured: sparse 0.133 quick, 0.116 subset, 0.108 full MNIST; no penalty 0.654, 0.551, 0.518
assert abs(rho_hats["sparse"].mean() - RHO) < 0.05 and rho_hats["no penalty"].mean() > 0.3

# %% [markdown]
# Without the penalty the units sit around ½ — each is half-on for a typical image — and
# their filters, drawn as images, look like noise that only means something in
# combination (see for yourself: `plot.filters(plain_196.encoder.layers[0].W)`). With it,
# every ρ̂ⱼ gathers near ρ, and the filters (`sparse_filters.png`) become pen strokes and
# parts of digits: a unit that may fire on one image in ten must find one thing to
# detect. The reconstruction is worse — sparsity is a constraint, not a free gift — and
# weight decay has kept the weights smaller (max |W₁| above).
#
# **L2 in the loss is not AdamW's weight decay.** `weight_decay=λ` adds `λ·W` to each dW
# (`WeightDecay` in `tinyae/regularizers.py`). With plain SGD that shrinks W by `lr·λ·W`
# per step, exactly the "decay" it is named after. With Adam, `λ·W` joins the gradient
# *before* Adam divides by `√v̂`, so the decay each weight gets depends on its gradient's
# size: a weight with large gradients is hardly decayed, and a weight with no other
# gradient is moved by about `lr` per step whatever λ is. AdamW (Loshchilov & Hutter
# 2019) leaves the gradient alone and subtracts `lr·λ·θ` after Adam's step: the same rate
# for every weight. Two weights start at 1 — w₀ with no data gradient, w₁ with noisy data
# gradients of size ≈ 10 — and take 300 Adam steps (lr = 0.001) with each kind of decay,
# and once without; what each decay took off is the difference from the run without:

# %%
g_data = 10 * np.random.default_rng(2).standard_normal(300)  # w₁'s noisy data gradients


def adam_run(lam: float, decay: str | None) -> np.ndarray:
    """(w₀, w₁) after Adam steps from (1, 1) with ``decay`` "L2", "AdamW" or None."""
    theta, grads, adam = np.ones(2), np.zeros(2), Adam(lr=1e-3)
    for g in g_data:
        grads[:] = (0.0, g)
        if decay == "L2":
            grads += lam * theta  # the L2 term's gradient joins the data's, before Adam's division
        adam.step(theta, grads)
        if decay == "AdamW":
            theta -= adam.lr * lam * theta  # decoupled: after the step, the same rate for every weight
    return theta


for lam in (1e-3, 1e-1):
    free = adam_run(lam, None)
    taken = {decay: free - adam_run(lam, decay) for decay in ("L2", "AdamW")}
    print(f"λ = {lam:<5g} taken off w₀ (no data gradient) / w₁ (gradients ≈ 10):  " + ";  ".join(
        f"{decay} {off[0]:.5f} / {off[1]:.5f}" for decay, off in taken.items()))
    assert taken["L2"][0] > 0.2 and taken["L2"][1] < 0.5 * taken["AdamW"][1]  # measured 0.28; 0.10×

# %% [markdown]
# AdamW takes the same amount, `≈ 300·lr·λ`, off both weights: it is the decay λ says.
# With L2 in the loss, w₀ loses ≈ 0.28 whether λ is 0.001 or 0.1 — with no other
# gradient, λ cancels in Adam's `m̂/√v̂` and every step is ≈ lr — while w₁, whose large
# gradients make `√v̂` large, loses only about a tenth of AdamW's share. CS294A's objective
# is the L2 kind, and that is what tinyae implements: a term of the loss, whose gradient is
# checked like any other's.
# (**Exercise 2**: write the penalty's value and gradient yourself.)
#
# ## 3. Tied weights: one parameter, two uses
#
# A tied autoencoder decodes with its encoder's weights, transposed:
#
# `h = σ(x W + b)`  (encoder, W of shape (D, H)),   `p = σ(h Wᵀ + c)`  (decoder, `TiedDense`)
#
# W is stored once — in the encoder's Dense, once in θ — and the decoder keeps only its
# bias c. The loss depends on W along two paths, so by the chain rule its gradient is
# the **sum** of both uses:
#
# `∂L/∂W = xᵀ @ dH  +  dAᵀ @ h`,  where `dH = ∂L/∂(x W + b)` and `dA = ∂L/∂(h Wᵀ + c)`.
#
# (The decoder's term: for `out = h Wᵀ`, the rule `d(weights) = inputᵀ @ dout` gives
# `d(Wᵀ) = hᵀ @ dA`, and transposing gives `dAᵀ @ h`.) tinyae adds the two without any
# special code: every layer's backward *adds* into its gradient (`dW += …`), so
# `TiedDense` adds its term into the encoder Dense's dW and the Dense adds its own.
# First, the bookkeeping and the gradient check, in float64:

# %%
tied = dense_autoencoder("6-4-6", hidden="sigmoid", tied=True, dtype=np.float64, seed=0)
untied = dense_autoencoder("6-4-6", hidden="sigmoid", dtype=np.float64, seed=0)
print("tied parameters:", [name for name, _, _ in tied.parameters()])
print(f"{tied.n_params} numbers tied, {untied.n_params} untied (W, 6 × 4, stored once)")
report = check_model(tied, BCE(), x6, x6)
print(report)
assert report.passed and untied.n_params - tied.n_params == 6 * 4

# %% [markdown]
# Now take the sum apart. The model's backward runs the decoder first, then the encoder;
# we run the two halves ourselves and look at the encoder Dense's dW in between:

# %%
dense, loss = tied.encoder.layers[0], BCE()
tied.zero_grad()
loss.forward(tied.forward(x6), x6)
dz = tied.decoder.backward(loss.backward())  # TiedDense adds the decoder's use, dAᵀ @ h
dW_decoder = dense.dW.copy()
tied.encoder.backward(dz)  # the Dense adds the encoder's use, xᵀ @ dH
dW_encoder = dense.dW - dW_decoder
numerical_dW = numerical_gradient(lambda: loss.forward(tied.forward(x6), x6), dense.W)
share_errors = {name: compare("dW", dW, numerical_dW).error for name, dW in
                (("the decoder's use alone", dW_decoder), ("the encoder's use alone", dW_encoder),
                 ("their sum (dense.dW)", dense.dW))}
for name, error in share_errors.items():
    print(f"dW from {name:26s} relative error against finite differences {error:.1e}")
assert share_errors["their sum (dense.dW)"] < 1e-7 < min(share_errors["the decoder's use alone"],
                                                           share_errors["the encoder's use alone"])

# %% [markdown]
# Either use alone is plainly wrong; only the sum is the gradient. Had `Dense` written
# `dW = …` instead of `dW += …`, the encoder's backward would have erased the decoder's
# share, and this check is what would catch it. (**Exercise 3**: compute both shares with
# NumPy from the formulas above.) On MNIST, tying halves the weights:

# %%
pair = {name: dense_autoencoder("784-196-784", tied=tied_weights, seed=0)
        for name, tied_weights in (("untied", False), ("tied", True))}
test_bce = {}
for name, model in pair.items():
    fit(model, x_train, loss=BCE(), optimizer=Adam(1e-3), epochs=EPOCHS, batch_size=64, seed=0,
        verbose=False)
    test_bce[name] = evaluate(model, BCE(), x_test01)["loss"]
    print(f"{name:7s} 784-196-784: {model.n_params:7,} parameters, test BCE per pixel {test_bce[name]:.4f}")
assert pair["tied"].n_params < 0.51 * pair["untied"].n_params
assert test_bce["tied"] < 1.5 * test_bce["untied"]  # measured 1.13× quick, 1.24× subset, 1.05× full MNIST

# %% [markdown]
# Half the parameters for a higher test loss: the decoder can no longer choose its own
# weights, only reuse the encoder's. How much higher varies: measured after 5 epochs,
# 0.0694 tied against 0.0661 untied on full MNIST (5 % more), but 0.1016 against 0.0819
# on the bundled 10,000 images (24 % more). Tying is an old idea: Vincent
# et al. offer `W′ = Wᵀ` as an option for their denoising autoencoders, and Hinton &
# Salakhutdinov's deep autoencoder (next) starts its decoder from the transposed encoder
# weights before fine-tuning them apart.

# %% [markdown]
# ## 4. Deep autoencoders (Hinton & Salakhutdinov 2006)
#
# Hinton and Salakhutdinov trained a 784-1000-500-250-30 encoder (and its mirror image
# as decoder) on MNIST and compared its 30-number code with PCA's 30 components. Their
# measure: the squared error per image, `Σ_d (x̂ − x)²` over the 784 pixels, averaged over
# the test images. They reported **3.00** for the deep autoencoder against **13.87** for
# PCA. In 2006 such a network was all but impossible to train from random weights with
# sigmoid units and plain gradient descent (tutorial 02 measured why), so they
# pre-trained it layer by layer as restricted Boltzmann machines, then fine-tuned it. We use the tools
# that made pre-training unnecessary: ReLU hidden layers with He initialisation and Adam,
# with a linear 30-unit code, a sigmoid output and BCE.
#
# **PCA** is the best *linear* code: with the mean image μ and the covariance
# `C = (1/N) Σₙ (xₙ − μ)ᵀ(xₙ − μ)` of the training images, let V₃₀ (784, 30) hold the
# eigenvectors of C with the 30 largest eigenvalues. The code is `(x − μ) V₃₀` and the
# reconstruction `x̂ = μ + (x − μ) V₃₀ V₃₀ᵀ`; no other 30-dimensional linear projection has
# a smaller squared error on the training data.

# %%
DEEP_N, DEEP_EPOCHS = (3000, 2) if QUICK else (len(mnist.x_train), 10)
x_fit = mnist.x_train[:DEEP_N].astype(np.float64) / 255  # (N, 784)
mu = x_fit.mean(axis=0)
Xc = x_fit - mu
eigenvalues, eigenvectors = np.linalg.eigh(Xc.T @ Xc / len(Xc))  # C, (784, 784): ascending order
V30 = eigenvectors[:, ::-1][:, :30]  # the 30 directions of largest variance
x_pca = mu + (x_test01 - mu) @ V30 @ V30.T


def squared_error(x_hat: np.ndarray, x: np.ndarray) -> float:
    """Σ_d (x̂ − x)² over each image's pixels, averaged over images: Hinton & Salakhutdinov's measure."""
    return float(np.mean(np.sum((x_hat - x) ** 2, axis=1)))


print(f"PCA-30 fitted on {len(x_fit):,} images keeps {eigenvalues[::-1][:30].sum() / eigenvalues.sum():.1%} "
      f"of the variance; test squared error per image {squared_error(x_pca, x_test01):.2f}")

# %% [markdown]
# The deep autoencoder, and a shallow 784-30-784 one with the same code size, trained the
# same way. In quick mode each sees only a few thousand images for two epochs.

# %%
deep = dense_autoencoder("784-1000-500-250-30-250-500-1000-784", code="identity", seed=0)
shallow = dense_autoencoder("784-30-784", code="identity", seed=0)
print(f"deep: {deep.n_params:,} parameters; shallow: {shallow.n_params:,}")
for model in (deep, shallow):
    fit(model, mnist.x_train[:DEEP_N], loss=BCE(), optimizer=Adam(1e-3), epochs=DEEP_EPOCHS,
        batch_size=128, seed=0)
errors = {"deep 784-1000-500-250-30 AE": squared_error(deep.reconstruct(x_test01), x_test01),
          "shallow 784-30-784 AE": squared_error(shallow.reconstruct(x_test01), x_test01),
          "PCA, 30 components": squared_error(x_pca, x_test01)}
paper = {"deep 784-1000-500-250-30 AE": "3.00", "shallow 784-30-784 AE": "—", "PCA, 30 components": "13.87"}
print(f"\ntest squared error per image ({len(x_fit):,} training images, {DEEP_EPOCHS} epochs):")
print(f"  {'':30s} {'here':>7s} {'paper (full MNIST)':>19s}")
for name, value in errors.items():
    print(f"  {name:30s} {value:7.2f} {paper[name]:>19s}")
plot.image_rows({"original x": x_test01, "deep AE": deep.reconstruct(x_test01),
                 "784-30-784": shallow.reconstruct(x_test01),
                 "PCA-30": np.clip(x_pca, 0, 1)},  # PCA's x̂ leaves [0, 1]: shown clipped, measured not
                n=10, path=FIGURES / "deep_vs_pca.png",
                title="30 numbers per image: deep autoencoder, shallow autoencoder, PCA")
assert errors["deep 784-1000-500-250-30 AE"] < errors["shallow 784-30-784 AE"]
if not QUICK:
    assert errors["deep 784-1000-500-250-30 AE"] < errors["PCA, 30 components"]

# %% [markdown]
# **Read these numbers with the run's size in mind.** In quick mode the deep network has
# seen 3,000 images twice — about 50 Adam steps for 2.8 million parameters — and is
# nowhere near the paper: it does not even beat PCA, which is computed exactly, not
# trained. Without `TINYAE_QUICK` this tutorial trains for 10 epochs on full MNIST when
# it finds it (about five minutes on a busy 2-core machine), and measured 4.36 for the
# deep autoencoder, 8.78 for the shallow one and 13.87 for PCA-30 — the paper's PCA
# number exactly, since PCA involves no training. (On the bundled 10,000 images instead:
# 7.65, 23.4 and 13.89.) The paper's 3.00 took RBM pre-training and far longer
# fine-tuning. `tinyae experiment deep --full` reaches it without pre-training, in 60
# epochs: the learning rate decays along half a cosine (`tinyae.schedules.cosine_decay`),
# and AdamW's weight decay (`Adam(1e-3, weight_decay=0.2)`) keeps the 2.8 million
# parameters from overfitting 60,000 images — test squared error 2.93 per image.
#
# Why depth helps: PCA's reconstructions lie on a flat 30-dimensional plane through μ,
# and the shallow autoencoder's on that kind of plane bent once by the output sigmoid. A
# stroke that moves across the image traces a curve through pixel space, not a line; the
# deep decoder's reconstructions lie on a curved 30-dimensional surface that can follow
# it. (**Exercise 4**: compute PCA with the SVD instead.)
#
# ## Exercises
#
# Each exercise is a function with `# TODO` lines to fill in, followed by the code that
# checks it against tinyae; until you write it, the check only says so. Worked answers:
# `tutorials/solutions/08_beyond_plain.py`.
#
# **Exercise 1.** Masking noise by hand: draw `u = rng.random(x.shape)` once and keep each
# pixel where `u ≥ q`, zeroing it elsewhere. With the same seed your `x̃` must be
# identical to tinyae's `MaskingNoise(q)`, and about a fraction q of the inked pixels must
# be zero. (Then try it as Gaussian noise, `clip(x + σ·ε, 0, 1)`, against `GaussianNoise`.)

# %%
def masking_noise(x: np.ndarray, q: float, rng: np.random.Generator) -> np.ndarray | None:
    """x̃ = m ⊙ x with m = (u ≥ q), u = rng.random(x.shape): each pixel zeroed with probability q."""
    # TODO: draw u = rng.random(x.shape) once
    # TODO: return x where u ≥ q, and 0 elsewhere (same shape as x)
    return None


x_mine = masking_noise(x_test01, 0.5, np.random.default_rng(7))
if x_mine is None:
    print("Exercise 1: not written yet — fill in the # TODO lines of masking_noise")
else:
    same = np.array_equal(x_mine, MaskingNoise(0.5)(x_test01, np.random.default_rng(7)))
    print(f"Exercise 1: {np.mean(x_mine[ink] == 0):.1%} of the inked pixels zeroed; "
          f"identical to tinyae's MaskingNoise: {same}")
    assert same

# %% [markdown]
# **Exercise 2.** The sparsity penalty's value `Σⱼ KL(ρ ‖ ρ̂ⱼ)` and its gradient
# `∂(β Σⱼ KL)/∂a`, from the formulas of section 2. Check both against `SparsityPenalty`, and
# the gradient against finite differences of your own value.

# %%
def sparsity_penalty(a: np.ndarray, rho: float, beta: float) -> tuple[float, np.ndarray] | None:
    """``(Σⱼ KL(ρ ‖ ρ̂ⱼ), da)`` for activations a (N, J) in (0, 1); da = ∂(β·Σⱼ KL)/∂a, (N, J)."""
    # TODO: rho_hat, the mean activation of each unit over the batch, (J,)
    # TODO: value = Σⱼ [ρ log(ρ/ρ̂ⱼ) + (1 − ρ) log((1 − ρ)/(1 − ρ̂ⱼ))]
    # TODO: da[n, j] = β (−ρ/ρ̂ⱼ + (1 − ρ)/(1 − ρ̂ⱼ)) / N, the same for every row n
    return None


answer = sparsity_penalty(a_check, RHO, BETA)
if answer is None:
    print("Exercise 2: not written yet — fill in the # TODO lines of sparsity_penalty")
else:
    value, da = answer
    numerical_mine = numerical_gradient(lambda: BETA * sparsity_penalty(a_check, RHO, BETA)[0], a_check)
    print(f"Exercise 2: value {value:.6f} (tinyae {penalty.value:.6f}); da against finite "
          f"differences {compare('da', da, numerical_mine).error:.1e}, against tinyae's "
          f"{compare('da', da, penalty.da).error:.1e}")
    assert np.isclose(value, penalty.value) and np.allclose(da, penalty.da)
    assert compare("da", da, numerical_mine).passed

# %% [markdown]
# **Exercise 3.** The two shares of a tied W, with NumPy alone, for the 6-4-6 tied model of
# section 3 (`h = σ(x W + b)`, `p = σ(h Wᵀ + c)`, `L = BCE(p, x)` averaged over all N·D
# elements). With a sigmoid output, BCE's gradient with respect to `h Wᵀ + c` is simply
# `(p − x)/(N·D)` (tutorial 03). They must equal `dW_decoder` and `dW_encoder` above, and
# their sum the model's dW.

# %%
def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)), elementwise."""
    return 1 / (1 + np.exp(-z))


def tied_shares(x: np.ndarray, W: np.ndarray, b: np.ndarray, c: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray] | None:
    """``(dAᵀ @ h, xᵀ @ dH)``: the decoder's and the encoder's share of dW, each (D, H).

    x (N, D), W (D, H), b (H,), c (D,).
    """
    # TODO: the forward pass: h = σ(x W + b) (N, H), p = σ(h Wᵀ + c) (N, D)
    # TODO: dA = (p − x) / (N·D);  the decoder's share dAᵀ @ h
    # TODO: dH = (dA @ W) ⊙ h (1 − h);  the encoder's share xᵀ @ dH
    return None


shares = tied_shares(x6, dense.W, dense.b, tied.decoder.layers[0].b)
if shares is None:
    print("Exercise 3: not written yet — fill in the # TODO lines of tied_shares")
else:
    print(f"Exercise 3: decoder's share matches: {np.allclose(shares[0], dW_decoder)}, encoder's: "
          f"{np.allclose(shares[1], dW_encoder)}, sum = dense.dW: {np.allclose(sum(shares), dense.dW)}")
    assert np.allclose(shares[0], dW_decoder) and np.allclose(shares[1], dW_encoder)

# %% [markdown]
# **Exercise 4.** PCA by the singular value decomposition, without forming the covariance:
# if the centred data is `Xc = U S Vᵀ`, then `C = Xcᵀ Xc / N = V (S²/N) Vᵀ`, so the rows of
# `Vᵀ` are C's eigenvectors, already sorted by `S²/N`, its eigenvalues. (The SVD is also
# the more accurate route: forming `Xcᵀ Xc` squares the data's condition number.) Your
# reconstructions must match section 4's.

# %%
def pca_by_svd(x_fit: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(μ, V_k)``: the mean image (D,) and the top-k principal directions (D, k) of x_fit (N, D)."""
    # TODO: mu, the mean image; Xc = x_fit − mu
    # TODO: U, S, Vt = np.linalg.svd(Xc, full_matrices=False); V_k = the first k rows of Vt, transposed
    return None


pca = pca_by_svd(x_fit, 30)
if pca is None:
    print("Exercise 4: not written yet — fill in the # TODO lines of pca_by_svd")
else:
    mu_svd, V_svd = pca
    x_svd = mu_svd + (x_test01 - mu_svd) @ V_svd @ V_svd.T
    print(f"Exercise 4: test squared error per image {squared_error(x_svd, x_test01):.4f} "
          f"(section 4: {squared_error(x_pca, x_test01):.4f})")
    assert np.allclose(x_svd, x_pca, atol=1e-6)
