# %% [markdown]
# # Solutions to tutorial 08 — denoising, sparse, tied and deep autoencoders

# %%
import os

import numpy as np

from tinyae import BCE, dense_autoencoder, load_mnist
from tinyae.gradcheck import compare, numerical_gradient
from tinyae.noise import GaussianNoise, MaskingNoise
from tinyae.regularizers import SparsityPenalty

QUICK = os.environ.get("TINYAE_QUICK") == "1"
mnist = load_mnist("mnist-mini", dtype="uint8", verbose=False)
x_test01 = mnist.x_test[:1000].astype(np.float32) / 255
ink = x_test01 > 0
rng = np.random.default_rng(0)

# %% [markdown]
# ## Exercise 1: masking noise by hand
#
# One draw `u` per pixel, kept where `u ≥ q`: a pixel survives with probability 1 − q.
# Multiplying by the boolean mask keeps x's dtype. The same seed gives the same `u`, so
# the result is bit for bit tinyae's. (Keeping where `u < 1 − q` has the same
# distribution but zeroes *other* pixels for the same draws: right in law, different in
# every run.)

# %%
def masking_noise(x: np.ndarray, q: float, rng: np.random.Generator) -> np.ndarray:
    """x̃ = m ⊙ x with m = (u ≥ q), u = rng.random(x.shape): each pixel zeroed with probability q."""
    u = rng.random(x.shape)
    return x * (u >= q)


x_mine = masking_noise(x_test01, 0.5, np.random.default_rng(7))
same = np.array_equal(x_mine, MaskingNoise(0.5)(x_test01, np.random.default_rng(7)))
print(f"{np.mean(x_mine[ink] == 0):.1%} of the inked pixels zeroed; identical to MaskingNoise: {same}")
assert same and abs(np.mean(x_mine[ink] == 0) - 0.5) < 0.01

# %% [markdown]
# The Gaussian version. To match `GaussianNoise` bit for bit the draws must be made in x's
# dtype: `standard_normal(..., dtype=np.float32)` is a different algorithm from the
# float64 one, not the float64 numbers rounded.

# %%
def gaussian_noise(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """x̃ = clip(x + σ·ε, 0, 1) with ε ~ N(0, 1) per pixel, drawn in x's dtype."""
    return np.clip(x + sigma * rng.standard_normal(x.shape, dtype=x.dtype), 0, 1)


x_mine = gaussian_noise(x_test01, 0.3, np.random.default_rng(7))
theirs = GaussianNoise(0.3)(x_test01, np.random.default_rng(7))
print(f"Gaussian σ = 0.3: identical to GaussianNoise: {np.array_equal(x_mine, theirs)}; "
      f"{np.mean(x_mine == 0):.1%} of all pixels clipped to 0")
assert np.array_equal(x_mine, theirs)

# %% [markdown]
# ## Exercise 2: the sparsity penalty and its gradient
#
# ρ̂ⱼ is a column mean; the gradient is one number per unit, divided by N and repeated
# down the N rows (`np.broadcast_to` would avoid the copy; `np.tile` is plainer).

# %%
def sparsity_penalty(a: np.ndarray, rho: float, beta: float) -> tuple[float, np.ndarray]:
    """``(Σⱼ KL(ρ ‖ ρ̂ⱼ), da)`` for activations a (N, J) in (0, 1); da = ∂(β·Σⱼ KL)/∂a, (N, J)."""
    rho_hat = a.mean(axis=0)  # (J,)
    value = float(np.sum(rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))))
    d_rho_hat = beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))  # ∂(β Σ KL)/∂ρ̂ⱼ, (J,)
    return value, np.tile(d_rho_hat / len(a), (len(a), 1))


RHO, BETA = 0.1, 3.0
a_check = rng.uniform(0.05, 0.95, size=(8, 5))
value, da = sparsity_penalty(a_check, RHO, BETA)
penalty = SparsityPenalty(a_check, RHO, BETA)
numerical_da = numerical_gradient(lambda: BETA * sparsity_penalty(a_check, RHO, BETA)[0], a_check)
print(f"value {value:.6f} (tinyae {penalty.value:.6f}); da against finite differences "
      f"{compare('da', da, numerical_da).error:.1e}, against tinyae's "
      f"{compare('da', da, penalty.da).error:.1e}")
assert np.isclose(value, penalty.value) and np.allclose(da, penalty.da)
assert compare("da", da, numerical_da).passed

# %% [markdown]
# ## Exercise 3: the two shares of a tied W
#
# The forward pass by hand, then the chain rule backwards. BCE's mean over N·D elements
# with a sigmoid output gives `dA = (p − x)/(N·D)` (the `p(1 − p)` of BCE's derivative
# and of the sigmoid's cancel). W's decoder share is `dAᵀ @ h` (the transpose of
# `hᵀ @ dA`, the gradient of the matrix the decoder multiplies by, Wᵀ); the gradient flows
# on to h through that same Wᵀ, `dA @ W`, and through the sigmoid, `⊙ h(1 − h)`.

# %%
def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)), elementwise."""
    return 1 / (1 + np.exp(-z))


def tied_shares(x: np.ndarray, W: np.ndarray, b: np.ndarray, c: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """``(dAᵀ @ h, xᵀ @ dH)``: the decoder's and the encoder's share of dW, each (D, H).

    x (N, D), W (D, H), b (H,), c (D,).
    """
    h = sigmoid(x @ W + b)  # (N, H)
    p = sigmoid(h @ W.T + c)  # (N, D)
    dA = (p - x) / x.size  # ∂L/∂(h Wᵀ + c)
    dH = (dA @ W) * h * (1 - h)  # ∂L/∂(x W + b)
    return dA.T @ h, x.T @ dH


tied = dense_autoencoder("6-4-6", hidden="sigmoid", tied=True, dtype=np.float64, seed=0)
dense, loss = tied.encoder.layers[0], BCE()
x6 = rng.uniform(size=(5, 6))
tied.zero_grad()
loss.forward(tied.forward(x6), x6)
dz = tied.decoder.backward(loss.backward())
dW_decoder = dense.dW.copy()
tied.encoder.backward(dz)
decoder_share, encoder_share = tied_shares(x6, dense.W, dense.b, tied.decoder.layers[0].b)
print(f"decoder's share: relative difference {compare('dW', decoder_share, dW_decoder).error:.1e}; "
      f"sum against dense.dW: {compare('dW', decoder_share + encoder_share, dense.dW).error:.1e}")
assert np.allclose(decoder_share, dW_decoder) and np.allclose(decoder_share + encoder_share, dense.dW)

# %% [markdown]
# ## Exercise 4: PCA by the SVD
#
# `np.linalg.svd` returns the singular values in decreasing order, so the first k rows of
# `Vt` are the top-k directions. A direction is defined up to its sign (v and −v span the
# same line), so compare the projections `V Vᵀ` or the reconstructions, not the vectors.

# %%
def pca_by_svd(x_fit: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(μ, V_k)``: the mean image (D,) and the top-k principal directions (D, k) of x_fit (N, D)."""
    mu = x_fit.mean(axis=0)
    _, _, Vt = np.linalg.svd(x_fit - mu, full_matrices=False)
    return mu, Vt[:k].T


x_fit = mnist.x_train[: 3000 if QUICK else 10_000].astype(np.float64) / 255
mu, V = pca_by_svd(x_fit, 30)
x_svd = mu + (x_test01 - mu) @ V @ V.T
# The tutorial's route: the eigenvectors of the covariance matrix.
Xc = x_fit - mu
eigenvalues, eigenvectors = np.linalg.eigh(Xc.T @ Xc / len(Xc))
V_eigh = eigenvectors[:, ::-1][:, :30]
x_eigh = mu + (x_test01 - mu) @ V_eigh @ V_eigh.T
S = np.linalg.svd(Xc, compute_uv=False)
print(f"test squared error per image: SVD {np.mean(np.sum((x_svd - x_test01) ** 2, axis=1)):.4f}, "
      f"eigh {np.mean(np.sum((x_eigh - x_test01) ** 2, axis=1)):.4f}; largest eigenvalue "
      f"{eigenvalues[-1]:.4f} = S₁²/N {S[0] ** 2 / len(Xc):.4f}")
assert np.allclose(x_svd, x_eigh, atol=1e-6)
assert np.allclose(S[:30] ** 2 / len(Xc), eigenvalues[::-1][:30])
