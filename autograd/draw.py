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
import subprocess
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
    "RenderError",
    "RenderTimeoutError",
    "draw_dot",
    "render_svg",
    "render_svgs",
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
# What reaches dot is also bounded by its ranked nodes (see _layout_size), which predict
# its time where boxes and edges do not.  Measured with `python -m
# tests.benchmarks.dot_budget` (Graphviz 2.43, one core): fully connected layers of 242
# boxes and 4,848 edges rank as 4,754 nodes and take 0.9 s; random DAGs and polynomials
# of 4,700-4,900 ranked nodes 1-1.2 s (2-4 s on a busy machine); 9,500-10,300 take 7-49 s
# (22 s to over 60 s busy); 14,000 take 47 s; 22,000 over 60 s.  So at most 10 per node of
# the budget: 4,000, about a second.
LAYOUT_PER_NODE = 10
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
# XML's four, "]" (Graphviz 2.43 rejects a cell whose whole text is "]" or "]]") and the
# backslash: Graphviz expands its escapes (\N, \G, \E, \T, \H, \L, \l, \n, \r) inside
# HTML-like labels too, and "\\" is the one spelling of a backslash it leaves as one.
_HTML_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "]": "&#93;", "\\": "\\\\"}
)
# In a quoted label Graphviz reads entities too, and the graphviz package takes a label
# in <...> for HTML: escaping "<" keeps every plain label plain.
_PLAIN_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\\": "\\\\"}
)
MAX_TEXT = 1000  # characters of one text a picture shows; the rest become "… (+N chars)"
# Graphviz refuses an HTML-like label over 16,384 bytes (a caption holds a title, up to
# three notes and a legend): one text's markup stays under this many bytes.
_MAX_MARKUP = 3000


def label_text(v: Value) -> str:
    """``v.label`` as text: any object a user set is shown as ``str()`` of it, None as nothing."""
    label = v.label
    if isinstance(label, str):
        return label
    return "" if label is None else str(label)


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


def shorten(text: str) -> str:
    """``text`` cut visibly to what a picture can hold: ``MAX_TEXT`` characters and a note.

    Graphviz fails on labels past 16 KB; a cut ends in ``… (+N chars)``, N counting
    the characters left out, so nothing is dropped silently.
    """
    if len(text) <= MAX_TEXT and len(text.encode("utf-8")) * 6 <= _MAX_MARKUP:
        return text  # short enough whatever its escaping costs
    kept, size = 0, 0
    for ch in text[:MAX_TEXT]:
        size += len(visible(ch).translate(_HTML_ESCAPES).encode("utf-8"))
        if ch in "\r\n":
            size += 5  # <BR/>
        if size > _MAX_MARKUP - 40:  # room for the note
            break
        kept += 1
    if kept == len(text):
        return text
    return f"{text[:kept]}… (+{len(text) - kept:,} chars)"


def html_text(text: str) -> str:
    """``text`` escaped for a Graphviz HTML-like label: it renders exactly as written.

    With :func:`plain_text`, the one place text becomes DOT: every label, title,
    note and legend entry of every picture goes through one of the two (long
    ones are cut by :func:`shorten`).
    """
    lines = _BREAK.split(visible(shorten(text)))
    return "<BR/>".join(line.translate(_HTML_ESCAPES) for line in lines)


def plain_text(text: str) -> str:
    """``text`` escaped for a plain (quoted) Graphviz label: it renders exactly as written.

    The twin of :func:`html_text` for labels that are not HTML-like (an op's
    circle, nn's neuron values): the same escapes, with ``\\n`` for a line break.
    """
    lines = _BREAK.split(visible(shorten(text)))
    return "\\n".join(line.translate(_PLAIN_ESCAPES) for line in lines)


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

# Seconds a Graphviz run may take.  Within the drawing budget (MAX_NODES, MAX_LAYOUT) dot
# lays a picture out in about a second here, so this only ends a runaway: a graph drawn
# with max_nodes=None, or a hand-made one.
DOT_TIMEOUT = 60.0


class RenderError(RuntimeError):
    """Graphviz could not turn a picture into SVG; its DOT source is kept.

    ``reason`` says why in a few words (for one-line reports); ``dot_paths``
    are where the DOT sources were saved (empty if they could not be: a
    picture's source is still ``graph.source``), ``dot_path`` the first of them.
    """

    def __init__(self, message: str, *, reason: str = "", dot_paths: Sequence[Path] = ()) -> None:
        super().__init__(message)
        self.reason = reason or message
        self.dot_paths = list(dot_paths)

    @property
    def dot_path(self) -> Path | None:
        return self.dot_paths[0] if self.dot_paths else None


class GraphvizNotFoundError(RenderError):
    """The Graphviz executables (``dot``, ``neato``) are not installed."""


class RenderTimeoutError(RenderError):
    """Graphviz took longer than its timeout and was stopped."""


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
            "`dot -Tsvg graph.dot -o graph.svg`.",
            reason=f"Graphviz is not installed (no {engine!r} on PATH)",
        )
    return exe


def run_graphviz(
    source: str, engine: str = "dot", format: str = "svg", timeout: float | None = DOT_TIMEOUT
) -> bytes:
    """Graphviz's ``engine`` run on DOT ``source``: the ``format`` output, or a RenderError."""
    exe = require_graphviz(engine)
    try:
        proc = subprocess.run(
            [exe, f"-T{format}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderTimeoutError(
            f"{engine}: still laying out the picture after {timeout:g} s, so it was stopped. "
            "Draw a smaller graph (an intermediate Value as root, a smaller model or batch, "
            "or keep the default max_nodes), or pass a longer timeout.",
            reason=f"{engine} took over {timeout:g} s",
        ) from None
    except OSError as e:
        raise RenderError(f"{engine}: cannot run {exe}: {e}", reason=f"cannot run {engine}") from e
    if proc.returncode:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise RenderError(
            f"{engine} failed (exit status {proc.returncode}): {err[:500]}",
            reason=f"{engine} failed: {err.splitlines()[0][:120] if err else 'no message'}",
        )
    return proc.stdout


@cache
def _picture_class() -> type:
    import graphviz

    class Picture(graphviz.Digraph):
        """A ``graphviz.Digraph`` rendered under a timeout, explaining a missing Graphviz."""

        def pipe(
            self,
            format: str | None = None,
            renderer: str | None = None,
            formatter: str | None = None,
            neato_no_op: Any = None,
            quiet: bool = False,
            *,
            engine: str | None = None,
            encoding: str | None = None,
            timeout: float | None = DOT_TIMEOUT,
        ) -> Any:
            if neato_no_op:
                return super().pipe(format, renderer, formatter, neato_no_op, quiet,
                                    engine=engine, encoding=encoding)
            spec = ":".join(x for x in (format or self.format, renderer, formatter) if x)
            out = run_graphviz(self.source, engine or self.engine, spec, timeout)
            return out if encoding is None else out.decode(encoding)

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


def _kept_source(e: RenderError, graphs: Sequence, paths: Sequence[Path]) -> RenderError:
    """``e`` again, after saving each graph's DOT source beside its SVG path."""
    try:
        saved = [save_dot(g, p.with_suffix(".dot")) for g, p in zip(graphs, paths)]
    except OSError as oe:
        note = f"the DOT source could not be saved either ({oe}); it is in graph.source"
        return type(e)(f"{e} ({note})", reason=e.reason)
    return type(e)(f"{e} (DOT source saved to {_span(saved)})", reason=e.reason, dot_paths=saved)


def _span(paths: Sequence[Path]) -> str:
    """``a.dot``, or ``first.dot .. last.dot`` for several files in one folder."""
    return str(paths[0]) if len(paths) == 1 else f"{paths[0]} .. {paths[-1].name}"


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
    return render_svgs([graph], [path], timeout=timeout, **draw_options)[0]


def render_svgs(
    graphs: Sequence[graphviz.Digraph | Value],
    paths: Sequence[str | os.PathLike],
    *,
    timeout: float | None = DOT_TIMEOUT,
    **draw_options: Any,
) -> list[Path]:
    """:func:`render_svg` for several pictures; on a failure every unrendered DOT source is kept."""
    graphs = [_as_graph(g, draw_options) for g in graphs]
    paths = [Path(p) for p in paths]
    done = []
    for k, (graph, path) in enumerate(zip(graphs, paths)):
        try:
            svg = run_graphviz(graph.source, graph.engine, "svg", timeout).decode("utf-8")
        except RenderError as e:
            raise _kept_source(e, graphs[k:], paths[k:]) from None
        done.append(write_text_atomic(path, svg))
    return done


def _as_graph(graph: Any, draw_options: Mapping) -> graphviz.Digraph:
    if isinstance(graph, Value):
        return draw_dot(graph, **draw_options)
    if draw_options:
        raise TypeError(f"render_svg: options {sorted(draw_options)} only apply to a Value")
    return graph


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
        name = _common_name([label_text(w) for w in ws], f"neuron {len(groups)}")
        if name.endswith(".w"):
            name = name[:-2]
        groups.append(_Group("neuron", name, members + absorbed, [cur], act, absorbed, [d]))
    return groups


def _input_key(d: Value) -> tuple:
    # Plain numbers fed to every neuron are lifted to fresh constants per neuron;
    # equal unlabeled constants in the same position are the same input.
    return tuple(("c", x.data) if x.is_leaf and not label_text(x) else id(x) for x in _inputs(d))


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
    name = _common_name([label_text(v) for v in leaves], "")
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


def _edges(order: list, cons: dict, where: dict, ids: dict) -> list:
    """Every edge of the picture, as (from, to) node ids, in drawing order."""
    groups = list({id(g): g for g in where.values()}.values())
    edges = []
    for v in order:
        if v in where or v.is_leaf:
            continue
        edges.append((ids[v] + "op", ids[v]))
        edges += [(_src(p, where, ids), ids[v] + "op") for p in v.parents]
    return edges + _group_edges(groups, where, cons, ids)


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
    ready, order = list(sources), []
    while ready:
        n = ready.pop()
        order.append(n)
        for m in outs[n]:
            rank[m] = max(rank[m], rank[n] + 1)
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
    for n in sources:
        if outs[n]:
            rank[n] = min(rank[m] for m in outs[n]) - 1
    return len(outs) + sum(max(0, rank[b] - rank[a] - 1) for a, b in edges)


def _size(order: list, cons: dict, where: dict) -> tuple[int, int, int]:
    """How many nodes (boxes and ops), edges and ranked nodes (see _layout_size) it would have."""
    groups = {id(g) for g in where.values()}
    alone = [v for v in order if v not in where]
    ops = sum(1 for v in alone if not v.is_leaf)
    ids = {v: f"v{i}" for i, v in enumerate(order)}
    edges = _edges(order, cons, where, ids)
    return len(groups) + len(alone) + ops, len(edges), _layout_size(edges)


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
        return "parameter" if v in params or _NN_PARAM.search(label_text(v)) else "input"
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
        if max_nodes is None:
            return plan
        nodes, edges, layout = _size(order, cons, plan)
        quick = nodes <= max_nodes and layout <= LAYOUT_PER_NODE * max_nodes
        if quick and edges <= 2 * max_nodes:
            return plan
        # Too many edges to read (fully connected layers neuron by neuron) is still
        # quick to lay out; auto falls back to it only if no mode is readable.
        if quick and edges <= 8 * max_nodes:
            plans.append(plan)
        sizes.append(
            f"{nodes} nodes, {edges} edges and {layout} ranked nodes with collapse={mode!r}"
        )
    if plans:
        return plans[0]
    raise ValueError(
        f"draw_dot: the graph is too big or too tangled to draw: {len(order)} values, "
        f"{'; '.join(sizes)}; the budget for max_nodes={max_nodes} is {max_nodes} nodes, "
        f"{8 * max_nodes} edges and {LAYOUT_PER_NODE * max_nodes} ranked nodes (nodes plus "
        "one per rank each edge crosses; past it Graphviz can take minutes). Draw a sub-graph "
        "instead: pass an intermediate Value as root (one neuron's output, one layer's "
        "activation), draw a smaller model or batch, or raise max_nodes."
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
        label = name_of.get(v) or label_text(v)
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
        what = label_text(root) or "the output"
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
