"""One colour language, stated in every legend: blue positive / more positive, red negative.

Every picture (draw_dot, the trace's frames, the network's forward view, backprop steps and
explained paths, the diagnose plot), the explorer's page and the notebook say what their blue
and red encode; where a picture uses blue or red its legend row names the quantity
(``colour = ...``) and the blue entry is the positive (or "more positive") one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import nn
from autograd import Value, draw_dot, explain_gradient, trace_backward
from autograd.style import BLUE, COLOUR_LANGUAGE, ENCODES, RED, SERIES
from demos.datasets import load_digits

REPO = Path(__file__).resolve().parents[1]
SWATCH = re.compile(r'<FONT COLOR="(#[0-9a-f]{6})">([^<]*)\u2002</FONT>([^<]*)')


@pytest.fixture(scope="module")
def three() -> list[float]:
    xs, ys = load_digits()
    return xs[ys.index(3)]


def legend_rows(picture) -> list[str]:
    """The caption's legend rows (HTML-like), one string each."""
    label = next(line for line in picture.body if line.lstrip().startswith("label=<<TABLE"))
    return re.findall(r'<FONT POINT-SIZE="11">(.*?)</FONT></TD></TR>', label)


def check_legend(picture, must_encode: set[str]) -> set[str]:
    """Every row with a blue or red swatch names what it encodes; blue is the positive one.

    Returns what the rows say they encode."""
    said = set()
    for row in legend_rows(picture):
        swatches = [(c, text.strip()) for c, _, text in SWATCH.findall(row)]
        colours = {c for c, _ in swatches}
        if not colours & {BLUE, RED}:
            continue
        if all(re.fullmatch(r"-?[\d.e+-]+( exactly)?", text) for _, text in swatches):
            assert said, f"a scale bar before any row says what its colour encodes: {row}"
            continue  # the shades of the row above, from -scale to +scale
        m = re.search(r"colour = ([^:<]+):", row)
        assert m, f"a legend row uses blue/red without saying what they encode: {row}"
        said.add(m.group(1))
        for c, text in swatches:
            if c == BLUE:
                assert text.startswith("blue ") and re.search(
                    r"positive|&gt; 0|\+|rise", text), text
            if c == RED:
                assert text.startswith("red ") and re.search(
                    r"negative|&lt; 0|−|fall", text), text
    assert must_encode <= said, (must_encode, said)
    return said


def neuron():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    b = Value(1.0, label="b")
    o = (x * w + b).tanh()
    o.label = "o"
    return o, x


def test_draw_dot_says_its_colour_is_the_gradients_sign():
    o, _ = neuron()
    o.backward()
    check_legend(draw_dot(o), {ENCODES["grad"]})


def test_trace_frames_say_it_too():
    o, _ = neuron()
    frames = trace_backward(o).frames()
    assert len(frames) > 2
    for frame in frames:
        check_legend(frame, {ENCODES["grad"]})


def test_explained_paths_say_their_colour_is_the_contributions_sign():
    o, x = neuron()
    o.backward()
    check_legend(draw_dot(o, highlight=explain_gradient(o, x, 2)),
                 {ENCODES["grad"], ENCODES["contribution"]})


def test_network_views_say_what_their_colour_encodes(three):
    model = nn.MLP(64, [16, 16, 10], seed=0)
    check_legend(nn.draw_network(model), {ENCODES["weight"]})
    check_legend(nn.draw_network(model, three), {ENCODES["weight"]})
    full = check_legend(nn.draw_network(model, three, 3), {ENCODES["step"]})
    assert any("weighted input" in s for s in full)  # the rings
    check_legend(nn.draw_network(model, three, 3, step=1), set())
    for step in (2, 3, 4):
        check_legend(nn.draw_network(model, three, 3, step=step), {ENCODES["step"]})
    check_legend(nn.draw_network(model, three, 3, explain="layers.1.neurons.0.w.0"),
                 {ENCODES["contribution"]})


def test_the_backprop_steps_blue_is_a_step_that_makes_the_weight_more_positive(three):
    model = nn.MLP(64, [16, 16, 10], seed=0)
    rows = legend_rows(nn.draw_network(model, three, 3, step=2))
    assert any("blue more positive (grad &lt; 0)" in r and "red more negative (grad &gt; 0)" in r
               for r in rows)
    o, _ = neuron()
    o.backward()
    rows = legend_rows(draw_dot(o))
    assert any("blue grad &gt; 0" in r and "red grad &lt; 0" in r for r in rows)


def test_the_diagnose_plot_tells_layers_apart_without_blue_or_red():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nn.diagnose import LEGEND_TITLE, _figure

    xs, ys = load_digits()
    model = nn.MLP(64, [8, 8, 10], seed=0)
    fig = _figure(plt, nn.diagnose(model, xs[:60], ys[:60]))
    try:
        legend = fig.axes[0].get_legend()
        assert legend.get_title().get_text() == LEGEND_TITLE
        assert "layer" in LEGEND_TITLE and "not a sign" in LEGEND_TITLE
        colours = {line.get_color() for ax in fig.axes for line in ax.get_lines()}
        assert colours and colours <= set(SERIES)
        assert not colours & {BLUE, RED}
    finally:
        plt.close(fig)


def test_the_explorer_page_states_the_colour_language():
    page = (REPO / "demos/explorer/static/index.html").read_text(encoding="utf-8")
    key = re.search(r'<p id="colour-key"[^>]*>(.*?)</p>', page, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", "", key).split())
    assert "blue = positive / more positive, red = negative / more negative" in text
    for what in ("weight's sign", "the direction one descent step moves a weight",
                 "contribution's sign", "fixed scale"):
        assert what in text
    assert '<span class="up">blue</span>' in key and '<span class="down">red</span>' in key


def test_the_notebook_states_the_colour_language_once_and_no_picture_contradicts_it():
    nb = json.loads((REPO / "demos/how_deep_learning_works.ipynb").read_text(encoding="utf-8"))
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert " ".join(COLOUR_LANGUAGE.split()) in " ".join(md.replace("**", "").split())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "colour = each gradient's sign, blue > 0, red < 0" in code
    svgs = ["".join(o["data"]["image/svg+xml"]) for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", []) if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) >= 8
    for svg in svgs:  # every stored picture's legend names what its colour encodes
        assert "colour = " in svg, svg[:200]
