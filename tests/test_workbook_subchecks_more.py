"""Sub-checks of the losses, optimizers and VAE tasks (3.x–5.x): partial credit, every mistake
named in one run, inputs drawn from the seed, and the same verdicts through the grader's wire.

Mistakes are written into a copy of the answer key, as in ``test_workbook_mistakes.py``.
"""

from __future__ import annotations

import copy
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test_workbook_mistakes import write_edited
from tinyae.workbook import PARTS, check_task, get_task, load_workbook, render
from tinyae.workbook.remote import Connection, receive
from tinyae.workbook.server import serve

MY_TASKS = ["3.1", "3.2", "3.3", "4.1", "4.2", "5.1", "5.2"]

BCE_DP = "(self.p - self.y) / (self.p * (1 - self.p)) / self.p.size"
SGD_VELOCITY = "self.v = self.momentum * self.v + grads"
ADAM_ROOT = "np.sqrt(v_hat) + self.eps"
NO_BIAS_CORRECTION = [("m_hat = self.m / (1 - self.beta1**self.t)", "m_hat = self.m"),
                      ("v_hat = self.v / (1 - self.beta2**self.t)", "v_hat = self.v")]
# Adam keeps the lr it was made with: right until a schedule changes lr.
ADAM_KEEPS_LR = [("self.beta1, self.beta2, self.eps = beta1, beta2, eps",
                  "self.beta1, self.beta2, self.eps, self.lr0 = beta1, beta2, eps, lr"),
                 ("params -= self.lr * m_hat", "params -= self.lr0 * m_hat")]
KL_DMU = "return self.mu / N,"


@pytest.fixture(scope="module")
def answer_key():
    return render(PARTS, solved=True)


@pytest.fixture(scope="module")
def solved(answer_key, tmp_path_factory):
    folder = tmp_path_factory.mktemp("solved")
    (folder / "workbook.py").write_text(answer_key, encoding="utf-8")
    return load_workbook(folder)


def check_edited(answer_key, folder, task_id, edits, seed=0):
    return check_task(task_id, namespace=load_workbook(write_edited(answer_key, edits, folder)),
                      seed=seed)


def failing(result) -> set[str]:
    return {row["name"] for row in result.checks if not row["passed"]}


# (task, edits, the sub-checks that fail, words of the hint)
PARTIAL = [
    pytest.param("3.2", [(BCE_DP, BCE_DP.removesuffix(" / self.p.size"))], {"dp"},
                 ["dp: ", "N·D"], id="BCE backward without 1/(N·D): L earned, dp named"),
    pytest.param("3.1", [("np.mean((p - y) ** 2)", "np.sum((p - y) ** 2)")], {"L value"},
                 ["L value: ", "N·D"], id="MSE summed: dp earned"),
    pytest.param("3.3", [("return (p - self.y) / self.z.size", "return (p + self.y) / self.z.size")],
                 {"dz"}, ["dz: ", "σ(z) + y"], id="BCE on logits with + y: L and ±1000 earned"),
    pytest.param("4.1", [(SGD_VELOCITY, "self.v = self.momentum * self.v - self.lr * grads"),
                         ("params -= self.lr * self.v", "params += self.v")],
                 {"lr changed between steps"}, ["lr is folded into the velocity"],
                 id="SGD with lr in the velocity: right until lr changes"),
    pytest.param("4.1", [(SGD_VELOCITY, "v = self.momentum * self.v + grads"),
                         ("params -= self.lr * self.v", "params -= self.lr * v")],
                 {"momentum"}, ["momentum: ", "ignored the momentum"],
                 id="SGD without its velocity: plain SGD earned"),
    pytest.param("4.2", NO_BIAS_CORRECTION, {"first step", "bias correction", "later steps", "ε"},
                 ["first step, bias correction", "without bias correction"],
                 id="Adam without bias correction: the lr share earned"),
    pytest.param("4.2", [(ADAM_ROOT, "np.sqrt(v_hat + self.eps)")], {"ε"},
                 ["ε: ", "inside the square root"], id="Adam with ε inside the root: only ε lost"),
    pytest.param("4.2", [("self.m = self.beta1", "m = self.beta1"),
                         ("self.v = self.beta2", "v = self.beta2"),
                         ("self.m / (1 - self.beta1", "m / (1 - self.beta1"),
                         ("self.v / (1 - self.beta2", "v / (1 - self.beta2")],
                 {"bias correction", "later steps"}, ["later steps: ", "not kept"],
                 id="Adam's state not kept: the first step earned"),
    pytest.param("4.2", ADAM_KEEPS_LR, {"lr changed between steps"},
                 ["lr changed between steps: ", "stayed as large as before"],
                 id="Adam keeping its first lr: only the lr change lost"),
    pytest.param("5.1", [("return dz, dz * self.eps * 0.5 * self.std",
                          "return dz, dz * self.eps * self.std")], {"dlog_var"},
                 ["dlog_var: ", "½ is missing"], id="dlog_var without the ½: z and dmu earned"),
    pytest.param("5.1", [("np.exp(0.5 * log_var), eps", "np.exp(log_var), eps")], {"z"},
                 ["z: ", "variance"], id="z with the variance: backward checked on its own"),
    pytest.param("5.2", [("np.exp(log_var)) / len(mu))", "np.exp(log_var)))")], {"KL value"},
                 ["KL value: ", "division by N"], id="KL not averaged: its gradients earned"),
]


@pytest.mark.parametrize("task_id, edits, wrong, words", PARTIAL)
def test_a_mistake_costs_only_the_sub_checks_it_breaks(answer_key, tmp_path, task_id, edits,
                                                      wrong, words):
    result = check_edited(answer_key, tmp_path, task_id, edits)
    assert failing(result) == wrong, result.hint
    weights = dict(get_task(task_id).subchecks)
    earned = sum(w for name, w in weights.items() if name not in wrong) / sum(weights.values())
    assert result.points == pytest.approx(result.max_points * earned) and result.points > 0
    assert all(row["hint"] == "" for row in result.checks if row["passed"])
    missing = [word for word in words if word not in result.hint]
    assert not missing, f"hint lacks {missing}: {result.hint}"


def test_a_forward_that_is_wrong_leaves_backward_to_be_checked_on_its_own(answer_key, tmp_path):
    result = check_edited(answer_key, tmp_path, "5.1", [("np.exp(0.5 * log_var), eps",
                                                         "np.exp(log_var), eps")])
    assert "self.std, self.eps set by hand" in result.details


# (task, edits, {sub-check: words of its paragraph}): two mistakes, both named in one run
TWO_MISTAKES = [
    pytest.param("3.1", [("np.mean((p - y) ** 2)", "np.sum((p - y) ** 2)"),
                         ("return 2 * (self.p - self.y) / self.p.size",
                          "return (self.p - self.y) / self.p.size")],
                 {"L value": "N·D", "dp": "factor 2 is missing"}, id="MSE: L summed, dp without 2"),
    pytest.param("3.2", [("np.clip(p, self.eps, 1 - self.eps)", "p"),
                         ("float(-np.mean(y * np.log(self.p)", "float(np.mean(y * np.log(self.p)")],
                 {"L value": "minus", "p = 0 and p = 1 (clipping)": "clip"},
                 id="BCE: no minus, no clipping"),
    pytest.param("4.1", [("params -= self.lr * self.v",
                          "params -= self.lr * (grads + self.momentum * self.v) * 2")],
                 {"plain SGD": "2 × the right one", "momentum": "momentum"},
                 id="SGD: a factor 2 and Nesterov"),
    pytest.param("4.2", [(ADAM_ROOT, "np.sqrt(v_hat + self.eps)"), *ADAM_KEEPS_LR],
                 {"ε": "inside the square root", "lr changed between steps": "stayed as large"},
                 id="Adam: ε inside the root, lr kept"),
    pytest.param("5.2", [("float(-0.5 * np.sum(", "float(0.5 * np.sum("),
                         (KL_DMU, "return 2 * self.mu / N,")],
                 {"KL value": "negative", "dmu": "twice"}, id="KL: sign and dmu without ½"),
]


@pytest.mark.parametrize("task_id, edits, named", TWO_MISTAKES)
def test_every_mistake_is_named_in_the_same_run(answer_key, tmp_path, task_id, edits, named):
    result = check_edited(answer_key, tmp_path, task_id, edits)
    assert failing(result) == set(named), result.hint
    paragraphs = {part.split(": ", 1)[0]: part for part in result.hint.split("\n\n")}
    for name, word in named.items():
        assert word in paragraphs[name], result.hint


class Tape:
    """What a class's methods were given and returned, in call order.

    ``inputs`` are the arguments of each call; ``answers`` what it returned (for an
    optimizer's ``step``, θ after the step).
    """

    def __init__(self) -> None:
        self.answers: list[Any] = []
        self.inputs: list[Any] = []

    def recording(self, cls: type) -> type:
        """``cls``, with every input and answer of forward, backward and step taped."""
        def wrap(name):
            def method(obj, *args):
                self.inputs.append(copy.deepcopy(args))
                out = getattr(cls, name)(obj, *args)
                self.answers.append(copy.deepcopy(args[0] if name == "step" else out))
                return out
            return method
        methods = [name for name in ("forward", "backward", "step") if hasattr(cls, name)]
        return type(cls.__name__, (cls,), {name: wrap(name) for name in methods})

    def replaying(self, cls: type) -> type:
        """``cls`` answering every call with the taped answers, in order: a hard-coded answer."""
        answers = iter(copy.deepcopy(self.answers))

        def wrap(name):
            def method(obj, *args):
                if name == "step":
                    args[0][...] = next(answers)
                    return None
                return next(answers)
            return method
        methods = [name for name in ("forward", "backward", "step") if hasattr(cls, name)]
        return type(cls.__name__, (cls,), {name: wrap(name) for name in methods})


def numbers(value: Any) -> list[float]:
    """Every number in taped answers or inputs (floats, arrays, tuples of them)."""
    if isinstance(value, tuple | list):
        return [x for item in value for x in numbers(item)]
    return [float(x) for x in np.ravel(value)]


def taped(solved, task_id: str, seed: int) -> Tape:
    """The tape of the answer key's class for ``task_id`` checked under ``seed``."""
    tape = Tape()
    assert check_task(task_id, tape.recording(solved[get_task(task_id).name]), seed=seed).passed
    return tape


@pytest.mark.parametrize("task_id", MY_TASKS)
def test_answers_hard_coded_for_seed_0_fail_under_seed_1(solved, task_id):
    cls, tape = solved[get_task(task_id).name], taped(solved, task_id, seed=0)
    assert check_task(task_id, tape.replaying(cls), seed=0).passed  # they are seed 0's answers
    result = check_task(task_id, tape.replaying(cls), seed=1)
    assert not result.passed and result.points < result.max_points


@pytest.mark.parametrize("task_id", MY_TASKS)
def test_the_same_seed_draws_the_same_inputs(solved, task_id):
    def inputs(seed):
        return numbers(taped(solved, task_id, seed).inputs)

    assert inputs(7) == inputs(7)
    assert inputs(7) != inputs(8)
    assert check_task(task_id, solved[get_task(task_id).name], seed=7).details == check_task(
        task_id, solved[get_task(task_id).name], seed=7).details


# Mistakes whose hints say what the error looks like (no known mistake names them): the
# places where a hint could be tempted to quote the right value.
UNNAMED = [
    ("3.1", [("np.mean((p - y) ** 2)", "np.mean((p - y) ** 2) + 0.1 * np.mean(p)")]),
    ("3.1", [("2 * (self.p - self.y) / self.p.size",
              "2 * (self.p - self.y) / self.p.size + 0.01 * self.p")]),
    ("3.2", [(BCE_DP, f"{BCE_DP} * (1 + self.p)")]),
    ("3.3", [("return (p - self.y) / self.z.size", "return (p - self.y ** 2) / self.z.size")]),
    ("4.1", [("params -= self.lr * self.v", "params -= self.lr * self.v + 0.01 * grads**2")]),
    ("4.2", [("(1 - self.beta2) * grads**2", "(1 - self.beta2) * grads**2 * 1.5")]),
    ("4.2", [(ADAM_ROOT, "np.sqrt(v_hat) + 1e-3")]),
    ("5.1", [("return mu + self.std * eps", "return mu + self.std * eps + 0.01 * mu**2")]),
    ("5.2", [(KL_DMU, "return self.mu / N + 0.1 * self.mu**2,")]),
    ("5.2", [("np.exp(log_var)) / len(mu))", "np.exp(log_var)) / len(mu) + 0.3)")]),
]


@pytest.mark.parametrize("task_id, edits", UNNAMED)
def test_hints_never_state_the_right_numbers(answer_key, solved, tmp_path, task_id, edits):
    result = check_edited(answer_key, tmp_path, task_id, edits)
    assert not result.passed
    right = np.array([x for answer in taped(solved, task_id, 0).answers for x in numbers(answer)
                      if abs(x) > 1e-9])
    # A number with three or more decimals is a value, not a factor, an lr or a shape.
    stated = [float(m) for m in re.findall(r"[-+]?\d+\.\d{3,}(?:e[-+]?\d+)?", result.hint)]
    quoted = [x for x in stated if np.isclose(np.abs(right), abs(x), rtol=1e-4).any()]
    assert not quoted, result.hint


@contextmanager
def served(folder: Path) -> Iterator[Connection]:
    """The grader's connection to the workbook in ``folder``, served by the child's own loop
    (``server.serve``) in a thread: the wire and its rules, without a second process."""
    child_reads, to_child = os.pipe()
    from_child, child_writes = os.pipe()
    thread = threading.Thread(target=serve,
                              args=(child_reads, child_writes, folder / "workbook.py"))
    thread.start()
    connection = Connection(to_child, from_child, time.monotonic() + 120)
    try:
        assert receive(from_child, connection.deadline) == {"loaded": True}
        yield connection
    finally:
        os.close(to_child)  # the server reads the end of its requests and returns
        thread.join()
        for fd in (child_reads, child_writes, from_child):
            os.close(fd)


THROUGH_THE_WIRE = [
    *(pytest.param(task_id, [], id=f"{task_id} answer key") for task_id in MY_TASKS),
    *(pytest.param(*mistake.values[:2], id=mistake.id) for mistake in PARTIAL),
]


@pytest.mark.parametrize("task_id, edits", THROUGH_THE_WIRE)
def test_a_remote_student_gets_the_verdict_of_a_local_one(answer_key, tmp_path, task_id, edits):
    folder = write_edited(answer_key, edits, tmp_path)
    local = check_task(task_id, namespace=load_workbook(folder))
    with served(folder) as connection:
        remote = check_task(task_id, connection.request("name", name=get_task(task_id).name))
    assert (remote.passed, remote.points, remote.hint) == (local.passed, local.points, local.hint)
    assert [row["passed"] for row in remote.checks] == [row["passed"] for row in local.checks]
