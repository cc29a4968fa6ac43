"""Exercise 6.1, the capstone: an MNIST autoencoder made of nothing but the student's classes.

The student returns ``(model, loss, optimizer)``; the check makes sure every layer, the
loss and the optimizer are the student's own (no tinyae class does the work), trains
the model with ``tinyae.fit`` for a fixed budget on the bundled MNIST subset and
measures the reconstruction BCE per pixel on its test images with tinyae's ``BCE``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

import tinyae
from tinyae.workbook.task import Mistake, Part, Task, attempt, formula

TUTORIAL = "tutorials/04_first_autoencoder.py"
EPOCHS, BATCH_SIZE = 5, 64
TARGET = 0.110  # test BCE per pixel; the mean image (the "blob") scores about 0.26

CODE = f'''\
def build_autoencoder(seed: int = 0) -> tuple[tinyae.Sequential, tinyae.Loss, tinyae.Optimizer]:
    """Exercise 6.1: a 784-…-784 autoencoder built from YOUR classes only.

    Return ``(model, loss, optimizer)``: a ``tinyae.Sequential`` of your ``Dense`` and
    activation layers from 784 inputs back to 784 outputs, ending with your ``Sigmoid``
    (pixels are in [0, 1]); your ``BCE``; your ``Adam`` (or ``SGD``).  ``seed`` seeds
    the weights (``Sequential(layers, seed=seed)``).

    The check trains it with ``tinyae.fit(model, x_train, loss=loss, optimizer=optimizer,
    epochs={EPOCHS}, batch_size={BATCH_SIZE})`` on the 10,000 training images of
    ``tinyae.load_mnist("mnist-mini")``, then measures the BCE per pixel on its 2,000 test
    images with tinyae's own BCE: it passes at ≤ {TARGET}.  Tutorial 04 builds such a
    model from tinyae's classes.
    """
    # solution 6.1
    layers = [Dense(784, 128), ReLU(), Dense(128, 784), Sigmoid()]
    return tinyae.Sequential(layers, seed=seed), BCE(), Adam(lr=1e-3)
    # end
'''


def library_class(obj: Any, allowed: type) -> type | None:
    """The first tinyae class other than ``allowed`` (and its bases) that ``obj`` inherits from."""
    for cls in type(obj).__mro__:
        if cls.__module__.startswith("tinyae.") and not issubclass(allowed, cls):
            return cls
    return None


def check_parts(model: Any, loss: Any, optimizer: Any) -> None:
    """A ``Mistake`` unless the model is a 784 → 784 Sequential of the student's own classes."""
    if not isinstance(model, tinyae.Sequential):
        raise Mistake(f"the model must be a tinyae.Sequential of your layers, got "
                      f"{type(model).__name__}")
    if (model.n_in, model.n_out) != (784, 784):
        raise Mistake(f"the model maps {model.n_in} → {model.n_out} features; an MNIST "
                      f"autoencoder maps the 784 pixels back to 784")
    parts: list[tuple[str, Any, type]] = [
        (f"layer {i}", layer, tinyae.Layer) for i, layer in enumerate(model.layers)]
    parts += [("the loss", loss, tinyae.Loss), ("the optimizer", optimizer, tinyae.Optimizer)]
    for what, obj, allowed in parts:
        if not isinstance(obj, allowed):
            raise Mistake(f"{what} ({type(obj).__name__}) does not follow tinyae's contract: "
                          f"make it a subclass of tinyae.{allowed.__name__}")
        borrowed = library_class(obj, allowed)
        if borrowed is not None:
            raise Mistake(f"{what} is tinyae's {borrowed.__name__} (from {borrowed.__module__}), "
                          f"not yours: the capstone uses only the classes you wrote")


def check_capstone(build: Any) -> str:
    """Exercise 6.1: build, check the parts, train for the fixed budget, measure the test BCE."""
    made = attempt("build_autoencoder", build, seed=0)
    if not (isinstance(made, tuple | list) and len(made) == 3):
        raise Mistake("build_autoencoder must return three things: (model, loss, optimizer)")
    model, loss, optimizer = made
    check_parts(model, loss, optimizer)
    data = tinyae.load_mnist("mnist-mini", verbose=False)
    start = time.perf_counter()
    attempt("training with tinyae.fit", tinyae.fit, model, data.x_train, loss=loss,
            optimizer=optimizer, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=False)
    seconds = time.perf_counter() - start
    reference = tinyae.BCE()
    p = model.predict(data.x_test)
    if not (np.isfinite(p).all() and p.min() >= 0 and p.max() <= 1):
        raise Mistake("the trained model's outputs are not probabilities in [0, 1] (or not "
                      "finite): end the model with your Sigmoid")
    test = reference.forward(p.astype(np.float64), data.x_test.astype(np.float64))
    mean_image = np.broadcast_to(data.x_train.mean(axis=0, dtype=np.float64), data.x_test.shape)
    blob = reference.forward(mean_image, data.x_test.astype(np.float64))
    details = (f"{EPOCHS} epochs of tinyae.fit in {seconds:.1f} s; test BCE {test:.4f} per pixel "
               f"(target ≤ {TARGET}; drawing the mean image scores {blob:.4f})")
    if test > TARGET:
        why = (f"That is about the BCE of drawing the mean image ({blob:.4f}) for every input: the "
               f"model learned the blob, not the digits (tutorial 04, §5); make tasks 1–4 pass "
               f"and check the learning rate." if test > blob - 0.02 else
               "Make tasks 1–4 pass first; then a wider hidden layer, or Adam with lr = 1e-3, "
               "helps.")
        raise Mistake(f"after {EPOCHS} epochs the test BCE is {test:.4f} per pixel, above the "
                      f"target {TARGET}. {why}", details)
    return details


PART = Part(
    heading="6. Capstone: your own autoencoder on MNIST",
    intro="Put your pieces together: a tinyae.Sequential of your layers, your loss and your "
          "optimizer, trained by tinyae.fit. Nothing of tinyae's own layers, losses or "
          "optimizers may do the work.",
    code=CODE,
    tasks=(Task("6.1", "MNIST autoencoder", 6, TUTORIAL, "build_autoencoder",
                formula(CODE, "6.1"), check_capstone),),
)
