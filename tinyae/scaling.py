"""``StandardScaler``: standardise each feature with statistics of the training set.

The dataset-level counterpart of the ``Standardize`` layer: where that layer rescales
each *sample* on the fly inside the model, a scaler learns one mean and one standard
deviation per *feature* from the training data and applies them to every split:

    x_scaled = (x − mean) / std        x = x_scaled · std + mean

Fit it on the training set only: statistics taken from the test set would leak
information about it into training.
"""

from __future__ import annotations

import numpy as np

from tinyae.checks import describe_rows, non_finite_rows
from tinyae.layers import ShapeError


class StandardScaler:
    """Per-feature standardisation: ``fit`` on ``(N, D)`` data, then ``transform`` any split."""

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> StandardScaler:
        """Learn ``mean`` and ``std`` (each shape ``(D,)``) from ``x`` of shape ``(N, D)``.

        A feature that never varies gets ``std = 1`` (it is only shifted), not a division by 0.
        NaN or inf in ``x`` is refused: it would make its feature's statistics NaN.
        """
        x = np.asarray(x)
        if x.dtype.kind not in "fiu":
            raise TypeError(f"fit needs an array of numbers, got dtype {x.dtype}")
        x = x.astype(np.float64, copy=False)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"fit needs a 2-D array with at least 2 samples, got shape {x.shape}")
        rows = non_finite_rows(x)
        if len(rows):
            raise ValueError(f"x contains NaN or inf in {describe_rows(rows, len(x))}: the mean "
                             "and std of their features would be NaN; remove or repair those "
                             "samples")
        with np.errstate(over="ignore"):  # overflow is reported below, with its cause
            mean, std = x.mean(axis=0), x.std(axis=0)
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise ValueError(f"the spread of x overflows float64 (values up to "
                             f"{np.abs(x).max():.3g}); divide the data by a large constant "
                             "before standardising it")
        self.mean, self.std = mean, np.where(std > 0, std, 1.0)
        return self

    def _fitted(self, x: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
        """The statistics, once ``x`` is known to have the fitted number of features."""
        if self.mean is None or self.std is None:
            raise RuntimeError("call fit(x_train) before transform or inverse_transform")
        if np.ndim(x) not in (1, 2) or np.shape(x)[-1] != len(self.mean):
            raise ShapeError(f"{method} needs rows of {len(self.mean)} features, as in the data "
                             f"the scaler was fitted on, got shape {np.shape(x)}; pass the same "
                             "columns, in the same order")
        return self.mean, self.std

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(x − mean) / std``, in ``x``'s float dtype."""
        mean, std = self._fitted(x, "transform")
        return ((x - mean) / std).astype(np.result_type(x, np.float32), copy=False)

    def inverse_transform(self, x_scaled: np.ndarray) -> np.ndarray:
        """``x_scaled · std + mean``: back to the data's own units."""
        mean, std = self._fitted(x_scaled, "inverse_transform")
        return (x_scaled * std + mean).astype(np.result_type(x_scaled, np.float32), copy=False)
