"""The explainer's network figure, drawn from a real model.

``draw_network(model, x, target)`` puts the neurons in columns (input, hidden
layers, output), shades each by its activation for ``x`` and draws every
connection blue (positive weight) or red (negative), wider for larger |weight|.
Given a ``target`` it shows backpropagation's four steps for that example:
which outputs must rise or fall, and which way one gradient-descent step moves
each weight (``-grad``: blue = more positive, red = more negative), wider for
larger |grad|.  ``step=`` draws one of the steps on its own.

Nodes are pinned to a grid and laid out by Graphviz's ``neato`` in
milliseconds; inputs of 64 or more are drawn as the image they are, and only
each neuron's strongest connections are drawn when there are too many.

This module only draws: what the figure shows (the forward pass, the loss and
its gradients) is computed by :func:`nn.network_view.network_view`, which says
which loss it takes gradients of and why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autograd import Value, checks, explain_gradient
from autograd.paths import count_text
from autograd.render import new_picture
from autograd.style import (
    BLUE,
    INK,
    MUTED,
    RED,
    caption,
    colour_key,
    fmt,
    label_text,
    legend_label,
    mix,
    plain_text,
    scale_text,
    strength,
    swatch,
)

from .network_view import LOSSES, NetworkView, Scale, loss_of, network_view, scale_of

if TYPE_CHECKING:
    import graphviz

__all__ = ["LOSSES", "draw_network", "draw_sequence"]

AUTO_FAN_IN = 16  # above this fan-in only the strongest connections per neuron are drawn
AUTO_TOP_K = 6
FAINT = "#d0d0d0"
_UP, _DOWN = "▲", "▼"


@dataclass
class _Column:
    """One column of the figure: its node ids, positions and what they show."""

    title: str
    ids: list
    xy: list  # (x, y) in inches
    shade: list  # 0..1, how dark the node is drawn
    text: list  # what is written inside


def _edge_id(w: Value, fallback: str) -> str:
    return re.sub(r"[^\w.\-]", "_", label_text(w)) or fallback


def _grey(t: float) -> str:
    return mix("#ffffff", "#303030", max(0.0, min(1.0, t)))


def _direction_color(g: float, t: float) -> str:
    """Colour of a gradient-descent move ``-g`` of strength ``t``: blue up, red down."""
    if g == 0.0 or t <= 0.0:
        return FAINT
    return (RED if g > 0.0 else BLUE) + f"{round(255 * (0.3 + 0.7 * t)):02x}"


def _column_shade(vals: list[float], scale: float) -> list[float]:
    """Each neuron's grey: √|value| against the picture's fixed ``scale``, never 0 unless 0."""
    return [strength(v, scale) for v in vals]


def draw_network(
    model: Any,
    x: Sequence[float] | None = None,
    target: int | Sequence[float] | None = None,
    *,
    step: int | None = None,
    top_k: int | None = None,
    softmax: bool | None = None,
    loss: str | None = None,
    input_shape: tuple[int, int] | None = None,
    title: str | None = None,
    explain: str | Value | None = None,
    explain_k: int = 5,
    scale: Scale | None = None,
) -> graphviz.Digraph:
    """The network as the explainer draws it: a ``graphviz.Digraph`` (shows inline in Jupyter).

    ``x``: an input to shade the neurons by; ``target``: a class index or the
    desired outputs, to show backprop (outputs' desired vs current, and each
    weight's update direction); ``step``: 1 (outputs) .. ``len(layers) + 1``
    (weights into the first layer), one step of backprop alone.  ``top_k``:
    draw only each neuron's k strongest incoming connections (default: 6 where
    the fan-in exceeds 16).  ``softmax``: the output column shows softmax
    probabilities (default: for a linear output layer of several outputs
    without a list target).  ``loss``: ``"cross_entropy"`` (softmax
    cross-entropy of the raw outputs; needs a class index and several outputs)
    or ``"mse"`` (of the output column's values against the desired ones);
    default: cross-entropy for a class index and a linear output layer, else
    mse.  ``input_shape``: draw the input as an image of this (rows, cols)
    shape (default: square images of 64 or more pixels).

    ``scale``: an :class:`nn.Scale`, the |weight|, |gradient|, |activation| and
    |input| drawn full, so that several pictures (snapshots during training, a
    page's views) compare by eye: ``nn.Scale.of([m0, m5, m20], [x], [3])``.
    Default: this picture's own largest of each (not per layer); the legend
    says which.

    ``explain``: a weight (its name in ``named_parameters()``, or the Value);
    the picture then shows why that weight's gradient is what it is: its
    ``explain_k`` largest paths to the loss (:func:`autograd.explain_gradient`)
    over a faint network, each hop labelled with its local derivative.
    """
    if explain is not None:
        return _draw_explained(model, x, target, explain, explain_k, top_k, softmax, loss,
                               input_shape, title)
    state = network_view(
        model, x, target, step=step, top_k=top_k, softmax=softmax, loss=loss,
        input_shape=input_shape,
    )
    sc = _check_scale(scale) or scale_of(state)
    g, left_out = _network_picture(state, sc)
    if title is None:
        title = _default_title(
            model, state.layers, state.nin, state.step, state.acts is not None, target
        )
    legend = _legend(state, sc, scale is not None)
    notes = _notes(left_out, target, state.loss, state.softmax, state.acts is not None)
    g.attr(label=caption(title, legend, notes))
    return g


def draw_sequence(
    models: Sequence[Any],
    x: Sequence[float] | None = None,
    target: int | Sequence[float] | None = None,
    *,
    titles: Sequence[str] | None = None,
    scale: Scale | None = None,
    **options: Any,
) -> list[graphviz.Digraph]:
    """:func:`draw_network` of each of ``models`` (snapshots of one model during training),
    all on one scale so that they compare by eye.

    ``scale``: default ``nn.Scale.of(models, [x], [target])``, the largest of each
    quantity over every snapshot; each legend says it is fixed.  ``titles``: one per
    model; ``options``: the rest of :func:`draw_network`'s keywords (``step=``...).
    """
    models = list(models)
    if titles is not None and len(titles) != len(models):
        raise ValueError(f"draw_sequence: {len(titles)} titles for {len(models)} models")
    if scale is None:
        kw = {k: options[k] for k in ("loss", "softmax") if k in options}
        scale = Scale.of(models, None if x is None else [x],
                         None if target is None else [target], **kw)
    return [draw_network(m, x, target, scale=scale,
                         title=None if titles is None else titles[n], **options)
            for n, m in enumerate(models)]


def _check_scale(scale: Any) -> Scale | None:
    if scale is not None and not isinstance(scale, Scale):
        raise TypeError("draw_network: scale must be an nn.Scale (e.g. nn.Scale.of(model, "
                        f"[x], [target])) or None, got {checks.describe(scale)}")
    return scale


def _network_picture(st: NetworkView, sc: Scale) -> tuple[graphviz.Digraph, list[str]]:
    """The columns, the connections and the outputs of ``st``, without the caption; and
    notes on the connections left out."""
    g = new_picture(
        "network",
        engine="neato",
        graph_attr={
            "splines": "false",
            "outputorder": "edgesfirst",
            "labelloc": "t",
            "labeljust": "l",
            "pad": "0.3",
        },
    )
    g.attr("node", fixedsize="true", style="filled", penwidth="1")
    shape, n_layers = st.shape, len(st.layers)
    cols = _columns(st.layers, st.acts, st.current, shape, st.nin, sc)
    title_y = max(y for col in cols for _, y in col.xy) + 0.55  # every column's title in line
    for c, col in enumerate(cols):
        shown = st.dgrad and c and _rings_shown(c, st.step, st.active, n_layers)
        rings = st.dgrad[c - 1] if shown else None
        _draw_column(g, c, col, shape if c == 0 else None, rings, title_y, sc.grad)
    # An image hides the first connections' start: their arrows go where the lines show.
    image_right = max(x for x, _ in cols[0].xy) + _pixel_size(shape) / 2 if shape else None
    inputs = [[a.data for a in col] for col in st.acts[:-1]] if st.acts else None
    left_out = _draw_edges(g, cols, st.weights, st.wgrad, st.active, st.top_k, sc, inputs,
                           image_right)
    _draw_outputs(g, cols[-1], st.compared, st.desired, st.step)
    return g, left_out


def _columns(
    layers: list, acts: list | None, current: list | None, shape: Any, nin: int, sc: Scale
) -> list:
    sizes = [nin] + [len(layer.neurons) for layer in layers]
    gap = 2.6
    x0 = 0.0 if shape is None else 0.8
    cols = []
    for c, n in enumerate(sizes):
        dy = 0.52 if n <= 16 else max(0.22, 8.5 / n)
        if c == 0 and shape is not None:
            xy = _grid_xy(shape)
        else:
            xy = [(x0 + c * gap, ((n - 1) / 2 - j) * dy) for j in range(n)]
        if c == 0:
            name = "input"
            vals = [v.data for v in acts[0]] if acts else None
        elif c == len(sizes) - 1:
            name = "output"
            vals = current if acts else None
        else:
            name = f"hidden {c} ({layers[c - 1].neurons[0].activation})"
            vals = [v.data for v in acts[c]] if acts else None
        if vals is None:
            shade, text = [0.0] * n, [""] * n
        else:
            probs = c == len(sizes) - 1 and current is not None and _all_in_unit(vals)
            # Probabilities are absolute already; everything else on the picture's scale.
            shade = _column_shade(vals, 1.0 if probs else sc.activation if c else sc.input)
            text = [f"{v:.2f}" for v in vals]
        prefix = "x" if c == 0 else f"L{c - 1}n"
        cols.append(_Column(name, [f"{prefix}{j}" for j in range(n)], xy, shade, text))
    return cols


def _all_in_unit(vals: list) -> bool:
    return all(0.0 <= v <= 1.0 for v in vals)


def _pixel_size(shape: tuple[int, int]) -> float:
    """Side of one input pixel (inches): a 28x28 image stays about as tall as a hidden column."""
    return min(0.26, 5.6 / max(shape))


def _grid_xy(shape: tuple[int, int]) -> list:
    rows, cols = shape
    s = _pixel_size(shape)
    return [
        (-(cols - 1 - c) * s, ((rows - 1) / 2 - r) * s) for r in range(rows) for c in range(cols)
    ]


def _draw_column(
    g: Any, c: int, col: _Column, shape: Any, rings: list | None, title_y: float,
    grad_scale: float,
) -> None:
    n = len(col.ids)
    if shape is not None:
        side = f"{_pixel_size(shape):.3f}"
        for nid, (x, y), t in zip(col.ids, col.xy, col.shade):
            g.node(
                nid,
                "",
                shape="square",
                width=side,
                height=side,
                pos=f"{x},{y}!",
                fillcolor=_grey(t),
                color="#bdbdbd",
                penwidth="0.5",
                **_zero_outline(t),
            )
        xmid = sum(x for x, _ in col.xy) / n
    else:
        size = 0.42 if n <= 16 else max(0.18, min(0.42, 8.5 / n - 0.08))
        for j, (nid, (x, y), t, text) in enumerate(zip(col.ids, col.xy, col.shade, col.text)):
            ring = {"color": MUTED, **_zero_outline(t)}
            if rings is not None and rings[j] != 0.0:
                rt = strength(rings[j], grad_scale)
                ring = {
                    "color": _direction_color(rings[j], rt)[:7],
                    "penwidth": f"{1.2 + 2.4 * rt:.2f}",
                }
            g.node(
                nid,
                plain_text(text) if size >= 0.3 else "",
                shape="circle",
                width=f"{size}",
                height=f"{size}",
                pos=f"{x},{y}!",
                fillcolor=_grey(t),
                fontcolor="white" if t > 0.55 else INK,
                fontsize="8" if size >= 0.36 else "6",
                **ring,
            )
        xmid = col.xy[0][0]
        if c == 0:
            for j, (x, y) in enumerate(col.xy):
                g.node(
                    f"{col.ids[j]}.name",
                    f"x{j}",
                    shape="plaintext",
                    style="",
                    fixedsize="false",
                    fontsize="9",
                    fontcolor=MUTED,
                    pos=f"{x - 0.45},{y}!",
                )
    g.node(
        f"title{c}",
        plain_text(col.title),
        shape="plaintext",
        style="",
        fixedsize="false",
        fontsize="11",
        fontcolor=INK,
        pos=f"{xmid},{title_y}!",
    )


def _zero_outline(t: float) -> dict:
    """A node whose value is exactly 0 is white with a dashed outline: off, not small."""
    return {"style": "filled,dashed"} if t == 0.0 else {}


def _rings_shown(c: int, step: int | None, active: set, n_layers: int) -> bool:
    # A ring says which way the neuron's weighted input should move: shown on the
    # layer whose incoming weights the step updates (all layers in the full view).
    return (c - 1) in active or (step == 1 and c == n_layers)


def _kept(by: list, k: int | None, drop_zeros: bool) -> list:
    """Indices of the connections to draw into one neuron: all, or the k largest ``|by|``
    (without those whose ``by`` is exactly 0 when ``drop_zeros``: they carry nothing)."""
    if k is None or len(by) <= k:
        return list(range(len(by)))
    order = sorted(range(len(by)), key=lambda i: -abs(by[i]))
    if drop_zeros:
        order = [i for i in order if by[i] != 0.0]
    return order[:k]


def _ranking(showing: bool, has_x: bool) -> str:
    """What "strongest" means for a layer's connections, as the notes say it."""
    if showing:
        return "largest |gradient|"
    if has_x:
        return "largest |weight × activation| (what flows for this input)"
    return "largest |weight|"


def _edge_style(w: float, gw: float | None, sc: Scale, faint: bool) -> dict:
    if gw is not None:  # this layer's update is shown
        t = strength(gw, sc.grad)
        return {"color": _direction_color(gw, t), "penwidth": f"{0.4 + 3.6 * t:.2f}"}
    if faint:  # backprop view, another step's layer; or a connection carrying 0
        return {"color": FAINT, "penwidth": "0.6"}
    t = strength(w, sc.weight)
    alpha = round(255 * (0.15 + 0.85 * t**1.5))  # weak weights fade, strong ones stand out
    return {"color": f"{BLUE if w >= 0 else RED}{alpha:02x}", "penwidth": f"{0.3 + 3.2 * t:.2f}"}


def _draw_edges(
    g: Any,
    cols: list,
    weights: list,
    wgrad: list | None,
    active: set,
    top_k: int | None,
    sc: Scale,
    inputs: list | None = None,
    image_right: float | None = None,
) -> list:
    """Draw the connections; return notes on what was left out (and by what the kept rank)."""
    notes = []
    for li, layer in enumerate(weights):
        fan_in = len(layer[0])
        k = top_k if top_k is not None else (AUTO_TOP_K if fan_in > AUTO_FAN_IN else None)
        showing = li in active
        drawn, marks, sources = 0, [], {}
        for j, ws in enumerate(layer):
            if showing:
                by = wgrad[li][j]
            elif inputs is not None:  # what each connection carries for this input
                by = [w.data * a for w, a in zip(ws, inputs[li])]
            else:
                by = [w.data for w in ws]
            for i in _kept(by, k, drop_zeros=showing or inputs is not None):
                w = ws[i]
                gw = wgrad[li][j][i] if showing else None
                eid = _edge_id(w, f"layers.{li}.neurons.{j}.w.{i}")
                tip = f"{eid}: w = {fmt(w.data)}" + ("" if gw is None else f", grad = {fmt(gw)}")
                idle = inputs is not None and inputs[li][i] == 0.0  # carries 0 for this x
                style = _edge_style(w.data, gw, sc, wgrad is not None or idle)
                g.edge(
                    cols[li].ids[i], cols[li + 1].ids[j], id=eid, tooltip=tip, dir="none", **style
                )
                drawn += 1
                if li == 0 and image_right is not None and style["color"] != FAINT:
                    width = float(style["penwidth"])
                    if width > sources.get(i, (0.0, ""))[0]:
                        sources[i] = (width, style["color"][:7])  # the widest line's colour
                if gw:
                    src, dst = cols[li].xy[i], cols[li + 1].xy[j]
                    if li == 0 and image_right is not None:
                        src = _from_x(src, dst, image_right)
                    marks.append((abs(gw), gw, src, dst, eid))
        total = fan_in * len(layer)
        if drawn < total:
            zeros = "; those carrying exactly 0 are left out" if showing or inputs else ""
            notes.append(
                f"{_short(cols[li].title)} → {_short(cols[li + 1].title)}: into each neuron, "
                f"the {k} of {fan_in} connections with the {_ranking(showing, inputs is not None)}"
                f" are drawn{zeros} ({total - drawn:,} of {total:,} left out)"
            )
        _mark_strongest(g, marks)
        # Lines from an image's pixels run under it: outline the pixels they start from.
        for i, (width, color) in sources.items():
            g.node(cols[0].ids[i], color=color, penwidth=f"{min(2.5, 0.8 + width):.2f}")
    return notes


def _from_x(src: tuple, dst: tuple, x: float) -> tuple:
    """Where the segment ``src`` -> ``dst`` crosses the vertical line at ``x``."""
    (sx, sy), (dx, dy) = src, dst
    t = (x - sx) / (dx - sx)
    return (x, sy + t * (dy - sy))


def _short(title: str) -> str:
    return title.split(" (")[0]


def _mark_strongest(g: Any, marks: list, n: int = 3) -> None:
    """Arrows on the few connections a step moves most (the explainer's arrows)."""
    placed: list = []
    for _, gw, (sx, sy), (dx, dy), eid in sorted(marks, key=lambda m: -m[0]):
        if len(placed) == n:
            break
        # Off the midpoint, where symmetric pairs of connections cross.
        x, y = sx + 0.42 * (dx - sx), sy + 0.42 * (dy - sy)
        if any(math.hypot(x - px, y - py) < 0.3 for px, py in placed):
            continue  # would cover another arrow
        placed.append((x, y))
        up = gw < 0.0
        g.node(
            f"mark.{eid}",
            _UP if up else _DOWN,
            shape="circle",
            width="0.2",
            height="0.2",
            fillcolor="white",
            color="white",
            fontsize="12",
            fontcolor=BLUE if up else RED,
            pos=f"{x:.3f},{y:.3f}!",
        )


def _draw_outputs(
    g: Any, col: _Column, current: list | None, desired: list | None, step: int | None
) -> None:
    """Each output's name, and with a target its current -> desired value and arrow."""
    n = len(col.ids)
    for j, (x, y) in enumerate(col.xy):
        name = str(j) if n > 1 else "y"
        color = INK
        if current is None:
            text = name
        elif desired is None:
            text = f"{name}: {current[j]:.2f}"
        else:
            want, cur = desired[j], current[j]
            arrow = _UP if want > cur else (_DOWN if want < cur else "=")
            text = f"{name}: {cur:.2f} → {want:g} {arrow}"
            color = BLUE if want > cur else (RED if want < cur else MUTED)
            if step not in (None, 1):
                color = mix(color, "#ffffff", 0.35)
        g.node(
            f"{col.ids[j]}.out",
            plain_text(text),
            shape="plaintext",
            style="",
            fixedsize="false",
            fontsize="10",
            fontcolor=color,
            pos=f"{x + 0.32 + 0.037 * len(text):.3f},{y}!",
        )


def _layer_name(li: int, n_layers: int) -> str:
    return "the output layer" if li == n_layers - 1 else f"hidden layer {li + 1}"


def _default_title(
    model: Any, layers: list, nin: int, step: int | None, has_x: bool, target: Any
) -> str:
    arch = f"{type(model).__name__}({nin}, {[len(layer.neurons) for layer in layers]})"
    if target is None:
        return f"{arch}: weights" + (" and activations for one input" if has_x else "")
    if step is None:
        return f"{arch}: backpropagation for target {target!r}, all steps"
    if step == 1:
        return f"Backprop step 1: compare the outputs with the desired ones (target {target!r})"
    li = len(layers) - (step - 1)
    return f"Backprop step {step}: adjust the weights into {_layer_name(li, len(layers))}"


def _legend(st: NetworkView, sc: Scale, fixed: bool) -> list:
    """The caption's legend: each row says what its colour encodes, and its scale."""
    backprop, has_x, step = st.desired is not None, st.acts is not None, st.step
    rows = []
    if not backprop:
        rows.append(
            [
                legend_label("line:"),
                *colour_key("weight"),
                *([swatch("grey: carries 0 (its source is 0)", FAINT)] if has_x else []),
                legend_label(f"(width ∝ √|weight|; {scale_text(sc.weight, fixed)})"),
            ]
        )
    elif step != 1:
        rows.append(
            [
                legend_label("line:"),
                *colour_key("step", "more positive (grad < 0)", "more negative (grad > 0)",
                            (_UP, _DOWN)),
                swatch("grey: grad exactly 0", FAINT),
            ]
        )
        rows.append([legend_label(f"line width ∝ √|grad|, the same scale in every layer; "
                                  f"{scale_text(sc.grad, fixed)}")])
    if backprop:
        rows.append(
            [
                legend_label("ring:"),
                *colour_key("the direction descent pushes the neuron's weighted input",
                            "rise", "fall", ("○", "○")),
            ]
        )
    if has_x:
        rows.append(
            [
                legend_label("neuron grey = its activation (∝ √|a|):"),
                swatch("0 exactly (dashed)", MUTED, "□"),
                swatch(f"small ({fmt(sc.activation / 100)})", _grey(strength(0.01, 1.0))),
                swatch(f"{fmt(sc.activation)}", _grey(1.0)),
                legend_label(scale_text(sc.activation, fixed)
                             + ("; probabilities on 0 … 1" if st.softmax else "")),
            ]
        )
        rows.append([legend_label(f"input grey ∝ √|x|; {scale_text(sc.input, fixed)}")])
    return rows


def _notes(left_out: list, target: Any, loss: str | None, softmax: bool, has_x: bool) -> list:
    notes = [*left_out, "biases are not drawn"]
    if loss is not None:
        if loss == "cross_entropy":
            of = f"cross_entropy(outputs, {target}) = softmax − one-hot at the outputs"
        else:
            current = "softmax(outputs)" if softmax else "outputs"
            goal = f"one-hot({target})" if isinstance(target, int) else "desired"
            of = f"mse({current}, {goal})"
        notes.append(f"gradients of {of}, from autograd.grad; the model's .grad is not touched")
    if has_x and softmax:
        notes.append("the output column shows softmax probabilities")
    elif loss == "cross_entropy":
        notes.append("beside the outputs: their softmax probabilities → desired")
    return notes


# --- explain=: one weight's gradient as a sum over its paths to the loss ---------------------


def _draw_explained(
    model: Any, x: Any, target: Any, explain: Any, k: Any, top_k: Any, softmax: Any,
    loss: Any, input_shape: Any, title: str | None,
) -> graphviz.Digraph:
    """The faint step-1 network with ``explain``'s top paths to the loss drawn over it."""
    if x is None or target is None:
        raise ValueError("draw_network: explain= needs the input x and a target (the loss "
                         "whose gradient it explains)")
    checks.integer(k, "draw_network", "explain_k", low=1)
    state = network_view(model, x, target, step=1, top_k=top_k, softmax=softmax, loss=loss,
                         input_shape=input_shape)
    weight, where = _explained_weight(model, state.weights, explain)
    objective = loss_of(state.loss, state.acts[-1], target, state.desired, state.softmax)
    e = explain_gradient(objective, weight, k)
    sc = scale_of(state)
    g, _ = _network_picture(state, sc)
    cols = _columns(state.layers, state.acts, state.current, state.shape, state.nin, sc)
    hops = _network_hops(e, state.acts, where)
    _draw_paths(g, cols, hops, e, objective)
    name = _edge_id(weight, "the weight")
    head = title or (f"Why d loss / d {name} = {fmt(e.total)}: its {len(e.paths)} largest "
                     "paths to the loss")
    g.attr(label=caption(head, _path_legend(), _path_notes(e, hops)))
    return g


def _explained_weight(model: Any, weights: list, explain: Any) -> tuple[Value, tuple]:
    """The weight ``explain`` names, and (layer, neuron, input) of its connection."""
    if isinstance(explain, str):
        named = dict(model.named_parameters())
        if explain not in named:
            raise ValueError(
                "draw_network: explain must name a weight of the model, as named_parameters() "
                f"does (e.g. 'layers.0.neurons.0.w.0'), got {checks.describe(explain)}"
            )
        w = named[explain]
    elif isinstance(explain, Value):
        w = explain
    else:
        raise TypeError("draw_network: explain must be a weight's name or the weight (a Value), "
                        f"got {checks.describe(explain)}")
    for li, layer in enumerate(weights):
        for j, ws in enumerate(layer):
            for i, v in enumerate(ws):
                if v is w:
                    return w, (li, j, i)
    raise ValueError("draw_network: explain must be one of the model's connection weights "
                     "(biases have no connection drawn; autograd.explain_gradient explains "
                     f"any Value), got {checks.describe(explain)}")


@dataclass
class _Hop:
    """One step of a path across the drawn network, between two neurons (or the loss)."""

    src: tuple  # (column, index): the end nearer the input
    dst: tuple  # (column, index) nearer the loss; ("loss", 0) for the loss
    local: float  # d dst / d src: the product of the local derivatives between them


def _network_hops(e: Any, acts: list, where: tuple) -> list:
    """Each listed path as hops between drawn neurons, loss first, with their derivatives.

    The last hop is the weight's own connection: d (neuron's output) / d weight.
    """
    at = {v: (c, j) for c, col in enumerate(acts) for j, v in enumerate(col)}
    li, _, i = where
    out = []
    for p in e.paths:
        hops: list[_Hop] = []
        prev: tuple[Any, int] = ("loss", 0)
        d = 1.0
        for node, local in zip(p.nodes[1:], p.locals):
            d *= local
            here = at.get(node)
            if here is not None:
                hops.append(_Hop(here, prev, d))
                prev, d = here, 1.0
        hops.append(_Hop((li, i), prev, d))
        out.append(hops)
    return out


def _draw_paths(g: Any, cols: list, paths: list, e: Any, objective: Value) -> None:
    """The paths' hops as wide coloured edges labelled with their derivatives, and the loss."""
    out_x = max(x for x, _ in cols[-1].xy)
    g.node("loss", plain_text(f"loss\n{fmt(objective.data)}"), shape="box",
           style="rounded,filled", fillcolor="#e7d4e8", color="#762a83", fixedsize="false",
           fontsize="10", pos=f"{out_x + 2.6},0!")
    # Two neurons may be joined by more than one route in the graph (the loss reaches an
    # output directly and through the softmax's sum): one line, each route's derivative.
    flows: dict = {}
    for hops, p in zip(paths, e.paths):
        for h in hops:
            w, locals_ = flows.get((h.src, h.dst), (0.0, {}))
            locals_.setdefault(fmt(h.local), None)
            flows[(h.src, h.dst)] = (w + p.contribution, locals_)
    big = max((abs(w) for w, _ in flows.values()), default=0.0) or 1.0
    for n, ((src, dst), (w, locals_)) in enumerate(flows.items()):
        a = cols[src[0]].ids[src[1]]
        b = "loss" if dst[0] == "loss" else cols[dst[0]].ids[dst[1]]
        label = " or ".join(f"×{d}" for d in locals_)
        what = "local derivative" if len(locals_) == 1 else "local derivatives of its routes"
        g.edge(a, b, id=f"path{n}", dir="none", color=_path_color(w),
               penwidth=f"{1.2 + 4.0 * (abs(w) / big) ** 0.5:.2f}", label=label,
               fontsize="9", fontcolor=INK, tooltip=f"{what}: {', '.join(locals_)}")


def _path_color(w: float) -> str:
    return BLUE if w > 0.0 else RED if w < 0.0 else MUTED


def _path_legend() -> list:
    return [[legend_label("path:"), *colour_key("contribution", "+", "−"),
             swatch("grey: 0 (an inactive neuron on it)", MUTED),
             legend_label("(width ∝ √|contribution|; ×d: the hop's local derivative)")]]


def _path_notes(e: Any, hops: list) -> list:
    notes = []
    for n, (p, hs) in enumerate(zip(e.paths, hops), 1):
        factors = " × ".join(fmt(h.local) for h in hs)
        notes.append(f"path {n}: {fmt(p.contribution, '+')} = {factors}  (loss first)")
    notes.append(f"listed {fmt(e.listed)} + the other {count_text(e.others)} paths "
                 f"{fmt(e.remainder)} = {fmt(e.total)} = d loss / d weight; {e.comparison()}")
    return notes
