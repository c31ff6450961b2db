"""draw_dot / render_svg: DOT text everywhere, rendered SVG where Graphviz is installed."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest
from examples import micrograd_example
from graphviz_check import SVG, fills, groups, lines, require_dot, svg_root, texts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, draw_dot, render_svg
from autograd.draw import MAX_NODES
from autograd.render import GraphvizNotFoundError, save_dot
from autograd.style import BLUE, RED, ROLES, html_text, signed_shade, visible


def expression() -> dict:
    """micrograd's example: L = (a*b + c) * f, with its gradients filled in."""
    L, values = micrograd_example()
    L.backward()
    return {**values, "L": L}


def node_by_label(svg: ET.Element, label: str) -> ET.Element:
    for g in groups(svg, "node").values():
        if texts(g)[:1] == [label]:
            return g
    raise AssertionError(f"no node labelled {label!r}")


def box(role: str) -> str:
    """How a value's box of this role starts in the DOT source (legend swatches differ)."""
    fill, border = ROLES[role]
    return f'COLOR="{border}" BGCOLOR="{fill}" STYLE="rounded" COLUMNS'


def rgb(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


# --- DOT text (no Graphviz executable needed) ------------------------------------------------


def test_one_record_per_value_and_one_node_per_op():
    v = expression()
    g = draw_dot(v["L"])
    src = g.source
    assert isinstance(g, __import__("graphviz").Digraph)
    for name in "abcfedL":
        assert f"<B>{name}</B>" in src
    assert src.count("shape=circle") == 3  # *, +, *
    assert "rankdir=LR" in src
    assert "rankdir=TB" in draw_dot(v["L"], rankdir="TB").source
    assert autograd.draw_dot is draw_dot and autograd.render_svg is render_svg


def test_roles_and_gradient_colours_in_source():
    v = expression()
    src = draw_dot(v["L"], params=[v["f"]]).source
    assert src.count(box("output")) == 1  # the root
    assert src.count(box("parameter")) == 1  # f, declared a parameter
    assert src.count(box("input")) == 3  # a, b, c
    assert src.count(box("interior")) == 2  # e, d
    # The largest gradient below the root (a: 6) is full blue; b's -4 is red.
    assert f'BGCOLOR="{BLUE}"' in src
    _, shade_b = signed_shade(-4.0, 6.0)
    r, _, b = rgb(shade_b)
    assert r > b and f'BGCOLOR="{shade_b}"' in src


def test_numbers_lifted_by_ops_are_constants_drawn_without_a_gradient():
    x = Value(3.0, label="x")
    out = x * 2.5 + Value(1.5)  # 2.5 is lifted by the op; Value(1.5) is the user's input
    out.backward()
    src = draw_dot(out).source
    assert src.count(box("constant")) == 1 and src.count(box("input")) == 2
    constant = src[src.index(box("constant")) :].split("</TABLE>")[0]
    assert "data 2.5000" in constant and "grad" not in constant
    assert "constant" in src  # the legend names the role


def test_nn_parameter_labels_are_recognised_without_params():
    import nn  # noqa: F401  (registers nn's grouping, which knows its parameter names)

    w = Value(0.5, label="layers.0.neurons.1.w.2")
    x = Value(2.0, label="x")
    src = draw_dot(w * x).source
    assert src.count(box("parameter")) == 1
    assert src.count(box("input")) == 1


def test_signed_shade_is_blue_positive_red_negative_grey_zero():
    for x in (0.001, 0.5, 3.0):
        t, c = signed_shade(x, 1.0)
        r, _, b = rgb(c)
        assert b > r and 0 < t <= 1
        t2, c2 = signed_shade(-x, 1.0)
        r, _, b = rgb(c2)
        assert r > b and t2 == t
    assert signed_shade(0.0, 1.0)[0] == 0.0
    assert signed_shade(1.0, 1.0)[1] == BLUE and signed_shade(-5.0, 1.0)[1] == RED


@pytest.mark.parametrize(
    "bad, error",
    [
        ({"rankdir": "XY"}, ValueError),
        ({"collapse": "all"}, ValueError),
        ({"params": [1.0]}, TypeError),
        ({"max_nodes": 0}, ValueError),
    ],
)
def test_bad_options_are_named(bad, error):
    with pytest.raises(error, match="draw_dot"):
        draw_dot(expression()["L"], **bad)


def test_root_must_be_a_value():
    with pytest.raises(TypeError, match="draw_dot: root must be a Value"):
        draw_dot(3.0)


def html_to_text(label: str) -> str:
    """Read one of our HTML-like cell labels back as the text it displays."""
    root = ET.fromstring(f"<r>{label}</r>")
    out = [root.text or ""]
    for el in root:
        out.append("\n" if el.tag == "BR" else "".join(el.itertext()))
        out.append(el.tail or "")
    return "".join(out).replace("\\\\", "\\")  # Graphviz reads a doubled backslash as one


@given(st.text(max_size=40))
def test_any_label_escapes_to_wellformed_markup_that_reads_back(label):
    assert html_to_text(html_text(label)) == visible(label).replace("\r\n", "\n").replace(
        "\r", "\n"
    )


@given(st.text(alphabet=st.characters(categories=["L", "N", "P", "S", "Zs"]), max_size=30))
def test_printable_labels_are_kept_as_written(label):
    assert visible(label) == label


def test_collapse_or_refuse_big_graph_without_running_dot():
    loss = big_loss()
    n_values = len(autograd.topological_order(loss))
    assert n_values > 3500
    t = time.perf_counter()
    g = draw_dot(loss)
    assert time.perf_counter() - t < 5.0
    # Neuron by neuron, 32 x 32 connections are too many edges: auto draws layers.
    assert "collapsed: one box per layer / vector" in g.source
    assert "32 × relu neurons" in g.source and "64 inputs" in g.source
    boxes = sum(1 for line in g.body if "->" not in line and "label=" in line)
    edges = sum(1 for line in g.body if "->" in line)
    assert boxes <= MAX_NODES and edges <= 2 * MAX_NODES
    neurons = draw_dot(loss, collapse="neuron").source
    assert "layers.1.neurons.7" in neurons and "relu neuron, 32 weights" in neurons
    with pytest.raises(ValueError, match="sub-graph"):
        draw_dot(loss, collapse="none")
    with pytest.raises(ValueError, match=r"values, \d+ nodes with collapse='neuron'"):
        draw_dot(loss, collapse="neuron", max_nodes=100)
    with pytest.raises(ValueError, match="max_nodes=20"):
        draw_dot(loss, max_nodes=20)
    wrong = r"^draw_dot: max_nodes must be an int >= 1, got "
    with pytest.raises(ValueError, match=wrong + r"0 \(int\)$"):
        draw_dot(loss, max_nodes=0)
    with pytest.raises(TypeError, match=wrong + r"'1e3' \(str\)$"):
        draw_dot(loss, max_nodes="1e3")


def big_loss() -> Value:
    """One digit-sized sample through MLP(64, [32, 32, 10]) and cross-entropy."""
    import nn

    model = nn.MLP(64, [32, 32, 10], seed=0)
    x = [float((7 * i) % 17) for i in range(64)]
    loss = nn.cross_entropy(model(x), 3)
    loss.label = "loss"
    loss.backward()
    return loss


# --- without the Graphviz executable ---------------------------------------------------------


def test_missing_dot_says_how_to_install_and_keeps_the_source(tmp_path, monkeypatch):
    g = draw_dot(expression()["L"])
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(GraphvizNotFoundError, match="sudo apt-get install graphviz") as info:
        render_svg(g, tmp_path / "L.svg")
    assert "L.dot" in str(info.value)
    assert (tmp_path / "L.dot").read_text(encoding="utf-8") == g.source
    assert not (tmp_path / "L.svg").exists()
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        g.pipe(format="svg")
    with pytest.raises(RuntimeError):  # also catchable as a plain RuntimeError
        g.render(tmp_path / "x")
    assert save_dot(g, tmp_path / "again.dot").read_text(encoding="utf-8") == g.source


def test_render_svg_of_a_value_needs_a_value_for_options(tmp_path):
    with pytest.raises(TypeError, match="render_svg"):
        render_svg(draw_dot(expression()["L"]), tmp_path / "x.svg", rankdir="TB")


# --- rendered SVG (needs dot; CI installs it) ---------------------------------------------------


def test_svg_has_labels_colours_and_legend(tmp_path):
    require_dot()
    v = expression()
    path = render_svg(v["L"], tmp_path / "sub" / "L.svg", title="L = (a*b + c) * f")
    assert [p.name for p in path.parent.iterdir()] == ["L.svg"]  # no temp file left
    svg = svg_root(path.read_text(encoding="utf-8"))
    a = node_by_label(svg, "a")
    assert texts(a) == ["a", "data 2.0000", "grad 6.0000"]
    assert BLUE in fills(a)
    b = node_by_label(svg, "b")
    r, _, bl = rgb(signed_shade(-4.0, 6.0)[1])
    assert signed_shade(-4.0, 6.0)[1] in fills(b) and r > bl
    assert ROLES["output"][0] in fills(node_by_label(svg, "L"))
    all_text = " ".join(texts(svg))
    for word in ("L = (a*b + c) * f", "role:", "input", "interior", "output", "grad shade:",
                 "colour = the gradient's sign:"):
        assert word in all_text
    assert len(groups(svg, "edge")) == 9  # 6 inputs to ops, 3 ops to their results


def test_jupyter_display_is_svg():
    require_dot()
    bundle = draw_dot(expression()["L"])._repr_mimebundle_()
    svg_root(bundle["image/svg+xml"])


def test_collapsed_mlp_graph_renders_within_seconds(tmp_path):
    require_dot()
    loss = big_loss()
    for collapse, word in [("auto", "32 × relu neurons"), ("neuron", "layers.0.neurons.0")]:
        t = time.perf_counter()
        path = render_svg(loss, tmp_path / f"mlp_{collapse}.svg", collapse=collapse)
        elapsed = time.perf_counter() - t
        assert elapsed < 10.0, f"collapse={collapse!r} took {elapsed:.1f}s"
        svg = svg_root(path.read_text(encoding="utf-8"))
        assert any(word in " ".join(texts(g)) for g in groups(svg, "node").values())


@settings(suppress_health_check=[HealthCheck.too_slow])  # each example runs dot
@given(st.text(max_size=30))
def test_any_label_renders_as_written(label):
    require_dot()
    x = Value(1.5, label=label)
    y = x * 2.0
    y.label = "y"
    g = draw_dot(y, legend=False)
    svg = svg_root(g.pipe(format="svg", encoding="utf-8"))
    written = visible(label).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    want = [line.replace("\xa0", " ") for line in written if line]  # dot skips empty lines
    node = groups(svg, "node")["v0"]  # x comes first, inputs first
    spans = list(node.iter(f"{SVG}text"))
    assert lines(spans[:-2]) == want
    assert texts(node)[-2:] == ["data 1.5000", "grad 0.0000"]


def test_environment_flag_controls_skip(monkeypatch):
    # The CI rule itself: without dot, CI fails instead of skipping.
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        require_dot()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require_dot()


# --- highlight: an explained gradient's paths over the graph --------------------------------


def test_highlight_marks_the_listed_paths_by_width_and_sign() -> None:
    from autograd import explain_gradient
    from autograd.style import BLUE, RED, fmt

    x, w = Value(2.0, label="x"), Value(-0.5, label="w")
    h = (x * w).tanh()
    y = h * x + x * 0.25
    e = explain_gradient(y, x, k=2)
    src = draw_dot(y, highlight=e).source
    marked = [ln for ln in src.splitlines() if "penwidth=" in ln and "->" in ln]
    # each hop (child, slot) is the edge from the parent into the child's op, and each
    # child on a path the edge out of its op
    hops = {(c, s) for q in e.paths for c, s in zip(q.nodes, q.slots)}
    assert len(marked) == len(hops) + len({c for c, _ in hops})
    widths = sorted(float(ln.split("penwidth=")[1].split()[0].strip('"]')) for ln in marked)
    assert widths[0] < widths[-1]  # wider where more of the listed sum flows
    signs = {e.paths[0].contribution > 0, e.paths[1].contribution > 0}
    colours = {BLUE if s else RED for s in signs}
    assert all(any(c in ln for c in colours) for ln in marked)
    assert "the 2 largest of 3 paths from root to x" in src  # y has no label
    assert f"grad {fmt(e.total)}" in src


def test_highlight_must_be_an_explanation() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match="draw_dot: highlight must be an explain_gradient"):
        draw_dot(x * 2.0, highlight=[x])


def test_highlight_says_when_its_paths_run_inside_collapsed_boxes() -> None:
    import nn
    from autograd import explain_gradient

    model = nn.MLP(4, [6, 6, 3], seed=0)
    loss = nn.cross_entropy(model([0.5, -1.0, 0.25, 2.0]), 1)
    w = dict(model.named_parameters())["layers.0.neurons.2.w.1"]
    e = explain_gradient(loss, w, k=3)
    assert "inside collapsed boxes" in draw_dot(loss, highlight=e, collapse="neuron").source
    assert "inside collapsed boxes" not in draw_dot(loss, highlight=e, collapse="none",
                                                    max_nodes=None).source
