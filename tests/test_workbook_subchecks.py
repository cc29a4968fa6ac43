"""Sub-checks of the dense and activation tasks: partial credit, every mistake named, drawn inputs.

A task's points are split over its sub-checks (dW, db, dx, accumulates, …), each failing
one is named in the same run, the inputs come from the seed (so a hard-coded output
fails), no hint gives away a right value, and the checks work on a student's object that
lives in another process (``Remote``), faked here in this process: ``InProcess``.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import tinyae
from test_workbook import MyDense
from test_workbook_mistakes import MISTAKES, VARIANTS, write_edited
from tinyae.layers import sigmoid, softmax
from tinyae.workbook import PARTS, check_task, load_workbook, render, write_workbook
from tinyae.workbook.remote import Remote, decode, encode, mirror

MY_TASKS = ["1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5"]
TASK_CLASS = {"1.1": "Dense", "1.2": "Dense", "2.1": "Sigmoid", "2.2": "ReLU", "2.3": "Tanh",
              "2.4": "Softmax", "2.5": "Softmax"}


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    """The answer key's namespace: the right classes, as a student's workbook defines them."""
    folder = tmp_path_factory.mktemp("key")
    write_workbook(folder, solved=True)
    return load_workbook(folder)


Dense = MyDense  # a right Dense, written as a student would write it in a notebook


def rows(result):
    """``{sub-check: passed}`` of a result."""
    return {row["name"]: row["passed"] for row in result.checks}


# --- partial credit, and every mistake named at once ----------------------------------------

def test_a_wrong_db_alone_earns_every_other_share():
    class DbAveraged(Dense):
        def backward(self, dout):
            self.dW += self.x.T @ dout
            self.db += dout.mean(axis=0)
            return dout @ self.W.T

    result = check_task("1.2", DbAveraged)
    assert not result.passed and result.points == 3.5 and result.max_points == 4
    assert [name for name, passed in rows(result).items() if not passed] == ["db"]
    assert result.hint.startswith("db: db is exactly 1/N") and "dW:" not in result.hint
    assert sum(row["max_points"] for row in result.checks) == 4


def test_every_mistake_is_named_in_one_run():
    class BothAveraged(Dense):
        def backward(self, dout):
            self.dW += self.x.T @ dout / len(dout)
            self.db += dout.mean(axis=0)
            return dout @ self.W.T

    result = check_task("1.2", BothAveraged)
    assert result.points == 2.5  # dx and the contract: 1 + 3 × 0.5
    assert {name for name, passed in rows(result).items() if not passed} == {"dW", "db"}
    paragraphs = result.hint.split("\n\n")
    assert [p.split(":")[0] for p in paragraphs] == ["dW", "db"]
    assert all("averaged over the batch" in p for p in paragraphs)


def test_a_step_inside_backward_is_named_with_the_dx_it_spoils():
    class Stepping(Dense):
        def backward(self, dout):
            self.dW += self.x.T @ dout
            self.db += dout.sum(axis=0)
            self.W -= 0.1 * self.dW
            return dout @ self.W.T

    result = check_task("1.2", Stepping)
    assert {name for name, passed in rows(result).items() if not passed} == {
        "dx", "parameters left alone"}
    assert "dx: dx was computed with the W that backward had just changed" in result.hint
    assert "parameters left alone: Stepping.backward changed W" in result.hint


def test_an_inverted_relu_mask_is_not_taken_for_another_layers_mask():
    class Inverted(tinyae.Layer):
        def forward(self, x):
            self.mask = x < 0
            return np.maximum(x, 0)

        def backward(self, dout):
            return dout * self.mask

    result = check_task("2.2", Inverted)
    assert {name for name, passed in rows(result).items() if not passed} == {"dx"}
    assert "mask is inverted" in result.hint and "another ReLU" not in result.hint


def test_an_activation_names_its_overflow_and_its_derivative_together():
    class Sigmoid(tinyae.Layer):
        def forward(self, x):
            self.p = np.exp(x) / (1 + np.exp(x))  # overflows at x = 1000
            return self.p

        def backward(self, dout):
            return dout * self.p  # the factor (1 − p) is missing

    result = check_task("2.1", Sigmoid)
    assert {name for name, passed in rows(result).items() if not passed} == {"extreme inputs", "dx"}
    assert "extreme inputs: " in result.hint and "overflow" in result.hint
    assert "dx: " in result.hint and "(1 − p) is missing" in result.hint
    assert result.points == 1.0  # forward values 0.5 + input left alone 0.25 + dout 0.25


def test_a_backward_not_written_yet_keeps_the_forward_points():
    class Tanh(tinyae.Layer):
        def forward(self, x):
            self.out = np.tanh(x)
            return self.out

        def backward(self, dout):
            raise NotImplementedError("Exercise 2.3: Tanh.backward is not written yet")

    result = check_task("2.3", Tanh)
    assert result.points == 1.0 and not result.passed
    # One error, told once, for both sub-checks it stopped.
    assert result.hint.startswith("dx, dout left alone: Tanh.backward is not written yet")
    assert result.hint.count("not written yet") == 1


def test_a_crash_on_the_rectangular_w_alone_fails_what_it_leaves_unchecked():
    class SquareOnly(Dense):
        def backward(self, dout):
            self.dW += self.x.T @ dout
            self.db += dout.sum(axis=0)
            return (dout @ self.W.T).reshape(-1, self.W.shape[1])  # n_out where n_in belongs

    result = check_task("1.2", SquareOnly)
    assert result.points == 0 and "not checked on a rectangular W" in result.hint


# --- the inputs come from the seed -------------------------------------------------------

def spy(cls, calls):
    """``cls`` recording every array its forward and backward are given, in ``calls``."""
    class Spy(cls):
        def forward(self, x):
            calls.append(("forward", x.copy()))
            return super().forward(x)

        def backward(self, dout):
            calls.append(("backward", dout.copy()))
            return super().backward(dout)

    Spy.__name__ = Spy.__qualname__ = cls.__name__
    return Spy


def same_calls(a, b):
    """True if the two recordings are the same calls with the same arrays."""
    return len(a) == len(b) and all(m == n and x.shape == y.shape and np.array_equal(x, y)
                                    for (m, x), (n, y) in zip(a, b))


@pytest.mark.parametrize("task_id", MY_TASKS)
def test_the_same_seed_draws_the_same_inputs_and_another_seed_others(key, task_id):
    runs = {}
    for label, seed in (("first", 7), ("again", 7), ("other", 8)):
        runs[label] = []
        assert check_task(task_id, spy(key[TASK_CLASS[task_id]], runs[label]), seed=seed).passed
    assert runs["first"] and same_calls(runs["first"], runs["again"])
    assert not same_calls(runs["first"], runs["other"])


@pytest.mark.parametrize("task_id", ["1.1", "2.1", "2.4"])
def test_a_hard_coded_output_fails_under_another_seed(key, task_id):
    """A forward that returns the outputs the check wanted under seed 0, in the same order."""
    cls, outputs = key[TASK_CLASS[task_id]], []

    class Recorder(cls):
        def forward(self, x):
            outputs.append(super().forward(x).copy())
            return outputs[-1]

    assert check_task(task_id, Recorder, seed=0).passed
    answers = list(outputs)

    class HardCoded(cls):
        calls = 0

        def forward(self, x):
            super().forward(x)  # the cache backward needs, for the x given
            HardCoded.calls += 1
            return answers[(HardCoded.calls - 1) % len(answers)].copy()

    HardCoded.__name__ = cls.__name__
    assert check_task(task_id, HardCoded, seed=0).passed  # the same calls: the same answers
    HardCoded.calls = 0
    result = check_task(task_id, HardCoded, seed=1)
    assert not result.passed and result.points < result.max_points
    assert "forward values" in result.hint or "values on a square W" in result.hint


# --- no hint gives away a right value ------------------------------------------------------

def numbers(text):
    """The numbers in ``text`` written with 4 or more significant digits (not 1.5e-01, not 7)."""
    found = re.findall(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?", text)
    return [float(n) for n in found if len(re.sub(r"e.*|[^\d]", "", n).lstrip("0")) >= 4]


def gives_away(hint, right_values):
    """The numbers of ``hint`` that are one of ``right_values`` (to 6 digits)."""
    values = np.concatenate([np.ravel(v) for v in right_values])
    values = values[np.abs(values) > 1e-3]
    return [n for n in numbers(hint) if np.isclose(values, n, rtol=1e-5, atol=0).any()]


class TwiceTheBias(Dense):  # out = x @ W + 2b: a generic hint ("the same in every row")
    seen: list = []

    def forward(self, x):
        self.seen.append(x @ self.W + self.b)
        self.x = x
        return x @ self.W + 2 * self.b


class DxPlusBias(Dense):  # dx = dout @ Wᵀ + b on the square W: a generic hint
    seen: list = []

    def backward(self, dout):
        right = (self.x.T @ dout, dout.sum(axis=0), dout @ self.W.T)
        self.seen.extend(right)
        self.dW += right[0]
        self.db += right[1]
        return right[2] + (self.b if self.W.shape[0] == self.W.shape[1] else 0)


class Leaky(tinyae.Layer):  # a leaky ReLU: "right except where the input x < 0"
    seen: list = []

    def forward(self, x):
        self.seen.append(np.maximum(x, 0))
        self.mask = x > 0
        return np.maximum(x, 0.01 * x)

    def backward(self, dout):
        self.seen.append(dout * self.mask)
        return dout * self.mask + self.mask  # wrong where x > 0


class HalfSigmoid(tinyae.Layer):  # σ(x) right for x ≥ 0 only; σ′ written with (1 + p)
    seen: list = []

    def forward(self, x):
        self.seen.append(sigmoid(x))
        self.p = np.where(x >= 0, sigmoid(x), 0.5)
        return self.p

    def backward(self, dout):
        p = sigmoid(np.log(self.p / (1 - self.p)))
        self.seen.append(dout * p * (1 - p))
        return dout * self.p * (1 + self.p)


class ScaledSoftmax(tinyae.Layer):  # 1.5 · softmax − 0.5 / D: rows still sum to 1
    seen: list = []

    def forward(self, x):
        self.out = softmax(x)
        self.seen.append(self.out)
        return 1.5 * self.out - 0.5 / x.shape[1]

    def backward(self, dout):
        dot = (dout * self.out).sum(axis=1, keepdims=True)
        self.seen.append(self.out * (dout - dot))
        return self.out * (dout - dot) + self.out**2


@pytest.mark.parametrize("task_id, cls", [("1.1", TwiceTheBias), ("1.2", DxPlusBias),
                                          ("2.2", Leaky), ("2.1", HalfSigmoid),
                                          ("2.4", ScaledSoftmax), ("2.5", ScaledSoftmax)])
def test_no_hint_gives_away_a_right_value(task_id, cls):
    cls.seen.clear()
    result = check_task(task_id, cls, seed=3)
    assert not result.passed and "where it is furthest off" in result.hint, result.hint
    assert cls.seen and not gives_away(result.hint, cls.seen), result.hint


# --- the student's objects in another process ------------------------------------------------

class InProcess:
    """A stand-in for ``remote.Connection`` whose "child" is this process.

    Every request crosses as the pipe's data would (``remote.encode``, JSON, ``decode``):
    an array read from an object is a copy, an object that is not data comes back as a
    ``Remote``, and an array argument changed in place is copied back (``mirror``).  The
    student's exceptions are raised as they are (the real child describes them).
    """

    def __init__(self):
        self.objects = {}

    def remote(self, obj):
        """A ``Remote`` for ``obj``."""
        self.objects[id(obj)] = obj
        return Remote(self, id(obj), type(obj).__name__, isinstance(obj, type), callable(obj))

    def request(self, op, handle, **fields):
        wire = json.loads(json.dumps({key: encode(value) for key, value in fields.items()}))
        given = {key: decode(value, lambda h: self.objects[h["$h"]]) for key, value in wire.items()}
        obj, value, after = self.objects[handle], None, {}
        if op == "getattr":
            value = getattr(obj, given["name"])
        elif op == "setattr":
            setattr(obj, given["name"], given["value"])
        elif op == "assign":
            getattr(obj, given["name"])[...] = given["value"]
        elif op == "fill":
            getattr(obj, given["name"]).fill(given["value"])
        elif op == "call":
            args = given["args"]
            value = obj(*args, **given["kwargs"])
            after = {f"args.{i}": a for i, a in enumerate(args)
                     if isinstance(a, np.ndarray) and not np.array_equal(a, fields["args"][i])}
        else:
            raise ValueError(op)
        for where, array in after.items():
            mirror(fields, where, array)
        return decode(json.loads(json.dumps(encode(value, self.handle))), self.find)

    def handle(self, obj):
        """The description of ``obj`` on the wire, as the child gives it."""
        self.objects[id(obj)] = obj
        return {"$h": id(obj), "type": type(obj).__name__, "class": isinstance(obj, type),
                "callable": callable(obj)}

    def find(self, description):
        """The ``Remote`` for a handle on the wire."""
        return self.remote(self.objects[description["$h"]])


def test_the_stand_in_reads_copies_and_mirrors_arguments():
    layer = InProcess().remote(tinyae.ReLU)()
    assert isinstance(layer, Remote)
    x = np.array([[1.0, -2.0]])
    layer.forward(x)
    layer.mask[...] = False  # a copy: the layer's own mask is untouched
    assert layer.mask.tolist() == [[True, False]]
    relu = InProcess().remote(type("InPlace", (), {"forward": lambda self, x: np.maximum(x, 0, out=x)}))()
    relu.forward(x)
    assert x.tolist() == [[1.0, 0.0]]  # changed in the "child", mirrored here


@pytest.fixture(scope="module")
def answer_key():
    return render(PARTS, solved=True)


PROXIED = ([pytest.param(*row.values, id=row.id) for row in MISTAKES if row.values[0] in MY_TASKS]
           + [pytest.param(*row.values, None, id=row.id) for row in VARIANTS
              if row.values[0] in MY_TASKS])


@pytest.mark.parametrize("task_id, edits, words", PROXIED)
def test_a_remote_object_gets_the_result_of_a_local_one(answer_key, tmp_path, task_id, edits, words):
    namespace = load_workbook(write_edited(answer_key, edits, tmp_path))
    local = check_task(task_id, namespace=namespace)
    remote = check_task(task_id, InProcess().remote(namespace[TASK_CLASS[task_id]]))
    assert (remote.passed, remote.points, remote.hint) == (local.passed, local.points, local.hint)
    assert remote.passed == (words is None)


@pytest.mark.parametrize("task_id", MY_TASKS)
def test_the_answer_key_passes_as_a_remote_object(key, task_id):
    result = check_task(task_id, InProcess().remote(key[TASK_CLASS[task_id]]), seed=11)
    assert result.passed and result.points == result.max_points, result.hint
