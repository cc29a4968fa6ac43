"""Exercises 5.1 and 5.2: the VAE's reparameterisation and its KL term, with their gradients.

Each is checked in three sub-checks, each on a fresh object: forward's value (z, or the
KL), then dmu and dlog_var, the two gradients backward returns, against the numerical
gradients of the right forward.  The inputs are drawn from the check's random numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from tinyae.gradcheck import numerical_gradient
from tinyae.models.vae import kl_divergence
from tinyae.workbook.diagnose import as_array, expect_array, expect_number, matches
from tinyae.workbook.layercheck import make
from tinyae.workbook.losses import forward_for_backward
from tinyae.workbook.remote import type_name
from tinyae.workbook.task import Checks, Mistake, Part, Task, attempt, attempt_pure, formula

TUTORIAL = "tutorials/06_vae.py, §1 The reparameterisation trick; §2 The KL term and its gradient"

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
        # σ = e^(log_var / 2): the noise is scaled, then shifted
        self.std, self.eps = np.exp(0.5 * log_var), eps
        return mu + self.std * eps
        # end

    def backward(self, dz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exercise 5.1: given ``dz = ∂L/∂z`` (N, J), return ``(dmu, dlog_var)``, each (N, J).

        ∂z/∂mu = 1 and ∂z/∂log_var = eps · ∂std/∂log_var = eps · ½ · std, so
        ``dmu = dz`` and ``dlog_var = dz · eps · ½ · std``.
        """
        # solution 5.1
        # dz/dmu = 1 and dz/dlog_var = ε · σ / 2
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
        # summed over the code, averaged over the batch
        self.mu, self.log_var = mu, log_var
        return float(-0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var)) / len(mu))
        # end

    def backward(self) -> tuple[np.ndarray, np.ndarray]:
        """Exercise 5.2: ``(dmu, dlog_var) = (mu / N, ½ (e^log_var − 1) / N)``, each (N, J)."""
        # solution 5.2
        # the gradients of the per-sample KL, over N
        N = len(self.mu)
        return self.mu / N, 0.5 * (np.exp(self.log_var) - 1) / N
        # end
'''

GRADIENTS = ("dmu", "dlog_var")  # what backward returns, in this order

HALF = "dlog_var is exactly twice the right gradient: the ½ is missing. {why}"
WHY_Z = "std = exp(½ · log_var), so ∂std/∂log_var = ½ · std and dlog_var = dz · eps · ½ · std."
WHY_KL = ("∂/∂log_var of −½ (1 + log_var − mu² − e^log_var) is ½ (e^log_var − 1): the ½ in "
          "front of the KL stays in its gradient.")
PER_SAMPLE = ("{what} is N = {N} times too large: the division by N is missing — the KL is "
              "summed over the J latent dimensions and averaged over the N samples (nats per "
              "sample).")


def draw_latents(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """mu, log_var, the noise eps and an upstream gradient dz, each (N, J).

    N (3 to 7) and J (2 to 5) differ, so that a factor N or J names its mistake; half of
    log_var is negative (|log_var| in [0.1, 2]), where a root or a log of it breaks.
    """
    N = int(rng.integers(3, 8))
    J = int(rng.choice([j for j in range(2, 6) if j != N]))
    signs = rng.permutation(np.resize([1.0, -1.0], N * J)).reshape(N, J)
    log_var = signs * rng.uniform(0.1, 2.0, (N, J))
    mu, eps, dz = (rng.standard_normal((N, J)) for _ in range(3))
    return mu, log_var, eps, dz


def pair(name: str, value: Any) -> tuple[np.ndarray, np.ndarray]:
    """The two gradients a backward returns, or a ``Mistake`` saying what came back."""
    if not (isinstance(value, tuple | list) and len(value) == 2):
        raise Mistake(f"{name} must return two arrays, (dmu, dlog_var); got {type_name(value)}")
    return as_array("dmu", value[0]), as_array("dlog_var", value[1])


def check_gradients(checks: Checks, name: str, backward: Callable[[], tuple[Any, str]],
                    right: tuple[np.ndarray, np.ndarray], **known: dict[str, Any]) -> None:
    """Sub-checks "dmu" and "dlog_var": the pair ``backward()`` returns against ``right``.

    ``backward`` runs the student's backward on a fresh object, once per sub-check, and
    returns what it returned with a note on how forward went (``forward_for_backward``).  Both
    gradients swapped is named first; ``known["dmu"]``, ``known["dlog_var"]`` are the
    ``candidates`` and ``ratios`` that ``expect_array`` gets for each.
    """
    def gradient(index: int) -> str:
        returned, note = backward()
        got = pair(name, returned)
        if matches(got[0], right[1]) and matches(got[1], right[0]):
            raise Mistake(f"{name} returned the two gradients in the wrong order, (dlog_var, dmu): "
                          f"it returns (dmu, dlog_var), in the order of forward's arguments, and "
                          f"the caller unpacks them in that order.")
        which = GRADIENTS[index]
        row = expect_array(which, got[index], right[index], **known.get(which, {}))
        return f"{which} agrees with the numerical gradient (relative error {row.error:.1e})." + note

    for index, which in enumerate(GRADIENTS):
        checks.sub(which, partial(gradient, index))


def check_reparameterize(cls: Any, checks: Checks) -> str:
    """Exercise 5.1: z, then dmu and dlog_var against the numerical gradients of Σ z · dz."""
    mu, log_var, eps, dz = draw_latents(checks.rng)
    name, std = cls.__name__, np.exp(0.5 * log_var)
    inputs = {"mu": mu, "log_var": log_var, "eps": eps}

    def reparameterize(mu: np.ndarray, log_var: np.ndarray) -> np.ndarray:
        """The reference forward, with the drawn noise ``eps``."""
        return mu + np.exp(0.5 * log_var) * eps

    def z() -> str:
        got = attempt_pure(f"{name}.forward", make(cls).forward, **inputs)
        expect_array("z", got, reparameterize(mu, log_var), regions={
            "where log_var < 0": log_var < 0}, candidates=[
            (mu + np.exp(log_var) * eps, "z used std = exp(log_var), which is the variance: "
                                         "the standard deviation is exp(½ · log_var)."),
            (mu + log_var * eps, "z used log_var itself as the standard deviation: it is the log "
                                 "of the variance, so std = exp(½ · log_var)."),
            (mu + std, "z = mu + std: the noise eps is missing, z = mu + std · eps. Without it z "
                       "is not a sample of N(mu, std²) but one fixed point."),
            (std * eps, "z = std · eps: mu is missing, z = mu + std · eps — the sample is centred "
                        "on mu."),
            (mu - std * eps, "z = mu − std · eps: as a random sample that has the right "
                             "distribution, but the check passes eps and expects z = mu + std · "
                             "eps, the formula whose gradients backward returns."),
        ])
        return "z = mu + exp(½·log_var)·eps."

    def backward() -> tuple[Any, str]:
        layer = make(cls)
        note = forward_for_backward(layer, name, inputs, {"std": std, "eps": eps},
                                    right=not checks.failed("z"))
        return attempt_pure(f"{name}.backward", layer.backward, dz=dz), note

    mu_at, log_var_at = mu.copy(), log_var.copy()  # moved by the differences
    right = (numerical_gradient(lambda: reparameterize(mu_at, log_var_at), mu_at, dz),
             numerical_gradient(lambda: reparameterize(mu_at, log_var_at), log_var_at, dz))
    dmu_is_dz = "∂z/∂mu = 1, so dmu = dz: mu enters z = mu + std · eps with factor 1."
    checks.sub("z", z)
    check_gradients(checks, f"{name}.backward", backward, right, dmu={"candidates": [
        (dz * std, f"dmu = dz · std: {dmu_is_dz}"), (dz * eps, f"dmu = dz · eps: {dmu_is_dz}")]},
        dlog_var={"ratios": {2.0: HALF.format(why=WHY_Z)}, "candidates": [
            (dz * 0.5 * std, f"dlog_var = dz · ½ · std: the factor eps is missing. {WHY_Z}")]})
    return ""


def check_kl(cls: Any, checks: Checks) -> str:
    """Exercise 5.2: the KL's value, then its gradients against the numerical ones."""
    mu, log_var, _, _ = draw_latents(checks.rng)
    (N, J), name = mu.shape, cls.__name__
    inputs = {"mu": mu, "log_var": log_var}

    def value() -> str:
        got = attempt_pure(f"{name}.forward", make(cls).forward, **inputs)
        right = kl_divergence(mu, log_var, "batchmean")
        expect_number("KL", got, right, ratios={
            N: PER_SAMPLE.format(what="KL", N=N),
            1 / J: f"KL is 1/J = 1/{J} of the right value: you averaged over the J latent "
                   f"dimensions; the KL of a sample is the SUM over its J dimensions.",
            N / J: f"KL is divided by J = {J} instead of N = {N}: it is averaged over the N "
                   f"samples (len(mu), the first axis) and summed over the J latent dimensions.",
            -1.0: "KL is negative: the −½ in front of the sum is missing or has lost its minus. A "
                  "KL divergence is never negative (it is 0 only where the two distributions "
                  "agree), and the −½ makes this sum ≥ 0.",
        }, candidates=[(right + J / 2, (
            "KL is J/2 too large: the 1 inside the sum is missing, −½ Σ (1 + log_var − mu² − "
            "e^log_var). Without it the KL is not 0 at mu = 0, log_var = 0, where the posterior "
            "is the prior."))])
        return f"KL = {float(got):.6f} nats per sample."

    def backward() -> tuple[Any, str]:
        kl = make(cls)
        note = forward_for_backward(kl, name, inputs, inputs, right=not checks.failed("KL value"))
        return attempt(f"{name}.backward", kl.backward), note

    mu_at, log_var_at = mu.copy(), log_var.copy()  # moved by the differences
    right = (numerical_gradient(lambda: kl_divergence(mu_at, log_var_at, "batchmean"), mu_at),
             numerical_gradient(lambda: kl_divergence(mu_at, log_var_at, "batchmean"), log_var_at))
    checks.sub("KL value", value)
    check_gradients(checks, f"{name}.backward", backward, right,
                    dmu={"ratios": {N: PER_SAMPLE.format(what="dmu", N=N), 2.0: (
                        "dmu is exactly twice the right gradient: the ½ in front of the KL cancels "
                        "the 2 of d(mu²)/dmu = 2·mu, so dmu = mu / N.")}},
                    dlog_var={"ratios": {2.0: HALF.format(why=WHY_KL),
                                         N: PER_SAMPLE.format(what="dlog_var", N=N)},
                              "candidates": [(0.5 * np.exp(log_var) / N, (
                                  "dlog_var = ½ e^log_var / N: the − 1 is missing. It is the "
                                  "derivative of the log_var inside −½ (1 + log_var − mu² − "
                                  "e^log_var): −½ (1 − e^log_var) = ½ (e^log_var − 1), over N."))]})
    return ""


PART = Part(
    heading="5. The VAE's two new pieces",
    intro="A VAE's encoder outputs mu and log_var for each sample; z is sampled with the "
          "reparameterisation trick, so that gradients reach mu and log_var, and a KL term "
          "pulls the posterior N(mu, e^log_var) towards the prior N(0, I). Both pieces are "
          "functions of (N, J) arrays, with their backward returning the two gradients.",
    code=CODE,
    tasks=(
        Task("5.1", "Reparameterize", 2, TUTORIAL, "Reparameterize", formula(CODE, "5.1"),
             check_reparameterize, subchecks=(("z", 1), ("dmu", 1), ("dlog_var", 1))),
        Task("5.2", "KLDivergence", 2, TUTORIAL, "KLDivergence", formula(CODE, "5.2"), check_kl,
             subchecks=(("KL value", 1), ("dmu", 1), ("dlog_var", 1))),
    ),
)
