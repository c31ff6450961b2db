"""Folding a big graph into boxes: the general hook ``draw_dot`` collapses through.

The engine knows no neurons.  A :class:`Grouping` says what the boxes of a graph
are: for each level of detail (finest first: ``"neuron"``, then ``"layer"``, say)
a finder that returns :class:`Group` s of Values, and which leaves are
parameters.  ``draw_dot(root, group=...)`` uses one; ``collapse="auto"`` tries
no boxes, then each level in turn, until the picture fits the budget.

A library registers the grouping its models need with :func:`set_default_grouping`
(``import nn`` registers ``nn.GROUPING``, so ``draw_dot(loss)`` of an MLP collapses
to neurons or layers as it always has).  Here are only the parts that hold for any
grouping: leaves read together by a group's weighted sums become one vector box,
and other leaves feeding exactly the same boxes share one too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from .style import label_text
from .value import Value

__all__ = [
    "Group",
    "Grouping",
    "common_name",
    "consumers",
    "default_grouping",
    "input_key",
    "plan",
    "set_default_grouping",
]

MIN_VECTOR = 4  # leaves feeding the same boxes are drawn as one vector box from this many on


@dataclass
class Group:
    """Values drawn as one box.

    ``kind`` names it in the legend (``"neuron"``, ``"layer"``; ``"vector"`` is
    a box of input leaves); ``subtitle`` is its second line (``"relu neuron, 8
    weights"``); ``weights`` are the parameters whose largest gradient it shows;
    ``inputs`` the operand lists its weighted sums read (one tuple per sum).
    """

    kind: str
    name: str
    members: list  # every Value inside the box
    outputs: list  # the Values whose consumers lie outside
    subtitle: str = ""
    weights: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    count: int = 1  # neurons in a layer, values in a vector


Finder = Callable[[Sequence[Value], Mapping], list]


def _never(v: Value) -> bool:
    return False


@dataclass(frozen=True)
class Grouping:
    """How a family of models folds into boxes.

    ``levels`` maps a level's name to ``finder(order, consumers) -> [Group]``
    (``order``: the graph's Values, inputs first; ``consumers``: each Value's
    consumers), finest level first.  ``is_parameter(v)`` tells a parameter leaf
    from an input when ``draw_dot`` is given no ``params``.
    """

    levels: Mapping[str, Finder]
    is_parameter: Callable[[Value], bool] = _never


_default: list = [None]


def set_default_grouping(grouping: Grouping | None) -> None:
    """The grouping ``draw_dot`` uses when given none (None: no boxes, only collapse="none")."""
    if grouping is not None and not isinstance(grouping, Grouping):
        raise TypeError(f"set_default_grouping: expected a Grouping or None, got {grouping!r}")
    _default[0] = grouping


def default_grouping() -> Grouping | None:
    return _default[0]


def consumers(order: Sequence[Value]) -> dict:
    """Each Value's consumers (the ops that read it), once each, in ``order``."""
    cons: dict = {v: [] for v in order}
    for v in order:
        for p in v.parents:
            if not cons[p] or cons[p][-1] is not v:
                cons[p].append(v)
    return cons


def common_name(names: Sequence[str], fallback: str) -> str:
    """The dotted prefix that all ``names`` share (``layers.1.neurons``), else ``fallback``."""
    names = [s for s in names if s]
    if len(names) < 2:
        return fallback
    common = []
    for column in zip(*(s.split(".") for s in names)):
        if len(set(column)) > 1:
            break
        common.append(column[0])
    return ".".join(common) or fallback


def input_key(xs: Sequence[Value]) -> tuple:
    """What makes two operand lists the same input: the same Values, position by position.

    Plain numbers an op lifted are fresh constants each time, so equal unlabeled
    constants in the same position count as the same input.
    """
    return tuple(("c", x.data) if x.is_leaf and not label_text(x) else id(x) for x in xs)


def plan(
    order: Sequence[Value], cons: Mapping, groups: list, params: Collection
) -> dict:
    """Map each Value in a box to its Group: ``groups``, plus vectors of input leaves."""
    where = {v: g for g in groups for v in g.members}
    _vectors_of_inputs(groups, where, params)
    _vectors_of_leaves(order, cons, where, params)
    return where


def _vector(leaves: list, count: int) -> Group:
    name = common_name([label_text(v) for v in leaves], "")
    name = f"{name} ({count} values)" if name else f"{count} inputs"
    return Group("vector", name, leaves, leaves, count=count)


def _vectors_of_inputs(groups: list, where: dict, params: Collection) -> None:
    """A group's weighted-sum inputs, when they are all plain leaves, are one vector box."""
    vectors: dict = {}
    for g in groups:
        for xs in g.inputs:
            if len(xs) < MIN_VECTOR or any(
                not x.is_leaf or x in params or (x in where and where[x].kind != "vector")
                for x in xs
            ):
                continue
            key = input_key(xs)
            if key not in vectors:
                vectors[key] = _vector([], len(xs))
            vec = vectors[key]
            for x in xs:
                if x not in where:
                    vec.members.append(x)
                    where[x] = vec


def _vectors_of_leaves(
    order: Sequence[Value], cons: Mapping, where: dict, params: Collection
) -> None:
    """Other leaves that feed exactly the same boxes share one box too."""
    by_targets: dict = {}
    for v in order:
        if v.is_leaf and v not in where and v not in params:
            targets = tuple(dict.fromkeys(id(where.get(c, c)) for c in cons[v]))
            by_targets.setdefault(targets, []).append(v)
    for leaves in by_targets.values():
        if len(leaves) >= MIN_VECTOR:
            vec = _vector(leaves, len(leaves))
            where.update((v, vec) for v in leaves)
