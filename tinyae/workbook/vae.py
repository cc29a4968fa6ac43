"""Exercises 5.1 and 5.2: the VAE's reparameterisation and its KL term, with their gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyae.gradcheck import numerical_gradient
from tinyae.models.vae import kl_divergence
from tinyae.workbook.diagnose import as_array, expect_array, expect_number, matches
from tinyae.workbook.layercheck import make
from tinyae.workbook.task import Mistake, Part, Task, attempt, attempt_pure, formula

TUTORIAL = "tutorials/06_vae.py"

CODE = '''\
class Reparameterize:
    """The reparameterisation trick: z ~ N(mu, e^log_var) as a differentiable function."""

    def forward(self, mu: np.ndarray, log_var: np.ndarray, eps: np.ndarray) -> np.ndarray:
        """Exercise 5.1: ``z = mu + std · eps`` with ``std = exp(½ · log_var)``.

        mu, log_var, eps, z: (N, J); eps ~ N(0, I) comes from the caller.  log_var is the
        log of the variance, so the standard deviation is exp(½ · log_var).  Cache
        ``self.std`` and ``self.eps`` for backward.  Tutorial 06, §1.
        """
        # solution 5.1
        self.std, self.eps = np.exp(0.5 * log_var), eps
        return mu + self.std * eps
        # end

    def backward(self, dz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exercise 5.1: given ``dz = ∂L/∂z`` (N, J), return ``(dmu, dlog_var)``, each (N, J).

        ∂z/∂mu = 1 and ∂z/∂log_var = eps · ∂std/∂log_var = eps · ½ · std, so
        ``dmu = dz`` and ``dlog_var = dz · eps · ½ · std``.
        """
        # solution 5.1
        return dz, dz * self.eps * 0.5 * self.std
        # end


class KLDivergence:
    """KL(N(mu, e^log_var) ‖ N(0, I)): summed over the J latent dimensions, mean over N samples."""

    def forward(self, mu: np.ndarray, log_var: np.ndarray) -> float:
        """Exercise 5.2: ``KL = −½ · (1/N) Σ_n Σ_j (1 + log_var − mu² − e^log_var)``, a float.

        mu, log_var: (N, J).  Nats per sample (tinyae's "batchmean"), the number VAE
        papers report.  Cache ``self.mu`` and ``self.log_var``.  Tutorial 06, §2.
        """
        # solution 5.2
        self.mu, self.log_var = mu, log_var
        return float(-0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var)) / len(mu))
        # end

    def backward(self) -> tuple[np.ndarray, np.ndarray]:
        """Exercise 5.2: ``(dmu, dlog_var) = (mu / N, ½ (e^log_var − 1) / N)``, each (N, J)."""
        # solution 5.2
        N = len(self.mu)
        return self.mu / N, 0.5 * (np.exp(self.log_var) - 1) / N
        # end
'''

N, J = 5, 3
_rng = np.random.default_rng(31)
MU, LOG_VAR, EPS, DZ = (_rng.standard_normal((N, J)) for _ in range(4))

HALF = "dlog_var is exactly twice the right gradient: the ½ is missing. {why}"
WHY_Z = "std = exp(½ · log_var), so ∂std/∂log_var = ½ · std and dlog_var = dz · eps · ½ · std."
WHY_KL = ("∂/∂log_var of −½ (1 + log_var − mu² − e^log_var) is ½ (e^log_var − 1): the ½ in "
          "front of the KL stays in its gradient.")
PER_SAMPLE = ("{what} is N = {N} times too large: the division by N is missing — the KL is "
              "summed over the J latent dimensions and averaged over the N samples (nats per "
              "sample).")


def pair(name: str, value: Any) -> tuple[np.ndarray, np.ndarray]:
    """The two gradients a backward returns, or a ``Mistake`` saying what came back."""
    if not (isinstance(value, tuple | list) and len(value) == 2):
        raise Mistake(f"{name} must return two arrays, (dmu, dlog_var); got {type(value).__name__}")
    return as_array("dmu", value[0]), as_array("dlog_var", value[1])


def expect_pair(name: str, got: Any, right: tuple[np.ndarray, np.ndarray],
                **known: dict[str, Any]) -> None:
    """Check the ``(dmu, dlog_var)`` that ``name`` returned against ``right``.

    Both swapped is named first; ``known["dmu"]``, ``known["dlog_var"]`` are the
    ``candidates`` and ``ratios`` that ``expect_array`` gets for each.
    """
    dmu, dlog_var = pair(name, got)
    if matches(dmu, right[1]) and matches(dlog_var, right[0]):
        raise Mistake(f"{name} returned the two gradients in the wrong order, (dlog_var, dmu): "
                      f"it returns (dmu, dlog_var), in the order of forward's arguments, and the "
                      f"caller unpacks them in that order.")
    expect_array("dmu", dmu, right[0], **known.get("dmu", {}))
    expect_array("dlog_var", dlog_var, right[1], **known.get("dlog_var", {}))


def reparameterize(mu: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """The reference forward, with the test's fixed noise ``EPS``."""
    return mu + np.exp(0.5 * log_var) * EPS


def check_reparameterize(cls: type) -> str:
    """Exercise 5.1: z, then dmu and dlog_var against the numerical gradients of Σ z · dz."""
    layer, name = make(cls), cls.__name__
    z = attempt_pure(f"{name}.forward", layer.forward, mu=MU, log_var=LOG_VAR, eps=EPS)
    std = np.exp(0.5 * LOG_VAR)
    expect_array("z", z, reparameterize(MU, LOG_VAR), regions={
        "where log_var < 0": LOG_VAR < 0}, candidates=[
        (MU + np.exp(LOG_VAR) * EPS, "z used std = exp(log_var), which is the variance: "
                                     "the standard deviation is exp(½ · log_var)."),
        (MU + LOG_VAR * EPS, "z used log_var itself as the standard deviation: it is the log of "
                             "the variance, so std = exp(½ · log_var)."),
        (MU + std, "z = mu + std: the noise eps is missing, z = mu + std · eps. Without it z is "
                   "not a sample of N(mu, std²) but one fixed point."),
        (std * EPS, "z = std · eps: mu is missing, z = mu + std · eps — the sample is centred "
                    "on mu."),
        (MU - std * EPS, "z = mu − std · eps: as a random sample that has the right distribution, "
                         "but the check passes eps and expects z = mu + std · eps, the formula "
                         "whose gradients backward returns."),
    ])
    grads = attempt_pure(f"{name}.backward", layer.backward, dz=DZ)
    mu, log_var = MU.copy(), LOG_VAR.copy()

    def z_of() -> np.ndarray:
        return reparameterize(mu, log_var)

    right = numerical_gradient(z_of, mu, DZ), numerical_gradient(z_of, log_var, DZ)
    dmu_is_dz = "∂z/∂mu = 1, so dmu = dz: mu enters z = mu + std · eps with factor 1."
    expect_pair(f"{name}.backward", grads, right, dmu={"candidates": [
        (DZ * std, f"dmu = dz · std: {dmu_is_dz}"), (DZ * EPS, f"dmu = dz · eps: {dmu_is_dz}")]},
        dlog_var={"ratios": {2.0: HALF.format(why=WHY_Z)}, "candidates": [
            (DZ * 0.5 * std, f"dlog_var = dz · ½ · std: the factor eps is missing. {WHY_Z}")]})
    return "z, dmu and dlog_var agree with z = mu + exp(½·log_var)·eps and its numerical gradients."


def check_kl(cls: type) -> str:
    """Exercise 5.2: the KL's value, then its gradients against the numerical ones."""
    kl, name = make(cls), cls.__name__
    value = attempt_pure(f"{name}.forward", kl.forward, mu=MU, log_var=LOG_VAR)
    right = kl_divergence(MU, LOG_VAR, "batchmean")
    expect_number("KL", value, right, ratios={
        N: PER_SAMPLE.format(what="KL", N=N),
        1 / J: f"KL is 1/J = 1/{J} of the right value: you averaged over the J latent dimensions; "
               f"the KL of a sample is the SUM over its J dimensions.",
        N / J: f"KL is divided by J = {J} instead of N = {N}: it is averaged over the N "
               f"samples (len(mu), the first axis) and summed over the J latent dimensions.",
        -1.0: "KL is negative: the −½ in front of the sum is missing or has lost its minus. A KL "
              "divergence is never negative (it is 0 only where the two distributions agree), "
              "and the −½ makes this sum ≥ 0.",
    }, candidates=[(right + J / 2, (
        "KL is J/2 too large: the 1 inside the sum is missing, −½ Σ (1 + log_var − mu² − "
        "e^log_var). Without it the KL is not 0 at mu = 0, log_var = 0, where the posterior "
        "is the prior."))])
    grads = attempt(f"{name}.backward", kl.backward)
    mu, log_var = MU.copy(), LOG_VAR.copy()

    def kl_of() -> float:
        return kl_divergence(mu, log_var, "batchmean")

    expect_pair(f"{name}.backward", grads,
                (numerical_gradient(kl_of, mu), numerical_gradient(kl_of, log_var)),
                dmu={"ratios": {N: PER_SAMPLE.format(what="dmu", N=N), 2.0: (
                    "dmu is exactly twice the right gradient: the ½ in front of the KL cancels "
                    "the 2 of d(mu²)/dmu = 2·mu, so dmu = mu / N.")}},
                dlog_var={"ratios": {2.0: HALF.format(why=WHY_KL),
                                     N: PER_SAMPLE.format(what="dlog_var", N=N)},
                          "candidates": [(0.5 * np.exp(LOG_VAR) / N, (
                              "dlog_var = ½ e^log_var / N: the − 1 is missing. It is the "
                              "derivative of the log_var inside −½ (1 + log_var − mu² − "
                              "e^log_var): −½ (1 − e^log_var) = ½ (e^log_var − 1), over N."))]})
    return (f"KL = {float(value):.6f} nats per sample; dmu and dlog_var agree with the numerical "
            f"gradients.")


PART = Part(
    heading="5. The VAE's two new pieces",
    intro="A VAE's encoder outputs mu and log_var for each sample; z is sampled with the "
          "reparameterisation trick, so that gradients reach mu and log_var, and a KL term "
          "pulls the posterior N(mu, e^log_var) towards the prior N(0, I). Both pieces are "
          "functions of (N, J) arrays, with their backward returning the two gradients.",
    code=CODE,
    tasks=(
        Task("5.1", "Reparameterize", 2, TUTORIAL, "Reparameterize", formula(CODE, "5.1"),
             check_reparameterize),
        Task("5.2", "KLDivergence", 2, TUTORIAL, "KLDivergence", formula(CODE, "5.2"), check_kl),
    ),
)
