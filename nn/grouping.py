"""How ``draw_dot`` folds an nn model's graph into neuron and layer boxes.

Lives beside the code that builds the pattern it recognises, so a change to how a
neuron stores its bias changes both in one package: a neuron is a ``dot`` of its
weights and inputs with the bias as one more pair ``b * 1`` (``nn.layers``), or
followed by ``+ b``, then maybe an activation; a layer is neurons reading the same
inputs with the same activation.  Parameters are recognised by their dotted names
(``layers.0.neurons.3.w.5``, ``....b``).

``import nn`` registers :data:`GROUPING` as ``draw_dot``'s default, so
``draw_dot(loss)`` of an MLP's graph collapses to neurons, else layers, when it
is too big; ``draw_dot(loss, group=nn.GROUPING)`` says so explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from autograd import Value
from autograd.grouping import Group, Grouping, common_name, input_key
from autograd.style import label_text

from .layers import ACTIVATIONS

__all__ = ["GROUPING", "find_layers", "find_neurons", "is_parameter"]

_PARAMETER = re.compile(r"\.(w\.\d+|b)$")  # layers.0.neurons.3.w.5, layers.0.neurons.3.b
_SQUASHES = frozenset(ACTIVATIONS) - {"linear"}


def is_parameter(v: Value) -> bool:
    """Whether a leaf's label is an nn parameter name."""
    return _PARAMETER.search(label_text(v)) is not None


def _bias(d: Value) -> tuple | None:
    """The bias pair in a ``dot``: ``(b, one)`` when the last pair is a leaf times a constant 1."""
    ps = d.parents
    b, one = ps[len(ps) // 2 - 1], ps[-1]
    return (b, one) if b.is_leaf and one.is_constant and one.data == 1.0 else None


def _inputs(d: Value) -> tuple:
    """A weighted sum's inputs, without the constant 1 of the bias."""
    xs = d.parents[len(d.parents) // 2 :]
    return xs[:-1] if _bias(d) else xs


def _neuron(d: Value, cons: Mapping, index: int) -> tuple[Group, str]:
    """The box of one neuron around its ``dot`` node ``d``, and its activation."""
    ws = d.parents[: len(d.parents) // 2]
    members, cur, act = [d], d, "linear"
    pair = _bias(d)
    if pair:
        members += pair  # the bias, and the layer's shared constant 1
        ws = ws[:-1]
    nxt = cons[cur]
    if not pair and len(nxt) == 1 and nxt[0].op == "+":
        bias = [p for p in nxt[0].parents if p is not cur]
        if len(bias) == 1 and bias[0].is_leaf and len(cons[bias[0]]) == 1:
            cur = nxt[0]
            members += [cur, bias[0]]
    nxt = cons[cur]
    if len(nxt) == 1 and nxt[0].op in _SQUASHES:
        cur = nxt[0]
        act = cur.op
        members.append(cur)
    absorbed = [w for w in dict.fromkeys(ws) if w.is_leaf and cons[w] == [d]]
    name = common_name([label_text(w) for w in ws], f"neuron {index}")
    if name.endswith(".w"):
        name = name[:-2]
    subtitle = f"{act} neuron, {len(absorbed)} weights"
    group = Group("neuron", name, members + absorbed, [cur], subtitle, absorbed, [_inputs(d)])
    return group, act


def _neurons(order: Sequence[Value], cons: Mapping) -> list[tuple[Group, str]]:
    found: list = []
    for d in order:
        if d.op == "dot" and not len(d.parents) % 2:
            found.append(_neuron(d, cons, len(found)))
    return found


def find_neurons(order: Sequence[Value], cons: Mapping) -> list[Group]:
    """One box per neuron: its weighted sum, bias, activation and own weights."""
    return [g for g, _ in _neurons(order, cons)]


def find_layers(order: Sequence[Value], cons: Mapping) -> list[Group]:
    """One box per layer: neurons reading the same inputs with the same activation."""
    by_key: dict = {}
    for g, act in _neurons(order, cons):
        by_key.setdefault((input_key(g.inputs[0]), act), []).append(g)
    layers = []
    for (_, act), gs in by_key.items():
        if len(gs) == 1:
            layers.append(gs[0])
            continue
        name = common_name([g.name for g in gs], f"layer {len(layers)}")
        if name.endswith(".neurons"):
            name = name[: -len(".neurons")]
        layers.append(
            Group(
                "layer",
                name,
                members=[v for g in gs for v in g.members],
                outputs=[g.outputs[0] for g in gs],
                subtitle=f"{len(gs)} × {act} neurons",
                weights=[w for g in gs for w in g.weights],
                inputs=[g.inputs[0] for g in gs],
                count=len(gs),
            )
        )
    return layers


GROUPING = Grouping({"neuron": find_neurons, "layer": find_layers}, is_parameter)
