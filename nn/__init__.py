"""Neural networks on valuegrad's scalar engine: modules, losses, optimisers, files.

``from nn import MLP, cross_entropy, Adam``; everything public is importable
from ``nn``.  ``nn.run_layers(model, x)`` is the one way to run a network layer by
layer (each layer's weighted inputs and activations, as Values).  What a neuron
looks for (``weight_images``, ``top_activating``), why an input is read as it is
(``saliency``, ``contrast``, ``contributions``) and a batch's nudges
(``batch_nudges``) are computed on it.
``nn.draw_network`` is loaded on first use (it needs graphviz); ``nn.to_torch``
and ``nn.from_torch`` import PyTorch only when called.
"""

from __future__ import annotations

from typing import Any

import autograd as _autograd
from autograd.grouping import set_default_grouping

from .attribution import Contributions, contrast, contributions, draw_why, saliency
from .data import accuracy, argmax, minibatches, predict_classes, train_test_split
from .diagnose import DiagnosisReport, LayerStats, Problem, diagnose
from .features import TopActivating, WeightImages, top_activating, weight_images
from .grouping import GROUPING
from .image_grid import SvgPicture
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
from .nudges import BatchNudges, batch_nudges
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
    "BatchNudges",
    "Contributions",
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

    "SvgPicture",
    "TopActivating",
    "TrackedList",
    "WeightImages",
    "accuracy",
    "argmax",
    "batch_nudges",
    "binary_cross_entropy_with_logits",
    "contrast",
    "contributions",
    "cross_entropy",
    "diagnose",
    "draw_why",
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
    "saliency",
    "softmax",
    "to_torch",
    "top_activating",
    "top_gradients",
    "torch_names",
    "train_test_split",
    "valuegrad_names",
    "weight_images",
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
