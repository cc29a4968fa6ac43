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


class StandardScaler:
    """Per-feature standardisation: ``fit`` on ``(N, D)`` data, then ``transform`` any split."""

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> "StandardScaler":
        """Learn ``mean`` and ``std`` (each shape ``(D,)``) from ``x`` of shape ``(N, D)``.

        A feature that never varies gets ``std = 1`` (it is only shifted), not a division by 0.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"fit needs a 2-D array with at least 2 samples, got shape {x.shape}")
        std = x.std(axis=0)
        self.mean, self.std = x.mean(axis=0), np.where(std > 0, std, 1.0)
        return self

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.mean is None or self.std is None:
            raise RuntimeError("call fit(x_train) before transform or inverse_transform")
        return self.mean, self.std

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(x − mean) / std``, in ``x``'s float dtype."""
        mean, std = self._fitted()
        return ((x - mean) / std).astype(np.result_type(x, np.float32), copy=False)

    def inverse_transform(self, x_scaled: np.ndarray) -> np.ndarray:
        """``x_scaled · std + mean``: back to the data's own units."""
        mean, std = self._fitted()
        return (x_scaled * std + mean).astype(np.result_type(x_scaled, np.float32), copy=False)
