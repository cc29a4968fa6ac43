"""Diagnostics: see why a network fails.

* ``doctor(model, loss, x, …)`` examines a configuration before training and returns
  ``Finding``s (print them with ``format_findings``);
* ``Monitor(x_probe, loss)`` is a ``fit`` callback that records per-layer health
  (saturation, dead ReLUs, norms, update ratios), output collapse, relative error and a
  VAE's active units every epoch, and warns once when a problem appears;
* ``measure(model, x, …)`` takes the same measurements on one batch, after the fact;
* ``filter_localisation(W)`` scores how local each first-layer filter is (sparse
  autoencoders learn local pen strokes).
"""

from tinyae.diagnostics.doctor import doctor, effective_beta
from tinyae.diagnostics.findings import Finding, format_findings
from tinyae.diagnostics.localisation import filter_localisation
from tinyae.diagnostics.measures import (
    active_units,
    collapse_ratio,
    kl_per_dimension,
    measure,
    relative_error,
    snapshot_weights,
)
from tinyae.diagnostics.monitors import Monitor, check_measures, is_monitor_key, monitor_series

__all__ = [
    "Finding",
    "Monitor",
    "active_units",
    "check_measures",
    "collapse_ratio",
    "doctor",
    "effective_beta",
    "filter_localisation",
    "format_findings",
    "is_monitor_key",
    "kl_per_dimension",
    "measure",
    "monitor_series",
    "relative_error",
    "snapshot_weights",
]
