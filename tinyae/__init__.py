"""tinyae — autoencoders from scratch in NumPy, written to be read.

Follow one batch through the package::

    x ──Sequential.forward──▶ p ──loss.forward(p, y)──▶ L
    loss.backward() ──▶ dp ──Sequential.backward──▶ every layer fills dW, db
    optimizer.step(model.params, model.grads) ──▶ θ updated in place

The names below are the public API; each lives in a module of its own.
"""

from tinyae.datasets import DataError, MNISTUnavailableError, load_mnist
from tinyae.diagnostics import Monitor, doctor, format_findings
from tinyae.gradcheck import check_layer, check_loss, check_model
from tinyae.io import ModelFileError, load, save
from tinyae.layers import (
    Dense,
    Destandardize,
    Identity,
    Layer,
    ReLU,
    ShapeError,
    Sigmoid,
    Softmax,
    Standardize,
    Tanh,
    activation,
)
from tinyae.losses import BCE, MSE, BCEWithLogits, Loss, binary_entropy, get_loss
from tinyae.model import DetachedParameterError, Sequential
from tinyae.models import Autoencoder, dense_autoencoder
from tinyae.optim import SGD, Adam, Optimizer, get_optimizer
from tinyae.tied import TiedDense
from tinyae.train import Callback, EarlyStopping, EpochHook, History, TrainingError, evaluate, fit

__version__ = "0.1.0"

__all__ = [
    "Adam",
    "Autoencoder",
    "Callback",
    "DataError",
    "MNISTUnavailableError",
    "EarlyStopping",
    "EpochHook",
    "History",
    "ModelFileError",
    "Monitor",
    "doctor",
    "format_findings",
    "TrainingError",
    "dense_autoencoder",
    "evaluate",
    "fit",
    "load",
    "load_mnist",
    "save",
    "BCE",
    "BCEWithLogits",
    "Dense",
    "DetachedParameterError",
    "Destandardize",
    "Identity",
    "Layer",
    "Loss",
    "MSE",
    "Optimizer",
    "ReLU",
    "SGD",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "Softmax",
    "Standardize",
    "Tanh",
    "TiedDense",
    "activation",
    "binary_entropy",
    "check_layer",
    "check_loss",
    "check_model",
    "get_loss",
    "get_optimizer",
]
