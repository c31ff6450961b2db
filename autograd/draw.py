"""Pictures of computation graphs: ``draw_dot(root)``, ``render_svg(picture, path)``.

``draw_dot(root)`` returns a :class:`graphviz.Digraph` of everything ``root``
depends on (it shows inline in Jupyter); ``render_svg(graph, path)`` writes it
as SVG.  Colour carries meaning (:mod:`autograd.style`): a value's role (input,
parameter, interior, output) and the sign and size of its gradient.

What reaches Graphviz is bounded (``MAX_NODES`` boxes and ops, twice as many
edges, ``LAYOUT_PER_NODE`` times as many ranked nodes), so ``dot`` never runs
for minutes: a bigger graph is folded into boxes by a :class:`Grouping`
(:mod:`autograd.grouping`; ``import nn`` registers neurons and layers), or
refused with advice.  Building the picture is :func:`build_picture` with a
:class:`DrawOptions`, which the backward trace's frames also use.

The module also re-exports the style and rendering names it always had
(``fmt``, ``html_text``, ``GraphvizNotFoundError``, ``save_dot``...).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import checks
from .backward import topological_order
from .grouping import Group, Grouping, consumers, default_grouping, plan
from .paths import GradientPaths, count_text
from .render import (
    DOT_TIMEOUT,
    GraphvizNotFoundError,
    RenderError,
    RenderTimeoutError,
    new_picture,
    render_svgs,
    require_graphviz,
    require_graphviz_package,
    save_dot,
)
from .style import (
    BLUE,
    HIGHLIGHT,
    INK,
    MUTED,
    RED,
    ROLES,
    caption,
    cell,
    colour_key,
    fmt,
    grad_legend,
    html_label,
    html_text,
    ink_on,
    label_text,
    legend_label,
    plain_text,
    signed_shade,
    swatch,
    table,
    visible,
)
from .value import Value

if TYPE_CHECKING:
    import graphviz

__all__ = [
    "DrawOptions",
    "GraphvizNotFoundError",
    "RenderError",
    "RenderTimeoutError",
    "build_picture",
    "draw_dot",
    "render_svg",
    "require_graphviz",
    "require_graphviz_package",
    "save_dot",
]
# Kept importable from here, where they used to live.
_REEXPORTED = (DOT_TIMEOUT, fmt, html_text, plain_text, visible, label_text, Group, Grouping)

MAX_NODES = 400  # drawn boxes + op nodes; ``dot`` lays this out in well under a second
# What reaches dot is also bounded by its ranked nodes (see _layout_size), which predict
# its time where boxes and edges do not.  Measured with `python -m
# tests.benchmarks.dot_budget` (Graphviz 2.43, one core): fully connected layers of 242
# boxes and 4,848 edges rank as 4,754 nodes and take 0.9 s; random DAGs and polynomials
# of 4,700-4,900 ranked nodes 1-1.2 s (2-4 s on a busy machine); 9,500-10,300 take 7-49 s
# (22 s to over 60 s busy); 14,000 take 47 s; 22,000 over 60 s.  So at most 10 per node of
# the budget: 4,000, about a second.
LAYOUT_PER_NODE = 10
# A graph of more than this many Values per node of the budget is refused before it is
# ordered or measured (a bounded walk), so a refusal costs the same for a million Values
# as for a few thousand.  Folding costs time per Value: MLP(784, [16, 16, 10]) on one
# digit, about 14,000 Values, folds to layers within the default budget of 20,000.
VALUES_PER_NODE = 50
_RANKDIRS = ("LR", "TB", "RL", "BT")


# --- what the picture holds ----------------------------------------------------------------


@dataclass
class Scene:
    """The graph as drawn: Values in order, their consumers, and the boxes some fold into."""

    order: list
    cons: dict
    where: dict  # Value -> its Group, for the Values folded into a box
    ids: dict = field(init=False)  # Value -> node id
    groups: list = field(init=False)
    gids: dict = field(init=False)  # id(Group) -> node id

    def __post_init__(self) -> None:
        self.ids = {v: f"v{i}" for i, v in enumerate(self.order)}
        self.groups = list({id(g): g for g in self.where.values()}.values())
        self.gids = {id(g): f"g{i}" for i, g in enumerate(self.groups)}

    def node(self, v: Value) -> str:
        """The node an edge out of ``v`` starts at: its box, or its group's box."""
        g = self.where.get(v)
        return self.ids[v] if g is None else self.gids[id(g)]

    def shown(self) -> list:
        """The Values drawn as boxes of their own."""
        return [v for v in self.order if v not in self.where]


def _group_edges(s: Scene) -> list:
    """Edges into and out of the group boxes: one per pair of boxes, however many values cross."""
    edges: dict = {}
    for x in s.groups:
        inside = {id(m) for m in x.members}
        for m in x.members:
            for p in m.parents:
                if id(p) not in inside:
                    edges[(s.node(p), s.gids[id(x)])] = None
        for o in x.outputs:
            for c in s.cons[o]:
                if c not in s.where:  # edges between boxes are added from the consumer's side
                    edges[(s.gids[id(x)], s.ids[c] + "op")] = None
    return list(edges)


def _edges(s: Scene) -> list:
    """Every edge of the picture, as (from, to) node ids, in drawing order."""
    edges = []
    for v in s.shown():
        if not v.is_leaf:
            edges.append((s.ids[v] + "op", s.ids[v]))
            edges += [(s.node(p), s.ids[v] + "op") for p in v.parents]
    return edges + _group_edges(s)


def _layout_size(edges: list) -> int:
    """How many nodes ``dot`` orders: the real ones plus one per rank a long edge crosses.

    dot gives every node a rank and breaks an edge spanning k ranks into k pieces
    through k - 1 virtual nodes; its crossing minimisation then grows faster than
    linearly in this count.  Ranks are estimated as dot's network simplex tends to
    set them: each node one past its deepest input, inputs just before their first use.
    """
    outs: dict = {}
    indeg: dict = {}
    for a, b in edges:
        outs.setdefault(a, []).append(b)
        outs.setdefault(b, [])
        indeg[b] = indeg.get(b, 0) + 1
        indeg.setdefault(a, 0)
    rank = dict.fromkeys(outs, 0)
    sources = [n for n, k in indeg.items() if k == 0]
    ready = list(sources)
    while ready:
        n = ready.pop()
        for m in outs[n]:
            rank[m] = max(rank[m], rank[n] + 1)
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
    for n in sources:
        if outs[n]:
            rank[n] = min(rank[m] for m in outs[n]) - 1
    return len(outs) + sum(max(0, rank[b] - rank[a] - 1) for a, b in edges)


def _node_count(s: Scene) -> int:
    """The picture's nodes: group boxes, Value boxes and their op nodes."""
    shown = s.shown()
    return len(s.groups) + len(shown) + sum(1 for v in shown if not v.is_leaf)


def picture_size(s: Scene) -> tuple[int, int, int]:
    """The picture's nodes (boxes and ops), edges and ranked nodes (see ``_layout_size``)."""
    edges = _edges(s)
    return _node_count(s), len(edges), _layout_size(edges)


def over_budget(s: Scene, max_nodes: int, edges_per_node: int = 2) -> str:
    """Why the picture is over the budget for ``max_nodes`` ("" if it is within).

    Measures in order of cost and stops at the first measure over its bound: the
    edges are listed only for a picture whose nodes fit, ranks only for edges that fit,
    so a refusal costs no more than the nodes of the scene.
    """
    nodes = _node_count(s)
    if nodes > max_nodes:
        return f"{nodes} nodes"
    edges = _edges(s)
    if len(edges) > edges_per_node * max_nodes:
        return f"{nodes} nodes and {len(edges)} edges"
    ranked = _layout_size(edges)
    if ranked > LAYOUT_PER_NODE * max_nodes:
        return f"{nodes} nodes, {len(edges)} edges and {ranked} ranked nodes"
    return ""


def values_within(root: Value, limit: int) -> int | None:
    """How many Values ``root`` depends on (itself included), or None as soon as more than
    ``limit`` are found: a walk that visits at most ``limit + 1`` of them, whatever the
    graph's size."""
    seen = {root}
    stack = [root]
    while stack:
        for p in stack.pop().parents:
            if p not in seen:
                if len(seen) >= limit:
                    return None
                seen.add(p)
                stack.append(p)
    return len(seen)


# --- choosing what to fold ----------------------------------------------------------------


def param_set(params: Any) -> set:
    """``params`` (Values, or a Module) as a set, checked."""
    if params is None:
        return set()
    if hasattr(params, "parameters"):
        params = params.parameters()
    out = set()
    for p in params:
        if not isinstance(p, Value):
            raise TypeError(f"draw_dot: params must be Values (or a Module), got {p!r}")
        out.add(p)
    return out


def _check_options(root: Any, rankdir: str, collapse: str, grouping: Grouping | None) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot: root must be a Value, got {root!r} ({type(root).__name__})")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"draw_dot: rankdir must be one of {_RANKDIRS}, got {rankdir!r}")
    if grouping is not None and not isinstance(grouping, Grouping):
        raise TypeError(f"draw_dot: group must be an autograd.grouping.Grouping, got {grouping!r}")
    levels = ("auto", "none", *(grouping.levels if grouping else ()))
    if collapse not in levels:
        hint = "" if grouping else " (no grouping in use: pass group=, e.g. nn.GROUPING)"
        raise ValueError(f"draw_dot: collapse must be one of {levels}{hint}, got {collapse!r}")


def _check_budget(max_nodes: Any) -> None:
    if max_nodes is not None:
        checks.integer(max_nodes, "draw_dot", "max_nodes", low=1)


def _scene(order: list, cons: dict, grouping: Grouping | None, level: str, params: set) -> Scene:
    if level == "none":
        return Scene(order, cons, {})
    groups = grouping.levels[level](order, cons)  # type: ignore[union-attr]  # levels come from grouping
    return Scene(order, cons, plan(order, cons, groups, params))


def _choose(
    order: list, cons: dict, grouping: Grouping | None, collapse: str,
    max_nodes: int | None, params: set,
) -> Scene:
    """The finest scene within the budget: collapse="auto" tries no boxes, then each level."""
    if collapse != "auto":
        levels: Sequence[str] = (collapse,)
    else:
        levels = ("none", *(grouping.levels if grouping else ()))
    fallback, sizes = None, []
    for level in levels:
        scene = _scene(order, cons, grouping, level, params)
        if max_nodes is None:
            return scene
        too_big = over_budget(scene, max_nodes)
        if not too_big:
            return scene
        # Too many edges to read (fully connected layers neuron by neuron) is still
        # quick to lay out; auto falls back to it only if no level is readable.
        if fallback is None and not over_budget(scene, max_nodes, edges_per_node=8):
            fallback = scene
        sizes.append(f"{too_big} with collapse={level!r}")
    if fallback is not None:
        return fallback
    raise ValueError(
        f"draw_dot: the graph is too big or too tangled to draw: {len(order)} values, "
        f"{'; '.join(sizes)}; the budget for max_nodes={max_nodes} is {max_nodes} nodes, "
        f"{8 * max_nodes} edges and {LAYOUT_PER_NODE * max_nodes} ranked nodes (nodes plus "  # type: ignore[operator]  # not None here
        "one per rank each edge crosses; past it Graphviz can take minutes). Draw a sub-graph "
        "instead: pass an intermediate Value as root (one neuron's output, one layer's "
        "activation), draw a smaller model or batch, or raise max_nodes."
    )


def _refuse_a_huge_graph(root: Value, max_nodes: int) -> None:
    limit = VALUES_PER_NODE * max_nodes
    if values_within(root, limit) is None:
        raise ValueError(
            f"draw_dot: the graph is too big to draw: more than {limit:,} values (the limit "
            f"for max_nodes={max_nodes} is {VALUES_PER_NODE} per node); it was not measured "
            "further. Draw a sub-graph instead: pass an intermediate Value as root (one "
            "neuron's output, one layer's activation), draw a smaller model or batch, or "
            "raise max_nodes (None lifts the budget, and Graphviz may then take minutes)."
        )


def draw_dot(
    root: Value,
    format: str = "svg",  # micrograd's signature
    rankdir: str = "LR",
    *,
    params: Any = None,
    title: str | None = None,
    legend: bool = True,
    collapse: str = "auto",
    max_nodes: int | None = MAX_NODES,
    group: Grouping | None = None,
    highlight: GradientPaths | None = None,
    scale: Any = None,
) -> graphviz.Digraph:
    """A ``graphviz.Digraph`` of everything ``root`` depends on.

    One box per Value (label, data, grad) and one node per op, left to right
    (``rankdir='TB'``: top to bottom).  Box colours tell inputs, parameters,
    interior values and the output apart (``params``: the parameter Values or a
    Module; the grouping may recognise parameters by name without it); the grad
    cell is blue for positive, red for negative, stronger for larger.

    Graphs over the budget (``max_nodes`` boxes and ops, twice as many edges,
    ``LAYOUT_PER_NODE`` times as many ranked nodes) are drawn with
    ``collapse='auto'`` at the finest level of ``group`` that fits (nn's: one box
    per neuron, else per layer), and refused with a ``ValueError`` if none does;
    a graph of more than ``VALUES_PER_NODE`` Values per node of the budget is
    refused before it is ordered (a bounded walk: quick whatever its size).
    ``group`` defaults to the registered grouping (``import nn`` registers
    ``nn.GROUPING``); ``collapse`` may force ``'none'`` or one of its levels;
    ``max_nodes=None`` lifts the budget.

    ``highlight``: an :func:`~autograd.explain_gradient` result; its listed paths
    are drawn over the graph, each edge as wide as the |sum| of the listed
    contributions along it, blue where that sum is positive, red where negative.

    ``scale``: the |grad| shaded at full colour (a number, or an object with a
    ``grad`` attribute such as ``nn.Scale``), so that pictures of one model
    compare; default: this picture's largest gradient below the root.  The
    legend says which.
    """
    fixed = _check_scale(scale)
    grouping = group if group is not None else default_grouping()
    _check_options(root, rankdir, collapse, grouping)
    _check_budget(max_nodes)
    if max_nodes is not None:
        _refuse_a_huge_graph(root, max_nodes)
    marked, notes = _highlight(highlight)
    order = topological_order(root)
    ps = param_set(params)
    scene = _choose(order, consumers(order), grouping, collapse, max_nodes, ps)
    if marked and any(child in scene.where for child, _ in marked):
        notes += ("some of these paths run inside collapsed boxes, where they are not drawn: "
                  "collapse='none', or an intermediate Value as root, shows them",)
    is_param = grouping.is_parameter if grouping else None
    options = DrawOptions(root, params=ps, rankdir=rankdir, title=title, legend=legend,
                          is_parameter=is_param, marked=marked, notes=notes, scale=fixed)
    g = build_picture(scene, options)
    g.format = format
    return g


def render_svg(
    graph: graphviz.Digraph | Value,
    path: str | os.PathLike,
    *,
    timeout: float | None = DOT_TIMEOUT,
    **draw_options: Any,
) -> Path:
    """Write ``graph`` (or ``draw_dot(graph, **draw_options)`` for a Value) as SVG to ``path``.

    Graphviz runs under ``timeout`` seconds.  If it cannot render (not installed,
    too slow, failed) this raises a :class:`RenderError` (such as
    :class:`GraphvizNotFoundError`) and leaves the DOT source next to ``path``
    (``.dot`` suffix) instead, to render elsewhere.
    """
    if isinstance(graph, Value):
        graph = draw_dot(graph, **draw_options)
    elif draw_options:
        raise TypeError(f"render_svg: options {sorted(draw_options)} only apply to a Value")
    return render_svgs([graph], [path], timeout=timeout)[0]


# --- building the picture -----------------------------------------------------------------


@dataclass(frozen=True)
class DrawOptions:
    """What to show beyond the graph itself.  The keyword tail serves the trace's frames.

    ``names`` overrides the shown name of values, ``grads`` the shown gradients
    (a value missing from it shows ``?``; values in ``partial`` say "so far"),
    ``current`` is highlighted and ``flows`` holds the text on each of its
    edges, in the order of its parents; ``scale`` fixes the |grad| drawn at full
    colour; ``is_parameter`` tells parameter leaves by name when not in ``params``.
    """

    root: Value
    params: Collection = ()
    rankdir: str = "LR"
    title: str | None = None
    legend: bool = True
    names: Mapping | None = None
    grads: Mapping | None = None
    partial: Collection = ()
    current: Value | None = None
    flows: Sequence[str] = ()
    notes: Iterable[str] = ()
    scale: float | None = None
    is_parameter: Any = None
    marked: Mapping | None = None  # (child, slot) -> signed weight: explained paths

    def grad_of(self, v: Value) -> float | None:
        return v.grad if self.grads is None else self.grads.get(v)

    def role(self, v: Value) -> str:
        if v is self.root:
            return "output"
        if not v.is_leaf:
            return "interior"
        if v.is_constant:
            return "constant"
        named = self.is_parameter is not None and self.is_parameter(v)
        return "parameter" if v in self.params or named else "input"


def build_picture(s: Scene, o: DrawOptions) -> graphviz.Digraph:
    """The picture of scene ``s``: boxes, ops, edges, then the caption."""
    g = new_picture(
        "autograd",
        graph_attr={
            "rankdir": o.rankdir,
            "nodesep": "0.18",
            "ranksep": "0.35",
            "labelloc": "t",
            "labeljust": "l",
        },
    )
    shown = s.shown()
    scale = o.scale
    if scale is None:
        scale = grad_scale(shown + [v for x in s.groups for v in x.outputs], o.root, o.grad_of)
    roles = set()
    for v in shown:
        roles.add(_value_node(g, s, v, o, scale))
    for x in s.groups:
        roles.add("parameter" if x.kind != "vector" else "input")
        g.node(s.gids[id(x)], _group_label(x, o, scale), shape="none", margin="0")
    for src, dst in _group_edges(s):
        g.edge(src, dst)
    if o.root in s.where:
        roles.add("output")
    if o.legend or o.title:
        g.attr(label=_caption(s, o, roles, scale))
    return g


def _value_node(g: Any, s: Scene, v: Value, o: DrawOptions, scale: float) -> str:
    """Draw ``v``'s box, and its op with the edges into it; return its role."""
    role = o.role(v)
    fill, border = ROLES[role]
    cells = []
    label = (o.names or {}).get(v) or label_text(v)
    if label:
        cells.append(cell(html_text(label), bold=True))
    cells.append(cell(f"data {fmt(v.data)}"))
    gv = o.grad_of(v)
    if role == "constant":
        pass  # a lifted number's gradient is never used: showing it would mislead
    elif gv is None:
        cells.append(cell("grad ?", ink=MUTED))
    else:
        t, shade = signed_shade(gv, scale)
        text = f"grad {fmt(gv)}" + (" so far" if v in o.partial else "")
        cells.append(cell(text, bg=shade, ink=ink_on(t)))
    hot = v is o.current
    width = 3 if hot else (2 if role == "output" else 1)
    box = table(cells, fill=fill, border=INK if hot else border, width=width)
    g.node(s.ids[v], box, shape="none", margin="0")
    if not v.is_leaf:
        _op_node(g, s, v, o)
    return role


def _op_node(g: Any, s: Scene, v: Value, o: DrawOptions) -> None:
    hot = v is o.current
    op = s.ids[v] + "op"
    g.node(
        op,
        plain_text(v.op),
        shape="circle" if len(v.op) <= 2 else "ellipse",
        width="0.3",
        height="0.3",
        margin="0.02",
        style="filled",
        fillcolor=HIGHLIGHT if hot else "white",
        color=INK if hot else MUTED,
        penwidth="2" if hot else "1",
    )
    if o.marked:
        _marked_edges(g, s, v, o.marked)
        return
    g.edge(op, s.ids[v])
    for k, p in enumerate(v.parents):
        if hot and o.flows:
            g.edge(s.node(p), op, label=html_label(o.flows[k]), color=HIGHLIGHT,
                   fontcolor=INK, penwidth="2.5")
        else:
            g.edge(s.node(p), op)


def _check_scale(scale: Any) -> float | None:
    """draw_dot's ``scale=``: None, a positive number, or an object whose ``grad`` is one."""
    if scale is None:
        return None
    if hasattr(scale, "grad") and not isinstance(scale, Value):
        return checks.number(scale.grad, "draw_dot", "scale.grad", low=0.0, low_open=True)
    return checks.number(scale, "draw_dot", "scale", low=0.0, low_open=True)


def _highlight(highlight: Any) -> tuple[dict | None, tuple[str, ...]]:
    """The edges an explanation marks, and the caption's note on them."""
    if highlight is None:
        return None, ()
    if not isinstance(highlight, GradientPaths):
        raise TypeError(
            "draw_dot: highlight must be an explain_gradient(...) result, "
            f"got {checks.describe(highlight)}"
        )
    e = highlight
    note = (f"wide blue/red edges: the {len(e.paths)} largest of {count_text(e.count)} paths "
            f"from {e.root_name} to {e.target_name} (width ∝ |contribution|, blue +, red −); "
            f"they add up to {fmt(e.listed)}, the others to {fmt(e.remainder)}: "
            f"grad {fmt(e.total)}")
    return e.edge_weights(), (note,)


def _marked_edges(g: Any, s: Scene, v: Value, marked: Mapping) -> None:
    """``v``'s op and the edges into it, those on explained paths wide and coloured."""
    op = s.ids[v] + "op"
    big = max((abs(w) for w in marked.values()), default=0.0) or 1.0
    through = [w for (child, _), w in marked.items() if child is v]
    if through:
        g.edge(op, s.ids[v], **_mark_style(sum(through), big))
    else:
        g.edge(op, s.ids[v])
    for k, p in enumerate(v.parents):
        w = marked.get((v, k))
        if w is None:
            g.edge(s.node(p), op)
        else:
            g.edge(s.node(p), op, **_mark_style(w, big))


def _mark_style(w: float, big: float) -> dict:
    width = 1.5 + 4.5 * (abs(w) / big) ** 0.5  # √ as the gradient shades, so small ones show
    return {"color": BLUE if w > 0 else RED if w < 0 else MUTED,
            "penwidth": f"{width:.2f}", "arrowsize": "0.6"}


def _caption(s: Scene, o: DrawOptions, roles: set, scale: float) -> str:
    n_ops = sum(1 for v in s.order if not v.is_leaf)
    what = label_text(o.root) or "the output"
    head = o.title or f"Computation graph of {what}: {len(s.order)} values, {n_ops} ops"
    rows, notes = [], list(o.notes)
    if o.legend:
        rows.append([legend_label("role:")] + [swatch(r, ROLES[r][1]) for r in ROLES if r in roles])
        rows += grad_legend(scale, fixed=o.scale is not None)
        if o.marked:
            rows.append([legend_label("wide edges:"), *colour_key("contribution", "+", "−")])
        if s.groups:
            kinds = sorted({x.kind for x in s.groups})
            notes.insert(
                0,
                f"collapsed: one box per {' / '.join(kinds)}, showing its output's data "
                "and grad; ops and parameters inside are not drawn",
            )
    return caption(head, rows, notes)


def grad_scale(values: list, root: Value, grad_of: Any) -> float:
    """The |grad| that gets full colour: the largest below the root (the root's is usually 1)."""
    gs = [
        abs(gv)
        for v in values
        if v is not root and not v.is_constant and (gv := grad_of(v)) is not None
    ]
    if not gs or max(gs) == 0.0:
        rg = grad_of(root)
        return abs(rg) if rg else 1.0
    return max(gs)


def _range_cell(what: str, xs: list, scale: float) -> str:
    """``what`` of a box's outputs: one number (shaded, for a grad) or a range."""
    if len(xs) > 1:
        return cell(f"{what} {fmt(min(xs))} … {fmt(max(xs))}")
    if what == "grad":
        t, shade = signed_shade(xs[0], scale)
        return cell(f"grad {fmt(xs[0])}", bg=shade, ink=ink_on(t))
    return cell(f"{what} {fmt(xs[0])}")


def _group_label(x: Group, o: DrawOptions, scale: float) -> str:
    out = o.root in x.outputs
    if x.kind == "vector":
        fill, border = ROLES["input"]
    else:
        fill = ROLES["output" if out else "interior"][0]
        border = ROLES["parameter"][1]  # the box holds the neuron's weights and bias
    cells = [cell(html_text(x.name), bold=True)]
    if x.subtitle:
        cells.append(cell(html_text(x.subtitle)))
    cells.append(_range_cell("data", [v.data for v in x.outputs], scale))
    grads = [gv for v in x.outputs if (gv := o.grad_of(v)) is not None]
    cells.append(_range_cell("grad", grads, scale) if grads else cell("grad ?", ink=MUTED))
    wg = [gv for w in x.weights if (gv := o.grad_of(w)) is not None]
    if wg:
        big = max(wg, key=abs)
        t, shade = signed_shade(big, scale)
        cells.append(cell(f"largest weight grad {fmt(big)}", bg=shade, ink=ink_on(t)))
    # Stacked, so a layer box stays narrow in a left-to-right picture.
    return table(cells, fill=fill, border=border, width=2 if out else 1, stacked=True)
