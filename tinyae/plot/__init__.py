"""Every figure of tinyae, drawn from plain NumPy arrays and dicts.

Each function returns the matplotlib ``Figure`` and ends with ``save(fig, path)``: given
``path`` it saves a PNG (creating the folder); in a Jupyter notebook it displays the
figure inline; in a script a saved figure is closed so that long runs do not pile up open
figures.  A figure drawn by hand with pyplot goes through the same ``save``.

``images``: reconstructions, rows of images, image grids, filters, the latent scatter and manifold;
``curves``: loss curves, KL schedules, the β sweep, BCE vs MSE, monitors, hidden units'
mean activations.
matplotlib is imported only when a figure is drawn (see ``base._pyplot``).
"""

from tinyae.plot.base import DPI, _pyplot, save  # noqa: F401  (_pyplot: tests inspect the backend)
from tinyae.plot.curves import (
    beta_sweep,
    epoch_curves,
    loss_curves,
    loss_vs_target,
    monitors,
    schedules,
    unit_activations,
)
from tinyae.plot.images import (
    MAX_FILTERS,
    filters,
    image_grid,
    image_rows,
    latent_manifold,
    latent_scatter,
    reconstructions,
)

__all__ = [
    "DPI", "MAX_FILTERS", "beta_sweep", "epoch_curves", "filters", "image_grid", "image_rows",
    "latent_manifold", "latent_scatter", "loss_curves", "loss_vs_target", "monitors",
    "reconstructions", "save", "schedules", "unit_activations",
]
