"""The variant experiments show their phenomena; the localisation measure scores filters right.

``denoise`` and ``sparse`` run once per module (quick=True, bundled mnist-mini), as the seed
experiments do in test_experiments.py.  The bounds are conservative: the measured value on
this machine is given in a comment beside each (full MNIST's in the modules' docstrings).
"""

import numpy as np
import pytest

from test_experiments import run
from test_plot import legibility_problems
from tinyae import plot
from tinyae.cli import main
from tinyae.diagnostics import filter_localisation
from tinyae.experiments import EXPERIMENTS, denoise
from tinyae.experiments.denoise import LEVELS

GAUSSIAN = [level for level in LEVELS if level.startswith("gaussian")]


@pytest.fixture(scope="module")
def denoised(tmp_path_factory):
    return run("denoise", tmp_path_factory)


@pytest.fixture(scope="module")
def sparse(tmp_path_factory):
    return run("sparse", tmp_path_factory)


def test_variants_are_registered():
    assert {"denoise", "sparse"} <= set(EXPERIMENTS)


# ---- denoise -------------------------------------------------------------------------

def test_the_denoising_ae_beats_the_plain_ae_at_every_level(denoised):
    f = denoised.facts
    assert len(LEVELS) == 5 and len(denoised.figures) == 5  # one figure per level
    for level in LEVELS:  # the same noisy test images go to both
        assert f[f"{level}/dae"] < f[f"{level}/plain_ae"]  # measured ratio ≥ 1.10 (mask:0.25)
    for level in ("gaussian:0.3", "gaussian:0.5"):
        assert f[f"{level}/plain_ae"] > 2 * f[f"{level}/dae"]  # measured 2.47×, 2.85×
        assert f[f"{level}/noisy_input"] > 2 * f[f"{level}/dae"]  # measured 2.7×, 4.3×


def test_a_denoising_ae_is_worse_on_clean_images(denoised):
    f = denoised.facts
    for level in LEVELS:  # the plain AE on clean images: measured 0.0094
        assert f[f"{level}/dae_on_clean"] > 1.3 * f["none/plain_ae"]  # measured ≥ 0.0146
    for level in GAUSSIAN:  # even worse than on the noisy images they were trained for
        assert f[f"{level}/dae_on_clean"] > 1.5 * f[f"{level}/dae"]  # measured 4.3×, 3.3×, 2.2×


def test_the_missing_grey_veil_explains_it(denoised):
    # Given E[x̃] (the clean image plus the clipped noise's mean), the Gaussian DAEs recover.
    f = denoised.facts
    for level in GAUSSIAN:
        assert f[f"{level}/dae_on_mean_noisy"] < 0.5 * f[f"{level}/dae_on_clean"]  # measured ≤ 0.36×
    assert "5 of 5 levels" in denoised.notes[0]


# ---- sparse --------------------------------------------------------------------------

def test_sparse_mean_activations_are_near_rho(sparse):
    f = sparse.facts
    assert f["sparse/mean_unit_dev"] < 0.45  # measured 0.287 (full MNIST: 0.081 ≤ 0.20)
    assert f["sparse/dev_of_mean"] < 0.45  # measured 0.263 (full MNIST: 0.073)
    assert f["sparse/mean_unit_dev"] >= f["sparse/dev_of_mean"]  # per unit is the stricter
    assert f["sparsity only/mean_unit_dev"] < 0.45  # measured 0.253: the penalty alone does it too


def test_without_the_penalty_units_sit_near_one_half(sparse):
    for name in ("decay only", "neither"):
        assert 0.4 < sparse.facts[f"{name}/mean_rho_hat"] < 0.65  # measured 0.514, 0.517


def test_weight_decay_localises_the_filters(sparse):
    # The brightest-7×7-window share of W², mean over units.  On full MNIST the sparse
    # filters also beat the decay-only ones (0.411 vs 0.377); on this quick budget they do
    # not (0.215 vs 0.323), so only weight decay's effect, seen at both budgets, is asserted.
    f = sparse.facts
    assert f["sparse/localisation"] > f["sparsity only/localisation"] + 0.04  # measured +0.083
    assert f["decay only/localisation"] > f["neither/localisation"] + 0.06  # measured +0.121
    assert all(49 / 784 < f[f"{name}/localisation"] < 1 for name in
               ("sparse", "decay only", "sparsity only", "neither"))


def test_sparse_figures_are_the_filters_and_the_mean_activations(sparse):
    assert [path.name for path in sparse.figures] == [
        "filters_sparse.png", "filters_decay_only.png", "mean_activations.png"]


# ---- filter_localisation -------------------------------------------------------------

def one_filter(image: np.ndarray) -> np.ndarray:
    """A (side², 1) W holding one filter drawn as a side × side image."""
    return image.reshape(-1, 1)


@pytest.mark.parametrize("row, col", [(0, 0), (10, 12), (21, 21)])
def test_a_single_7x7_blob_scores_one(row, col):
    image = np.zeros((28, 28))
    image[row:row + 7, col:col + 7] = np.random.default_rng(row).normal(size=(7, 7))
    assert filter_localisation(one_filter(image)) == pytest.approx([1.0])


def test_a_uniform_filter_scores_the_floor():
    W = np.stack([np.ones(784), -np.ones(784)], axis=1)  # the sign does not matter: W²
    assert filter_localisation(W) == pytest.approx([49 / 784, 49 / 784])


def test_localisation_matches_a_brute_force_search():
    W = np.random.default_rng(0).normal(size=(100, 5)) ** 3  # 10 × 10 filters, uneven energy
    for k in (1, 3, 10):
        energy = (W.T ** 2).reshape(5, 10, 10)
        brute = [max(e[r:r + k, c:c + k].sum() for r in range(11 - k) for c in range(11 - k)) / e.sum()
                 for e in energy]
        assert filter_localisation(W, window=k) == pytest.approx(brute, rel=1e-12)
    assert filter_localisation(W, window=10) == pytest.approx(np.ones(5))


@pytest.mark.parametrize("W, window, match", [
    (np.ones((700, 3)), 7, "not a square image"),
    (np.ones(784), 7, r"shape \(D, J\)"),
    (np.ones((784, 3)), 0, "window must be an int between 1 and the image side 28"),
    (np.ones((784, 3)), 29, "window must be an int between 1 and the image side 28"),
    (np.ones((784, 3)), 7.0, "window must be an int"),
    (np.concatenate([np.ones((784, 1)), np.zeros((784, 2))], axis=1), 7, r"filters \[1, 2\] are all zeros"),
])
def test_localisation_refuses_bad_input(W, window, match):
    with pytest.raises(ValueError, match=match):
        filter_localisation(W, window=window)


# ---- the figure and the command line -------------------------------------------------

def test_unit_activations_draws_sorted_lines_and_the_target(tmp_path):
    rho_hat = {"sparse": np.array([0.08, 0.12, 0.1]), "plain": np.array([0.5, 0.4, 0.6])}
    fig = plot.unit_activations(rho_hat, 0.1)
    lines = fig.axes[0].get_lines()
    assert list(lines[0].get_ydata()) == [0.12, 0.1, 0.08] and list(lines[1].get_ydata()) == [0.6, 0.5, 0.4]
    assert list(lines[2].get_ydata()) == [0.1, 0.1]  # the target ρ
    assert legibility_problems(fig) == []
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        plot.unit_activations({"logits": np.array([-2.0, 3.0])}, 0.1)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        plot.unit_activations({}, 0.1)


def test_cli_runs_denoise_prints_its_table_and_writes_its_figures(tmp_path, capsys, monkeypatch):
    # The plumbing only (the phenomenon is tested above): one level, a tiny budget.
    monkeypatch.setattr(denoise, "LEVELS", ("mask:0.5",))
    monkeypatch.setattr(denoise, "QUICK", (300, 50, 1, 64, 3e-3))
    assert main(["experiment", "denoise", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "noisy_input  plain_ae" in out and "mask:0.5" in out
    assert f"wrote {tmp_path / 'denoise' / 'mask_0.5.png'}" in out
    assert (tmp_path / "denoise" / "mask_0.5.png").read_bytes()[:4] == b"\x89PNG"
