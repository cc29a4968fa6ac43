# %% [markdown]
# # Solutions to tutorial 01 — a dense layer and backpropagation by hand

# %%
import numpy as np

import tinyae
from tinyae import Dense, check_layer

rng = np.random.default_rng(0)

# %% [markdown]
# ## Exercise 1: a LeakyReLU layer
#
# `out = x` where x > 0, `slope · x` elsewhere, so `dx = dout · (1 if x > 0 else slope)`.
# The test input avoids |x| < 0.01: at x = 0 the function has a kink, and a finite
# difference that straddles it measures the average of the two slopes, not either one.

# %%
class LeakyReLU(tinyae.Layer):
    """``out = x`` for x > 0, ``slope · x`` otherwise; ``dx = dout · (1 or slope)``."""

    def __init__(self, slope: float = 0.01) -> None:
        self.slope = slope

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.factor = np.where(x > 0, 1.0, self.slope)  # the derivative, cached
        return x * self.factor

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.factor


x = rng.standard_normal((6, 4))
x[np.abs(x) < 0.01] = 0.5  # keep away from the kink at 0
report = check_layer(LeakyReLU(), x)
print(report)
assert report.passed

# %% [markdown]
# ## Exercise 2: `dout @ W` instead of `dout @ W.T`
#
# Only `dx` is wrong: `dW` and `db` do not use that product, and the checker tests each
# gradient separately — it tells you *which* formula to look at.

# %%
class NoTranspose(Dense):
    def backward(self, dout: np.ndarray) -> np.ndarray:
        super().backward(dout)
        return dout @ self.W  # the bug: W, not W.T


report = check_layer(NoTranspose(4, 4, rng=0), rng.standard_normal((5, 4)))
print(report)
assert [row.verdict for row in report] == ["WRONG", "ok", "ok"]  # dx, dW, db

# %% [markdown]
# ## Exercise 3: a float32 batch
#
# `check_layer` raises a `TypeError`: in float32 the rounding of each output is ~1e-7
# relative, and dividing by 2h = 2e-5 turns it into an error of ~1e-2 in the numerical
# gradient — the size of a real bug. A number from such a check could not tell a bug from
# rounding noise, so it is refused instead.

# %%
try:
    check_layer(Dense(4, 3, rng=0), rng.standard_normal((5, 4)).astype(np.float32))
except TypeError as error:
    print("check_layer says:", error)
else:
    raise AssertionError("a float32 gradient check should be refused")
