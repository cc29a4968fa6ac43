"""doctor: every finding fires on a configuration built to cause it, never on the healthy default;
the four seed questions each get the finding that explains them."""

import importlib

import numpy as np
import pytest

import tinyae
from tinyae import (
    BCE,
    MSE,
    SGD,
    Adam,
    BCEWithLogits,
    Dense,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    dense_autoencoder,
)
from tinyae.diagnostics import Finding, doctor, effective_beta, format_findings
from tinyae.models.vae import dense_vae

doctor_module = importlib.import_module("tinyae.diagnostics.doctor")  # the package's `doctor` is the function
SEED3_MEAN, SEED3_STD = 1.1090579, 0.0012380764


@pytest.fixture(scope="module")
def x():
    """The first 512 mnist-mini images, floats in [0, 1]."""
    return tinyae.load_mnist("mnist-mini", verbose=False).x_train[:512]


def healthy():
    return dense_autoencoder("784-100-50-100-784", hidden="relu", output="sigmoid")


def codes(findings, severity=None):
    return {f.code for f in findings if severity is None or f.severity == severity}


def seed3_data(n=512):
    return np.random.default_rng(0).normal(SEED3_MEAN, SEED3_STD, size=(n, 84))


# --- the healthy default ---------------------------------------------------------------------


def test_healthy_default_has_nothing_above_a_note(x):
    findings = doctor(healthy(), BCE(), x, optimizer=Adam(1e-3))
    assert all(f.severity == "note" for f in findings), format_findings(findings)
    assert codes(findings) == {"bce-floor"}  # BCE on grey pixels cannot reach 0: worth knowing


# --- the four questions of docs/questions.md -------------------------------------------------


def test_seed1_all_sigmoid_bce_sgd_has_vanishing_gradients(x):
    model = dense_autoencoder("784-100-50-100-784", hidden="sigmoid", output="sigmoid")
    findings = doctor(model, BCE(), x, optimizer=SGD(0.01))
    (finding,) = [f for f in findings if f.code == "vanishing-gradients"]
    assert finding.severity == "warning"
    assert "3 sigmoid hidden layers" in finding.message and "mean image" in finding.message
    # with Adam, which rescales each step, the same measurement is only a note
    with_adam = doctor(model, BCE(), x, optimizer=Adam(1e-3))
    assert codes(with_adam, "note") >= {"vanishing-gradients"} and not codes(with_adam, "warning")


def test_seed2_softmax_output_raw_pixels_and_bce(x):
    model = dense_autoencoder("784-128-64-28-64-128-784", hidden="relu", output="softmax")
    pixels = np.round(x * 255)  # floats 0..255, never divided by 255
    findings = doctor(model, BCE(), pixels, optimizer=Adam(1e-3))
    assert codes(findings, "error") == {"softmax-per-pixel", "bce-target-range"}
    assert codes(findings, "warning") == {"raw-pixels"}
    assert findings[0].severity == "error"  # most serious first


def test_seed3_linear_layer_on_data_with_a_tiny_spread():
    findings = doctor(Sequential([Dense(84, 84)]), MSE(), seed3_data(), optimizer=SGD(0.01))
    assert codes(findings) == {"tiny-spread"}
    assert "0.00124" in findings[0].message and "standardise" in findings[0].fix


def test_seed4_vae_with_mismatched_reductions(x):
    vae = dense_vae("784-64-20", reduction="batchmean")  # KL summed over J …
    findings = doctor(vae, BCE(reduction="mean"), x, optimizer=Adam(1e-3))  # … recon ÷ K
    (finding,) = [f for f in findings if f.code == "kl-balance"]
    assert "784×" in finding.message and "collapse" in finding.message
    matched = doctor(vae, BCE(reduction="batchmean"), x, optimizer=Adam(1e-3))
    assert "kl-balance" not in codes(matched) and not codes(matched, "warning")


def test_effective_beta_by_hand():
    assert effective_beta(1.0, "mean", "batchmean", 784, 20, 128) == pytest.approx(784)
    # question 4's recon/K + 0.1·KL/J is the ELBO with β = 0.1·K/J = 3.92
    assert effective_beta(0.1, "mean", "mean", 784, 20, 128) == pytest.approx(3.92)
    assert effective_beta(1.0, "sum", "batchmean", 784, 20, 128) == pytest.approx(1 / 128)
    assert effective_beta(2.0, "sum", "sum", 784, 20, 128) == 2.0


# --- every other finding: triggered by a configuration built for it -------------------------


def sigmoid_net(n_in=784):
    return Sequential([Dense(n_in, 32), ReLU(), Dense(32, n_in), Sigmoid()])


def linear_net(n_in=784):
    return Sequential([Dense(n_in, 32), ReLU(), Dense(32, n_in)])


def dead_net():
    model = sigmoid_net()
    model.layers[0].b[...] = -50.0  # every hidden ReLU gets a negative input
    return model


def blob_net(x):
    x_bar = np.clip(x.mean(axis=0), 1e-3, 1 - 1e-3)
    model = Sequential([Dense(784, 784), Sigmoid()])
    model.layers[0].W[...], model.layers[0].b[...] = 0.0, np.log(x_bar / (1 - x_bar))
    return model


def collapsed_vae():
    vae = dense_vae("784-64-8")
    vae.encoder.layers[-1].W[...] = 0.0  # mu and log_var no longer depend on x
    return vae


def diverged_net():
    model = healthy()
    model.params[::7] = np.nan  # what a run that diverged leaves behind
    return model


def huge_net():
    model = healthy()
    model.params *= np.float32(1e20)  # finite, but x @ W overflows float32 in layer 2
    return model


def with_nan_row(x, row=300):
    y = x.copy()
    y[row, 17] = np.nan
    return y


CASES = {  # code: (severity, lambda x: doctor arguments built to trigger it)
    "softmax-per-pixel": ("error", lambda x: (Sequential([Dense(784, 784), Softmax()]), MSE(), x)),
    "bce-target-range": ("error", lambda x: (sigmoid_net(), BCE(), x, 2 * x)),
    "bce-output": ("error", lambda x: (linear_net(), BCE(), x)),
    "output-range": ("error", lambda x: (sigmoid_net(84), MSE(), seed3_data())),
    "raw-pixels": ("warning", lambda x: (linear_net(), MSE(), np.round(255 * x))),
    "double-sigmoid": ("warning", lambda x: (sigmoid_net(), BCEWithLogits(), x)),
    "tiny-spread": ("warning", lambda x: (linear_net(84), MSE(), seed3_data())),
    "learning-rate": ("warning", lambda x: (healthy(), BCE(), x, None, Adam(0.1))),
    "saturated": ("warning", lambda x: (dense_autoencoder("784-64-784", hidden="sigmoid", output="identity"),
                                        MSE(), np.round(255 * x))),
    "dead-relus": ("warning", lambda x: (dead_net(), BCE(), x)),
    "mean-collapse": ("warning", lambda x: (blob_net(x), BCE(), x)),
    "kl-collapse": ("warning", lambda x: (collapsed_vae(), BCE(reduction="batchmean"), x)),
    "shape-mismatch": ("error", lambda x: (healthy(), BCE(), x[:, :100])),
    "non-finite-data": ("error", lambda x: (healthy(), MSE(), x, with_nan_row(x))),
    "non-finite-weights": ("error", lambda x: (diverged_net(), BCE(), x, None, Adam(1e-3))),
    "overflow": ("error", lambda x: (huge_net(), BCE(), x)),
}


@pytest.mark.parametrize("code", CASES)
def test_each_finding_fires_on_the_configuration_built_for_it(code, x):
    severity, build = CASES[code]
    findings = doctor(*build(x))
    assert code in codes(findings, severity), format_findings(findings)
    finding = next(f for f in findings if f.code == code)
    assert finding.message and finding.fix and "\n" not in finding.message + finding.fix


def test_every_documented_code_is_exercised():
    documented = {value for name, value in vars(doctor_module).items()
                  if name.isupper() and isinstance(value, str) and "-" in value}
    exercised = set(CASES) | {"kl-balance", "bce-floor", "vanishing-gradients"}  # + the seed tests
    assert documented <= exercised
    for code in exercised:
        assert f"``{code}``" in doctor_module.__doc__


def test_nan_weights_are_reported_as_such_not_as_a_learning_rate_problem(x):
    findings = doctor(diverged_net(), BCE(), x, optimizer=Adam(1e-3))
    (finding,) = [f for f in findings if f.severity != "note"]  # nothing measured on NaN weights
    assert finding.code == "non-finite-weights"
    assert f"NaN or inf in {len(range(0, healthy().n_params, 7)):,} of its" in finding.message
    assert "tinyae.load" in finding.fix and "learning rate" not in finding.fix


def test_overflowing_weights_are_one_finding_not_a_list_of_measurements(x):
    findings = [f for f in doctor(huge_net(), BCE(), x) if f.severity != "note"]
    assert [f.code for f in findings] == ["overflow"]
    assert "max |W| = " in findings[0].message and "float32" in findings[0].message


@pytest.mark.parametrize("where", ["x", "y"])
def test_non_finite_data_names_its_rows_and_nothing_else_is_measured(where, x):
    bad = with_nan_row(x, row=300)
    bad[411, 3] = np.inf
    arguments = (bad, None) if where == "x" else (x, bad)
    findings = doctor(healthy(), MSE(), *arguments, optimizer=Adam(10.0))
    assert codes(findings) == {"non-finite-data", "learning-rate"}  # lr needs no data values
    (finding,) = [f for f in findings if f.code == "non-finite-data"]
    assert "2 of its 512 rows (first: 300, 411)" in finding.message
    assert ("targets y" in finding.message) == (where == "y")


def test_relu_output_with_negative_targets_is_out_of_range(x):
    model = Sequential([Dense(784, 32), ReLU(), Dense(32, 784), ReLU()])
    findings = doctor(model, MSE(), x - 0.5)
    assert "output-range" in codes(findings, "error")
    assert "output-range" not in codes(doctor(model, MSE(), x))


@pytest.mark.parametrize("optimizer, bad", [
    (Adam(0.1), True), (Adam(1e-6), True), (SGD(5.0), True), (SGD(1e-5), True),
    (Adam(1e-2), False), (SGD(0.1), False), (SGD(1e-4), False),
])
def test_learning_rate_range(optimizer, bad, x):
    assert ("learning-rate" in codes(doctor(healthy(), BCE(), x, optimizer=optimizer))) == bad


def test_uint8_pixels_are_fine_because_fit_scales_them(x):
    pixels = np.round(x * 255).astype(np.uint8)
    assert not codes(doctor(healthy(), BCE(), pixels, optimizer=Adam(1e-3)), "error")
    assert not codes(doctor(healthy(), BCE(), pixels), "warning")


def test_bce_floor_only_for_grey_targets(x):
    binary = (x > 0.5).astype(np.float32)
    assert "bce-floor" not in codes(doctor(healthy(), BCE(), binary))
    assert "bce-floor" not in codes(doctor(healthy(), MSE(), x))
    (note,) = [f for f in doctor(healthy(), BCE(reduction="batchmean"), x) if f.code == "bce-floor"]
    floor = float(tinyae.binary_entropy(x).sum(axis=1).mean())
    assert f"{floor:.4g}" in note.message


# --- doctor leaves the model alone; bad input; printing --------------------------------------


def test_doctor_leaves_weights_gradients_and_noise_stream_untouched(x):
    vae = dense_vae("784-64-8")
    params, state = vae.params.copy(), vae.rng.bit_generator.state
    doctor(vae, BCE(reduction="batchmean"), x)
    assert np.array_equal(vae.params, params) and not vae.grads.any()
    assert vae.rng.bit_generator.state == state


def test_bad_data_shape_is_explained(x):
    with pytest.raises(ValueError, match=r"shape \(N, D\).*reshape"):
        doctor(healthy(), BCE(), x[0])
    with pytest.raises(ValueError, match="same N"):
        doctor(healthy(), BCE(), x, x[:10])


def test_format_findings_most_serious_first_with_fixes_and_counts():
    findings = [Finding("bce-floor", "note", "a note", "relax"),
                Finding("softmax-per-pixel", "error", "an error", "use a sigmoid")]
    text = format_findings(findings)
    lines = text.splitlines()
    assert lines[0].startswith("error    softmax-per-pixel  an error")
    assert lines[1].strip() == "fix: use a sigmoid" and "a note" in lines[2]
    assert lines[-1] == "1 error(s), 0 warning(s), 1 note(s)"
    assert format_findings([]) == "no problems found"
    with pytest.raises(ValueError, match="severity"):
        Finding("x", "fatal", "m", "f")
