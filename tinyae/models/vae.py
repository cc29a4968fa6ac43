"""``VAE``: a variational autoencoder with the reparameterisation trick and an analytic KL.

    x (N, K) ──encoder──▶ [mu | log_var] (N, 2J)
             z = mu + exp(½·log_var) · ε,   ε ~ N(0, I) of shape (N, J)
             z (N, J) ──decoder──▶ p (N, K)

The encoder's last layer is one linear ``Dense`` with 2·J outputs, split into the mean
``mu`` and the log-variance ``log_var`` of the posterior q(z|x) = N(mu, diag(exp(log_var))).
The log-variance can be any real number, so it needs no activation, and the standard
deviation is ``std = exp(½·log_var)`` — not ``exp(log_var)``, which is the variance.

The objective, per sample (the ELBO with a KL weight β, Higgins et al. 2017)::

    L = recon(p, x) + β · KL(q(z|x) ‖ N(0, I))

``fit`` computes ``recon`` and its gradient ∂recon/∂p with its loss.  The KL term is the
VAE's own: ``forward`` computes its value and its gradient together (a ``KLPenalty``),
``penalties()`` hands the value to ``fit``, which adds β·KL to the loss, and ``backward``
adds the gradient where the KL enters the network, at mu and log_var.

Reductions, and how to convert between them
-------------------------------------------
With ℓ[n, k] the reconstruction loss of pixel k of sample n and KL_n the KL of sample n
(already summed over its J latent dimensions):

=========== ============================== ==========================
reduction   recon (the loss's reduction)   KL (the VAE's reduction)
=========== ============================== ==========================
"batchmean" (1/N)·Σ_n Σ_k ℓ[n, k]          (1/N)·Σ_n KL_n
"sum"       Σ_n Σ_k ℓ[n, k]                Σ_n KL_n
"mean"      (1/(N·K))·Σ_n Σ_k ℓ[n, k]      (1/(N·J))·Σ_n KL_n
=========== ============================== ==========================

"batchmean" is the default for the VAE: per sample, summed over pixels and over latent
dimensions.  With ``BCE(reduction="batchmean")`` and β = 1, fit's loss is then −ELBO in
nats per sample, the number papers report for MNIST.  Keras and PyTorch losses default
to "mean", which divides the recon by N·K and the KL by N·J, so the balance between the
two moves with K and J.

Question 4 of ``docs/questions.md``: the objective recon/K + 0.1·KL/J is

    (1/K) · [recon + (0.1·K/J) · KL]

— the batchmean objective with β = 0.1·K/J (β = 3.92 for K = 784, J = 20), divided by K.
A constant factor changes the size of the gradient, not where the minimum is.  The
weight of the normalised objective is Higgins et al.'s β_norm = β·J/K
(``beta_norm``; back with ``beta_from_norm``).  In tinyae, ``BCE(reduction="mean")``
with ``VAE(reduction="mean", beta=w)`` trains exactly recon/K + w·KL/J.

Mixing reductions is the classic mistake: recon per pixel ("mean") plus KL per sample
("batchmean") is (1/K)·[recon + K·KL], i.e. β = K = 784.  The KL then dominates, every
posterior is pulled onto the prior and the reconstructions blur — which is why VAE code
often multiplies a per-pixel loss by K.  ``fit`` and ``evaluate`` say so: a loss whose
reduction differs from the VAE's gives a ``ReductionWarning`` with the effective β and
the fix (a warning, not an error: tutorial 6 mixes them on purpose to show the effect).

A Gaussian decoder (linear output, MSE) has −log N(x; p, σ²·I) = Σ_k (x_k − p_k)² / (2σ²)
+ const, so MSE summed over pixels is the Gaussian decoder with σ² = ½: choosing σ² is
choosing β too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyae.layers import Dense, Identity, Layer, ShapeError, activation
from tinyae.losses import REDUCTIONS
from tinyae.model import Sequential
from tinyae.models.autoencoder import activation_name, check_seed, check_softmax_widths, parse_spec
from tinyae.models.base import EncoderDecoder, check_parts
from tinyae.registry import lookup
from tinyae.safeguards import check_count


class ReductionWarning(UserWarning):
    """The reconstruction loss and the KL are reduced differently: β is not what it says.

    ``fit`` and ``evaluate`` give it once per call (see ``VAE.reduction_mismatch``).  A
    warning, not an error: mixing them on purpose, to see what it does, is an exercise of
    tutorial 6; by accident it is "the classic mistake" of the module docstring.
    """


# What each reduction does to the reconstruction (K pixels) and to the KL (J dimensions).
RECON_REDUCED = {"mean": "averages the reconstruction over the pixels and the batch",
                 "batchmean": "sums the reconstruction over the pixels and averages it over the batch",
                 "sum": "sums the reconstruction over the pixels and the batch"}
KL_REDUCED = {"mean": "averages over the latent dimensions and the batch",
              "batchmean": "sums over the latent dimensions and averages over the batch",
              "sum": "sums over the latent dimensions and the batch"}


def effective_beta(beta: float, recon_reduction: str, kl_reduction: str, input_dim: int,
                   latent_dim: int, batch_size: int) -> float:
    """The KL weight relative to the ELBO, where recon (Σ over K) and KL (Σ over J) are per sample.

    Each reduction multiplies its term by s relative to "per sample": "batchmean" 1,
    "mean" 1/K for the reconstruction and 1/J for the KL, "sum" the batch size N.  So the
    objective is s_recon · [recon + β · (s_KL / s_recon) · KL] and β_eff = β · s_KL / s_recon.
    Example: recon "mean", KL "batchmean", β = 1, K = 784 → β_eff = 784.
    """
    scales = {"batchmean": 1.0, "sum": float(batch_size)}
    s_recon = lookup({**scales, "mean": 1.0 / input_dim}, recon_reduction,
                     "reconstruction reduction")
    s_kl = lookup({**scales, "mean": 1.0 / latent_dim}, kl_reduction, "KL reduction")
    return beta * s_kl / s_recon


def _kl_scale(shape: tuple[int, int], reduction: str) -> float:
    """The factor turning Σ_n Σ_j into ``reduction``: 1, 1/N or 1/(N·J)."""
    reduction = lookup(REDUCTIONS, reduction, "KL reduction")
    n_samples, n_latent = shape
    return {"sum": 1.0, "batchmean": 1.0 / n_samples, "mean": 1.0 / (n_samples * n_latent)}[reduction]


def kl_divergence(mu: np.ndarray, log_var: np.ndarray, reduction: str = "batchmean") -> float:
    """KL(N(mu, exp(log_var)) ‖ N(0, 1)) summed over the latent dimensions, then reduced.

    Per sample: KL = −½ Σ_j (1 + log_var_j − mu_j² − exp(log_var_j)).

    ``mu``, ``log_var``: (N, J).  ``reduction``: ``"batchmean"`` (Σ over j and n, ÷ N:
    nats per sample), ``"sum"`` (no division) or ``"mean"`` (÷ N·J: per latent dimension).
    Each term ½(mu² + (e^l − 1 − l)) is ≥ 0 and is 0 only at mu = 0, l = log_var = 0
    (e^l ≥ 1 + l).  ``expm1`` computes e^l − 1 without rounding to 0 for small l, so
    rounding can never make a term negative.

    Gradients (s = 1, 1/N or 1/(N·J), the reduction's factor), see ``kl_gradient``:

        ∂KL/∂mu = s · mu,        ∂KL/∂log_var = s · ½ (exp(log_var) − 1)
    """
    scale = _kl_scale(mu.shape, reduction)
    terms = np.square(mu) + (np.expm1(log_var) - log_var)
    return 0.5 * float(terms.sum()) * scale


def kl_gradient(mu: np.ndarray, log_var: np.ndarray,
                reduction: str = "batchmean") -> tuple[np.ndarray, np.ndarray]:
    """``(∂KL/∂mu, ∂KL/∂log_var) = (s·mu, s·½(exp(log_var) − 1))``, each (N, J).

    Derivation, term by term from −½ (1 + log_var − mu² − exp(log_var)):
    ∂/∂mu of ½ mu² is mu; ∂/∂log_var of −½ (log_var − exp(log_var)) is ½ (exp(log_var) − 1).
    The gradient is 0 at mu = 0, log_var = 0: the prior's own parameters.
    """
    scale = _kl_scale(mu.shape, reduction)
    return mu * scale, np.expm1(log_var) * (0.5 * scale)


class KLPenalty:
    """The KL term of one batch, β·KL(q(z|x) ‖ N(0, I)): its value and gradient together.

    ``mu``, ``log_var``: (N, J), from the encoder.  ``name`` ("kl") is the term's key in
    ``fit``'s History, ``value`` the KL itself (reduced as ``reduction``), ``weight`` = β,
    so the term adds ``weight · value`` to the loss.  Its gradient, each (N, J)::

        dmu = β · ∂KL/∂mu,      dlog_var = β · ∂KL/∂log_var      (see ``kl_gradient``)

    Computing both here keeps the term's value and gradient in one place; ``VAE.backward``
    only adds ``dmu`` and ``dlog_var`` to the reconstruction's gradient at mu and log_var.
    """

    name = "kl"

    def __init__(self, mu: np.ndarray, log_var: np.ndarray, beta: float, reduction: str) -> None:
        self.weight = beta
        self.value = kl_divergence(mu, log_var, reduction)
        dkl_dmu, dkl_dlog_var = kl_gradient(mu, log_var, reduction)
        self.dmu, self.dlog_var = beta * dkl_dmu, beta * dkl_dlog_var


def beta_norm(beta: float, latent_dim: int, input_dim: int) -> float:
    """β_norm = β·J/K (Higgins et al. 2017): the KL weight when recon is ÷ K and KL ÷ J."""
    return beta * latent_dim / input_dim


def beta_from_norm(beta_norm: float, latent_dim: int, input_dim: int) -> float:
    """β = β_norm·K/J: e.g. the normalised weight 0.1 with K = 784, J = 20 is β = 3.92."""
    return beta_norm * input_dim / latent_dim


class VAE(EncoderDecoder):
    """A variational autoencoder: an encoder to [mu | log_var], sampling, a decoder.

    Parameters
    ----------
    encoder : ``Sequential`` mapping (N, K) → (N, 2·J), ending with a linear ``Dense``.
    decoder : ``Sequential`` mapping (N, J) → (N, K), e.g. ending with a ``Sigmoid``
        (Bernoulli decoder, train with BCE) or linear (Gaussian decoder, train with MSE).
    beta : weight β ≥ 0 of the KL term (1 = the ELBO); ``KLAnnealing`` changes it.
    reduction : the KL's reduction, ``"batchmean"``, ``"sum"`` or ``"mean"`` (see the
        module docstring); choose the same as the reconstruction loss's.
    seed : seeds the VAE's own Generator, which draws ε at every ``forward``.

    As in every ``EncoderDecoder``, one flat ``params`` vector (encoder, then decoder)
    holds every parameter and ``grads`` every gradient.  After ``forward`` the VAE keeps
    ``mu``, ``log_var``, ``eps``, ``z`` (each (N, J)) and ``kl_penalty`` (its ``kl``).
    """

    def __init__(self, encoder: Sequential, decoder: Sequential, beta: float = 1.0,
                 reduction: str = "batchmean", seed: int | None = 0) -> None:
        _check_halves(encoder, decoder)
        _kl_scale((1, 1), reduction)  # refuse an unknown reduction now, not at the first batch
        check_seed(seed)
        super().__init__(encoder, decoder)
        J, K = decoder.n_in, encoder.n_in
        assert J is not None and K is not None  # _check_halves refused halves without widths
        self.latent_dim, self.input_dim = J, K
        self.beta, self.reduction, self.seed = beta, reduction, seed
        self.rng = np.random.default_rng(seed)

    @property
    def beta(self) -> float:
        """The KL weight β, a finite number ≥ 0."""
        return self._beta

    @beta.setter
    def beta(self, value: float) -> None:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                         np.floating)):
            raise TypeError(f"beta (the KL weight) must be a number ≥ 0, got {value!r}; e.g. beta=1.0, "
                            "the ELBO")
        value = float(value)
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"beta (the KL weight) must be a finite number ≥ 0, got {value}")
        self._beta = value

    def reduction_mismatch(self, loss: Any, batch_size: int) -> str | None:
        """Why ``loss`` and this VAE's KL are reduced differently, with the fix; None if they match.

        Recon per pixel ("mean") with a KL per sample ("batchmean") weighs the KL K times
        what β says: the classic mistake of the module docstring.  ``fit`` and ``evaluate``
        warn with this message (``ReductionWarning``).  A loss without a ``reduction`` is
        not judged.
        """
        recon = getattr(loss, "reduction", None)
        if recon is None or recon == self.reduction or recon not in RECON_REDUCED:
            return None
        ratio = effective_beta(1.0, recon, self.reduction, self.input_dim, self.latent_dim,
                               batch_size)
        name = type(loss).__name__
        return (f"{name}(reduction={recon!r}) {RECON_REDUCED[recon]}, but this VAE's KL "
                f"(reduction={self.reduction!r}) {KL_REDUCED[self.reduction]}: the KL weighs "
                f"{ratio:.3g} times what β says, an effective β = {ratio:.3g}·β = {ratio * self.beta:.3g} "
                f"(K = {self.input_dim} pixels, J = {self.latent_dim}, batch {batch_size}), the classic "
                f"mistake of tinyae.models.vae. Use {name}(reduction={self.reduction!r}), the VAE's "
                f"reduction (with 'batchmean' and β = 1 the loss is −ELBO per sample), or build the "
                f"VAE with reduction={recon!r}")

    def forward(self, x: np.ndarray, eps: np.ndarray | None = None) -> np.ndarray:
        """Reconstruction ``p`` (N, K) of ``x`` (N, K) through a sampled z, caching for backward.

        ``eps`` (N, J): use this noise instead of drawing ε ~ N(0, I) — a fixed ε makes
        the forward pass a deterministic function of the parameters (gradient checks).
        """
        h = self.encoder.forward(x)
        J = self.latent_dim
        self.mu, self.log_var = h[:, :J], h[:, J:]
        if eps is None:
            eps = self.rng.standard_normal(self.mu.shape, dtype=self.dtype)
        elif np.shape(eps) != self.mu.shape:
            raise ShapeError(f"eps must have the shape of mu, {self.mu.shape}; got {np.shape(eps)}")
        self.eps = np.asarray(eps, dtype=self.dtype)
        self.std = np.exp(0.5 * self.log_var)
        self.z = self.mu + self.std * self.eps
        self.kl_penalty = KLPenalty(self.mu, self.log_var, self.beta, self.reduction)
        return self.decoder.forward(self.z, check=False)  # z is the encoder's, not data

    @property
    def kl(self) -> float:
        """The KL of the last ``forward`` (unweighted; the loss adds β times it)."""
        return self.kl_penalty.value

    def penalties(self) -> list[KLPenalty]:
        """``[KL term]`` of the last ``forward``: ``fit`` adds β·KL to the loss."""
        return [self.kl_penalty]

    def backward(self, dp: np.ndarray) -> np.ndarray | None:
        """Backpropagate ∂recon/∂p (N, K), plus the KL term's gradient, to every parameter.

        With dz = ∂recon/∂z from the decoder, z = mu + std·ε and std = exp(½·log_var):

            dmu      = dz + β·∂KL/∂mu
            dlog_var = dz·ε·½·std + β·∂KL/∂log_var       (∂std/∂log_var = ½·std)

        The β·∂KL terms are the ``kl_penalty``'s ``dmu`` and ``dlog_var``.
        ``[dmu | dlog_var]`` (N, 2J) then goes back through the encoder.
        """
        dz = self.decoder.backward(dp)
        assert dz is not None  # check_parts made sure the decoder computes ∂L/∂z
        dmu = dz + self.kl_penalty.dmu
        dlog_var = dz * self.eps * (0.5 * self.std) + self.kl_penalty.dlog_var
        return self.encoder.backward(np.concatenate([dmu, dlog_var], axis=1))

    def encode(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, log_var)``, each (N, J), for ``x`` (N, K), without caching."""
        h = self.encoder.predict(x)
        return h[:, : self.latent_dim], h[:, self.latent_dim :]

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """``decode(mu)``: the deterministic reconstruction, z = mu with no noise.  (N, K) → (N, K).

        Use it to look at reconstructions and to compare models; the training loss
        decodes a *sampled* z, so it is a little worse.
        """
        return self.decode(self.encode(x)[0])

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``n`` new images (n, K): decode z ~ N(0, I) drawn from ``rng``.

        ``rng``: a Generator or a seed; by default the VAE's own Generator (which then
        also moves on the noise of later training steps).
        """
        check_count("n (the number of images)", n, minimum=0)
        if rng is None:
            rng = self.rng
        elif not isinstance(rng, np.random.Generator):
            if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
                raise ValueError(f"rng must be a np.random.Generator or a seed (a whole number ≥ 0), "
                                 f"got {rng!r}; e.g. vae.sample({n}, rng=0)")
            rng = np.random.default_rng(rng)
        return self.decode(rng.standard_normal((int(n), self.latent_dim)).astype(self.dtype))

    def summary(self) -> str:
        """The latent size, β and the KL reduction, then the encoder's and decoder's tables."""
        head = (f"VAE: K = {self.input_dim} inputs, J = {self.latent_dim} latent dimensions "
                f"(encoder outputs [mu | log_var], 2·J = {2 * self.latent_dim}); "
                f"beta = {self.beta:g}, KL reduction {self.reduction!r}")
        return f"{head}\n\n{super().summary()}"

    def config(self) -> dict[str, Any]:
        """The architecture, β, the KL reduction and the noise seed, JSON-ready."""
        return {**super().config(),
                "beta": self.beta, "reduction": self.reduction, "seed": self.seed}

    def __repr__(self) -> str:
        return (f"VAE(K={self.input_dim}, J={self.latent_dim}, beta={self.beta:g}, "
                f"reduction={self.reduction!r})")


def _check_halves(encoder: Sequential, decoder: Sequential) -> None:
    """Raise a clear error unless encoder (K → 2J) and decoder (J → K) fit together."""
    check_parts(encoder, decoder)
    K, two_J, J, K_out = encoder.n_in, encoder.n_out, decoder.n_in, decoder.n_out
    if K is None or two_J is None or J is None or K_out is None:
        raise ValueError("encoder and decoder must each contain a Dense layer (to fix their widths)")
    last = next(layer for layer in reversed(encoder.layers) if not isinstance(layer, Identity))
    if not isinstance(last, Dense):
        raise ValueError(
            f"the encoder must end with a linear Dense giving [mu | log_var], but it ends with "
            f"{last!r}, which would restrict mu and log_var; remove that final activation"
        )
    if two_J % 2:
        raise ValueError(f"the encoder outputs {two_J} features; it must output 2·J "
                         f"(J means, then J log-variances), an even number")
    if J != two_J // 2:
        raise ValueError(
            f"the encoder outputs 2·J = {two_J} features, so J = {two_J // 2}, "
            f"but the decoder expects {J} inputs; make the decoder start at J"
        )
    if K_out != K:
        raise ValueError(f"the decoder outputs {K_out} features but the encoder takes "
                         f"{K}: a VAE reconstructs its input, so they must match")


def dense_vae(spec: str = "784-400-20", hidden: str = "relu", output: str = "sigmoid",
              beta: float = 1.0, seed: int | None = 0, dtype: Any = np.float32,
              reduction: str = "batchmean", init: str = "glorot") -> VAE:
    """A dense VAE from the encoder half of a spec, ``"K-hidden…-J"``; the decoder mirrors it.

    ``"784-400-20"``: encoder Dense(784, 400), ``hidden``, Dense(400, 40) → [mu | log_var];
    decoder Dense(20, 400), ``hidden``, Dense(400, 784), ``output``.  ``output="sigmoid"``
    is the Bernoulli decoder (train with BCE), ``"identity"`` the Gaussian one (MSE).
    ``init`` names the weights' initialiser, drawn from ``seed``: Glorot even before the
    ReLUs, because it measured a lower test −ELBO here than He, whose larger weights start
    log_var and the output logits more spread out.  ε is drawn from ``seed + 1`` — a
    different stream, else the first ε would repeat the first weights.
    """
    try:
        widths = parse_spec(spec)
    except ValueError:
        raise ValueError(f"VAE spec {spec!r} must be widths 'input-hidden…-latent' joined by '-', "
                         f"e.g. '784-400-20' (at least one hidden layer)") from None
    K, J = widths[0], widths[-1]
    if J >= K:
        raise ValueError(f"VAE spec {spec!r}: the last width is the latent size J = {J}, not smaller "
                         f"than the input K = {K}; give the encoder half only, e.g. '784-400-20'")
    check_seed(seed)
    hidden, output = activation_name("hidden", hidden), activation_name("output", output)
    check_softmax_widths(spec, [(width, hidden, "hidden") for width in widths[1:-1]])

    def stack(ws: list[int], last: str | None) -> list[Layer]:
        """Dense layers through the widths ``ws``, ``hidden`` between them, ``last`` after."""
        layers: list[Layer] = []
        for i, (n_in, n_out) in enumerate(zip(ws, ws[1:])):
            layers.append(Dense(n_in, n_out, init=init))
            if i < len(ws) - 2:
                layers.append(activation(hidden))
        return layers + ([activation(last)] if last else [])

    rng = np.random.default_rng(seed)
    encoder = Sequential(stack(widths[:-1] + [2 * J], None), seed=rng, dtype=dtype, input_grad=False)
    decoder = Sequential(stack(widths[::-1], output), seed=rng, dtype=dtype)
    return VAE(encoder, decoder, beta=beta, reduction=reduction, seed=None if seed is None else seed + 1)
