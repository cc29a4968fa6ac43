"""A catalogue of bad inputs: what a user tries, the error it must raise, the words it must say.

Each row is one mistake.  The error must be of the named type (a user can catch it) and
its message must contain every listed word — usually the offending value, the valid
range and the fix — so a learner reads what was wrong instead of a traceback from deep
inside NumPy, or worse, trains on silently wrong numbers.  Warnings count as failures:
a refusal comes before NumPy has a chance to divide by zero.

To add a case, add one ``Case(what, attempt, error, words)`` row to ``CASES``; the
attempt runs in a fresh temporary folder, so it may write files under relative paths.
"""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinyae import (
    BCE,
    MSE,
    SGD,
    Adam,
    BCEWithLogits,
    Dense,
    ModelFileError,
    Monitor,
    Sequential,
    ShapeError,
    Sigmoid,
    check_layer,
    dense_autoencoder,
    doctor,
    get_optimizer,
    load,
    save,
)
from tinyae.datasets import DataError, parse_idx, read_idx
from tinyae.diagnostics import (
    collapse_ratio,
    effective_beta,
    kl_per_dimension,
    measure,
    relative_error,
)
from tinyae.experiments import run_experiment
from tinyae.init import glorot, he, identity
from tinyae.scaling import StandardScaler
from tinyae.schedules import KLAnnealing
from tinyae.text import format_table


@dataclass(frozen=True)
class Case:
    """One mistake: ``attempt()`` must raise ``error`` with every one of ``words`` in its message.

    ``what`` says what the user tried, in ASCII: it is the test's id (pytest escapes the rest).
    """

    what: str
    attempt: Callable[[], Any]
    error: type[BaseException]
    words: tuple[str, ...]


# --- small builders for the attempts ---------------------------------------------------------

RNG = np.random.default_rng(0)
P, Y = RNG.uniform(0.1, 0.9, (4, 3)), RNG.uniform(0, 1, (4, 3))
EMPTY = np.zeros((0, 3))


def with_value(a: np.ndarray, value: float, at: tuple[int, int] = (2, 1)) -> np.ndarray:
    """A copy of ``a`` with one entry replaced (a NaN, an inf, …)."""
    a = a.copy()
    a[at] = value
    return a


def backward_after_refused_forward(loss: Any) -> Any:
    """A good batch, then a refused one: backward must not return the old batch's gradient."""
    loss.forward(P, Y)
    try:
        loss.forward(P, with_value(Y, np.nan))
    except ValueError:
        pass
    return loss.backward()


def step_read_only() -> None:
    theta = np.ones(3)
    theta.flags.writeable = False
    SGD().step(theta, np.ones(3))


def idx_header(code: int, *sizes: int) -> bytes:
    """The header of an IDX file: two zero bytes, the dtype code, ndim, the sizes (big-endian)."""
    return bytes([0, 0, code, len(sizes)]) + np.array(sizes, ">u4").tobytes()


def read_written(data: bytes) -> Any:
    """``read_idx`` of a gzipped file holding ``data`` (in the test's own folder)."""
    path = Path("train-images-idx3-ubyte.gz")
    path.write_bytes(gzip.compress(data))
    return read_idx(path)


def a_file() -> Path:
    """A file where a folder is expected (in the test's own folder)."""
    path = Path("results.txt")
    path.write_text("someone's notes")
    return path


def anneal(schedule: Callable[[int], Any]) -> None:
    """One batch of ``KLAnnealing(schedule)`` on a stand-in for a VAE."""
    class VAE:
        beta = 1.0
    callback, vae = KLAnnealing(schedule), VAE()
    callback.on_train_begin(vae)
    callback.on_batch_begin(vae, 0)


def fitted_scaler(n_features: int = 4) -> StandardScaler:
    return StandardScaler().fit(RNG.normal(size=(10, n_features)))


def small_model() -> Any:
    return dense_autoencoder("3-2-3", hidden="relu", output="sigmoid")


def with_params(model: Any, params: Any) -> None:
    model.params = params


class Scale:
    """A learner's layer out = a·x whose parameter is a Python float, not an array."""

    param_names = ("a",)

    def __init__(self) -> None:
        self.a, self.da = 0.5, 0.0

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.a * x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.a * dout


class Dropout:
    """A right dropout layer: a fresh random mask at every forward."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = (self.rng.uniform(size=x.shape) > 0.5) * 2.0
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.mask


def save_in_a_file() -> Path:
    return save(small_model(), Path(a_file(), "m.npz"))


CASES = [
    # ---- losses ----------------------------------------------------------------------------
    Case("MSE on an empty batch", lambda: MSE().forward(EMPTY, EMPTY),
         ValueError, ("MSE", "empty", "(0, 3)", "0/0")),
    Case("BCE on an empty batch", lambda: BCE().forward(EMPTY, EMPTY),
         ValueError, ("BCE", "empty", "(0, 3)")),
    Case("BCEWithLogits on rows of no features", lambda: BCEWithLogits().forward(EMPTY.T, EMPTY.T),
         ValueError, ("empty", "(3, 0)")),
    Case("MSE.backward before any forward", lambda: MSE().backward(),
         RuntimeError, ("MSE.backward()", "forward(p, y) first")),
    Case("BCE.backward before any forward", lambda: BCE().backward(),
         RuntimeError, ("BCE.backward()", "forward(p, y) first")),
    Case("BCEWithLogits.backward before any forward", lambda: BCEWithLogits().backward(),
         RuntimeError, ("BCEWithLogits.backward()", "forward(p, y) first")),
    Case("backward after a refused forward returns the old batch's gradient",
         lambda: backward_after_refused_forward(MSE()), RuntimeError, ("last successful forward",)),
    Case("BCE(eps=0): log 0 at p = 0 or 1", lambda: BCE(eps=0),
         ValueError, ("BCE(eps=0)", "[1.1e-16, 0.1]", "infinite or NaN", "eps=1e-07")),
    Case("BCE(eps=-0.001)", lambda: BCE(eps=-0.001), ValueError, ("eps=-0.001", "[1.1e-16, 0.1]")),
    Case("BCE(eps=1e-30): 1 - eps rounds to 1", lambda: BCE(eps=1e-30),
         ValueError, ("1 − eps rounds to 1 in float64",)),
    Case("BCE(eps=0.5): an empty clip range, the loss never moves", lambda: BCE(eps=0.5),
         ValueError, ("eps=0.5", "never moves")),
    Case("BCE(eps=0.3): the clip changes ordinary predictions", lambda: BCE(eps=0.3),
         ValueError, ("eps=0.3", "ordinary predictions")),
    Case("BCE(eps=nan)", lambda: BCE(eps=float("nan")), ValueError, ("eps=nan", "NaN")),
    Case("BCE(eps='1e-7'): a string", lambda: BCE(eps="1e-7"),
         TypeError, ("eps must be a number", "'1e-7'")),
    Case("BCE(eps=1e-8) on float32 predictions: 1 - eps rounds to 1 in float32",
         lambda: BCE(eps=1e-8).forward(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32)),
         ValueError, ("eps=1e-08", "float32", "[6e-08, 0.1]")),
    Case("BCE with a NaN target", lambda: BCE().forward(P, with_value(Y, np.nan)),
         ValueError, ("NaN or inf", "1 of its 4 rows (first: 2)", "no learning rate")),
    Case("BCE with an inf target is not raw pixels",
         lambda: BCE().forward(P, with_value(Y, np.inf)),
         ValueError, ("NaN or inf", "1 of its 4 rows")),
    Case("BCEWithLogits with a NaN target",
         lambda: BCEWithLogits().forward(P, with_value(Y, np.nan)),
         ValueError, ("BCEWithLogits", "NaN or inf")),
    Case("MSE with a NaN target", lambda: MSE().forward(P, with_value(Y, np.nan, (3, 0))),
         ValueError, ("MSE", "NaN or inf", "(first: 3)")),
    Case("MSE with an inf target", lambda: MSE().forward(P, with_value(Y, -np.inf)),
         ValueError, ("MSE", "NaN or inf")),
    Case("BCE target above 1 by a rounding error, reported as 'from 0 to 1'",
         lambda: BCE().forward(P, with_value(Y, 1 + 2e-7)),
         ValueError, ("to 1.0000002", "np.clip(y, 0, 1)")),
    Case("BCE on predictions outside [0, 1] names them",
         lambda: BCE().forward(with_value(with_value(P, -0.5), 2.0, (0, 0)), Y),
         ValueError, ("from -0.5 to 2", "Sigmoid")),
    Case("MSE on 1-D arrays: a sample is not a batch", lambda: MSE().forward(P[0], Y[0]),
         ShapeError, ("(N, D)", "(3,)", "p[None, :]")),
    Case("MSE on scalars", lambda: MSE().forward(np.float64(0.5), np.float64(1.0)),
         ShapeError, ("(N, D)", "got shape ()")),
    Case("MSE on complex numbers", lambda: MSE().forward(P + 1j, Y),
         TypeError, ("real numbers", "complex128")),
    Case("MSE on strings", lambda: MSE().forward(np.array([["a"]]), np.array([["b"]])),
         TypeError, ("real numbers", "<U1")),
    # ---- optimizers --------------------------------------------------------------------------
    Case("SGD(lr=1e-300): no weight ever moves", lambda: SGD(lr=1e-300),
         ValueError, ("SGD(lr=1e-300)", "[1.2e-38, 3.4e+38]", "never move")),
    Case("Adam(lr=1e40): inf in float32", lambda: Adam(lr=1e40),
         ValueError, ("Adam(lr=1e+40)", "inf in float32")),
    Case("SGD(lr=True)", lambda: SGD(lr=True), TypeError, ("lr must be a number", "True")),
    Case("SGD(lr='0.1'): a string", lambda: SGD(lr="0.1"),
         TypeError, ("lr must be a number", "'0.1'")),
    Case("Adam(eps=0): 0/0 for a weight that never had a gradient", lambda: Adam(eps=0),
         ValueError, ("Adam(eps=0)", "[1e-30, 1]", "0/0 = NaN", "eps=1e-08")),
    Case("Adam(eps=1e-300): 0 in float32", lambda: Adam(eps=1e-300), ValueError, ("[1e-30, 1]",)),
    Case("Adam(eps=inf): the weights never move", lambda: Adam(eps=float("inf")),
         ValueError, ("never move",)),
    Case("Adam(eps=1e10): the weights never move", lambda: Adam(eps=1e10),
         ValueError, ("eps=1e+10", "never move")),
    Case("Adam(eps='1e-8')", lambda: Adam(eps="1e-8"), TypeError, ("eps must be a number",)),
    Case("Adam(beta1=None)", lambda: Adam(beta1=None), TypeError, ("beta1 must be a number",)),
    Case("SGD(momentum='0.9')", lambda: SGD(momentum="0.9"),
         TypeError, ("momentum must be a number",)),
    Case("SGD(nesterov='yes')", lambda: SGD(momentum=0.9, nesterov="yes"),
         TypeError, ("nesterov must be True or False",)),
    Case("SGD.step on Python lists", lambda: SGD().step([1.0], [0.5]),
         TypeError, ("params must be a float NumPy array", "list")),
    Case("SGD.step on integer parameters", lambda: SGD().step(np.ones(3, int), np.ones(3)),
         TypeError, ("int64", "fractional step")),
    Case("SGD.step on read-only parameters", step_read_only,
         ValueError, ("read-only", "model.params")),
    Case("get_optimizer('sgd', beta1=0.9): a setting SGD does not have",
         lambda: get_optimizer("sgd", 0.1, beta1=0.9),
         TypeError, ("SGD has no setting beta1", "momentum")),
    # ---- IDX files ---------------------------------------------------------------------------
    Case("IDX header whose sizes overflow int64",
         lambda: parse_idx(idx_header(0x08, *[2**32 - 1] * 4) + bytes(10), "f.idx"),
         DataError, ("f.idx", "header is damaged", "4294967295")),
    Case("IDX header whose byte count wraps to 0 in int64",
         lambda: parse_idx(idx_header(0x08, 2**31, 2**31, 4), "f.idx"),
         DataError, ("f.idx", "header is damaged")),
    Case("IDX header of 0 dimensions", lambda: parse_idx(bytes([0, 0, 8, 0, 7]), "f.idx"),
         DataError, ("f.idx", "0 dimensions", "1 to 255")),
    Case("parse_idx given a str, not bytes", lambda: parse_idx("\0\0\x08\x01abcd"),
         TypeError, ("bytes", "read_idx(path)")),
    Case("gzipped IDX file whose header overflows",
         lambda: read_written(idx_header(0x0D, 2**32 - 1, 2**32 - 1) + bytes(8)),
         DataError, ("train-images-idx3-ubyte.gz", "header is damaged")),
    # ---- initialisers ------------------------------------------------------------------------
    Case("he((0, 5)): a layer with no inputs", lambda: he((0, 5), RNG),
         ValueError, ("(0, 5)", "at least 1 input")),
    Case("glorot((0, 0))", lambda: glorot((0, 0), RNG), ValueError, ("(0, 0)",)),
    Case("glorot((2.5, 5)): half a unit", lambda: glorot((2.5, 5), RNG),
         TypeError, ("whole numbers", "(2.5, 5)")),
    Case("glorot with a seed, not a Generator", lambda: glorot((2, 5), 0),
         TypeError, ("np.random.Generator", "default_rng(seed)")),
    Case("identity((2, 5, 3)): not the shape of W", lambda: identity((2, 5, 3), RNG),
         ValueError, ("(n_in, n_out)", "(2, 5, 3)")),
    # ---- StandardScaler ----------------------------------------------------------------------
    Case("StandardScaler.fit on data with a NaN",
         lambda: StandardScaler().fit(with_value(Y, np.nan)),
         ValueError, ("NaN or inf", "1 of its 4 rows (first: 2)")),
    Case("StandardScaler.fit on data with an inf (its std would become 1)",
         lambda: StandardScaler().fit(with_value(Y, np.inf)), ValueError, ("NaN or inf",)),
    Case("StandardScaler.fit on data whose spread overflows",
         lambda: StandardScaler().fit(np.array([[1e300], [-1e300]])),
         ValueError, ("overflows", "1e+300")),
    Case("StandardScaler.transform of one column, broadcast to four",
         lambda: fitted_scaler(4).transform(np.ones((5, 1))), ShapeError, ("4 features", "(5, 1)")),
    Case("StandardScaler.transform of the wrong width",
         lambda: fitted_scaler(4).transform(np.ones((5, 3))),
         ShapeError, ("4 features", "(5, 3)")),
    Case("StandardScaler.inverse_transform of one column",
         lambda: fitted_scaler(4).inverse_transform(np.ones((5, 1))),
         ShapeError, ("inverse_transform",)),
    Case("StandardScaler.fit on strings", lambda: StandardScaler().fit(np.array([["a"], ["b"]])),
         TypeError, ("numbers", "<U1")),
    # ---- KL schedules ------------------------------------------------------------------------
    Case("a KL schedule returning NaN", lambda: anneal(lambda t: float("nan")),
         ValueError, ("returned nan at t = 0", "finite number >= 0")),
    Case("a KL schedule returning a negative weight", lambda: anneal(lambda t: -0.5),
         ValueError, ("returned -0.5",)),
    Case("a KL schedule returning None", lambda: anneal(lambda t: None),
         TypeError, ("returned None", "one number")),
    Case("a KL schedule returning an array", lambda: anneal(lambda t: np.array([0.1, 0.2])),
         TypeError, ("one number",)),
    Case("a KL schedule that takes no step", lambda: KLAnnealing(lambda: 1.0),
         TypeError, ("step t", "lambda t:")),
    # ---- text tables -------------------------------------------------------------------------
    Case("format_table with numbers as rows", lambda: format_table([1, 2], header=["a"]),
         TypeError, ("row 0 is 1", "list or a dict")),
    # ---- diagnostics -------------------------------------------------------------------------
    Case("doctor with a loss given by name", lambda: doctor(small_model(), "bce", Y),
         TypeError, ("'bce'", "get_loss('bce')")),
    Case("doctor with an optimizer given by name (its check was skipped)",
         lambda: doctor(small_model(), BCE(), Y, optimizer="adam"),
         TypeError, ("'adam'", "get_optimizer")),
    Case("doctor with batch_size=0", lambda: doctor(small_model(), BCE(), Y, batch_size=0),
         ValueError, ("batch_size", "got 0")),
    Case("doctor on strings", lambda: doctor(small_model(), BCE(), np.array([["a"] * 3])),
         TypeError, ("numbers", "<U1")),
    Case("Monitor probing a batch with a NaN", lambda: Monitor(with_value(Y, np.nan)),
         ValueError, ("x_probe", "NaN or inf", "(first: 2)")),
    Case("measure with NaN targets",
         lambda: measure(small_model(), Y, with_value(Y, np.nan), MSE()),
         ValueError, ("NaN or inf",)),
    Case("effective_beta with an unknown reduction",
         lambda: effective_beta(1.0, "avg", "batchmean", 784, 20, 128),
         ValueError, ("unknown reconstruction reduction 'avg'", "batchmean")),
    Case("collapse_ratio of (N, D) against (N, 1): broadcast", lambda: collapse_ratio(P, Y[:, :1]),
         ShapeError, ("collapse_ratio", "(4, 3)", "(4, 1)")),
    Case("collapse_ratio with a mean image of the wrong width",
         lambda: collapse_ratio(P, Y, Y.mean(axis=0)[:2]), ShapeError, ("y_mean", "(2,)")),
    Case("relative_error of (N, D) against (D,): broadcast", lambda: relative_error(P, Y[0]),
         ShapeError, ("relative_error", "(3,)")),
    Case("kl_per_dimension with log_var of another shape",
         lambda: kl_per_dimension(P, P[:, :1]), ShapeError, ("mu (4, 3)", "log_var (4, 1)")),
    # ---- experiments -------------------------------------------------------------------------
    Case("an experiment whose output folder is a file",
         lambda: run_experiment("bce-curves", out=a_file(), verbose=False),
         NotADirectoryError, ("results.txt is a file, not a folder", "--out")),
    Case("an experiment with a negative seed",
         lambda: run_experiment("identity", seed=-1, verbose=False),
         ValueError, ("seed", "got -1")),
    Case("an experiment with a fractional seed", lambda: run_experiment("bce-curves", seed=0.5),
         TypeError, ("whole number", "0.5")),
    # ---- layers and models (issue 23) ---------------------------------------------------------
    Case("Dense.forward on a ragged list", lambda: Dense(3, 2).forward([[1.0, 2.0, 3.0], [1.0]]),
         TypeError, ("Dense(n_in=3", "every row has the same length")),
    Case("Sigmoid on complex numbers", lambda: Sigmoid().forward([[1 + 2j, -3 + 0.5j]]),
         TypeError, ("Sigmoid()", "complex128", "real", "x.real")),
    Case("Dense on int8 pixels", lambda: Dense(2, 2).forward(np.ones((1, 2), np.int8)),
         TypeError, ("int8", "only uint8", "astype(np.float32) / 255")),
    Case("MSE on int8 pairs (100 - (-100) wraps)",
         lambda: MSE().forward(np.full((1, 1), 100, np.int8), np.full((1, 1), -100, np.int8)),
         TypeError, ("MSE: prediction p", "int8", "only uint8")),
    Case("Dense(rng=-1)", lambda: Dense(3, 2, rng=-1), ValueError, ("Dense: rng", "-1", "rng=1")),
    Case("Dense(rng=1.5)", lambda: Dense(3, 2, rng=1.5),
         TypeError, ("Dense: rng", "1.5", "np.random.Generator")),
    Case("Sequential(seed=-1)", lambda: Sequential([Dense(3, 2)], seed=-1),
         ValueError, ("Sequential: seed", "-1")),
    Case("Sequential(seed=1.5)", lambda: Sequential([Dense(3, 2)], seed=1.5),
         TypeError, ("Sequential: seed", "1.5", "whole number")),
    Case("Sequential with a loss as its last layer",
         lambda: Sequential([Dense(4, 4), Sigmoid(), MSE()]),
         TypeError, ("layer 2", "MSE", "a loss, not a layer", "fit(model, x, loss=MSE()")),
    Case("forward with 1e39 in row 3 of float64 x (a float32 model)",
         lambda: Sequential([Dense(3, 2)]).forward(with_value(np.zeros((5, 3)), 1e39, (3, 0))),
         ValueError, ("too large for float32", "(first: [3])", "1e+39", "dtype=np.float64")),
    Case("model.params given a vector of another length",
         lambda: with_params(Sequential([Dense(3, 2)]), np.zeros(3)),
         ShapeError, ("Sequential.params", "(8,)", "(3,)")),
    Case("a Dense layer too large for memory", lambda: Dense(10**7, 10**7),
         MemoryError, ("Dense(10000000, 10000000)", "GB", "fewer or narrower")),
    # ---- gradient checks ----------------------------------------------------------------------
    Case("check_layer on a parameter that is a Python float",
         lambda: check_layer(Scale(), np.ones((2, 3))),
         TypeError, ("Scale.a", "float", "np.array([0.5])")),
    Case("check_layer on a random forward (dropout)",
         lambda: check_layer(Dropout(), np.ones((2, 3))),
         ValueError, ("Dropout.forward", "random between calls", "finite differences")),
    # ---- model files --------------------------------------------------------------------------
    Case("load('model') when neither model nor model.npz exists", lambda: load("model"),
         ModelFileError, ("model", "model.npz", "save adds .npz")),
    Case("save inside a file (notes.txt/m.npz)", save_in_a_file,
         NotADirectoryError, ("results.txt is a file, not a folder", "m.npz")),
]

@pytest.mark.parametrize("case", CASES, ids=[case.what for case in CASES])
def test_bad_input_gets_a_clear_error(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # attempts write their files here (and so would a stray run)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy RuntimeWarning means the check came too late
        with pytest.raises(case.error) as info:
            case.attempt()
    message = str(info.value)
    missing = [word for word in case.words if word not in message]
    assert not missing, f"the message lacks {missing}: {message}"


def test_the_catalogue_has_distinct_readable_rows():
    assert len({case.what for case in CASES}) == len(CASES)
    assert all(case.what.isascii() and case.words for case in CASES)
