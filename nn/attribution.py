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

from .features import image_shape
from .image_grid import Panel, SvgPicture, draw_grid, reshape
from .layers import MLP
from .run import NetworkRun, check_model, run_layers

__all__ = ["Contributions", "contrast", "contributions", "draw_why", "saliency"]


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


def draw_why(model: MLP, x: Sequence[float], a: int, b: int,
             shape: tuple[int, int] | None = None, title: str | None = None) -> SvgPicture:
    """Why ``x`` reads as ``a`` rather than ``b``, in one picture.

    Top row, per pixel: the input; the saliencies of ``a`` and of ``b`` and their
    contrast ``d (z_a - z_b) / dx`` (one colour scale for the three); and
    ``x * contrast``, where the ink that is there argues for ``a`` (blue) or ``b``
    (red).  Bottom row, per last-hidden neuron: its contributions ``w * act`` to
    ``z_a``, to ``z_b`` and to ``z_a - z_b`` (one scale).
    """
    model = check_model(model, "draw_why")
    xs = _floats(x, model.nin, "draw_why")
    nout = len(model.layers[-1].neurons)
    a = _output_index(a, nout, "draw_why", "a")
    b = _output_index(b, nout, "draw_why", "b")
    if a == b:
        raise ValueError(f"draw_why: a and b must be two different outputs, got {a} and {b}")
    shape = image_shape(shape, model.nin, "draw_why")
    sa, sb, sab = saliency(model, xs, a), saliency(model, xs, b), contrast(model, xs, a, b)
    ink = [v * g for v, g in zip(xs, sab)]
    gscale = max(abs(g) for g in [*sa, *sb, *sab]) or 1.0
    iscale = max(abs(g) for g in ink) or 1.0
    last = len(model.layers) - 1
    ca, cb = contributions(model, xs, last, a), contributions(model, xs, last, b)
    diff = [p - q for p, q in zip(ca.terms, cb.terms)]
    cscale = max(abs(t) for t in [*ca.terms, *cb.terms, *diff]) or 1.0
    logits = model.predict(xs)

    def img(values: list[float], kind: str, scale: float, head: str, note: str) -> Panel:
        return Panel(reshape(values, shape), kind, scale, head, note)

    top = [
        img(xs, "ink", max(1.0, max(xs)), "input", f"z{a} {logits[a]:+.2f}, z{b} {logits[b]:+.2f}"),
        img(sa, "signed", gscale, f"d z{a} / dx", f"±{gscale:.2g}"),
        img(sb, "signed", gscale, f"d z{b} / dx", f"±{gscale:.2g}"),
        img(sab, "signed", gscale, f"d (z{a} − z{b}) / dx", f"±{gscale:.2g}"),
        img(ink, "signed", iscale, f"x · d (z{a} − z{b}) / dx", f"±{iscale:.2g}"),
    ]
    h = len(ca.terms)
    px = max(3.0, min(10.0, 130.0 / h))
    bottom = [
        None,
        Panel([ca.terms], "signed", cscale, f"w·a into z{a}", f"bias {ca.bias:+.2f}", pixel=px),
        Panel([cb.terms], "signed", cscale, f"w·a into z{b}", f"bias {cb.bias:+.2f}", pixel=px),
        Panel([diff], "signed", cscale, "difference", f"±{cscale:.2g}", pixel=px),
    ]
    head = title or f"Why {a} rather than {b}? Saliency, contrast and contributions"
    legend = (f"colour = the gradient's sign: blue, more of it raises the score of {a} "
              f"(or of {a} over {b}), red: lowers it; the three gradient maps share one scale")
    notes = [f"top: per pixel (z = the output's logit); bottom: the {h} last-hidden neurons' "
             f"terms w·a of z{a} and z{b} (they add up to z − bias)",
             "x · gradient: the first-order share of each pixel that is inked"]
    return draw_grid([top, bottom], title=head, legend=legend, notes=notes)
