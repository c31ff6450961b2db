"""Pictures of computation graphs, drawn with Graphviz.

``draw_dot(root)`` returns a :class:`graphviz.Digraph` of everything ``root``
depends on (it shows inline in Jupyter); ``render_svg(graph, path)`` writes it
as SVG.  Colour carries meaning: a value's role (input, parameter, interior,
output) and the sign and size of its gradient (blue positive, red negative,
grey about zero).  Graphs above a node budget are collapsed to one box per
neuron or per layer, or refused with advice, so ``dot`` never runs for minutes.

``graphviz`` is imported only when a picture is built, so ``import autograd``
stays fast.  The palette and the label escaping here are shared by
:mod:`autograd.trace` and :mod:`nn.draw`.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .backward import topological_order
from .files import write_text_atomic
from .value import Value

if TYPE_CHECKING:
    import graphviz

__all__ = [
    "GraphvizNotFoundError",
    "draw_dot",
    "render_svg",
    "require_graphviz",
    "save_dot",
]

# --- palette (ColorBrewer RdBu / PRGn / PuOr ends, readable on white) ---------------------

BLUE = "#2166ac"  # positive
RED = "#b2182b"  # negative
NEUTRAL = "#f7f7f7"  # about zero
INK = "#252525"
MUTED = "#737373"
LINE = "#8c8c8c"
HIGHLIGHT = "#f1b300"
FONT = "Helvetica"

# role: (fill, border); blue and red are kept for gradients only.
ROLES = {
    "input": ("#d9f0d3", "#1b7837"),
    "parameter": ("#fee0b6", "#b35806"),
    "interior": ("#f0f0f0", "#737373"),
    "output": ("#e7d4e8", "#762a83"),
    "constant": ("#ffffff", "#bdbdbd"),  # a number lifted by an op: no gradient worth showing
}

MAX_NODES = 400  # drawn boxes + op nodes; ``dot`` lays this out in well under a second
_COLLAPSES = ("auto", "none", "neuron", "layer")
_RANKDIRS = ("LR", "TB", "RL", "BT")
_ACTIVATIONS = frozenset({"relu", "tanh", "sigmoid"})
_NN_PARAM = re.compile(r"\.(w\.\d+|b)$")  # nn's parameter names: layers.0.neurons.3.w.5
_MIN_VECTOR = 4  # leaves feeding the same boxes are drawn as one vector box from this many on


# --- text ---------------------------------------------------------------------------------


def fmt(x: float) -> str:
    """A number as pictures and tables show it: 4 decimals, scientific when tiny or huge."""
    if x == 0.0:
        return "0.0000"
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:.4f}"
    return f"{x:.3e}"


_BREAK = re.compile("\r\n|\r|\n")
# XML's four, and "]": Graphviz 2.43 rejects a cell whose whole text is "]" or "]]".
_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "]": "&#93;"})
# Graphviz reads two backslashes in a row as one, even written as entities; a backslash
# in a span of its own is left alone.
_BACKSLASHES = re.compile(r"(?<=\\)\\")


def visible(text: str) -> str:
    """``text`` with characters no font can show (controls, surrogates) spelt as escapes.

    Newlines are kept (they become line breaks); everything else printable,
    including quotes, braces, ``|``, ``<``, ``>``, backslashes and non-ASCII,
    is kept as written.
    """
    out = []
    for ch in text:
        if ch in "\r\n":
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Zl", "Zp") or ch in "\ufffe\uffff":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def html_text(text: str) -> str:
    """``text`` escaped for a Graphviz HTML-like label: it renders exactly as written."""
    lines = _BREAK.split(visible(text))
    return "<BR/>".join(
        _BACKSLASHES.sub(r"<FONT>\\</FONT>", line.translate(_HTML_ESCAPES)) for line in lines
    )


# --- colour -------------------------------------------------------------------------------


def mix(c1: str, c2: str, t: float) -> str:
    """The colour ``t`` of the way from ``c1`` to ``c2`` (both ``#rrggbb``)."""
    a = [int(c1[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(c2[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b))


def signed_shade(x: float, scale: float, base: str = NEUTRAL) -> tuple[float, str]:
    """How strongly (0..1) and in which colour a signed quantity is drawn.

    The strength is ``sqrt(|x| / scale)`` so that small values stay visible
    next to large ones; zero (and anything below a billionth of the scale) is
    ``base``.
    """
    if scale <= 0.0 or abs(x) <= scale * 1e-9:
        return 0.0, base
    t = min(1.0, abs(x) / scale) ** 0.5
    return t, mix(base, BLUE if x > 0.0 else RED, t)


def ink_on(t: float) -> str:
    """Text colour that stays readable on a shade of strength ``t``."""
    return "white" if t > 0.6 else INK


# --- Graphviz plumbing --------------------------------------------------------------------


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz executables (``dot``, ``neato``) are not installed."""


def require_graphviz(engine: str = "dot") -> str:
    """The path of Graphviz's ``engine`` executable; raise with install advice if missing."""
    exe = shutil.which(engine)
    if exe is None:
        raise GraphvizNotFoundError(
            f"rendering needs the Graphviz executable {engine!r}, which is not on PATH. "
            "Install Graphviz: `sudo apt-get install graphviz` (Debian/Ubuntu), "
            "`brew install graphviz` (macOS) or `conda install graphviz`. The picture's DOT "
            "source is still available as `graph.source`; save it with "
            "`autograd.draw.save_dot(graph, 'graph.dot')` and render it elsewhere with "
            "`dot -Tsvg graph.dot -o graph.svg`."
        )
    return exe


@cache
def _picture_class() -> type:
    import graphviz

    class Picture(graphviz.Digraph):
        """A ``graphviz.Digraph`` whose rendering explains how to install Graphviz."""

        def pipe(self, *args: Any, **kwargs: Any) -> Any:
            require_graphviz(kwargs.get("engine") or self.engine)
            return super().pipe(*args, **kwargs)

        def render(self, *args: Any, **kwargs: Any) -> Any:
            require_graphviz(kwargs.get("engine") or self.engine)
            return super().render(*args, **kwargs)

    return Picture


def new_picture(
    name: str, *, engine: str = "dot", graph_attr: Mapping[str, str] | None = None
) -> graphviz.Digraph:
    """An empty picture with the house style (white background, Helvetica)."""
    attrs = {"bgcolor": "white", "fontname": FONT, "fontsize": "12", "pad": "0.25"}
    attrs.update(graph_attr or {})
    return _picture_class()(
        name,
        engine=engine,
        format="svg",
        graph_attr=attrs,
        node_attr={"fontname": FONT, "fontsize": "11", "color": MUTED, "fontcolor": INK},
        edge_attr={"color": LINE, "arrowsize": "0.6", "fontname": FONT, "fontsize": "10"},
    )


def save_dot(graph: graphviz.Digraph, path: str | os.PathLike) -> Path:
    """Write ``graph``'s DOT source to ``path`` (needs no Graphviz executable)."""
    return write_text_atomic(path, graph.source)


def render_svg(
    graph: graphviz.Digraph | Value, path: str | os.PathLike, **draw_options: Any
) -> Path:
    """Write ``graph`` (or ``draw_dot(graph, **draw_options)`` for a Value) as SVG to ``path``.

    Without the Graphviz executable this raises :class:`GraphvizNotFoundError`
    and leaves the DOT source next to ``path`` (``.dot`` suffix) instead.
    """
    if isinstance(graph, Value):
        graph = draw_dot(graph, **draw_options)
    elif draw_options:
        raise TypeError(f"render_svg: options {sorted(draw_options)} only apply to a Value")
    path = Path(path)
    try:
        require_graphviz(graph.engine)
    except GraphvizNotFoundError as e:
        dot_path = save_dot(graph, path.with_suffix(".dot"))
        raise GraphvizNotFoundError(f"{e} (DOT source saved to {dot_path})") from None
    return write_text_atomic(path, graph.pipe(format="svg", encoding="utf-8"))


def table(
    cells: Iterable[str], *, fill: str, border: str, width: int = 1, stacked: bool = False
) -> str:
    """The box every value (one row of cells) and group (``stacked``: one cell a row) is."""
    rules, body = ("ROWS", "</TR><TR>".join(cells)) if stacked else ("COLUMNS", "".join(cells))
    return (
        f'<<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="2" CELLPADDING="4" '
        f'COLOR="{border}" BGCOLOR="{fill}" STYLE="rounded" {rules}="*"><TR>{body}</TR></TABLE>>'
    )


def cell(html: str, *, bg: str | None = None, ink: str | None = None, bold: bool = False) -> str:
    """One table cell of already escaped ``html``; a coloured cell is a rounded pill."""
    if bold:
        html = f"<B>{html}</B>"
    if ink:
        html = f'<FONT COLOR="{ink}">{html}</FONT>'
    if bg:
        return f'<TD BGCOLOR="{bg}" STYLE="rounded">{html}</TD>'
    return f"<TD>{html}</TD>"


def swatch(text: str, color: str, glyph: str = "■") -> str:
    """A legend entry: a coloured ``glyph`` and its meaning."""
    # An en space: SVG viewers drop a plain space at the start of the following text run.
    return f'<FONT COLOR="{color}">{glyph}\u2002</FONT>{html_text(text)}'


def legend_label(text: str) -> str:
    return f'<FONT COLOR="{MUTED}">{html_text(text)}</FONT>'


def caption(title: str, rows: Iterable[Iterable[str]], notes: Iterable[str] = ()) -> str:
    """A graph label: a bold ``title``, legend rows (of swatches), then small notes."""
    # Plain text runs, not nested tables: Graphviz stretches nested tables to the widest row.
    parts = [
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="15"><B>{html_text(title)}</B></FONT></TD></TR>'
    ]
    for row in rows:
        row = list(row)
        if row:
            parts.append(
                f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="11">{"   ".join(row)}</FONT></TD></TR>'
            )
    for note in notes:
        parts.append(
            f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="10" COLOR="{MUTED}">{html_text(note)}'
            "</FONT></TD></TR>"
        )
    return '<<TABLE BORDER="0" CELLSPACING="2" CELLPADDING="1">' + "".join(parts) + "</TABLE>>"


def grad_legend(scale: float, what: str = "grad") -> list[str]:
    """Legend entries for the gradient colours, calibrated to ``scale``."""
    cells = [legend_label(f"{what}:")]
    for x in (-scale, -scale / 4, 0.0, scale / 4, scale):
        _, fill = signed_shade(x, scale)
        cells.append(swatch(fmt(x), fill) if x else swatch(fmt(x), LINE, "□"))
    cells.append(legend_label("(shade ∝ √|grad|)"))
    return cells


# --- collapsing big graphs ----------------------------------------------------------------


@dataclass
class _Group:
    """Values drawn as one box: a neuron, a layer of neurons, or a vector of inputs."""

    kind: str
    name: str
    members: list  # every Value inside the box
    outputs: list  # the Values whose consumers lie outside
    activation: str = ""
    weights: list = field(default_factory=list)
    dots: list = field(default_factory=list)  # the neurons' weighted sums
    count: int = 1  # neurons in a layer, values in a vector


def _consumers(order: list) -> dict:
    cons: dict = {v: [] for v in order}
    for v in order:
        for p in v.parents:
            if not cons[p] or cons[p][-1] is not v:
                cons[p].append(v)
    return cons


def _common_name(names: list, fallback: str) -> str:
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


def _bias(d: Value) -> tuple | None:
    """nn's bias in a ``dot``: ``(b, one)`` when the last pair is a leaf times a constant 1."""
    ps = d.parents
    b, one = ps[len(ps) // 2 - 1], ps[-1]
    return (b, one) if b.is_leaf and one.is_constant and one.data == 1.0 else None


def _inputs(d: Value) -> tuple:
    """A weighted sum's inputs, without the constant 1 of nn's bias."""
    xs = d.parents[len(d.parents) // 2 :]
    return xs[:-1] if _bias(d) else xs


def _find_neurons(order: list, cons: dict) -> list:
    """Each ``dot`` node with its bias and activation: nn's neuron pattern.

    The bias is nn's pair ``b * 1`` inside the dot, or a separate ``+ b`` after it.
    """
    groups = []
    for d in order:
        if d.op != "dot" or len(d.parents) % 2:
            continue
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
        if len(nxt) == 1 and nxt[0].op in _ACTIVATIONS:
            cur = nxt[0]
            act = cur.op
            members.append(cur)
        absorbed = [w for w in dict.fromkeys(ws) if w.is_leaf and cons[w] == [d]]
        name = _common_name([w.label for w in ws], f"neuron {len(groups)}")
        if name.endswith(".w"):
            name = name[:-2]
        groups.append(_Group("neuron", name, members + absorbed, [cur], act, absorbed, [d]))
    return groups


def _input_key(d: Value) -> tuple:
    # Plain numbers fed to every neuron are lifted to fresh constants per neuron;
    # equal unlabeled constants in the same position are the same input.
    return tuple(("c", x.data) if x.is_leaf and not x.label else id(x) for x in _inputs(d))


def _merge_layers(neurons: list) -> list:
    """Neurons reading the same inputs with the same activation become one layer box."""
    by_key: dict = {}
    for g in neurons:
        by_key.setdefault((_input_key(g.dots[0]), g.activation), []).append(g)
    layers = []
    for gs in by_key.values():
        if len(gs) == 1:
            layers.append(gs[0])
            continue
        name = _common_name([g.name for g in gs], f"layer {len(layers)}")
        if name.endswith(".neurons"):
            name = name[: -len(".neurons")]
        members = [v for g in gs for v in g.members]
        weights = [w for g in gs for w in g.weights]
        outputs = [g.outputs[0] for g in gs]
        dots = [g.dots[0] for g in gs]
        layers.append(
            _Group("layer", name, members, outputs, gs[0].activation, weights, dots, len(gs))
        )
    return layers


def _vector(leaves: list, count: int) -> _Group:
    name = _common_name([v.label for v in leaves], "")
    name = f"{name} ({count} values)" if name else f"{count} inputs"
    return _Group("vector", name, leaves, leaves, count=count)


def _plan(order: list, cons: dict, mode: str, params: Collection) -> dict:
    """Map each absorbed Value to its group (empty for ``mode == 'none'``)."""
    if mode == "none":
        return {}
    groups = _find_neurons(order, cons)
    if mode == "layer":
        groups = _merge_layers(groups)
    where = {v: g for g in groups for v in g.members}
    # A neuron's inputs, when they are all plain leaves, are one vector box.
    vectors: dict = {}
    for g in groups:
        for d in g.dots:
            xs = _inputs(d)
            if len(xs) < _MIN_VECTOR or any(
                not x.is_leaf or x in params or (x in where and where[x].kind != "vector")
                for x in xs
            ):
                continue
            key = _input_key(d)
            if key not in vectors:
                vectors[key] = _vector([], len(xs))
            vec = vectors[key]
            for x in xs:
                if x not in where:
                    vec.members.append(x)
                    where[x] = vec
    # Other leaves that feed exactly the same boxes share one box too.
    by_targets: dict = {}
    for v in order:
        if v.is_leaf and v not in where and v not in params:
            targets = tuple(dict.fromkeys(id(where.get(c, c)) for c in cons[v]))
            by_targets.setdefault(targets, []).append(v)
    for leaves in by_targets.values():
        if len(leaves) >= _MIN_VECTOR:
            vec = _vector(leaves, len(leaves))
            where.update((v, vec) for v in leaves)
    return where


def _src(v: Value, where: dict, ids: dict) -> str:
    """The node an edge out of ``v`` starts at: its box, or its group's box."""
    return _gid(where[v]) if v in where else ids[v]


def _group_edges(groups: list, where: dict, cons: dict, ids: dict) -> list:
    """Edges into and out of the group boxes: one per pair of boxes, however many values cross."""
    edges: dict = {}
    for x in groups:
        inside = {id(m) for m in x.members}
        for m in x.members:
            for p in m.parents:
                if id(p) not in inside:
                    edges[(_src(p, where, ids), _gid(x))] = None
        for o in x.outputs:
            for c in cons[o]:
                if c not in where:  # edges between boxes are added from the consumer's side
                    edges[(_gid(x), ids[c] + "op")] = None
    return list(edges)


def _size(order: list, cons: dict, where: dict) -> tuple[int, int]:
    """How many nodes (boxes and ops) and edges the picture would have."""
    groups = list({id(g): g for g in where.values()}.values())
    alone = [v for v in order if v not in where]
    ops = [v for v in alone if not v.is_leaf]
    ids = {v: f"v{i}" for i, v in enumerate(order)}
    nodes = len(groups) + len(alone) + len(ops)
    edges = sum(len(v.parents) + 1 for v in ops) + len(_group_edges(groups, where, cons, ids))
    return nodes, edges


# --- the picture --------------------------------------------------------------------------


def _param_set(params: Any) -> set:
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


def _role(v: Value, root: Value, params: Collection) -> str:
    if v is root:
        return "output"
    if v.is_leaf:
        if v.is_constant:
            return "constant"
        return "parameter" if v in params or _NN_PARAM.search(v.label) else "input"
    return "interior"


def _check_options(root: Any, rankdir: str, collapse: str, who: str) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"{who}: root must be a Value, got {root!r} ({type(root).__name__})")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"{who}: rankdir must be one of {_RANKDIRS}, got {rankdir!r}")
    if collapse not in _COLLAPSES:
        raise ValueError(f"{who}: collapse must be one of {_COLLAPSES}, got {collapse!r}")


def _check_budget(max_nodes: Any) -> None:
    if max_nodes is not None and (
        isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1
    ):
        raise ValueError(f"draw_dot: max_nodes must be a positive int or None, got {max_nodes!r}")


def _choose(
    order: list, cons: dict, collapse: str, max_nodes: int | None, params: Collection
) -> dict:
    modes = ("none", "neuron", "layer") if collapse == "auto" else (collapse,)
    plans, sizes = [], []
    for mode in modes:
        plan = _plan(order, cons, mode, params)
        nodes, edges = _size(order, cons, plan)
        if max_nodes is None or (nodes <= max_nodes and edges <= 2 * max_nodes):
            return plan
        # Too many edges to read (fully connected layers neuron by neuron) is still
        # quick to lay out; auto falls back to it only if no mode is readable.
        if nodes <= max_nodes and edges <= 8 * max_nodes:
            plans.append(plan)
        sizes.append(f"{nodes} nodes and {edges} edges with collapse={mode!r}")
    if plans:
        return plans[0]
    raise ValueError(
        f"draw_dot: the graph is too big to draw: {len(order)} values, {'; '.join(sizes)}, "
        f"over the budget max_nodes={max_nodes} (and 8 times as many edges; Graphviz could take "
        "minutes). Draw a sub-graph instead: pass an intermediate Value as root (one neuron's "
        "output, one layer's activation), draw a smaller model or batch, or raise max_nodes."
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
) -> graphviz.Digraph:
    """A ``graphviz.Digraph`` of everything ``root`` depends on.

    One box per Value (label, data, grad) and one node per op, left to right
    (``rankdir='TB'``: top to bottom).  Box colours tell inputs, parameters,
    interior values and the output apart (``params``: the parameter Values or a
    Module; nn's parameter labels are recognised without it); the grad cell is
    blue for positive, red for negative, stronger for larger.

    Graphs of more than ``max_nodes`` boxes and ops (or twice as many edges)
    are drawn with ``collapse='auto'`` as one box per neuron, else one box per
    layer, and refused with a ``ValueError`` if even that is too big for
    Graphviz to lay out in seconds.  ``collapse`` may force
    ``'none'``, ``'neuron'`` or ``'layer'``; ``max_nodes=None`` lifts the budget.
    """
    _check_options(root, rankdir, collapse, "draw_dot")
    _check_budget(max_nodes)
    order = topological_order(root)
    cons = _consumers(order)
    ps = _param_set(params)
    where = _choose(order, cons, collapse, max_nodes, ps)
    g = _draw(order, cons, where, root=root, params=ps, rankdir=rankdir, title=title, legend=legend)
    g.format = format
    return g


def _draw(
    order: list,
    cons: dict,
    where: dict,
    *,
    root: Value,
    params: Collection,
    rankdir: str,
    title: str | None,
    legend: bool,
    names: Mapping | None = None,
    grads: Mapping | None = None,
    partial: Collection = (),
    current: Value | None = None,
    flows: Sequence[str] = (),
    notes: Iterable[str] = (),
    scale: float | None = None,
) -> graphviz.Digraph:
    """Build the picture.  The keyword tail serves the backward trace's frames.

    ``names`` overrides the shown name of values, ``grads`` the shown gradients
    (a value missing from it shows ``?``; values in ``partial`` say "so far"),
    ``current`` is highlighted and ``flows`` holds the text on each of its
    edges, in the order of its parents; ``scale`` fixes the |grad| drawn at full colour.
    """
    g = new_picture(
        "autograd",
        graph_attr={
            "rankdir": rankdir,
            "nodesep": "0.18",
            "ranksep": "0.35",
            "labelloc": "t",
            "labeljust": "l",
        },
    )
    name_of = names or {}
    grad_of = (lambda v: grads.get(v)) if grads is not None else (lambda v: v.grad)
    ids = {v: f"v{i}" for i, v in enumerate(order)}
    shown = [v for v in order if v not in where]
    groups = list({id(x): x for x in where.values()}.values())
    if scale is None:
        scale = _grad_scale(shown + [o for x in groups for o in x.outputs], root, grad_of)
    roles_seen: set = set()

    for v in shown:
        role = _role(v, root, params)
        roles_seen.add(role)
        fill, border = ROLES[role]
        gv = grad_of(v)
        cells = []
        label = name_of.get(v, v.label)
        if label:
            cells.append(cell(html_text(label), bold=True))
        cells.append(cell(f"data {fmt(v.data)}"))
        if role == "constant":
            pass  # a lifted number's gradient is never used: showing it would mislead
        elif gv is None:
            cells.append(cell("grad ?", ink=MUTED))
        else:
            t, shade = signed_shade(gv, scale)
            text = f"grad {fmt(gv)}" + (" so far" if v in partial else "")
            cells.append(cell(text, bg=shade, ink=ink_on(t)))
        width = 3 if v is current else (2 if role == "output" else 1)
        g.node(
            ids[v],
            table(cells, fill=fill, border=INK if v is current else border, width=width),
            shape="none",
            margin="0",
        )
        if not v.is_leaf:
            hot = v is current
            g.node(
                ids[v] + "op",
                html_text(v.op),
                shape="circle" if len(v.op) <= 2 else "ellipse",
                width="0.3",
                height="0.3",
                margin="0.02",
                style="filled",
                fillcolor=HIGHLIGHT if hot else "white",
                color=INK if hot else MUTED,
                penwidth="2" if hot else "1",
            )
            g.edge(ids[v] + "op", ids[v])
            for k, p in enumerate(v.parents):
                src = _src(p, where, ids)
                if hot and flows:
                    g.edge(
                        src,
                        ids[v] + "op",
                        label=html_label(flows[k]),
                        color=HIGHLIGHT,
                        fontcolor=INK,
                        penwidth="2.5",
                    )
                else:
                    g.edge(src, ids[v] + "op")

    for x in groups:
        roles_seen.add("parameter" if x.kind != "vector" else "input")
        g.node(_gid(x), _group_label(x, root, scale, grad_of), shape="none", margin="0")
    for src, dst in _group_edges(groups, where, cons, ids):
        g.edge(src, dst)
    if root in where:
        roles_seen.add("output")

    if legend or title:
        n_ops = sum(1 for v in order if not v.is_leaf)
        what = root.label or "the output"
        head = title or f"Computation graph of {what}: {len(order)} values, {n_ops} ops"
        rows = []
        if legend:
            rows.append(
                [legend_label("role:")] + [swatch(r, ROLES[r][1]) for r in ROLES if r in roles_seen]
            )
            rows.append(grad_legend(scale))
            if groups:
                kinds = sorted({x.kind for x in groups})
                notes = [
                    f"collapsed: one box per {' / '.join(kinds)}, showing its output's data "
                    "and grad; ops and parameters inside are not drawn",
                    *notes,
                ]
        g.attr(label=caption(head, rows, notes))
    return g


def html_label(text: str) -> str:
    return f"<{html_text(text)}>"


def _gid(x: _Group) -> str:
    return f"g{id(x)}"


def _grad_scale(values: list, root: Value, grad_of: Any) -> float:
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


def _group_label(x: _Group, root: Value, scale: float, grad_of: Any) -> str:
    if x.kind == "vector":
        fill, border = ROLES["input"]
    else:
        fill, border = ROLES["output"] if root in x.outputs else ROLES["interior"]
    cells = [cell(html_text(x.name), bold=True)]
    if x.kind == "neuron":
        cells.append(cell(f"{x.activation} neuron, {len(x.weights)} weights"))
    elif x.kind == "layer":
        cells.append(cell(f"{x.count} × {x.activation} neurons"))
    datas = [o.data for o in x.outputs]
    grads = [gv for o in x.outputs if (gv := grad_of(o)) is not None]
    if len(datas) == 1:
        cells.append(cell(f"data {fmt(datas[0])}"))
    else:
        cells.append(cell(f"data {fmt(min(datas))} … {fmt(max(datas))}"))
    if not grads:
        cells.append(cell("grad ?", ink=MUTED))
    elif len(grads) == 1:
        t, shade = signed_shade(grads[0], scale)
        cells.append(cell(f"grad {fmt(grads[0])}", bg=shade, ink=ink_on(t)))
    else:
        lo, hi = min(grads), max(grads)
        cells.append(cell(f"grad {fmt(lo)} … {fmt(hi)}"))
    if x.weights:
        wg = [gv for w in x.weights if (gv := grad_of(w)) is not None]
        if wg:
            big = max(wg, key=abs)
            t, shade = signed_shade(big, scale)
            cells.append(cell(f"largest weight grad {fmt(big)}", bg=shade, ink=ink_on(t)))
    if x.kind != "vector":
        border = ROLES["parameter"][1]  # the box holds the neuron's weights and bias
    # Stacked, so a layer box stays narrow in a left-to-right picture.
    return table(cells, fill=fill, border=border, width=2 if root in x.outputs else 1, stacked=True)
