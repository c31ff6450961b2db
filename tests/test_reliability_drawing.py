"""Promises the pictures keep under hostile input and on machines without Graphviz.

Each test is one promise, named as such; together they are the drawing half of the
README's "Guarantees".  Tests that run ``dot`` call ``require_dot()`` (CI installs it).
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from graphviz_check import require_dot

import nn
from autograd import Rule, Value, apply, draw_dot, render_svg, trace_backward
from autograd import draw as draw_module
from autograd.backward import topological_order
from autograd.draw import LAYOUT_PER_NODE, MAX_NODES, VALUES_PER_NODE, values_within
from autograd.render import GraphvizNotFoundError, RenderError, RenderTimeoutError
from autograd.style import MAX_TEXT

ROOT = Path(__file__).resolve().parent.parent

# Every escape Graphviz expands in a label, a lone and a doubled backslash, and the
# characters HTML-like labels give a meaning to.
ESCAPES = [r"\N", r"\G", r"\E", r"\T", r"\H", r"\L", r"\l", r"\n", r"\r", "\\", "\\\\"]
HOSTILE = [
    r"C:\Net\Graph\Tmp",
    " ".join(ESCAPES) + " end\\",
    "& &amp; &#92; < > <B>bold</B> <BR/> \" ' ] ]] [",
    "<TABLE>",
    "]",
]


def svg_texts(svg: str) -> list[str]:
    """The text runs of an SVG, as a reader sees them."""
    spans = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return [html.unescape(t).replace("\xa0", " ") for t in spans]


def polynomial(n: int = 20, degree: int = 4) -> Value:
    """A dense graph: every input feeds every depth, so its edges span many ranks.

    341 boxes and 480 edges, within the old box-and-edge budget, on which dot took 50 s.
    """
    xs = [Value(0.1 * i, label=f"x{i}") for i in range(n)]
    out = Value(0.0, label="c")
    for _ in range(degree):
        for x in xs:
            out = out + x * out
    return out


def no_graphviz(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-graphviz-here"))


# --- dot never hangs ---------------------------------------------------------------------------


def test_a_dense_graph_within_the_old_budget_is_refused_with_advice_not_drawn_for_a_minute():
    root = polynomial()
    t = time.perf_counter()
    with pytest.raises(ValueError, match="too big or too tangled") as info:
        draw_dot(root)
    assert time.perf_counter() - t < 5.0  # decided without running dot
    message = str(info.value)
    assert "ranked nodes" in message and "intermediate Value as root" in message
    assert f"{LAYOUT_PER_NODE * MAX_NODES} ranked nodes" in message
    draw_dot(root, max_nodes=None)  # the user may lift the budget knowingly


def chain(n: int) -> Value:
    """``n`` Values, each the tanh of the one before: a graph as long as it is big."""
    v = Value(0.5, label="x")
    for _ in range(n - 1):
        v = v.tanh()
    return v


def forbid(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make each of ``autograd.draw``'s ``names`` fail the test if it is called."""
    for name in names:
        def called(*args, _name=name, **kwargs):
            raise AssertionError(f"draw_dot called {_name} on a graph it should refuse")

        monkeypatch.setattr(draw_module, name, called)


def test_refusing_a_huge_graph_walks_a_bounded_part_of_it_and_orders_nothing(monkeypatch):
    # The cost of a refusal is in the Values visited, not wall time: the walk stops at
    # the limit, and nothing that costs per Value of the whole graph (ordering, consumers,
    # scenes, edges, ranks) runs.
    limit = VALUES_PER_NODE * MAX_NODES
    root = chain(limit + 5_000)
    assert values_within(root, limit) is None
    assert values_within(root, limit + 5_000) == limit + 5_000 == len(topological_order(root))
    forbid(monkeypatch, "topological_order", "consumers", "_scene", "_edges", "_layout_size")
    with pytest.raises(ValueError, match=f"too big to draw: more than {limit:,} values") as info:
        draw_dot(root)
    assert "intermediate Value as root" in str(info.value)
    with pytest.raises(ValueError, match="more than 500 values"):
        draw_dot(root, max_nodes=10, collapse="none")


def test_a_graph_over_the_node_budget_is_refused_without_listing_its_edges(monkeypatch):
    root = chain(5_000)  # within the walk's limit: ordered, but 9,999 nodes drawn
    forbid(monkeypatch, "_edges", "_layout_size")
    with pytest.raises(ValueError, match=r"9999 nodes with collapse='none'"):
        draw_dot(root)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="ranked nodes"):  # nodes and edges fit: ranks measured
        draw_dot(polynomial())


def test_what_the_budget_lets_through_renders_in_seconds(tmp_path):
    require_dot()
    # The densest polynomial under the budget, and a collapsed MLP graph.
    root = polynomial(n=12, degree=4)
    g = draw_dot(root)
    t = time.perf_counter()
    render_svg(g, tmp_path / "poly.svg")
    assert time.perf_counter() - t < 20.0  # about a second; generous for a busy machine


def test_dot_runs_under_a_timeout_that_stops_it_and_keeps_the_source(tmp_path):
    require_dot()
    g = draw_dot(polynomial(n=30), max_nodes=None)  # dot takes minutes on this
    t = time.perf_counter()
    with pytest.raises(RenderTimeoutError, match=r"after 0\.5 s, so it was stopped") as info:
        render_svg(g, tmp_path / "poly.svg", timeout=0.5)
    assert time.perf_counter() - t < 10.0
    assert isinstance(info.value, RenderError)
    assert "smaller graph" in str(info.value)
    assert (tmp_path / "poly.dot").read_text(encoding="utf-8") == g.source
    assert not (tmp_path / "poly.svg").exists()
    with pytest.raises(RenderTimeoutError):  # Jupyter's display and .pipe() too
        g.pipe(format="svg", timeout=0.5)


def test_trace_frames_keep_to_the_same_budget():
    root = polynomial()  # 181 values: the old limit of 200 let 161 frames of 50 s each through
    with pytest.raises(ValueError, match="too big for one picture per step"):
        trace_backward(root).frames()


# --- labels render exactly as written ------------------------------------------------------------


@pytest.mark.parametrize("label", HOSTILE + ESCAPES)
def test_a_value_label_and_a_title_render_exactly_as_written(label):
    require_dot()
    x = Value(1.5, label=label)
    y = x * 2.0
    y.label = "y"
    svg = draw_dot(y, title=label).pipe(format="svg", encoding="utf-8")
    assert svg_texts(svg).count(label.strip()) == 2  # the box and the title


def test_an_op_symbol_a_traced_name_and_a_network_title_render_as_written(tmp_path):
    require_dot()
    label = HOSTILE[1]
    rule = Rule(label, 1, lambda x: 2.0 * x, lambda g, out, x: (2.0 * g,))
    x = Value(1.0, label=HOSTILE[0])
    y = apply(rule, x)
    y.label = HOSTILE[2]
    texts = svg_texts(draw_dot(y).pipe(format="svg", encoding="utf-8"))
    assert label in texts and HOSTILE[0] in texts and HOSTILE[2].strip() in texts
    frames = trace_backward(y).frames()
    texts = svg_texts(frames[1].pipe(format="svg", encoding="utf-8"))
    assert HOSTILE[0] in texts
    model = nn.MLP(2, [3, 1], seed=0)
    picture = nn.draw_network(model, [0.5, -1.0], title=HOSTILE[0])
    assert HOSTILE[0] in svg_texts(picture.pipe(format="svg", encoding="utf-8"))


@pytest.mark.parametrize("length", [16_384, 100_000])
@pytest.mark.parametrize("char", ["a", "&", "\\", "\x00", "字"])
def test_a_label_too_long_for_graphviz_is_cut_visibly_with_a_count(length, char):
    require_dot()
    x = Value(1.5, label=char * length)
    y = x * 2.0
    svg = draw_dot(y, title=char * length).pipe(format="svg", encoding="utf-8")
    cut = [t for t in svg_texts(svg) if "chars)" in t]
    assert len(cut) == 2  # the box and the title
    for text in cut:
        kept = re.fullmatch(r"(.*)… \(\+([\d,]+) chars\)", text, re.S)
        assert kept is not None
        shown, left_out = kept.group(1), int(kept.group(2).replace(",", ""))
        written = 4 if char == "\x00" else 1  # a control character is shown as \x00
        assert 0 < len(shown) // written <= MAX_TEXT
        assert len(shown) // written + left_out == length


def test_a_label_under_the_limit_is_not_cut():
    x = Value(1.5, label="a" * MAX_TEXT)
    assert "chars)" not in draw_dot(x, legend=False).source


@pytest.mark.parametrize("label, shown", [(3, "3"), (None, ""), (2.5, "2.5"), (Path("p"), "p")])
def test_a_label_that_is_not_a_string_is_drawn_as_its_str(label, shown):
    x = Value(1.5)
    x.label = label
    y = x * 2.0
    src = draw_dot(y).source
    if shown:
        assert f"<B>{shown}</B>" in src
    trace = trace_backward(y)
    assert (shown or "#0") in trace.table()
    trace.frames()
    w = Value(0.5, label=label)
    assert draw_dot(w * x).source


# --- without Graphviz -------------------------------------------------------------------------


def test_no_graphviz_and_an_unwritable_path_still_says_graphviz_is_missing(tmp_path, monkeypatch):
    g = draw_dot(Value(1.0, label="x") * 2.0)
    no_graphviz(monkeypatch, tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz") as info:
        render_svg(g, blocker / "x.svg")
    assert "could not be saved either" in str(info.value)
    assert "graph.source" in str(info.value)
    assert info.value.dot_path is None


def test_no_graphviz_keeps_every_frames_dot_source(tmp_path, monkeypatch):
    x = Value(2.0, label="x")
    y = (x * x).tanh()
    trace = trace_backward(y)
    no_graphviz(monkeypatch, tmp_path)
    with pytest.raises(GraphvizNotFoundError) as info:
        trace.render_frames(tmp_path / "frames")
    kept = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert kept == [f"step_{i:02d}.dot" for i in range(len(trace) + 1)]
    assert info.value.dot_paths == sorted((tmp_path / "frames").iterdir())


@pytest.mark.parametrize(
    "demo, argv, skipped",
    [
        ("graph", [], ["computation graph", "6 backward-pass frames"]),
        ("backprop_three", ["--hidden", "6,5", "--top", "2"],
         [f"network view of step {k}" for k in (1, 2, 3, 4)]),
        ("digits", ["--epochs", "1", "--hidden", "4,4", "--limit", "150", "--no-plots"],
         ['network view of a test "3"']),
    ],
)
def test_demos_without_graphviz_finish_say_what_was_skipped_and_keep_the_dot(
    demo, argv, skipped, tmp_path
):
    env = {**os.environ, "PATH": str(tmp_path / "no-graphviz-here")}
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", f"demos.{demo}", "--out", str(out), *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("skipped ")]
    assert len(lines) == len(skipped)
    for line, what in zip(lines, skipped):
        assert line.startswith(f"skipped {what}: Graphviz is not installed")
        assert "DOT source kept: " in line
    dots = list(out.rglob("*.dot"))
    assert dots and not any(dot.with_suffix(".svg").exists() for dot in dots)
    # The only SVGs written are the pixel grids nn writes itself, which need no Graphviz.
    plain = re.compile(r"weights_layer0|top_digits_layer\d+|why_\d_not_\d")
    assert all(plain.fullmatch(svg.stem) for svg in out.rglob("*.svg"))
    for dot in dots:
        assert dot.read_text(encoding="utf-8").startswith("digraph")
