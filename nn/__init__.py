"""Neural networks on valuegrad's scalar engine: modules, losses, optimisers, files.

``from nn import MLP, cross_entropy, Adam``; everything public is importable
from ``nn``.  ``nn.run_layers(model, x)`` is the one way to run a network layer by
layer (each layer's weighted inputs and activations, as Values).
``nn.draw_network`` is loaded on first use (it needs graphviz); ``nn.to_torch``
and ``nn.from_torch`` import PyTorch only when called.
"""

from __future__ import annotations

from typing import Any

import autograd as _autograd
from autograd.grouping import set_default_grouping

from .data import accuracy, argmax, minibatches, predict_classes, train_test_split
from .diagnose import DiagnosisReport, LayerStats, Problem, diagnose
from .grouping import GROUPING
from .inspect import format_gradients, top_gradients
from .layers import ACTIVATIONS, MLP, Layer, Neuron, init_bound
from .losses import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    l2_penalty,
    mse,
    softmax,
)
from .module import Module, TrackedList
from .network_view import Scale
from .optim import SGD, Adam, Optimizer
from .run import LayerRun, NetworkRun, run_layers
from .serialize import ModelLoadError, load_model
from .torch_bridge import from_torch, to_torch, torch_names, valuegrad_names

__version__: str = _autograd.__version__  # one distribution (valuegrad), one version

# draw_dot(loss) of a model's graph folds into neuron and layer boxes when it is too big.
set_default_grouping(GROUPING)

__all__ = [
    "ACTIVATIONS",
    "GROUPING",
    "MLP",
    "SGD",
    "Adam",
    "DiagnosisReport",
    "Layer",
    "LayerRun",
    "LayerStats",
    "ModelLoadError",
    "Module",
    "NetworkRun",
    "Neuron",
    "Optimizer",
    "Problem",
    "Scale",
    "TrackedList",
    "accuracy",
    "argmax",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "diagnose",
    "format_gradients",
    "from_torch",
    "hinge_loss",
    "init_bound",
    "l2_penalty",
    "load_model",
    "minibatches",
    "mse",
    "predict_classes",
    "run_layers",
    "softmax",
    "to_torch",
    "top_gradients",
    "torch_names",
    "train_test_split",
    "valuegrad_names",
]


def __getattr__(name: str) -> Any:
    # draw.py is optional at import time (another module, and it pulls in graphviz).
    if name in ("draw_network", "draw_sequence"):
        try:
            from . import draw
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.draw":
                raise  # draw exists but something it needs (graphviz?) is missing
            raise AttributeError(f"nn.{name} is not available: nn/draw.py is missing") from e
        return getattr(draw, name)
    raise AttributeError(f"module 'nn' has no attribute {name!r}")
