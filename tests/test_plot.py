"""Tests for tinyae.plot: what each figure contains, saving, closing, errors, lazy import."""

import os
import re
import subprocess
import sys
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

import tinyae.plot as P
from tinyae.schedules import cyclical, linear_warmup, sigmoid_anneal

REPO = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
rng = np.random.default_rng(0)
X = rng.random((12, 784))


@pytest.fixture(autouse=True)
def close_figures():
    """Every test starts and ends without open figures."""
    plt = P._pyplot()
    plt.close("all")
    yield plt
    plt.close("all")


def image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def gaussian_blob_decoder(z):
    """Stand-in decoder: a 28 x 28 image whose pixel [0, 0] stores z[:, 0] and [0, 1] z[:, 1]."""
    images = np.zeros((len(z), 784))
    images[:, 0], images[:, 1] = z[:, 0], z[:, 1]
    return images


# --- what each figure contains ----------------------------------------------------------


def test_reconstructions_has_two_rows_of_n_images():
    p = X[::-1].copy()
    fig = P.reconstructions(X, p, n=5, title="epoch 3")
    axes = image_axes(fig)
    assert len(axes) == 10
    top = [ax for ax in axes if ax.get_subplotspec().rowspan.start == 0]
    np.testing.assert_array_equal(top[2].images[0].get_array(), X[2].reshape(28, 28))
    assert fig._suptitle.get_text() == "epoch 3"


def test_reconstructions_shows_at_most_n_rows_of_data_and_accepts_3d():
    fig = P.reconstructions(X[:3].reshape(3, 28, 28), X[:3].reshape(3, 28, 28), n=10)
    assert len(image_axes(fig)) == 6


def test_image_rows_one_labelled_row_per_entry():
    rows = {"noisy x̃": X[::-1], "reconstruction": X * 0.5, "clean x": X}
    fig = P.image_rows(rows, n=4, title="denoising")
    axes = image_axes(fig)
    assert len(axes) == 12
    by_row = [[ax for ax in axes if ax.get_subplotspec().rowspan.start == r] for r in range(3)]
    assert [row[0].get_ylabel() for row in by_row] == list(rows)
    np.testing.assert_array_equal(by_row[1][3].images[0].get_array(), (X[3] * 0.5).reshape(28, 28))
    assert fig._suptitle.get_text() == "denoising"


def test_image_rows_refuses_rows_of_different_lengths():
    with pytest.raises(ValueError, match="same number of images.*'a': 12, 'b': 3"):
        P.image_rows({"a": X, "b": X[:3]})
    with pytest.raises(ValueError, match="at least one"):
        P.image_rows({})


def test_loss_curves_one_line_per_key_against_1_based_epochs():
    history = {"loss": [3.0, 2.0, 1.5], "val_loss": [3.5, 2.5, 2.0], "kl": [0.1, 0.2, 0.3],
               "monitors": [{"layer": 0}], "lr": []}  # non-numeric / empty entries are skipped
    fig = P.loss_curves(history)
    lines = fig.axes[0].get_lines()
    labels = ["loss, training", "loss, validation", "kl, training"]
    assert [line.get_label() for line in lines] == labels
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines[1].get_ydata(), [3.5, 2.5, 2.0])
    assert lines[1].get_linestyle() == "--" and lines[1].get_color() == lines[0].get_color()
    assert len(fig.axes[0].get_legend().get_texts()) == 3
    assert len(fig.axes) == 1  # no β recorded: no β panel


def test_loss_curves_names_the_unit_the_test_set_and_why_test_can_be_lower():
    history = {"loss": [0.2, 0.12], "val_loss": [0.13, 0.11]}
    fig = P.loss_curves(history, ylabel="BCE per pixel", names={"loss": "BCE"}, validation="test")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "BCE per pixel" and ax.get_xlabel() == "epoch"
    assert [line.get_label() for line in ax.get_lines()] == ["BCE, training", "BCE, test"]
    assert "test" in fig.get_suptitle()
    assert "averaged over the epoch" in ax.get_title() and "after the epoch" in ax.get_title()
    only_training = P.loss_curves({"loss": [0.2, 0.12]}).axes[0]
    assert only_training.get_title() == ""  # nothing to compare: no note


def test_loss_curves_of_an_annealed_vae_show_beta_below_the_loss():
    beta = [0.1, 0.5, 0.9]
    history = {"loss": [200.0, 190.0, 195.0], "recon": [180.0, 160.0, 150.0],
               "kl": [60.0, 50.0, 45.0], "beta": beta}
    fig = P.loss_curves(history, ylabel="nats per image")
    top, bottom = fig.axes
    assert "beta" not in [line.get_label() for line in top.get_lines()]  # β is not a loss
    assert bottom.get_ylabel() == "β" and "KL weight" in bottom.get_title()
    np.testing.assert_array_equal(bottom.get_lines()[0].get_ydata(), beta)
    assert bottom.get_xlabel() == "epoch" and top.get_shared_x_axes().joined(top, bottom)


def test_loss_curves_keys_and_logy():
    history = {"loss": [3.0, 2.0], "recon": [2.5, 1.8], "kl": [0.5, 0.2]}
    fig = P.loss_curves(history, keys=["kl"], logy=True)
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["kl, training"]
    assert fig.axes[0].get_yscale() == "log"


def test_latent_scatter_plots_first_two_dimensions_and_says_so():
    z, labels = rng.normal(size=(50, 4)), rng.integers(0, 10, 50)
    fig = P.latent_scatter(z, labels)
    assert len(fig.axes) == 2  # the scatter and its colour bar
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets(), z[:, :2])
    assert "0 and 1 of 4" in fig.axes[0].get_title()
    assert "first 2" not in P.latent_scatter(z[:, :2], labels).axes[0].get_title()


def colorbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def filter_tiles(fig, side=28, gap=2):
    """The tiles drawn in ``fig``'s one image (row-major, empty ones left out), and the image."""
    (ax,) = image_axes(fig)
    mosaic = ax.images[0].get_array().filled(np.nan)
    rows, cols = (np.array(mosaic.shape) + gap) // (side + gap)
    tiles = [mosaic[r * (side + gap):r * (side + gap) + side, c * (side + gap):c * (side + gap) + side]
             for r in range(rows) for c in range(cols)]
    return [tile for tile in tiles if not np.isnan(tile).all()], ax.images[0]


def test_filters_one_tile_per_unit_each_on_its_own_symmetric_scale():
    W = rng.normal(size=(784, 6))
    W[:, 1] = 0.0  # a dead unit must still draw
    fig = P.filters(W)
    tiles, image = filter_tiles(fig)
    assert len(tiles) == 6 and len(fig.axes) == 2  # one image of all filters; one colour bar
    assert image.get_clim() == (-1, 1)
    for j, tile in enumerate(tiles):  # row-major, each divided by its own max |W[:, j]|
        scale = np.abs(W[:, j]).max() or 1.0
        np.testing.assert_allclose(tile, W[:, j].reshape(28, 28) / scale)
    assert len(filter_tiles(P.filters(W, n=4))[0]) == 4
    assert f"max |W| = {np.abs(W).max():.3g}" in fig._suptitle.get_text()


def test_filters_are_apart_and_their_gaps_white():
    fig = P.filters(rng.normal(size=(784, 5)))  # 3 columns, 2 rows, one tile left empty
    mosaic = image_axes(fig)[0].images[0].get_array()
    assert mosaic.shape == (2 * 28 + 2, 3 * 28 + 2 * 2)
    assert mosaic.mask[28:30].all() and mosaic.mask[30:, 2 * 30:].all()  # a gap row; the empty tile
    assert tuple(image_axes(fig)[0].images[0].get_cmap().get_bad()[:3]) == (1.0, 1.0, 1.0)


def test_filters_colour_bar_says_what_red_and_blue_are():
    fig = P.filters(rng.normal(size=(784, 4)))
    bar, = colorbars(fig)
    assert "weight" in bar.get_ylabel()
    assert [t.get_text() for t in bar.get_yticklabels()] == ["−max", "0", "+max"]
    assert "red: positive, blue: negative" in fig.get_suptitle()


def test_filters_default_is_capped(monkeypatch):
    monkeypatch.setattr(P.images, "MAX_FILTERS", 3)  # where filters() reads it
    fig = P.filters(rng.normal(size=(16, 10)))
    assert len(filter_tiles(fig, side=4)[0]) == 3 and "3 of 10 hidden units" in fig._suptitle.get_text()


def test_image_grid_layout():
    fig = P.image_grid(X[:7], n_cols=3, title="samples from the prior")
    tiles, image = filter_tiles(fig)  # one image of 3 × 3 tiles, the last two empty
    assert len(fig.axes) == 1 and image.get_array().shape == (3 * 28 + 4, 3 * 28 + 4)
    for tile, x in zip(tiles, X[:7], strict=True):
        np.testing.assert_array_equal(tile, x.reshape(28, 28))
    assert image.get_clim() == (0.0, 1.0)
    assert fig._suptitle.get_text() == "samples from the prior"
    assert P.image_grid(X[:7]).get_suptitle() == "7 images"  # never untitled


def test_latent_manifold_grid_orientation_and_size():
    seen = []
    fig = P.latent_manifold(lambda z: seen.append(z) or gaussian_blob_decoder(z), n=4, limit=2.0)
    assert len(seen) == 1 and seen[0].shape == (16, 2)
    mosaic = fig.axes[0].images[0].get_array()
    assert mosaic.shape == (4 * 28, 4 * 28)
    assert mosaic[0, 0] == -2.0 and mosaic[0, 1] == 2.0  # top-left cell is z = (-limit, +limit)
    assert mosaic[3 * 28, 3 * 28] == 2.0 and mosaic[3 * 28, 3 * 28 + 1] == -2.0  # bottom-right


def test_latent_manifold_quantile_grid():
    seen = []
    P.latent_manifold(lambda z: seen.append(z) or gaussian_blob_decoder(z), n=5, quantiles=True)
    q = np.linspace(NormalDist().cdf(-3.0), NormalDist().cdf(3.0), 5)
    expected = [NormalDist().inv_cdf(v) for v in q]
    np.testing.assert_allclose(np.unique(seen[0][:, 0]), expected, atol=1e-9)


def test_schedules_one_line_per_schedule_including_scalar_only_callables():
    named = {"linear": lambda t: linear_warmup(t, 20), "sigmoid": lambda t: sigmoid_anneal(t, 50),
             "cyclical": lambda t: cyclical(t, 50),
             "by hand": lambda t: min(1.0, t / 10)}  # fails on arrays, works per step
    fig = P.schedules(named, total_steps=50)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == list(named)
    np.testing.assert_array_equal(lines[0].get_xdata(), np.arange(51))
    np.testing.assert_allclose(lines[2].get_ydata(), cyclical(np.arange(51), 50))
    np.testing.assert_allclose(lines[3].get_ydata(), np.minimum(1, np.arange(51) / 10))


def test_beta_sweep_two_log_panels_sorted_with_markers():
    fig = P.beta_sweep([1.0, 0.01, 0.1], recon=[80, 50, 60], kl=[5, 30, 20])
    assert len(fig.axes) == 2
    for ax, expected in zip(fig.axes, ([50, 60, 80], [30, 20, 5])):
        line, = ax.get_lines()
        assert ax.get_xscale() == "log" and line.get_marker() == "o"
        np.testing.assert_array_equal(line.get_xdata(), [0.01, 0.1, 1.0])
        np.testing.assert_array_equal(line.get_ydata(), expected)


def test_loss_vs_target_shapes_of_the_curves():
    y = 0.8
    fig = P.loss_vs_target(y)
    left, right = fig.axes
    bce, mse, marker = left.get_lines()
    p = bce.get_xdata()
    assert 0 < p.min() and p.max() < 1
    # both curves are >= 0 with their minimum at p = y (BCE shifted by H(y))
    for line in (bce, mse):
        assert line.get_ydata().min() > -1e-12
        assert p[np.argmin(line.get_ydata())] == pytest.approx(y, abs=0.003)
    assert marker.get_xdata()[0] == y
    below, above = np.argmin(abs(p - (y - 0.1))), np.argmin(abs(p - (y + 0.1)))
    assert mse.get_ydata()[below] == pytest.approx(mse.get_ydata()[above])  # symmetric
    assert bce.get_ydata()[above] > 1.5 * bce.get_ydata()[below]  # 0.9 punished more than 0.7
    # right panel: one curve and one dashed floor H(y) per target
    floors = [line for line in right.get_lines() if line.get_linestyle() == "--"]
    assert len(right.get_lines()) == 8 and len(floors) == 4
    assert floors[1].get_ydata()[0] == pytest.approx(np.log(2))  # H(0.5) = log 2
    assert floors[3].get_ydata()[0] == 0.0  # H(1) = 0 exactly: a black/white pixel has no floor


# --- saving and closing -----------------------------------------------------------------

FIGURES = {
    "reconstructions": lambda path: P.reconstructions(X, X, n=3, path=path),
    "loss_curves": lambda path: P.loss_curves({"loss": [2.0, 1.0]}, path=path),
    "latent_scatter": lambda path: P.latent_scatter(X[:, :2], np.arange(12) % 10, path=path),
    "filters": lambda path: P.filters(X[:4].T, path=path),
    "image_grid": lambda path: P.image_grid(X[:4], path=path),
    "image_rows": lambda path: P.image_rows({"x": X[:3], "p": X[:3]}, path=path),
    "latent_manifold": lambda path: P.latent_manifold(gaussian_blob_decoder, n=3, path=path),
    "schedules": lambda path: P.schedules({"linear": lambda t: linear_warmup(t, 5)}, 10, path=path),
    "beta_sweep": lambda path: P.beta_sweep([0.1, 1.0], [2.0, 3.0], [1.0, 0.5], path=path),
    "loss_vs_target": lambda path: P.loss_vs_target(path=path),
}


@pytest.mark.parametrize("name", FIGURES)
def test_saves_png_in_new_folder_and_closes(name, tmp_path, close_figures):
    path = tmp_path / "figures" / "nested" / f"{name}.png"
    fig = FIGURES[name](path)
    assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 1000
    assert close_figures.get_fignums() == []
    assert fig.axes  # the returned figure is still usable


def test_without_path_the_figure_stays_open(close_figures):
    fig = FIGURES["loss_curves"](None)
    assert close_figures.get_fignums() == [fig.number]


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: P.reconstructions(X, X[:5]), r"x \(12, 784\) and p \(5, 784\) must have the"),
        (lambda: P.reconstructions(X[:, :700], X[:, :700]), "700 values per image.*not a square"),
        (lambda: P.reconstructions(X, X, n=0), "n must be an int >= 1"),
        (lambda: P.reconstructions(X, np.full_like(X, np.nan)), "p contains NaN"),
        (lambda: P.reconstructions(X[0], X[0]), r"x\[None\]"),
        (lambda: P.image_grid(rng.random((3, 50))), "not a square"),
        (lambda: P.image_grid(X, n_cols=0), "n_cols must be an int >= 1"),
        (lambda: P.loss_curves({"loss": [1.0]}, keys=["val_loss"]),
         r"'val_loss'.*plottable keys: \['loss'\]"),
        (lambda: P.loss_curves({"loss": [1.0, -0.5]}, logy=True), "logy=True needs values > 0"),
        (lambda: P.loss_curves({}), "no list of numbers"),
        (lambda: P.latent_scatter(X[:, :1], np.zeros(12, int)), "J >= 2"),
        (lambda: P.latent_scatter(X[:, :2], np.zeros(5, int)), r"labels must have shape \(12,\)"),
        (lambda: P.latent_scatter(X[:, :2], np.full(12, 10)), "digits 0..9"),
        (lambda: P.filters(X[:5]), r"did you pass W\.T"),
        (lambda: P.latent_manifold(lambda z: X[:4], n=3), r"decode\(z\) must return \(9, H\*W\)"),
        (lambda: P.latent_manifold(lambda z: z, n=3), r"decode\(z\) has 2 values per image"),
        (lambda: P.latent_manifold(gaussian_blob_decoder, limit=0.0), "limit must be > 0"),
        (lambda: P.schedules({}, 10), "schedules is empty"),
        (lambda: P.schedules({"c": lambda t: linear_warmup(t, 3)}, 0),
         "total_steps must be an int >= 1"),
        (lambda: P.beta_sweep([0.0, 1.0], [1, 2], [1, 2]), "must be > 0 for the log axis"),
        (lambda: P.beta_sweep([0.1, 1.0], [1, 2], [1]), "same length"),
        (lambda: P.loss_vs_target(255.0), r"outside \[0, 1\].*divide uint8 pixels by 255"),
        (lambda: P.loss_vs_target(0.5, targets=(0.2, -0.1)), r"target -0.1 is outside"),
    ],
)
def test_bad_input_gives_clear_errors(call, match, close_figures):
    with pytest.raises(ValueError, match=match):
        call()
    assert close_figures.get_fignums() == []  # checked before drawing anything


def test_history_must_be_a_dict():
    with pytest.raises(TypeError, match="history must be a dict"):
        P.loss_curves([1.0, 2.0])


# --- lazy import and backend choice ------------------------------------------------------

CHECK = ("import sys, tinyae.plot as P; assert 'matplotlib' not in sys.modules, 'imported early'; "
         "print(P._pyplot().get_backend().lower())")


@pytest.mark.parametrize(
    "env, backend",
    [
        ({}, "agg"),  # Linux without a display
        ({"DISPLAY": ":99", "CI": "true"}, "agg"),  # a display variable, but running under CI
        ({"MPLBACKEND": "svg"}, "svg"),  # the user's explicit choice wins
    ],
)
def test_import_is_lazy_and_headless_backend_is_agg(env, backend):
    if not env and not sys.platform.startswith("linux"):
        pytest.skip("'no DISPLAY means no screen' only holds on Linux")
    clean = {k: v for k, v in os.environ.items()
             if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND", "CI")}
    clean["PYTHONPATH"] = str(REPO)
    result = subprocess.run([sys.executable, "-c", CHECK], env={**clean, **env}, cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == backend


# --- monitors (tinyae.diagnostics.Monitor records) ---------------------------------------


def test_monitors_one_panel_per_measure_one_line_per_layer(tmp_path, close_figures):
    history = {"loss": [0.3, 0.2, 0.1],
               "layer1/dead": [0.0, 0.1, 0.2], "layer2/dead": [0.0, 0.0, 0.5],
               "layer1/grad_norm": [1e-6, 1e-5, 1e-4], "layer2/grad_norm": [1e-2, 1e-2, 1e-2],
               "collapse_ratio": [0.9, 0.5, 0.3]}
    fig = P.monitors(history)
    labels = P.curves.MONITOR_LABELS
    panels = {ax.get_title(): ax for ax in fig.axes}
    # "loss" is not a monitor key; each panel is named in words, its y axis with the unit
    assert set(panels) == {labels[key][0] for key in ("dead", "grad_norm", "collapse_ratio")}
    dead, grad = panels[labels["dead"][0]], panels[labels["grad_norm"][0]]
    assert dead.get_ylabel() == "fraction of units" and "‖∂L/∂W‖" in grad.get_ylabel()
    np.testing.assert_array_equal(dead.lines[1].get_xydata(), [[1, 0.0], [2, 0.0], [3, 0.5]])
    assert grad.get_yscale() == "log" and dead.get_yscale() == "linear"
    # layer k has one colour in every panel, and the figure's one legend names it
    assert [line.get_color() for line in dead.lines] == [line.get_color() for line in grad.lines]
    legend, = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["layer 1", "layer 2"]
    path = tmp_path / "monitors.png"
    P.monitors(history, path=path)
    assert path.read_bytes()[:8] == PNG_MAGIC and close_figures.get_fignums() == [fig.number]


def test_monitors_without_monitor_records_explains():
    with pytest.raises(ValueError, match=r"no monitor records.*Monitor\(x\[:256\], loss\)"):
        P.monitors({"loss": [1.0, 0.5]})


def test_epoch_curves_one_line_per_run_and_threshold(tmp_path, close_figures):
    path = tmp_path / "curves.png"
    fig = P.epoch_curves({"a": [0.1, 0.01], "b": [0.2, 0.3, 0.4]}, "distance", path=path,
                         threshold=0.005, threshold_label="on the mean image", logy=True)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b", "on the mean image"]
    assert ax.get_title() == "distance per epoch"  # the default title names the measure
    assert list(ax.get_lines()[1].get_xdata()) == [1, 2, 3]
    assert ax.get_ylabel() == "distance" and ax.get_yscale() == "log"
    assert path.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="one per epoch"):
        P.epoch_curves({"a": []}, "distance")
    with pytest.raises(ValueError, match="logy=True needs every value > 0"):
        P.epoch_curves({"a": [0.0, 1.0]}, "distance", logy=True)


def test_latent_scatter_draws_the_chosen_dimensions():
    z = np.column_stack([np.zeros(20), np.arange(20.0), -np.arange(20.0)])
    fig = P.latent_scatter(z, np.arange(20) % 10, dims=(1, 2))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "z[:, 1]" and ax.get_ylabel() == "z[:, 2]" and "1 and 2 of 3" in ax.get_title()
    np.testing.assert_array_equal(ax.collections[0].get_offsets()[:, 0], np.arange(20.0))
    with pytest.raises(ValueError, match="two different latent dimensions"):
        P.latent_scatter(z, np.arange(20) % 10, dims=(1, 1))


def test_beta_sweep_labels_exactly_the_swept_betas():
    fig = P.beta_sweep([0.25, 0.5, 1, 2, 4], [1, 2, 3, 4, 5], [5, 4, 3, 2, 1])
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["0.25", "0.5", "1", "2", "4"]
    assert not fig.axes[0].get_xticklabels(minor=True)


def test_epoch_curves_runs_with_the_same_numbers_stay_distinguishable():
    same = [2.0, 2.0, 2.0]
    curves = {f"run {k}": same for k in range(12)}
    lines = P.epoch_curves(curves, "relative error").axes[0].get_lines()
    styles = {(line.get_marker(), line.get_linestyle(), line.get_markersize()) for line in lines}
    assert len(styles) == 12  # one line drawn over another still shows its own marker or dash
    assert all(line.get_fillstyle() == "none" for line in lines)  # hollow: the one below shows


# --- legibility: titles, labels, colour bars, legends that hide nothing -------------------

MONITORED = {"loss": [0.3, 0.2, 0.1, 0.1], "layer1/dead": [0.0, 0.1, 0.2, 0.2],
             "layer2/dead": [0.0, 0.0, 0.5, 0.6], "layer1/grad_norm": [1e-6, 1e-5, 1e-4, 1e-4],
             "layer2/grad_norm": [1e-2, 1e-2, 1e-2, 1e-2], "layer3/saturated": [0.1, 0.2, 0.3, 0.4],
             "collapse_ratio": [0.9, 0.5, 0.3, 0.2], "z0/kl": [1.0, 2.0, 2.5, 2.6],
             "z1/kl": [0.1, 0.05, 0.02, 0.01], "active_units": [2.0, 2.0, 1.0, 1.0]}
# Histories shaped like real ones: the legend must find room next to them, not on them.
LEGIBLE = {
    "reconstructions": lambda: P.reconstructions(X, X, n=5),
    "ae loss": lambda: P.loss_curves({"loss": [0.30, 0.14, 0.12, 0.11, 0.10],
                                      "val_loss": [0.15, 0.12, 0.11, 0.10, 0.095]},
                                     ylabel="BCE per pixel", validation="test"),
    "vae loss": lambda: P.loss_curves(
        {"loss": [230.0, 180, 170, 175, 180], "recon": [220.0, 160, 140, 135, 130],
         "kl": [30.0, 40, 45, 45, 46], "val_loss": [190.0, 175, 172, 176, 179],
         "val_recon": [170.0, 150, 138, 133, 131], "val_kl": [40.0, 44, 45, 46, 46],
         "beta": [0.1, 0.3, 0.5, 0.7, 0.9]}, ylabel="nats per image"),
    "latent_scatter": lambda: P.latent_scatter(rng.normal(size=(200, 2)), np.arange(200) % 10),
    "filters": lambda: P.filters(rng.normal(size=(784, 16))),
    "image_grid": lambda: P.image_grid(X[:8]),
    "latent_manifold": lambda: P.latent_manifold(gaussian_blob_decoder, n=4),
    "schedules": lambda: P.schedules({"linear": lambda t: linear_warmup(t, 50),
                                      "sigmoid": lambda t: sigmoid_anneal(t, 100),
                                      "cyclical": lambda t: cyclical(t, 100)}, total_steps=100),
    "beta_sweep": lambda: P.beta_sweep([0.1, 1.0, 4.0], [60.0, 70.0, 90.0], [30.0, 20.0, 5.0]),
    "loss_vs_target": lambda: P.loss_vs_target(0.8),
    "monitors": lambda: P.monitors(MONITORED),
    "epoch_curves": lambda: P.epoch_curves(
        {f"configuration {k}": list(np.geomspace(1e-1, 10.0 ** -(k % 4 + 1), 6)) for k in range(9)},
        "mean (p − x̄)² per pixel", threshold=5e-3, threshold_label="on the mean image",
        logy=True),
}


def _display_points(ax) -> np.ndarray:
    """Every plotted point of ``ax`` in display pixels, lines sampled along their segments."""
    points = []
    for line in ax.get_lines():
        xy = line.get_transform().transform(line.get_xydata())
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        t = np.linspace(0, 1, 25)[:, None, None]  # a legend may sit between two markers
        points.append(xy[:1])
        points.append((xy[:-1] + t * (xy[1:] - xy[:-1])).reshape(-1, 2))
    for collection in ax.collections:
        points.append(collection.get_offset_transform().transform(collection.get_offsets()))
    points = np.concatenate(points) if points else np.empty((0, 2))
    box = ax.get_window_extent()  # what is clipped away is not drawn
    inside = ((points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
              & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1))
    return points[inside]


def legibility_problems(fig) -> list[str]:
    """What a student could not read: missing titles or axis labels, legends over the data."""
    fig.canvas.draw()
    problems = []
    plots = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    for ax in plots:
        if not (ax.get_title() or fig.get_suptitle()):
            problems.append("an axes without a title, and no figure title")
        if ax.images:  # pictures (digits, filters) have no axes to label
            continue
        if not ax.get_ylabel():
            problems.append(f"{ax.get_title()!r}: no y label")
        shared = ax.get_shared_x_axes().get_siblings(ax)
        if not any(other.get_xlabel() for other in shared):
            problems.append(f"{ax.get_title()!r}: no x label")
    legends = [ax.get_legend() for ax in plots if ax.get_legend()] + list(fig.legends)
    for legend in legends:
        box = legend.get_window_extent()
        for ax in plots:
            xy = _display_points(ax)
            covered = np.sum((xy[:, 0] > box.x0) & (xy[:, 0] < box.x1)
                             & (xy[:, 1] > box.y0) & (xy[:, 1] < box.y1))
            if covered:
                problems.append(f"a legend covers {covered} data points of {ax.get_title()!r}")
    return problems


@pytest.mark.parametrize("name", LEGIBLE)
def test_every_figure_is_titled_labelled_and_its_legends_hide_no_data(name):
    assert legibility_problems(LEGIBLE[name]()) == []


def test_the_legibility_check_catches_a_legend_over_the_data():
    fig = P.epoch_curves({"a": [1.0, 1.0]}, "y")
    fig.axes[0].legend(loc="center")  # right on the line
    assert any("covers" in problem for problem in legibility_problems(fig))
    fig.axes[0].set_ylabel("")
    assert "'y per epoch': no y label" in legibility_problems(fig)


def test_the_gallery_page_shows_every_gallery_figure():
    page = (REPO / "docs" / "gallery.md").read_text()
    linked = set(re.findall(r"\]\(gallery/([^)]+\.png)\)", page))
    drawn = {path.name for path in (REPO / "docs" / "gallery").glob("*.png")}
    assert linked == drawn and len(drawn) >= 20
    assert sum((REPO / "docs" / "gallery" / name).stat().st_size for name in drawn) < 5e6


def test_loss_curves_default_title_names_only_what_is_drawn():
    history = {"loss": [2.0, 1.0], "val_loss": [1.5, 1.2]}
    assert P.loss_curves(history).get_suptitle() == "training and validation loss per epoch"
    assert P.loss_curves(history, keys=["loss"]).get_suptitle() == "training loss per epoch"
    only_test = P.loss_curves(history, keys=["val_loss"], validation="test")
    assert only_test.get_suptitle() == "test loss per epoch"
