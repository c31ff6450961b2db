"""Why this digit: which pixels and which neurons push an output up or down.

Three answers, each a number per input (or per neuron) computed by the engine on
one run of the network (:func:`nn.run_layers`):

- :func:`saliency`: ``d z_c / d x_i``, how output ``c``'s raw score (its logit,
  the weighted input ``z`` of output neuron ``c``) changes when pixel ``i``
  brightens.  Positive: more ink there means more "c".
- :func:`contrast`: ``d (z_a - z_b) / d x_i``, the same for the *difference*
  of two scores: "why a 4 rather than a 7".  Positive: ink there argues for
  ``a`` over ``b``.
- :func:`contributions`: ``w_ji * a_i`` for one neuron ``j`` of one layer, the
  terms of its weighted input ``z_j = sum_i w_ji * a_i + b_j``; exact, no
  derivative involved.  In the first layer ``a_i`` are the pixels (one term
  per pixel), deeper they are the previous layer's activations (one term per
  hidden neuron), and in the output layer they say which last-hidden neurons
  vote for a class.

Gradients come from ``autograd.grad`` on a fresh run, so no ``.grad`` of the
model is touched, and they are taken even inside ``no_grad()``.  The derivative
is of the logit, not of the softmax probability: a logit's gradient says what
the evidence for one class is, undiluted by the other classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autograd import Value, checks, enable_grad
from autograd import grad as gradients

from .layers import MLP
from .run import NetworkRun, check_model, run_layers

__all__ = ["Contributions", "contrast", "contributions", "saliency"]


def _floats(x: Any, nin: int, who: str) -> list[float]:
    """``x`` as ``nin`` plain floats (a Value gives its data): the run's inputs are then
    fresh leaves whose gradient is exactly d / d pixel."""
    xs = checks.sequence(x, who, "x", f"{nin} numbers")
    if len(xs) != nin:
        raise ValueError(f"{who}: expected {nin} inputs, got {len(xs)}")
    out = []
    for i, v in enumerate(xs):
        data = v.data if isinstance(v, Value) else v
        out.append(checks.number(data, who, f"x[{i}]"))
    return out


def _output_index(c: Any, nout: int, who: str, name: str) -> int:
    return checks.integer(c, who, name, low=0, high=nout - 1)


def _run(model: Any, x: Any, who: str) -> tuple[MLP, NetworkRun]:
    model = check_model(model, who)
    xs = _floats(x, model.nin, who)
    with enable_grad():
        return model, run_layers(model, xs, who=who)


def saliency(model: MLP, x: Sequence[float], output: int) -> list[float]:
    """``d z_output / d x_i`` for every input ``i``: how output ``output``'s raw score
    (logit) moves per unit of pixel ``i``.

    A float per input, in input order (reshape it to the image to look at it).
    """
    model, run = _run(model, x, "saliency")
    c = _output_index(output, len(run.outputs), "saliency", "output")
    with enable_grad():
        return gradients(run.layers[-1].z[c], run.inputs)


def contrast(model: MLP, x: Sequence[float], a: int, b: int) -> list[float]:
    """``d (z_a - z_b) / d x_i`` for every input ``i``: where ink argues for class ``a``
    over class ``b`` (positive) or for ``b`` over ``a`` (negative).

    Equals ``saliency(model, x, a) - saliency(model, x, b)``, computed in one backward
    pass of the difference.
    """
    model, run = _run(model, x, "contrast")
    nout = len(run.outputs)
    a = _output_index(a, nout, "contrast", "a")
    b = _output_index(b, nout, "contrast", "b")
    if a == b:
        raise ValueError(f"contrast: a and b must be two different outputs, got {a} and {b}")
    z = run.layers[-1].z
    with enable_grad():
        return gradients(z[a] - z[b], run.inputs)


@dataclass(frozen=True)
class Contributions:
    """The terms of one neuron's weighted input: ``z = sum(terms) + bias``.

    ``terms[i] = w_i * a_i``, ``a_i`` being the layer's input ``i`` (a pixel in the
    first layer, a neuron of the previous layer deeper); ``inputs`` are the ``a_i``,
    ``weights`` the ``w_i``; ``z`` and ``activation`` are the neuron's for this input.
    """

    layer: int
    neuron: int
    inputs: list[float]
    weights: list[float]
    terms: list[float]
    bias: float
    z: float
    activation: float

    def top(self, k: int = 5) -> list[tuple[int, float]]:
        """The ``k`` largest terms by size, as ``(input index, term)``, largest first."""
        k = checks.integer(k, "Contributions.top", "k", low=1)
        order = sorted(range(len(self.terms)), key=lambda i: (-abs(self.terms[i]), i))
        return [(i, self.terms[i]) for i in order[:k]]


def contributions(model: MLP, x: Sequence[float], layer: int, neuron: int) -> Contributions:
    """Each input's term ``w_i * a_i`` in neuron ``neuron`` of layer ``layer``'s weighted
    input, for the input ``x``.

    ``layer=0``: per pixel; ``layer=len(model.layers) - 1``, ``neuron=c``: which
    last-hidden neurons push output ``c`` up (positive terms) or down.  The terms and
    the bias add up to the neuron's ``z`` (up to float rounding of the sum).
    """
    model = check_model(model, "contributions")
    li = checks.integer(layer, "contributions", "layer", low=0, high=len(model.layers) - 1)
    n_neurons = len(model.layers[li].neurons)
    j = checks.integer(neuron, "contributions", "neuron", low=0, high=n_neurons - 1)
    xs = _floats(x, model.nin, "contributions")
    run = run_layers(model, xs, who="contributions")
    step = run.layers[li]
    inputs = [v.data for v in step.inputs]
    unit = step.layer.neurons[j]
    weights = [w.data for w in unit.w]
    return Contributions(
        li, j, inputs, weights, [w * a for w, a in zip(weights, inputs)], unit.b.data,
        step.z[j].data, step.a[j].data,
    )
