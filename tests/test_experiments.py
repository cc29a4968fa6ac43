"""Each seed experiment reproduces its phenomenon, and its fix removes it (quick budgets).

Every experiment runs once per module (quick=True, bundled mnist-mini).  The bounds are
conservative: the measured value on this machine is given in a comment beside each.
"""

import math

import numpy as np
import pytest

from tinyae.experiments import EXPERIMENTS, ExperimentResult, run_experiment


def run(name, tmp_path_factory):
    out = tmp_path_factory.mktemp(name)
    result = run_experiment(name, quick=True, out=out, verbose=False)
    assert isinstance(result, ExperimentResult) and result.name == name
    assert result.rows and result.facts
    for path in result.figures:  # every figure was written, as a PNG, under out/<name>/
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.parent == out / name
    return result


@pytest.fixture(scope="module")
def blob(tmp_path_factory):
    return run("blob", tmp_path_factory)


@pytest.fixture(scope="module")
def curves(tmp_path_factory):
    return run("bce-curves", tmp_path_factory)


@pytest.fixture(scope="module")
def softmax(tmp_path_factory):
    return run("softmax-raw", tmp_path_factory)


@pytest.fixture(scope="module")
def identity(tmp_path_factory):
    return run("identity", tmp_path_factory)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return run("beta-sweep", tmp_path_factory)


def test_registry_names_and_unknown_name():
    assert set(EXPERIMENTS) == {"blob", "bce-curves", "softmax-raw", "identity", "beta-sweep", "denoise",
                                "sparse", "deep"}
    with pytest.raises(ValueError, match="unknown experiment 'blobb'.*blob"):
        run_experiment("blobb")


# ---- blob (question 1) -------------------------------------------------------------

def test_blob_mean_image_signature(blob):
    # The constant prediction x̄ on mnist-mini's first 500 test images (full MNIST: 0.2625 / 0.0675).
    assert 0.24 < blob.facts["blob_bce"] < 0.29  # measured 0.26
    assert 0.058 < blob.facts["blob_mse"] < 0.075  # measured 0.065


def test_blob_all_sigmoid_sgd_sits_on_the_mean_image(blob):
    f = blob.facts
    for config in ("sigmoid bce sgd 1.0", "sigmoid bce sgd 0.1 momentum 0.9"):
        assert f[f"{config}/d_mean"] < 0.005  # measured 0.00006
        assert abs(f[f"{config}/test_mse"] - f["blob_mse"]) < 0.005  # the plateau's loss
        assert f[f"{config}/collapse"] > 0.95  # measured 0.999
    # Plain SGD only ever moves closer to the mean image: the last epoch is the closest.
    # (SGD 0.1 arrives there in the quick budget only at the end: d_mean 0.0051.)
    for config in ("sigmoid bce sgd 0.1", "sigmoid bce sgd 1.0", "sigmoid bce sgd 0.1 momentum 0.9"):
        assert f[f"{config}/d_mean"] == f[f"{config}/d_mean_min"]


def test_blob_vanishing_gradient_explains_it(blob):
    # Layer 1 gets ~116× less gradient per weight than the output layer with sigmoids, not with ReLU.
    assert blob.facts["sigmoid bce sgd 0.1/grad_ratio"] > 50  # measured 116
    assert blob.facts["relu bce sgd 0.1/grad_ratio"] < 5  # measured 0.34


def test_blob_sigmoid_adam_leaves_the_mean_image(blob):
    f = blob.facts
    for config in ("sigmoid bce adam 1e-3", "sigmoid mse adam 1e-3"):
        # Adam first reaches the mean image too, then moves away from it (full MNIST: after epoch 1).
        assert f[f"{config}/d_mean_min"] < 0.005  # measured 0.0006
        assert f[f"{config}/d_mean"] > 4 * f[f"{config}/d_mean_min"]  # measured 0.0063, ~10× the min
        assert f[f"{config}/test_mse"] < f["blob_mse"] - 0.004  # measured 0.058, 0.056 vs 0.065


def test_blob_relu_adam_escapes(blob):
    f = blob.facts
    assert f["relu bce adam 1e-3/d_mean_min"] > 0.01  # measured 0.019: never near the mean image
    assert f["relu bce adam 1e-3/d_mean"] > 0.03  # measured 0.047: reconstructions differ per digit
    assert f["relu bce adam 1e-3/test_mse"] < 0.5 * f["blob_mse"]  # measured 0.022 vs 0.065
    assert f["relu bce adam 1e-3/on_plateau"] == 0
    assert all(row["why"] for row in blob.rows)  # every configuration explained


# ---- bce-curves (questions 1 and 2) ------------------------------------------------

@pytest.mark.parametrize("y", [0.1, 0.3, 0.5, 0.8, 0.9])
def test_bce_minimum_is_at_the_target_and_equals_entropy(curves, y):
    assert abs(curves.facts[f"argmin/{y:g}"] - y) <= 1e-4  # the grid step
    h = -y * math.log(y) - (1 - y) * math.log(1 - y)
    assert curves.facts[f"floor/{y:g}"] == pytest.approx(h, rel=1e-12)


def test_bce_asymmetric_mse_symmetric(curves):
    f = curves.facts
    assert f["bce_minus_floor/0.9"] == pytest.approx(0.0444, abs=1e-4)
    assert f["bce_minus_floor/0.7"] == pytest.approx(0.0257, abs=1e-4)
    assert f["mse/0.9"] == pytest.approx(f["mse/0.7"]) == pytest.approx(0.01)


def test_bce_floor_of_mnist_is_positive(curves):
    # A perfect reconstruction still has BCE = mean H(x) ≈ 0.058 per pixel (mnist-mini test set).
    assert 0.04 < curves.facts["mnist_floor"] < 0.08
    assert curves.facts["mnist_floor_check"] == pytest.approx(curves.facts["mnist_floor"], rel=1e-3)


# ---- softmax-raw (question 2) ------------------------------------------------------

def test_softmax_raw_first_finding_is_the_refusal(softmax):
    first = "1. tinyae's BCE on raw pixels: ValueError: BCE needs targets y in [0, 1]"
    assert softmax.notes[0].startswith(first)
    assert "Divide them by 255" in softmax.notes[0]
    assert softmax.facts["doctor_softmax"] == 1 and softmax.facts["doctor_target_range"] == 1


def test_softmax_raw_bce_by_hand_has_no_minimum(softmax):
    f = softmax.facts
    assert f["raw_bce_decreasing"] == 1 and f["raw_bce_slope_max"] < 0
    assert f["raw_bce/0.9"] < 0 and f["raw_bce_min"] < -5000  # measured −5499 at p = 1 − 1e-12


def test_softmax_output_cannot_draw_an_image(softmax):
    f = softmax.facts
    assert f["softmax/row_sum_mean"] == pytest.approx(1, abs=1e-5)
    assert f["softmax/pixel_mean"] == pytest.approx(1 / 784, rel=1e-3)
    assert f["data_pixel_mean"] > 50 * f["softmax/pixel_mean"]  # 0.12 vs 0.0013
    # The fix: sigmoid output, pixels ÷ 255 (measured test MSE 0.041 vs 0.103 for softmax).
    assert f["sigmoid/test_mse"] < 0.6 * f["softmax/test_mse"]


# ---- identity (question 3) ---------------------------------------------------------

def test_identity_tiny_loss_but_no_better_than_the_mean(identity):
    f = identity.facts
    plain = "random init, SGD"
    assert f[f"{plain}/val_mse"] < 1e-5  # measured 3.1e-6: "small"
    assert f[f"{plain}/relative_error"] > 1.5  # measured 2.01: worse than the mean row
    assert abs(f[f"{plain}/corr(p, x)"]) < 0.05  # measured −0.0008: p does not follow x
    assert f["identity init (untrained)/val_mse"] == 0 and f["identity init (untrained)/relative_error"] == 0


def test_identity_fixes(identity):
    f = identity.facts
    assert f["Standardize/Destandardize, SGD/relative_error"] > 1.5  # measured 2.01: gradients ∝ σ²
    assert f["Standardize/Destandardize, Adam 1e-3/relative_error"] < 0.7  # measured 0.49 (2 epochs)
    assert (f["StandardScaler on the data, SGD/relative_error"]
            < 0.85 * f["random init, SGD/relative_error"])  # measured 1.46 vs 2.01 (2 epochs)


def test_identity_uniform_data_approaches_identity(identity):
    f = identity.facts
    assert f["uniform5/diag(W)"] > 0.6  # measured 0.75 after 3,500 steps
    assert f["uniform84/diag(W)"] < f["uniform5/diag(W)"]  # 84 features: ~17× slower
    for d in (5, 84):  # the rate 1 − (1 − lr/(6D))^steps predicts it
        assert abs(f[f"uniform{d}/diag(W)"] - f[f"uniform{d}/theory"]) < 0.1  # measured 0.06, 0.002


# ---- beta-sweep (question 4) -------------------------------------------------------

def test_beta_sweep_trade_off(sweep):
    rows = [row for row in sweep.rows if "annealed" not in row["run"]]
    assert len(rows) >= 4 and all(np.diff([r["beta"] for r in rows]) > 0)
    recon, kl = [r["recon"] for r in rows], [r["kl"] for r in rows]
    assert all(np.diff(recon) > 0)  # measured 210 → 266 nats (full MNIST: 72 → 187)
    assert all(np.diff(kl) < 0)  # measured 25 → 0.8 nats (full MNIST: 55 → 0.9)
    assert all(np.diff([r["active"] for r in rows]) <= 0)  # full MNIST: 20 → 6 of 20
    assert sweep.facts["beta 1/beta_norm"] == pytest.approx(8 / 784)  # β·J/K with J = 8


def test_beta_sweep_reports_the_elbo_not_its_own_objective(sweep):
    for row in sweep.rows:  # −ELBO = recon + KL at every β, not recon + β·KL
        assert row["elbo_loss"] == pytest.approx(row["recon"] + row["kl"], rel=1e-12)
    assert sweep.facts["beta 16/kl"] > 0.1  # large enough for recon + 16·KL to differ


def test_annealing_starts_small_and_keeps_more_kl(sweep):
    f = sweep.facts
    for beta in (1, 16):
        assert f[f"beta {beta} annealed/beta_epoch1"] < 0.3 * beta  # measured 0.25 × β
        # Less KL pressure early on leaves the posterior further from the prior.
        assert f[f"beta {beta} annealed/kl"] > f[f"beta {beta}/kl"]  # measured 15.8 vs 15.4, 1.10 vs 0.78
