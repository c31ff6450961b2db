"""Why a gradient is what it is: backpropagation as a sum over paths.

By the chain rule, ``d root / d target`` is the sum, over every path from
``root`` down to ``target``, of the product of the local derivatives on the
path's edges (``d child / d parent``, one per edge).  Backpropagation computes
that sum without listing the paths: it shares their common parts, so it visits
each edge once while the number of paths can grow exponentially (a chain of
100 diamonds has 2**100 of them).  ``explain_gradient(root, target, k)`` lists
the ``k`` paths that contribute most, counts all of them, and gives the rest
as one remainder, so that listed contributions + remainder = the gradient.

Three passes over the part of the graph between ``root`` and ``target`` (the
nodes ``root`` depends on that depend on ``target``), root first:

* the number of paths: ``count[parent] += count[child]`` for every edge,
  Python ints, exact however large;
* the ``k`` best paths: each node keeps its ``k`` best partial paths from the
  root, made from its consumers' ``k`` best and the local derivative of the
  edge between them.  |a * l| never decreases as |a| grows, float rounding
  included, so a path among a node's ``k`` best extends one among its
  consumer's ``k`` best, and keeping ``k`` per node is exact:
  ``O(edges * k log k)``, never listing the paths.  Ties are broken so the
  same holds: a path's key is ``(|contribution|, its last edge, its prefix's
  rank at the node above)``, i.e. paths are sorted by
  ``(-|p_L|, e_L, -|p_(L-1)|, e_(L-1), ...)`` where ``p_i`` is the product of
  the first ``i`` local derivatives (root first) and ``e_i`` the ``i``-th edge
  (its child's place in backward's order, then the parent's slot);
* the gradient itself is :func:`~autograd.grad`'s, so the remainder is
  ``total - fsum(listed)``.

A node used twice by the same op (``x * x``) has two edges to it, so two
paths, as ``grad`` counts it.  Local derivatives come from each node's rule
(``rule.local_derivatives``, the numbers the backward trace shows); a node built
by hand with a ``_backward`` closure hides them, and is refused by name.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator
from dataclasses import dataclass
from heapq import nsmallest
from typing import Any

from . import checks
from .backward import backward_order, grad
from .grouping import consumers, default_grouping
from .kinds import Closure
from .style import fmt, label_text, visible
from .table import format_table
from .value import Value

__all__ = ["GradientPath", "GradientPaths", "count_text", "explain_gradient"]

_OP = "explain_gradient"
_FULL_DIGITS = 60  # a count up to this many digits is written out in full
# The most partial paths a search carries (k per edge at most): about half a minute.
MAX_PARTIAL_PATHS = 2_000_000


@dataclass(frozen=True)
class GradientPath:
    """One path from the root down to the target.

    ``nodes[0]`` is the root and ``nodes[-1]`` the target; ``locals[i]`` is the
    local derivative ``d nodes[i] / d nodes[i+1]`` on the edge between them
    (``slots[i]``: which of ``nodes[i]``'s parents it is), and
    ``contribution`` their product, multiplied root first.
    """

    nodes: tuple[Value, ...]
    locals: tuple[float, ...]
    slots: tuple[int, ...]
    contribution: float
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.locals)  # the number of edges

    def text(self) -> str:
        """``loss → h3 → w``: the names along the path, root first."""
        return " → ".join(self.names)

    def locals_text(self) -> str:
        """``1.0000 × -0.2310``: the local derivatives along the path."""
        return " × ".join(fmt(x) for x in self.locals) or "(no edges: the target is the root)"


class GradientPaths:
    """The ``k`` largest paths of a gradient, the count of all paths and the rest.

    Data: ``paths`` (sorted by |contribution|, largest first), ``total`` (the
    gradient, as :func:`~autograd.grad` gives it), ``remainder`` (the other
    paths' sum: ``total`` minus the listed contributions, rounded once, so the
    listed ones and it add up to ``total`` within 1e-15 of ``|total| +
    sum(|listed|)``), ``count`` (all paths, an exact int), ``edges`` (the
    edges of the root's graph, each of which backward visits once).  Prints as
    a table; shows as HTML in Jupyter.
    """

    def __init__(
        self, root: Value, target: Value, k: int, paths: tuple[GradientPath, ...],
        total: float, count: int, edges: int, names: tuple[str, str] = ("root", "target"),
    ) -> None:
        self.root = root
        self.target = target
        self.k = k
        self.paths = paths
        self.total = total
        self.count = count
        self.edges = edges
        self.root_name, self.target_name = names
        # Rounded once from the exact difference: fsum(listed + [remainder]) is ``total``
        # to half an ulp of the remainder, however much the listed paths cancel.
        self.remainder = math.fsum([total, *(-p.contribution for p in paths)])

    def __iter__(self) -> Iterator[GradientPath]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> GradientPath:
        return self.paths[i]

    @property
    def listed(self) -> float:
        """The sum of the listed paths' contributions."""
        return math.fsum(p.contribution for p in self.paths)

    @property
    def others(self) -> int:
        """How many paths are not listed (their sum is ``remainder``)."""
        return self.count - len(self.paths)

    def comparison(self) -> str:
        """The one line: how many paths the gradient sums against the edges backward visits."""
        s = "" if self.count == 1 else "s"
        return (f"the gradient sums {count_text(self.count)} path{s}; "
                f"backward visited {self.edges:,} edge{'' if self.edges == 1 else 's'}")

    def _title(self) -> str:
        return (f"d {self.root_name} / d {self.target_name} = {fmt(self.total)}: "
                f"the {len(self.paths)} largest of {count_text(self.count)} "
                f"path{'' if self.count == 1 else 's'}, root first")

    def _rows(self) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        head = ("#", "contribution", "running sum", "path", "local derivatives")
        rows: list[tuple[str, ...]] = []
        running: list[float] = []
        for i, p in enumerate(self.paths, 1):
            running.append(p.contribution)
            rows.append((str(i), fmt(p.contribution), fmt(math.fsum(running)), p.text(),
                         p.locals_text()))
        if self.others:
            rows.append(("", fmt(self.remainder), fmt(self.total),
                         f"the other {count_text(self.others)} path"
                         f"{'' if self.others == 1 else 's'}", ""))
        return head, rows

    def table(self) -> str:
        """The paths as a fixed-width text table, ending at the gradient."""
        head, rows = self._rows()
        foot = f"total {fmt(self.total)} = grad(); {self.comparison()}"
        return format_table(head, rows, align="rrrll", title=self._title()) + "\n" + foot

    __str__ = table

    def __repr__(self) -> str:
        return (f"<GradientPaths d {self.root_name} / d {self.target_name}: "
                f"{len(self.paths)} of {count_text(self.count)} paths>")

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.table())  # IPython shows the table, not the one-line repr

    def _repr_html_(self) -> str:
        e = html.escape
        head, rows = self._rows()
        style = 'style="padding:2px 8px;text-align:{}"'
        align = ("right", "right", "right", "left", "left")
        th = "".join(f"<th {style.format(a)}>{e(h)}</th>" for h, a in zip(head, align))
        body = "".join(
            "<tr>" + "".join(f"<td {style.format(a)}>{e(c)}</td>" for c, a in zip(r, align))
            + "</tr>"
            for r in rows
        )
        return (f"<div><b>{e(self._title())}</b><table><thead><tr>{th}</tr></thead>"
                f"<tbody>{body}</tbody></table><div>total {e(fmt(self.total))} = grad(); "
                f"{e(self.comparison())}</div></div>")

    def edge_weights(self) -> dict[tuple[Value, int], float]:
        """``(child, slot) -> `` the sum of the listed contributions through that edge.

        For pictures: draw an edge by how much of the listed gradient flows along it.
        """
        out: dict = {}
        for p in self.paths:
            for child, slot in zip(p.nodes, p.slots):
                key = (child, slot)
                out[key] = out.get(key, 0.0) + p.contribution
        return out


def count_text(n: int) -> str:
    """A path count in full with separators, or past 60 digits its order of magnitude."""
    if n < 10**_FULL_DIGITS:
        return f"{n:,}"
    return checks.describe_int(n)


def explain_gradient(root: Value, target: Value, k: int = 10) -> GradientPaths:
    """Why ``d root / d target`` is what it is: the ``k`` paths from ``root`` down to
    ``target`` with the largest |contribution| (the product of the local
    derivatives along the path), the exact number of paths, and the sum of the
    rest, so that the listed contributions plus ``remainder`` equal
    ``grad(root, [target])``.  No path list is ever built in full; no ``.grad``
    is touched.

    ``target`` must be in ``root``'s graph; a node built by hand with a
    ``_backward`` closure between them is refused (it hides its local
    derivatives).  Raises :class:`~autograd.GradientError` where ``grad`` would.
    """
    checks.value(root, _OP, "root")
    checks.value(target, _OP, "target")
    k = checks.integer(k, _OP, "k", low=1)
    order = backward_order(root)  # root first, each node before its inputs
    place = {v: i for i, v in enumerate(order)}
    if target not in place:
        raise ValueError(
            f"{_OP}: target is not in root's graph (root does not depend on it), "
            f"got {checks.describe(target)}"
        )
    total = grad(root, target)
    on, edges = _between(order, target)
    local = {v: _locals(v) for v in order if v in on and v is not target and v._rule is not None}
    names = _names(order, place)
    count = _count(order, on, local, target, k)
    best = _best_paths(order, place, on, local, target, k)
    ranks = range(len(best[target]))
    paths = tuple(_path(best, r, order, local, names, target) for r in ranks)
    return GradientPaths(root, target, k, paths, total, count, edges, (names[root], names[target]))


def _between(order: list, target: Value) -> tuple[set, int]:
    """The nodes that depend on ``target`` (itself included), and the graph's edges."""
    on = {target}
    edges = 0
    for v in reversed(order):  # inputs first
        r = v._rule
        if r is None:
            continue
        ps = r.parents(v)
        edges += len(ps)
        if v not in on and any(p in on for p in ps):
            on.add(v)
    return on, edges


def _locals(v: Value) -> tuple[float, ...]:
    """``v``'s local derivatives, the ones the backward trace shows; refused where
    a closure hides them or where one is not a finite number."""
    r = v._rule
    if isinstance(r, Closure):
        raise TypeError(
            f"{_OP}: node {r.symbol!r} ({checks.short(v)}) was built by hand with a _backward "
            "closure, which hides its local derivatives from the paths; build it from Value "
            "ops, give it its local gradients (microgpt's Value(data, children, local_grads)), "
            "or declare a Rule and use autograd.apply"
        )
    ds = r.local_derivatives(v)
    for d in ds:
        if not math.isfinite(d):
            raise ValueError(
                f"{_OP}: node {r.symbol!r} ({checks.short(v)}) has no finite local derivative "
                f"here, got {d!r}; the paths through it have no finite product"
            )
    return ds


def _names(order: list, place: dict) -> dict:
    """How the table shows a node: its label; else ``root`` for the root; else, inside a
    box of the registered grouping (a neuron, once ``import nn`` registered it), the box's
    name and the op (``layers.1.neurons.5 (relu)``); else its op and its place
    (``tanh#3``), counting inputs first as the backward trace does.  Computed for the
    nodes shown only."""
    n = len(order)
    boxes: list = []

    def name(v: Value) -> str:
        text = visible(label_text(v)).replace("\n", " ")
        if text:
            return text
        if v is order[0]:
            return "root"  # the output, whatever op made it: "d root / d w"
        if not boxes:
            boxes.append(_boxes(order))
        box = boxes[0].get(v)
        return f"{box} ({v.op})" if box else f"{v.op or 'leaf'}#{n - 1 - place[v]}"

    return _Lazy(name)


def _boxes(order: list) -> dict:
    """Each Value inside a box of the registered grouping's finest level -> the box's name."""
    grouping = default_grouping()
    if grouping is None or not grouping.levels:
        return {}
    find = next(iter(grouping.levels.values()))
    inputs_first = order[::-1]
    return {v: g.name for g in find(inputs_first, consumers(inputs_first)) for v in g.members}


class _Lazy(dict):
    """Names computed for the few nodes on listed paths only."""

    def __init__(self, make: Any) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, v: Value) -> str:
        self[v] = text = self.make(v)
        return text


def _edges_on(v: Value, on: set, local: dict) -> Iterator[tuple[int, Value, float]]:
    """``(slot, parent, local derivative)`` for each of ``v``'s edges towards the target."""
    for slot, (p, d) in enumerate(zip(v._rule.parents(v), local[v])):
        if p in on:
            yield slot, p, d


def _count(order: list, on: set, local: dict, target: Value, k: int) -> int:
    """The number of paths from the root to ``target``: exact Python ints.

    Also refuses a ``k`` whose search would not end in reasonable time: each edge
    carries ``min(k, paths from the root to its child)`` partial paths.
    """
    counts = {order[0]: 1}
    work = 0
    for v in order:
        if v not in on or v is target or v._rule is None:
            continue
        c = counts[v]
        for _, p, _ in _edges_on(v, on, local):
            counts[p] = counts.get(p, 0) + c
            work += min(k, c)
    if work > MAX_PARTIAL_PATHS:
        raise ValueError(
            f"{_OP}: k={k:,} would carry {work:,} partial paths through this graph (at most "
            f"{MAX_PARTIAL_PATHS:,}); ask for fewer paths: the remainder sums the rest exactly, "
            f"got k={k:,}"
        )
    return counts[target]


def _best_paths(
    order: list, place: dict, on: set, local: dict, target: Value, k: int
) -> dict:
    """``best[v]``: the ``k`` best partial paths from the root to each node ``v`` up to
    ``target``, as ``(product, back)`` where ``back`` is ``(child's place, slot, rank at
    child)`` for the edge into ``v`` (None at the root).

    A candidate's key ``(-|product|, child's place, slot, rank at child)`` is unique.
    """
    best: dict = {order[0]: [(1.0, None)]}
    pending: dict = {}
    for v in order:
        if v not in on:
            continue
        if v is not order[0]:
            chosen = nsmallest(k, pending.pop(v))
            best[v] = [(c[4], c[1:4]) for c in chosen]
        if v is target:
            return best
        i = place[v]
        mine = best[v]
        for slot, p, d in _edges_on(v, on, local):
            out = pending.setdefault(p, [])
            for rank, (prod, _) in enumerate(mine):
                x = prod * d
                out.append((-abs(x), i, slot, rank, x))
    raise AssertionError("unreachable: the target is in the graph")


def _path(
    best: dict, rank: int, order: list, local: dict, names: dict, target: Value
) -> GradientPath:
    """The ``rank``-th best path, back-pointers followed from the target up to the root."""
    contribution, back = best[target][rank]
    nodes, ds, slots = [target], [], []
    while back is not None:
        i, slot, rank = back
        child = order[i]
        nodes.append(child)
        ds.append(local[child][slot])
        slots.append(slot)
        back = best[child][rank][1]
    nodes.reverse()
    ds.reverse()
    slots.reverse()
    shown = [names[nodes[0]]]
    for child, slot, p in zip(nodes, slots, nodes[1:]):
        twice = child._rule.parents(child).count(p) > 1  # x * x: say which edge
        shown.append(f"{names[p]} (operand {slot + 1})" if twice else names[p])
    return GradientPath(tuple(nodes), tuple(ds), tuple(slots), contribution, tuple(shown))
