"""Exercise 6.1, the capstone: an MNIST autoencoder made of nothing but the student's classes.

The student's ``build_autoencoder(seed)`` returns ``(model, loss, optimizer)``.  It may
live in another process that cannot be trusted (``remote``), so the check runs in two
halves:

* next to the student's objects, two *runners* — tinyae's own code, registered in
  ``remote.RUNNERS`` — do what must touch them: ``describe`` calls ``build_autoencoder``
  and describes what it returned (class names, widths, settings), and ``train`` builds
  that network afresh from the student's classes, writes in the weights the grader
  chose and trains it on the grader's batches, answering with numbers only;
* here, the grader checks the description, draws the plan (weights, batches) from
  ``checks.rng``, trains the same network made of tinyae's classes with the same plan,
  and compares: the first step number by number (each layer's output, the loss, ∂L/∂p,
  each layer's gradients), the weights after the first steps, one late step number by
  number (from the student's own weights there), the loss at every step.  The first
  number that differs names the student's class and its exercise.  Whether the network
  *learns the digits* is decided from tinyae's own run of it, and the student's.

Because the runner builds fresh objects from the classes, nothing ``build_autoencoder``
does besides choosing them — pre-training, weights of its own, patched globals — counts.
The training loop is written out (``train_with``) rather than ``tinyae.fit``: the
grader's batches must be used as drawn (``fit`` shuffles with its own generator, in the
student's process), the first step must be recorded layer by layer, and a NaN must be
reported as a number that differs, not stop the run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import textwrap
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np

import tinyae
from tinyae.workbook import activations, dense, losses, optimizers, remote
from tinyae.workbook.task import Checks, Mistake, Part, Task, attempt, formula

TUTORIAL = "tutorials/04_first_autoencoder.py, §2 The model; §3 Training"
STEPS, BATCH = 600, 64  # the budget: 600 steps of 64 images, about 3.8 passes over 10,000
KEEP = 3  # the weights after each of the first KEEP steps are compared (optimizer state)
THRESHOLD = 0.17  # test BCE per pixel that "learns the digits"; the mean image scores 0.263
# Tolerances on relative errors ‖got − right‖ / ‖right‖.  Measured between the answer key's
# classes and tinyae's (both float32, other formulas and summation orders) and between
# tinyae's in float32 and in float64, for the four builds of PASSING on 16 plans each and
# for SGD, MSE and Tanh builds on 4 (test_the_tolerances_hold_with_a_margin, marked slow,
# measures them again):
DETAIL_TOL = 1e-3  # the arrays of a recorded step: at most 5e-7 at step 0, 7e-6 at a late
#                   step (float64 against float32, where outputs near 0 or 1 round apart)
UPDATE_TOL = 1e-3  # the change of θ at each of the first KEEP steps: at most 1.3e-5
LOSS_TOL = 0.1  # the loss of each step: 1e-7 to 1e-6 at first; but training is chaotic:
#                 after 40 to 500 steps the rounding differences grow until two equally
#                 right runs differ by up to 1.9e-2 on a batch
TEST_TOL = 2e-2  # their test BCE after the last step: at most 4.9e-3
MAX_PARAMETERS = 1_000_000  # a bigger network takes longer than grading allows
PIXELS = 784

# tinyae's classes, taken when this module is imported: a workbook that replaces
# ``tinyae.BCE`` (in a notebook, the grader's own process) does not replace the reference.
REFERENCE: dict[str, Any] = {cls.__name__: cls for cls in (
    tinyae.Dense, tinyae.ReLU, tinyae.Tanh, tinyae.Sigmoid, tinyae.BCE, tinyae.MSE, tinyae.SGD,
    tinyae.Adam)}
LAYERS, LOSSES = ("Dense", "ReLU", "Tanh", "Sigmoid"), ("BCE", "MSE")
SETTINGS = {"SGD": ("lr", "momentum"), "Adam": ("lr", "beta1", "beta2", "eps")}  # __init__'s
CONTRACTS = (tinyae.Layer, tinyae.Loss, tinyae.Optimizer)  # the bases a student's class may use
Sequential, load_mnist = tinyae.Sequential, tinyae.load_mnist
# The builds the workbook names as passing, and their test BCE (seed 0's plan).
PASSING = ("784-128-784 (0.104), 784-100-50-100-784 (0.114), 784-32-784 (0.154) and "
           "784-256-64-256-784 (0.093), with ReLU hidden layers, BCE and Adam(lr=1e-3)")
RECIPE = "Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08)"
DESCRIBE, TRAIN = "capstone.describe", "capstone.train"
OWN, STEP_BY_STEP, LEARNS = "your own classes", "step by step like tinyae", "learns the digits"

CODE = f'''\
def build_autoencoder(seed: int = 0) -> tuple[tinyae.Sequential, tinyae.Loss, tinyae.Optimizer]:
    """Exercise 6.1: a 784-…-784 autoencoder built from YOUR classes only.

    Return ``(model, loss, optimizer)``: a ``tinyae.Sequential`` of your ``Dense`` layers
    and activations (``ReLU``, ``Tanh``, ``Sigmoid``) from 784 pixels through a narrower
    code back to 784, ending with your ``Sigmoid`` (pixels are in [0, 1]); your ``BCE``
    (or ``MSE``); your ``Adam`` (or ``SGD``), with the settings you choose.

    The check reads the network you built — its layers and widths, the loss, the
    optimizer and its settings — and trains it twice from the same initial weights
    (He-normal before a ReLU, Glorot-uniform otherwise, biases within ±0.1), on the
    same {STEPS} batches of {BATCH} of the 10,000 training images of
    ``tinyae.load_mnist("mnist-mini")``: once made of your classes, once of tinyae's.
    The check chooses the weights and the batches and builds the network afresh from
    your classes, so only the classes and settings you return count.

    * Your own classes: every layer, the loss and the optimizer are the ones you wrote.
    * Step by step like tinyae: at the first step and at one late step, every layer's
      output, the loss L, ∂L/∂p and every layer's gradients agree with tinyae's (from
      your own weights at that step); so do the weights after each of the first {KEEP}
      steps and the loss of every step.  The first number that differs names your class
      and the exercise that checks it.
    * Learns the digits: the BCE per pixel on the 2,000 test images falls below
      {THRESHOLD} (drawing the mean image scores 0.263).

    {textwrap.fill(f"Builds that pass, with their test BCE: {PASSING}.", 84,
                   subsequent_indent="    ")}
    """
    # solution 6.1
    # 128 < 784 hidden units: the code must summarise the image, not copy it
    layers = [Dense(784, 128), ReLU(), Dense(128, 784), Sigmoid()]
    return tinyae.Sequential(layers, seed=seed), BCE(), Adam(lr=1e-3)
    # end
'''


# --- what runs next to the student's objects (and, with tinyae's classes, here) -----------

Weights = list[tuple[np.ndarray, np.ndarray]]  # (W, b) of each Dense, in order


@functools.cache
def mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 training and 2,000 test images (N, 784) in [0, 1], float32, read-only."""
    data = load_mnist("mnist-mini", verbose=False)
    images = data.x_train.copy(), data.x_test.copy()
    for x in images:
        x.flags.writeable = False  # a batch is a copy (x[rows]); the images stay as loaded
    return images


def network(classes: Mapping[str, Any], names: list[str], weights: Weights) -> Any:
    """A float32 ``Sequential`` of ``classes[name]()`` for each name, its Dense ones holding
    ``weights`` ((W, b) in order, W of shape (n_in, n_out))."""
    pairs = iter(weights)
    layers = [classes[name](*next(pairs)[0].shape) if name == "Dense" else classes[name]()
              for name in names]
    model = Sequential(layers, dtype=np.float32)
    for layer, (W, b) in zip(dense_layers(model, names), weights, strict=True):
        layer.W[...], layer.b[...] = W, b  # into the views of θ: what the optimizer moves
    return model


def dense_layers(model: Any, names: list[str]) -> list[Any]:
    """The model's Dense layers, in order."""
    return [layer for layer, name in zip(model.layers, names, strict=True) if name == "Dense"]


def as_data(value: Any) -> np.ndarray | None:
    """A copy of ``value`` as an array of numbers, or None if it is none (a result must be
    data that crosses the wire to the grader)."""
    array = np.array(value)
    return array if array.dtype.char in remote.DTYPES else None


def weights_of(model: Any, names: list[str]) -> Weights:
    """Copies of (W, b) of every Dense layer."""
    return [(np.array(layer.W), np.array(layer.b)) for layer in dense_layers(model, names)]


def train_with(classes: Mapping[str, Any], plan: Mapping[str, Any], x: np.ndarray) -> dict[str, Any]:
    """Train the plan's network made of ``classes`` on the plan's batches of ``x``; data only.

    ``plan``: ``layers`` (class names), ``loss``, ``optimizer`` and its ``settings``,
    ``weights`` to start from, ``batches`` (steps, N) of row numbers of ``x``, ``keep``
    and ``record`` (step numbers).  Each step is ``zero_grad``, every layer's ``forward``,
    the loss, every layer's ``backward`` (last to first), ``optimizer.step(θ, g)``.
    Returns

    * ``details``: each step of ``record`` in full — the ``weights`` before it, every
      layer's ``outputs``, the ``loss`` L, ``dp`` = ∂L/∂p, every layer's ``dx`` (in layer
      order) and each Dense's ``grads`` (dW, db);
    * ``steps``: the weights after each of the first ``keep`` steps;
    * ``losses``: L at every step (NaN where L is not one number);
    * ``final``: the weights after the last step.
    """
    names = list(plan["layers"])
    model = network(classes, names, plan["weights"])
    loss = classes[plan["loss"]]()
    optimizer = classes[plan["optimizer"]](**plan["settings"])
    details: list[dict[str, Any]] = []
    steps, losses = [], []
    for step, rows in enumerate(plan["batches"]):
        recording = step in plan["record"]
        if recording:
            details.append({"weights": weights_of(model, names)})
        x_batch = x[rows]
        model.zero_grad()
        out, outputs = x_batch, []
        for layer in model.layers:
            out = layer.forward(out)
            if recording:
                outputs.append(as_data(out))  # a copy: a later layer may write into it
        value = np.asarray(loss.forward(out, x_batch), dtype=np.float64)
        losses.append(value.item() if value.size == 1 else math.nan)
        grad = loss.backward()
        if recording:  # L as a float if it is one number (as data, a 0-d array is not kept)
            details[-1].update(outputs=outputs, loss=value.item() if value.size == 1 else value,
                               dp=as_data(grad))
        dxs = []
        for layer in reversed(model.layers):
            grad = layer.backward(grad)
            if recording:
                dxs.append(as_data(grad))
        if recording:
            details[-1].update(dx=dxs[::-1], grads=[(as_data(layer.dW), as_data(layer.db))
                                                    for layer in dense_layers(model, names)])
        optimizer.step(model.params, model.grads)
        if step < plan["keep"]:
            steps.append(weights_of(model, names))
    return {"details": details, "steps": steps, "losses": np.array(losses),
            "final": weights_of(model, names)}


def kind(obj: Any, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """An object's class as data: its name, whether it is the workbook's class of that name
    (``own``), whether it is tinyae's, and the first tinyae class it inherits from beyond
    the contracts Layer, Loss and Optimizer (``borrows``, "" if none)."""
    cls = type(obj)
    borrows = [base.__name__ for base in cls.__mro__[1:]
               if base.__module__.startswith("tinyae.") and base not in CONTRACTS]
    return {"class": cls.__name__, "own": namespace.get(cls.__name__) is cls,
            "tinyae": cls.__module__.startswith("tinyae."), "borrows": (borrows or [""])[0]}


def number(value: Any) -> float | None:
    """``value`` as a float if it is a real number (not a bool), else None."""
    real = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    return float(value) if real else None


def describe(build: Any) -> dict[str, Any]:
    """Runner ``capstone.describe``: call ``build(seed=0)`` and describe what it returned.

    Data only: ``returned`` (the type's name, or "3 things"), then ``model`` (its type's
    name), ``layers`` (``kind`` of each, with the ``shape`` of its W; None if the model is
    not a ``tinyae.Sequential``), ``loss`` and ``optimizer`` (``kind``, with the
    optimizer's ``settings``, each a float or None).
    """
    namespace = getattr(build, "__globals__", None)
    if not isinstance(namespace, dict):
        return {"returned": "no function"}
    made = build(seed=0)
    if not (isinstance(made, tuple | list) and len(made) == 3):
        return {"returned": type(made).__name__}
    model, loss, optimizer = made
    layers = model.layers if isinstance(model, Sequential) else None
    return {
        "returned": "3 things",
        "model": type(model).__name__,
        "layers": None if layers is None else [
            {**kind(layer, namespace), "shape": np.shape(getattr(layer, "W", ()))}
            for layer in layers],
        "loss": kind(loss, namespace),
        "optimizer": {**kind(optimizer, namespace), "settings": {
            name: number(getattr(optimizer, name, None))
            for name in SETTINGS.get(type(optimizer).__name__, ())}},
    }


def train(build: Any, **plan: Any) -> dict[str, Any]:
    """Runner ``capstone.train``: ``train_with`` the workbook's classes (the namespace of
    ``build``, looked up by name: fresh objects, whatever ``build`` made)."""
    return train_with(build.__globals__, plan, mnist()[0])


remote.RUNNERS[DESCRIBE], remote.RUNNERS[TRAIN] = describe, train


# --- the grader: check the description, draw the plan, compare -----------------------------

@dataclass(frozen=True)
class Build:
    """The network ``build_autoencoder`` chose, checked: layer class names, the widths
    (784, the width after each Dense, …, 784), the loss, the optimizer and its settings."""

    layers: tuple[str, ...]
    widths: tuple[int, ...]
    loss: str
    optimizer: str
    settings: dict[str, float]

    @property
    def parameters(self) -> int:
        """The number of weights and biases."""
        return sum((n_in + 1) * n_out for n_in, n_out in zip(self.widths, self.widths[1:]))

    @property
    def spec(self) -> str:
        """The widths, ``784-128-784``."""
        return "-".join(map(str, self.widths))

    @property
    def optimizer_text(self) -> str:
        """``Adam(lr=0.001, beta1=0.9, …)``."""
        return f"{self.optimizer}({', '.join(f'{k}={v:g}' for k, v in self.settings.items())})"

    def __str__(self) -> str:
        return (f"{self.spec} ({', '.join(self.layers)}), {self.loss}, "
                f"{self.optimizer_text}")


def whose(what: str, about: Mapping[str, Any], allowed: tuple[str, ...]) -> str:
    """Why ``what`` (described by ``kind``) is not one of the student's ``allowed`` classes;
    "" if it is."""
    name = str(about.get("class"))
    if about.get("tinyae"):
        return (f"{what} is tinyae's {name}, not yours: the capstone trains only the classes "
                f"you wrote in this workbook — write {name}(…), not tinyae.{name}(…)")
    if name not in allowed:
        return (f"{what} is a {name}: the capstone takes your {', '.join(allowed[:-1])} or "
                f"{allowed[-1]}")
    if not about.get("own"):
        return (f"{what} is a {name} that is not the class {name} of your workbook: build it "
                f"from the workbook's own {name}")
    if about.get("borrows"):
        return (f"{what}, your {name}, inherits from tinyae's {about['borrows']}: the capstone "
                f"trains only code you wrote — subclass tinyae.Layer, tinyae.Loss or "
                f"tinyae.Optimizer, as the workbook does, and write the methods yourself")
    return ""


def check_description(description: Any) -> Build:
    """The ``Build`` that ``describe`` described; a ``Mistake`` if it is not a 784 → 784
    chain of the workbook's Dense and activation layers ending in Sigmoid, with its BCE or
    MSE and its SGD or Adam."""
    if not isinstance(description, dict):
        raise Mistake("build_autoencoder could not be described (your process sent no "
                      "description): run it in your notebook to see what it does")
    returned = description.get("returned")
    if returned == "no function":
        raise Mistake("build_autoencoder must be a function defined in your workbook "
                      "(def build_autoencoder(seed=0): …)")
    if returned != "3 things":
        raise Mistake(f"build_autoencoder must return three things, (model, loss, optimizer); "
                      f"it returned a {returned}")
    layers = description.get("layers")
    if not isinstance(layers, list) or not layers:
        raise Mistake(f"the model must be a tinyae.Sequential of your layers; build_autoencoder "
                      f"returned a {description.get('model')} as the model")
    widths, names = [PIXELS], []
    for i, layer in enumerate(layers):
        about = layer if isinstance(layer, dict) else {}
        problem = whose(f"layer {i}", about, LAYERS)
        if problem:
            raise Mistake(problem)
        names.append(str(about["class"]))
        if names[-1] == "Dense":
            widths.append(dense_width(i, about.get("shape"), widths[-1]))
    if "Dense" not in names:
        raise Mistake("the network has no Dense layer: an autoencoder's Dense layers map the "
                      f"{PIXELS} pixels to a code and back")
    if widths[-1] != PIXELS:
        raise Mistake(f"the network ends with {widths[-1]} features: an MNIST autoencoder "
                      f"rebuilds all {PIXELS} pixels, so its last Dense has {PIXELS} outputs")
    if names[-1] != "Sigmoid":
        raise Mistake(f"the network ends with your {names[-1]}: end it with your Sigmoid, so that "
                      f"every output is a grey level in (0, 1) as the pixels are")
    if min(widths[1:-1], default=PIXELS) >= PIXELS:
        raise Mistake(f"the network {'-'.join(map(str, widths))} has no code narrower than the "
                      f"image: an autoencoder squeezes the {PIXELS} pixels through fewer "
                      f"numbers (tutorial 04 uses 50), or it can learn to copy them")
    for what, allowed in (("loss", LOSSES), ("optimizer", tuple(SETTINGS))):
        part = description.get(what)
        problem = whose(f"the {what}", part if isinstance(part, dict) else {}, allowed)
        if problem:
            raise Mistake(problem)
    optimizer = description["optimizer"]
    settings = optimizer.get("settings") if isinstance(optimizer.get("settings"), dict) else {}
    name = str(optimizer["class"])
    values: dict[str, float] = {}
    for key in SETTINGS[name]:
        value = settings.get(key)
        if not isinstance(value, float) or not math.isfinite(value):
            raise Mistake(f"your {name} has no number self.{key}: keep the attributes its "
                          f"__init__ sets in the workbook ({', '.join(SETTINGS[name])})")
        values[key] = value
    try:
        REFERENCE[name](**values)
    except ValueError as error:
        raise Mistake(f"your {name}'s settings cannot train: {error}") from None
    build = Build(tuple(names), tuple(widths), str(description["loss"]["class"]), name, values)
    if build.parameters > MAX_PARAMETERS:
        raise Mistake(f"{build.spec} has {build.parameters:,} weights and biases; the capstone "
                      f"trains at most {MAX_PARAMETERS:,}, so that grading keeps to its time "
                      f"(784-256-64-256-784 has 435,344)")
    return build


def dense_width(i: int, shape: Any, n_in: int) -> int:
    """The output width of Dense layer ``i`` from the ``shape`` of its W; a ``Mistake`` unless
    it takes the ``n_in`` features before it."""
    if not (isinstance(shape, tuple | list) and len(shape) == 2
            and all(isinstance(n, int) and n > 0 for n in shape)):
        raise Mistake(f"layer {i}, your Dense, has no weight matrix W of shape (n_in, n_out): "
                      f"keep the W that Dense.__init__ makes")
    if shape[0] != n_in:
        before = "an MNIST image has" if n_in == PIXELS and i == 0 else "the layers before it give"
        raise Mistake(f"layer {i}, your Dense, takes {shape[0]} features, but {before} {n_in}")
    return int(shape[1])


def draw_plan(build: Build, rng: np.random.Generator) -> dict[str, Any]:
    """The plan both trainings follow, drawn from ``rng``: each Dense's (W, b) — W He-normal
    when a ReLU follows, Glorot-uniform otherwise (as ``tinyae.dense_autoencoder``); b
    uniform in ±0.1, so that a forgotten bias shows at the first step — and ``STEPS``
    batches of ``BATCH`` row numbers, shuffled afresh for each pass over the images; the
    steps recorded in full are the first and one drawn from the second half."""
    weights = []
    shapes = iter(zip(build.widths, build.widths[1:]))
    for name, after in zip(build.layers, build.layers[1:] + ("",)):
        if name == "Dense":
            n_in, n_out = next(shapes)
            init = tinyae.init.he if after == "ReLU" else tinyae.init.glorot
            weights.append((init((n_in, n_out), rng).astype(np.float32),
                            rng.uniform(-0.1, 0.1, n_out).astype(np.float32)))
    n = len(mnist()[0])
    rows = np.concatenate([rng.permutation(n) for _ in range(math.ceil(STEPS * BATCH / n))])
    return {"layers": list(build.layers), "loss": build.loss, "optimizer": build.optimizer,
            "settings": dict(build.settings), "weights": weights,
            "batches": rows[:STEPS * BATCH].reshape(STEPS, BATCH).astype(np.int32),
            "keep": KEEP, "record": [0, int(rng.integers(STEPS // 2, STEPS))]}


# Reference runs by plan: every student of a class who builds the same network gets the
# same plan (the teacher's seed), so it is trained with tinyae's classes once.
RUNS: OrderedDict[str, dict[str, Any]] = OrderedDict()
MAX_RUNS = 8


def reference_run(plan: dict[str, Any]) -> dict[str, Any]:
    """``train_with`` tinyae's classes on ``plan``, with ``test`` (the final test BCE) and
    ``seconds``; memoized by the plan's content."""
    key = hashlib.sha256(json.dumps(remote.encode(plan), sort_keys=True).encode()).hexdigest()
    if key not in RUNS:
        start = time.perf_counter()
        run = train_with(REFERENCE, {**plan, "record": [0]}, mnist()[0])
        RUNS[key] = {**run, "seconds": time.perf_counter() - start,
                     "test": bce_on_test_images(plan["layers"], run["final"])}
        if len(RUNS) > MAX_RUNS:
            RUNS.popitem(last=False)
    RUNS.move_to_end(key)
    return RUNS[key]


def bce_on_test_images(names: list[str], weights: Weights) -> float:
    """The BCE per pixel on the test images of the network ``names`` with ``weights``,
    computed with tinyae's classes; NaN if a weight is not finite."""
    if not all(np.isfinite(a).all() for pair in weights for a in pair):
        return math.nan
    x = mnist()[1]
    p = network(REFERENCE, names, weights).predict(x)
    return REFERENCE["BCE"]().forward(p.astype(np.float64), x.astype(np.float64))


@functools.cache
def mean_image_bce() -> float:
    """The test BCE of drawing the mean training image for every input (the "blob")."""
    train_images, x = mnist()
    mean = np.broadcast_to(train_images.mean(axis=0, dtype=np.float64), x.shape)
    return REFERENCE["BCE"]().forward(mean, x.astype(np.float64))


def difference(got: Any, right: Any, tol: float) -> str | None:
    """How ``got`` differs from ``right`` beyond a relative error ``tol``, in words; None if
    it agrees.  Errors are measured on the whole array, ‖got − right‖ / ‖right‖."""
    if got is None:
        return "is None (nothing was returned)"
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return "is not an array of numbers"
    right = np.asarray(right, dtype=np.float64)
    if got.shape != right.shape:
        shapes = ("one number" if not s else f"shape {s}" for s in (got.shape, right.shape))
        return "is {} where tinyae's is {}".format(*shapes)
    if not np.isfinite(got).all():
        return "holds NaN or inf where tinyae's is finite"
    if not got.any() and right.any():
        return "is 0 everywhere"
    size = float(np.linalg.norm(right))
    error = float(np.linalg.norm(got - right)) / size if size else float(np.linalg.norm(got))
    if error <= tol:
        return None
    ratio = float(np.vdot(got, right)) / size**2 if size else 0.0
    if abs(ratio - 1) > tol and np.linalg.norm(got - ratio * right) <= tol * abs(ratio) * size:
        return f"is {factor(ratio)} tinyae's"
    return f"differs from tinyae's by {error:.2g} (relative error)"


def factor(c: float) -> str:
    """A constant factor in words: "1/64 = 1/N (64 images in a batch) of", "3.16 ×"."""
    whole = 1 / c if abs(c) < 1 else c
    if abs(whole - round(whole)) > 1e-3 * abs(whole):
        return f"{c:.3g} ×"
    k = abs(round(whole))
    symbol, meaning = {BATCH: ("N", f"{BATCH} images in a batch"),
                       BATCH * PIXELS: ("N·D", f"{BATCH} · {PIXELS} pixels in a batch")}.get(k, ("", ""))
    sign = "−" if c < 0 else ""
    if abs(c) < 1:
        return f"{sign}1/{k} = {sign}1/{symbol} ({meaning}) of" if symbol else f"{sign}1/{k} of"
    return f"{sign}{k} = {sign}{symbol} ({meaning}) ×" if symbol else f"{sign}{k} ×"


def exercise(cls: str, method: str) -> str:
    """The exercise that writes ``cls.method`` ("1.2" for Dense.backward)."""
    tasks = [task for part in (dense.PART, activations.PART, losses.PART, optimizers.PART)
             for task in part.tasks if task.name == cls]
    exact = [task for task in tasks if task.title == f"{cls}.{method}"]
    return (exact or tasks)[0].id


def fix_first(cls: str, method: str) -> str:
    """Where to look next: the exercise of ``cls.method``, and what if it passes already."""
    task = exercise(cls, method)
    return (f"Exercise {task} checks {cls}.{method} on its own and says what is wrong "
            f"(check_task(\"{task}\", {cls})): fix it there first. If it passes there, your "
            f"{cls} goes wrong only inside the network — with float32 arrays, a batch of "
            f"{BATCH}, or on a second call.")


def step_numbers(build: Build, got: Mapping[str, Any],
                 right: Mapping[str, Any]) -> Iterator[tuple[str, str, str, str, Any, Any]]:
    """Every number of one step, in the order they are computed: (who, class, method,
    what, the student's value, tinyae's)."""

    def entries(key: str, count: int) -> list[Any]:
        """The student's list ``got[key]``, cut or padded with None to ``count`` entries."""
        items = got.get(key)
        return ((items if isinstance(items, list) else []) + [None] * count)[:count]

    n, dense_count = len(build.layers), build.layers.count("Dense")
    outputs, dxs, grads = entries("outputs", n), entries("dx", n), entries("grads", dense_count)
    for i, name in enumerate(build.layers):
        yield f"layer {i}, your {name}", name, "forward", "the output", outputs[i], right["outputs"][i]
    yield f"your {build.loss}", build.loss, "forward", "the loss L", got.get("loss"), right["loss"]
    yield f"your {build.loss}", build.loss, "backward", "dp = ∂L/∂p", got.get("dp"), right["dp"]
    dense_index = dense_count
    for i in reversed(range(n)):
        name, who = build.layers[i], f"layer {i}, your {build.layers[i]}"
        if name == "Dense":
            dense_index -= 1
            pair, (right_dW, right_db) = grads[dense_index], right["grads"][dense_index]
            dW, db = pair if isinstance(pair, tuple | list) and len(pair) == 2 else (None, None)
            yield who, name, "backward", "dW", dW, right_dW
            yield who, name, "backward", "db", db, right_db
        yield who, name, "backward", "dx", dxs[i], right["dx"][i]


def first_difference(build: Build, got: Any, right: Mapping[str, Any], step: int) -> str | None:
    """The hint for the first number of step ``step`` in which ``got`` (the student's
    ``details``) differs from ``right`` (tinyae's, from the same weights); None if none."""
    got = got if isinstance(got, dict) else {}
    for who, cls, method, what, value, expected in step_numbers(build, got, right):
        how = difference(value, expected, DETAIL_TOL)
        if how:
            return (f"At step {step}, {who}: {what} from {cls}.{method} {how}, given the same "
                    f"input as tinyae's {cls} — everything computed before it agrees with "
                    f"tinyae's classes. {fix_first(cls, method)}")
    return None


def flat(weights: Any) -> np.ndarray:
    """All of ``weights`` ((W, b) pairs) as one float64 vector (empty if it is no such list)."""
    try:
        return np.concatenate([np.asarray(a, dtype=np.float64).ravel()
                               for pair in weights for a in pair])
    except (TypeError, ValueError):
        return np.zeros(0)


def fits(weights: Any, plan: Mapping[str, Any]) -> TypeGuard[Weights]:
    """True if ``weights`` (received from the student's process) are (W, b) pairs of the
    plan's shapes."""
    shapes = [(W.shape, b.shape) for W, b in plan["weights"]]
    return (isinstance(weights, list) and len(weights) == len(shapes)
            and all(isinstance(pair, tuple | list) and len(pair) == 2 for pair in weights)
            and [tuple(np.shape(a) for a in pair) for pair in weights] == shapes)


def compare_training(build_fn: Any, build: Build, plan: dict[str, Any], got: Any,
                     right: dict[str, Any]) -> str:
    """Sub-check ``STEP_BY_STEP``: the first step number by number, the change of
    θ at each of the first ``KEEP`` steps, a late step number by number (from the
    student's own weights there), the loss at every step.

    A difference found after the first step is explained by ``explain``: which class
    computes differently at that step, or else the optimizer."""
    got = got if isinstance(got, dict) else {}
    details = got.get("details") if isinstance(got.get("details"), list) else []
    first, late = (details + [None, None])[:2]
    hint = first_difference(build, first, right["details"][0], 0)
    if hint:
        raise Mistake(hint)
    optimizer = f"your {build.optimizer}.step differs from tinyae's {build.optimizer}."
    got_steps = got.get("steps") if isinstance(got.get("steps"), list) else []
    before = right_before = flat(plan["weights"])
    for step, right_weights in enumerate(right["steps"]):
        after = flat(got_steps[step] if step < len(got_steps) else None)
        right_after = flat(right_weights)
        how = difference(after - before if after.shape == before.shape else after,
                         right_after - right_before, UPDATE_TOL)
        if how:  # the gradients of step 0 agreed; those of a later step are checked again
            raise Mistake(explain(build_fn, build, plan, (step,),
                                  f"The change of θ at step {step} (the optimizer's step) {how}.",
                                  f"With the same weights and gradients, {optimizer}"))
        before, right_before = after, right_after
    step = plan["record"][1]
    hint = own_weights_difference(build, plan, late, step)
    if hint:
        raise Mistake(f"Your classes agree with tinyae's at step 0 but not at step {step}, "
                      f"compared from your own weights there. {hint}")
    losses = received_losses(got.get("losses"))
    departed = departure(losses, right["losses"])
    if departed is not None:
        shown = f"{losses[departed]:.6g}" if departed < len(losses) else "missing"
        raise Mistake(explain(
            build_fn, build, plan, (departed, departed - 1),
            f"Your training agrees with tinyae's until step {departed}, whose loss is {shown} "
            f"where tinyae's classes give {right['losses'][departed]:.6g}.",
            f"From your own weights at that step and the one before, your layers and loss "
            f"compute what tinyae's do: the weights drifted, so {optimizer}"))
    worst = float(np.max(np.abs(losses - right["losses"]) / right["losses"]))
    return (f"Step by step like tinyae's classes: steps 0 and {step} number by number to "
            f"{DETAIL_TOL:g}, the change of θ at each of the first {KEEP} steps to "
            f"{UPDATE_TOL:g}, the loss of all {STEPS} steps to {LOSS_TOL:g} (largest relative "
            f"difference {worst:.1g}).")


def received_losses(losses: Any) -> np.ndarray:
    """The losses the student's process sent, as a float vector (empty if they are not)."""
    try:
        return np.asarray(losses, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return np.zeros(0)


def departure(got: np.ndarray, right: np.ndarray) -> int | None:
    """The first step whose loss differs from ``right``'s by more than ``LOSS_TOL``
    (relative), or is missing or not finite; None if none does."""
    if got.shape != right.shape:
        return min(len(got), len(right) - 1)
    bad = ~(np.abs(got - right) <= LOSS_TOL * right)  # NaN is bad
    return int(np.argmax(bad)) if bad.any() else None


def explain(build_fn: Any, build: Build, plan: dict[str, Any], steps: Iterable[int], lead: str,
            otherwise: str) -> str:
    """The hint for a difference found after step 0: ``lead`` says what differs; then the
    first of ``steps`` at which one of the student's classes computes differently from
    tinyae's — on the student's own weights of that step, replayed — is named, or else
    ``otherwise`` (the optimizer) is."""
    for step in steps:
        hint = replayed_difference(build_fn, build, plan, step) if step > 0 else None
        if hint:
            return f"{lead} {hint}"
    return f"{lead} {otherwise} {fix_first(build.optimizer, 'step')}"


def replayed_difference(build_fn: Any, build: Build, plan: dict[str, Any], step: int) -> str | None:
    """Train the student's network again up to ``step``, recording it; the hint of
    ``own_weights_difference`` there."""
    replay = attempt("training your network", remote.execute, build_fn, TRAIN,
                     **{**plan, "batches": plan["batches"][:step + 1], "keep": 0, "record": [step]})
    details = replay.get("details") if isinstance(replay, dict) else None
    return own_weights_difference(build, plan, details[0] if isinstance(details, list) and details
                                  else None, step)


def own_weights_difference(build: Build, plan: dict[str, Any], details: Any, step: int) -> str | None:
    """The hint for the first number of the student's ``details`` of ``step`` that differs
    from what tinyae's classes compute from the same weights (the student's, of that
    step) and batch; None if none differs, or if those weights are not finite (then an
    earlier step broke them, which the losses show)."""
    weights = details.get("weights") if isinstance(details, dict) else None
    if not (fits(weights, plan) and np.isfinite(flat(weights)).all()):
        return None
    same = train_with(REFERENCE, {**plan, "weights": weights, "keep": 0, "record": [0],
                                  "batches": plan["batches"][step:step + 1]}, mnist()[0])
    return first_difference(build, details, same["details"][0], step)


def judge_learning(build: Build, plan: dict[str, Any], got: Any, right: dict[str, Any]) -> str:
    """Sub-check ``LEARNS``: tinyae's run of this network must reach a test BCE
    below ``THRESHOLD``, and so must the student's trained weights (or come within
    ``TEST_TOL`` of tinyae's)."""
    blob, reference = mean_image_bce(), right["test"]
    if not reference <= THRESHOLD:
        raise Mistake(unlearnable_hint(build, reference, blob))
    final = got.get("final") if isinstance(got, dict) else None
    score = bce_on_test_images(plan["layers"], final) if fits(final, plan) else math.nan
    if not score <= max(THRESHOLD, reference * (1 + TEST_TOL)):
        shown = f"{score:.4f}" if math.isfinite(score) else "not a number (NaN or inf weights)"
        raise Mistake(f"Your trained network's test BCE is {shown} per pixel, above {THRESHOLD}, "
                      f"where the same network made of tinyae's classes, trained from the same "
                      f"weights on the same batches, reaches {reference:.4f}: your classes "
                      f"train it differently (see \"{STEP_BY_STEP}\").")
    return (f"Learns the digits: test BCE {score:.4f} per pixel after {STEPS} steps (tinyae's "
            f"classes: {reference:.4f}; threshold {THRESHOLD}; the mean image scores {blob:.3f}).")


def unlearnable_hint(build: Build, reference: float, blob: float) -> str:
    """Why this network cannot pass, whatever the student's classes: what sets it apart
    from the builds that pass (only what does)."""
    unlike = []
    hidden = sorted(set(build.layers[:-1]) - {"Dense", "ReLU"})
    if hidden:
        unlike.append(f"{' and '.join(hidden)} hidden layers (they use ReLU)")
    if min(build.widths[1:-1]) < 32:
        unlike.append(f"a code of {min(build.widths[1:-1])} numbers (theirs have 32 or more)")
    if build.loss != "BCE":
        unlike.append(f"{build.loss} (they use BCE)")
    if build.optimizer_text != RECIPE:
        unlike.append(f"{build.optimizer_text} (they use {RECIPE})")
    return (f"Even tinyae's own classes reach only a test BCE of {reference:.4f} per pixel with "
            f"{build}, trained from the same weights on the same {STEPS} batches — not below "
            f"{THRESHOLD} (drawing the mean image scores {blob:.3f}): this network does not "
            f"learn the digits within the budget, whatever your classes do. "
            + (f"Unlike the builds that pass, it has {'; '.join(unlike)}. " if unlike else "")
            + f"Builds that pass: {PASSING}.")


def check_capstone(build_fn: Any, checks: Checks) -> str:
    """Exercise 6.1: describe the build, train it and the same network of tinyae's classes
    on the same plan, and compare."""
    description = attempt("build_autoencoder", remote.execute, build_fn, DESCRIBE)
    build = check_description(description)  # a Mistake here stops the task: nothing to train
    checks.sub(OWN, lambda: f"Your own classes: {build}.")
    plan = draw_plan(build, checks.rng)
    right = reference_run(plan)
    start = time.perf_counter()
    got = attempt("training your network", remote.execute, build_fn, TRAIN, **plan)
    seconds = time.perf_counter() - start
    checks.sub(STEP_BY_STEP, lambda: compare_training(build_fn, build, plan, got, right))
    checks.sub(LEARNS, lambda: judge_learning(build, plan, got, right))
    return (f"{STEPS} steps of {BATCH} images: {seconds:.1f} s with your classes, "
            f"{right['seconds']:.1f} s with tinyae's.")


PART = Part(
    heading="6. Capstone: your own autoencoder on MNIST",
    intro="Put your pieces together: a tinyae.Sequential of your layers, your loss and your "
          "optimizer. The check trains it and the same network made of tinyae's classes from "
          "the same weights on the same batches, and compares them step by step: nothing of "
          "tinyae's own layers, losses or optimizers may do the work.",
    code=CODE,
    tasks=(Task("6.1", "MNIST autoencoder", 6, TUTORIAL, "build_autoencoder",
                formula(CODE, "6.1"), check_capstone,
                subchecks=((OWN, 1), (STEP_BY_STEP, 3), (LEARNS, 2))),),
)
