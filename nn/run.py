"""One way to run a network layer by layer: ``nn.run_layers(model, x)``.

``model(x)`` returns the outputs; ``run_layers`` returns the whole run, layer by
layer: what each layer read, each neuron's weighted input ``z = w·x + b`` (its
pre-activation, one ``dot`` node) and its activation ``a = act(z)`` (the same node
as ``z`` for a linear neuron).  Every number is a ``Value`` of the graph, so after
``loss.backward()`` each layer's ``dL/dz`` and ``dL/da`` are the ``.grad`` of these
nodes (``run.layers[1].z_grads``), and ``autograd.grad(loss, run.layers[1].z)``
gives them without touching ``.grad``.  No node's parents are read: the neuron
says what its ``z`` is (``Neuron._weighted_input``, the only definition of a
pre-activation) and the model's own loop (``MLP._run``, the one ``model(x)`` runs)
keeps it, so a run computes the very floats ``model(x)`` does.

``nn.draw_network``, ``nn.diagnose`` and the explorer all run networks through here;
:func:`check_model` is the one check of what they accept.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Union

from autograd import Value

from .layers import MLP, Layer, lift_inputs, runs_own_forward

__all__ = ["LayerRun", "NetworkRun", "check_model", "run_layers"]

Input = Sequence[Union[Value, float, int]]


@dataclass(frozen=True)
class LayerRun:
    """One layer of a run: what it read, its neurons' weighted inputs and activations.

    ``inputs``: the layer's input Values (the previous layer's activations, or the
    network's inputs), without the bias's constant 1; ``z[j]``: neuron ``j``'s
    weighted input ``w·x + b``; ``a[j]``: its activation (``a[j] is z[j]`` when it
    is linear).  After ``backward()``, :attr:`z_grads` and :attr:`a_grads` read the
    gradients of the loss at them.
    """

    index: int
    layer: Layer
    inputs: list[Value]
    z: list[Value]
    a: list[Value]

    @property
    def name(self) -> str:
        """The layer's name in ``named_parameters`` (``"layers.0"``)."""
        return f"layers.{self.index}"

    @property
    def activations(self) -> list[str]:
        """Each neuron's activation function by name (``"relu"``, ``"linear"``, ...)."""
        return [n.activation for n in self.layer.neurons]

    @property
    def z_values(self) -> list[float]:
        return [v.data for v in self.z]

    @property
    def a_values(self) -> list[float]:
        return [v.data for v in self.a]

    @property
    def z_grads(self) -> list[float]:
        """``dL/dz`` per neuron after ``loss.backward()``: which way each weighted input
        should move (a descent step moves it by ``-lr`` times this)."""
        return [v.grad for v in self.z]

    @property
    def a_grads(self) -> list[float]:
        """``dL/da`` per neuron after ``loss.backward()``."""
        return [v.grad for v in self.a]


@dataclass(frozen=True)
class NetworkRun:
    """A network's forward pass kept layer by layer (see :func:`run_layers`).

    ``run.inputs`` are the input Values (after ``backward()`` their ``.grad`` is
    ``dL/dx``), ``run.layers[i]`` a :class:`LayerRun`, ``run.outputs`` the last
    layer's activations: the Values ``model(x)`` returns.  ``len(run)``, ``run[i]``
    and ``for layer in run`` go over the layers.
    """

    inputs: list[Value]
    layers: list[LayerRun]

    @property
    def outputs(self) -> list[Value]:
        return self.layers[-1].a if self.layers else self.inputs

    @property
    def columns(self) -> list[list[Value]]:
        """The network as it is drawn, column by column: the inputs, then each layer's
        activations."""
        return [self.inputs, *(layer.a for layer in self.layers)]

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> LayerRun:
        return self.layers[i]

    def __iter__(self) -> Iterator[LayerRun]:
        return iter(self.layers)


def check_model(model: Any, who: str) -> MLP:
    """``model``, if it is an ``nn.MLP`` whose forward pass is nn's; else a ``TypeError``.

    The one check of a model that is read layer by layer: ``run_layers``, ``draw_network``,
    ``diagnose``, ``to_torch``.

    A subclass that overrides ``__call__`` (or a layer or neuron class that overrides its
    step) computes something a layer-by-layer run would not: refused rather than measured
    wrongly.  A neuron whose weights do not match its layer's inputs is a ``ValueError``.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"{who}: model must be an nn.MLP, got {type(model).__name__}")
    if not runs_own_forward(model):
        raise TypeError(
            f"{who}: {type(model).__name__} (or one of its layers or neurons) overrides the "
            "forward pass, so model(x) is not its layers run in order, which is what this "
            "reads"
        )
    if not model.layers:
        raise ValueError(f"{who}: the MLP has no layers")
    width = model.nin
    for i, layer in enumerate(model.layers):
        if not layer.neurons:
            raise ValueError(f"{who}: layers.{i} has no neurons")
        for j, neuron in enumerate(layer.neurons):
            if len(neuron.w) != width:
                raise ValueError(
                    f"{who}: layers.{i}.neurons.{j} has {len(neuron.w)} weights but its layer "
                    f"reads {width} inputs"
                )
        width = len(layer.neurons)
    return model


def run_layers(model: MLP, x: Input, *, who: str = "run_layers") -> NetworkRun:
    """Run ``model`` on one input ``x`` and keep every layer's weighted inputs and activations.

    ``x``: ``model.nin`` numbers or Values.  The run records the graph as ``model(x)``
    does (inside ``autograd.no_grad()`` it records none, and the ``z`` and ``a`` are
    plain numbers' Values); ``run.outputs`` are exactly ``model(x)``'s Values.
    ``who`` names the caller in error messages.
    """
    check_model(model, who)
    xs = lift_inputs(x, model.nin, who)
    steps = model._run(xs)
    return NetworkRun(
        xs, [LayerRun(i, layer, ins, zs, acts)
             for i, (layer, (ins, zs, acts)) in enumerate(zip(model.layers, steps))]
    )
