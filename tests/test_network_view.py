"""nn.draw_network: the explainer's figure must say what the engine computes."""

from __future__ import annotations

import re
import time

import pytest
from graphviz_check import SVG, groups, require_dot, svg_root, texts

import nn
from autograd import Value
from autograd.style import BLUE, RED, fmt
from demos.datasets import load_digits
from nn.draw import FAINT


@pytest.fixture(scope="module")
def three() -> list[float]:
    xs, ys = load_digits()
    return xs[ys.index(3)]


def edges(g) -> dict[str, dict[str, str]]:
    """Each connection's DOT attributes, by its id (the weight's parameter name)."""
    out = {}
    for line in g.body:
        if "->" in line and " id=" in line:
            attrs = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line.split("[", 1)[1]))
            attrs = {k: v.strip('"') for k, v in attrs.items()}
            out[attrs["id"]] = attrs
    return out


def marks(g) -> dict[str, str]:
    """The arrow drawn on a connection, by the connection's id."""
    found = re.findall(r'"?mark\.([\w.]+)"? \[label="([▲▼])"', "".join(g.body))
    return dict(found)


def hue(color: str) -> str:
    rgb = color[:7].lower()
    return {BLUE: "blue", RED: "red", FAINT: "faint"}[rgb]


def engine_gradients(model, x, target, loss: str, softmax: bool = True):
    """The reference: the same loss, through Value.backward() into .grad."""
    model.zero_grad()
    outs = model(x)
    if loss == "cross_entropy":
        value = nn.cross_entropy(outs, target)
    else:
        desired = target if isinstance(target, list) else [float(j == target) for j in range(10)]
        value = nn.mse(nn.softmax(outs) if softmax else outs, desired)
    value.backward()
    return {name: p.grad for name, p in model.named_parameters()}, outs


def note(g) -> str:
    return re.search(r"gradients of [^;]*;", g.source).group(0)


def test_weights_view_colours_and_widths():
    model = nn.MLP(2, [4, 4, 1], seed=1)
    g = nn.draw_network(model)
    assert g.engine == "neato"
    es = edges(g)
    assert len(es) == 2 * 4 + 4 * 4 + 4  # every connection, named by its weight
    widths = []
    for name, attrs in es.items():
        w = model.get_parameter(name).data
        assert hue(attrs["color"]) == ("blue" if w >= 0 else "red")
        widths.append((abs(w), float(attrs["penwidth"])))
    widths.sort()
    assert [p for _, p in widths] == sorted(p for _, p in widths)  # wider for larger |w|
    src = g.source
    assert src.count("shape=circle") == 2 + 4 + 4 + 1
    for word in ("hidden 1 (relu)", "hidden 2 (relu)", "output", "positive", "negative"):
        assert word in src


def test_activations_shade_the_neurons():
    model = nn.MLP(2, [4, 4, 1], seed=1)
    g = nn.draw_network(model, [0.5, -1.0])
    outs = model.predict([0.5, -1.0])
    assert f"{outs[0]:.2f}" in g.source


@pytest.mark.parametrize(
    "loss, says",
    [
        (None, "cross_entropy(outputs, 3) = softmax − one-hot at the outputs,"),
        ("cross_entropy", "cross_entropy(outputs, 3) = softmax − one-hot at the outputs,"),
        ("mse", "mse(softmax(outputs), one-hot(3)),"),
    ],
)
def test_arrows_agree_with_backward_on_a_real_digit(three, loss, says):
    model = nn.MLP(64, [16, 16, 10], seed=0)
    model.zero_grad()
    g = nn.draw_network(model, three, 3, loss=loss)
    assert all(p.grad == 0.0 for p in model.parameters())  # draw_network leaves .grad alone
    assert note(g) == f"gradients of {says} from autograd.grad;"
    grads, outs = engine_gradients(model, three, 3, loss or "cross_entropy")
    es = edges(g)
    # Into each first-layer neuron its 6 largest |gradient| of 64, none whose gradient is 0
    # (a weight that does not move): a neuron that is off draws none.
    moving = [sum(grads[f"layers.0.neurons.{j}.w.{i}"] != 0.0 for i in range(64))
              for j in range(16)]
    assert len(es) == sum(min(6, m) for m in moving) + 16 * 16 + 16 * 10
    signs = {"blue": 0, "red": 0}
    for name, attrs in es.items():
        gw = grads[name]
        want = "faint" if gw == 0.0 else ("blue" if gw < 0 else "red")  # blue: w will grow
        assert hue(attrs["color"]) == want, (name, gw, attrs)
        if gw:
            signs[want] += 1
            assert attrs["tooltip"].endswith(f"grad = {fmt(gw)}")
    assert signs["blue"] > 0 and signs["red"] > 0
    ms = marks(g)
    assert ms and all((grads[name] < 0) == (glyph == "▲") for name, glyph in ms.items())
    # Rings: which way each neuron's weighted input should move, from the same backward.
    src = g.source
    for j, out in enumerate(outs):
        ring = re.search(rf'\tL2n{j} \[[^\]]*\scolor="(#\w+)"', src).group(1)
        assert hue(ring) == ("blue" if out.grad < 0 else "red")
    # Outputs: the target class must rise, the others fall.
    assert re.search(r"3: 0\.\d\d → 1 ▲", src)
    assert len(re.findall(r"\d: 0\.\d\d → 0 ▼", src)) == 9


def test_list_target_uses_plain_outputs():
    model = nn.MLP(2, [4, 4, 1], seed=1)
    x = [0.5, -1.0]
    g = nn.draw_network(model, x, [1.0])
    grads, outs = engine_gradients(model, x, [1.0], "mse", softmax=False)
    for name, attrs in edges(g).items():
        gw = grads[name]
        assert hue(attrs["color"]) == ("faint" if gw == 0 else "blue" if gw < 0 else "red")
    assert "mse(outputs, desired)" in g.source
    assert f"y: {outs.data:.2f} → 1 ▲" in g.source


def test_default_loss_is_cross_entropy_only_for_a_linear_classifier(three):
    model = nn.MLP(64, [16, 16, 10], seed=0)
    assert "cross_entropy(outputs, 3)" in note(nn.draw_network(model, three, 3))
    desired = [0.0] * 9 + [1.0]
    assert "mse(outputs, desired)" in note(nn.draw_network(model, three, desired))
    for neuron in model.layers[-1].neurons:
        neuron.activation = "tanh"  # not logits: no softmax, and mse against the one-hot vector
    g = nn.draw_network(model, three, 3)
    assert "mse(outputs, one-hot(3))" in note(g)
    grads, _ = engine_gradients(model, three, 3, "mse", softmax=False)
    for name, attrs in edges(g).items():
        gw = grads[name]
        assert hue(attrs["color"]) == ("faint" if gw == 0 else "blue" if gw < 0 else "red")


def test_cross_entropy_compares_probabilities_even_when_raw_outputs_are_shown(three):
    model = nn.MLP(64, [16, 16, 10], seed=0)
    g = nn.draw_network(model, three, 3, softmax=False, loss="cross_entropy")
    logits = model(three)
    probs = nn.softmax(logits)
    assert re.search(rf"\tL2n3 \[label={logits[3].data:.2f} ", g.source)  # the raw output
    assert f"3: {probs[3].data:.2f} → 1 ▲" in g.source
    assert "beside the outputs: their softmax probabilities → desired" in g.source
    assert "the output column shows softmax probabilities" not in g.source


@pytest.mark.parametrize(
    "step, coloured", [(1, set()), (2, {2}), (3, {1}), (4, {0}), (None, {0, 1, 2})]
)
def test_each_step_colours_one_layer(three, step, coloured):
    model = nn.MLP(64, [16, 16, 10], seed=0)
    g = nn.draw_network(model, three, 3, step=step)
    shown = {int(name.split(".")[1]) for name, a in edges(g).items() if hue(a["color"]) != "faint"}
    assert shown == coloured
    if step is not None:
        assert f"step {step}" in g.source


def test_64_inputs_are_an_image_and_say_what_was_left_out(three):
    model = nn.MLP(64, [16, 16, 10], seed=0)
    g = nn.draw_network(model, three)
    assert g.source.count("shape=square") == 64
    assert (
        "input → hidden 1: into each neuron, the 6 of 64 connections with the largest "
        "|weight × activation| (what flows for this input) are drawn; those carrying exactly 0 "
        "are left out (928 of 1,024 left out)" in g.source
    )
    g2 = nn.draw_network(model, three, top_k=2)
    assert len([e for e in edges(g2) if e.startswith("layers.0.")]) == 16 * 2
    assert len([e for e in edges(g2) if e.startswith("layers.1.")]) == 16 * 2
    g3 = nn.draw_network(model, three, input_shape=(4, 16))
    assert g3.source.count("shape=square") == 64



def test_a_28x28_input_is_a_smaller_image_whose_line_starts_are_outlined():
    model = nn.MLP(784, [16, 16, 10], seed=0)
    x = [(i * 37 % 11) / 10 for i in range(784)]
    g = nn.draw_network(model, x, target=3)
    src = g.source
    assert src.count("shape=square") == 784
    assert src.count('width=0.200') >= 784  # 5.6 inches tall, not 28 x 0.26 = 7.3
    assert ("input → hidden 1: into each neuron, the 6 of 784 connections with the largest "
            "|gradient| are drawn" in src)
    # Lines from pixels run under the image: each pixel a visible line starts from is
    # outlined in the colour of its widest line.
    widest: dict[str, tuple[float, str]] = {}
    for pixel, attrs in re.findall(r"\t(x\d+) -> L0n\d+ \[([^\]]*)\]", src):
        color = re.search(r'color="(#\w+)"', attrs).group(1)[:7]
        width = float(re.search(r"penwidth=([\d.]+)", attrs).group(1))
        if color != FAINT and width > widest.get(pixel, (0.0, ""))[0]:
            widest[pixel] = (width, color)
    outlined = dict(re.findall(r'\t(x\d+) \[color="(#\w+)" penwidth=', src))
    assert widest and outlined == {p: c for p, (_, c) in widest.items()}
    # The arrows on the first layer's lines sit where the lines show, right of the image.
    xs = [float(x) for x in re.findall(r'mark\.layers\.0\.[^\n]*pos="([-\d.]+),', src)]
    assert xs and min(xs) > 0.1  # the image's right edge: its last column at x = 0


LOSS_CHOICES = r"loss must be one of 'cross_entropy', 'mse' or None, got "


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"target": 3}, ValueError, "needs the input x"),
        ({"x": [0.0] * 64, "target": 10}, ValueError, "out of range"),
        ({"x": [0.0] * 64, "target": [1.0] * 3}, ValueError, "3 values for 10 outputs"),
        ({"x": [0.0] * 64, "target": "3"}, TypeError, "class index or a list"),
        ({"x": [0.0] * 64, "target": [0.0] * 9 + [float("nan")]}, ValueError,
         r"^draw_network: target\[9\] must be a finite number, got nan \(float\)$"),
        ({"x": [0.0] * 64, "target": [0.0] * 9 + [True]}, TypeError,
         r"^draw_network: target\[9\] must be a finite number, got True \(bool\)$"),
        ({"x": [0.0] * 64, "target": 3, "step": 5}, ValueError,
         r"^draw_network: step must be an int in \[1, 4\], got 5 \(int\)$"),
        ({"x": [0.0] * 64, "target": 3, "step": True}, TypeError,
         r"^draw_network: step must be an int in \[1, 4\], got True \(bool\)$"),
        ({"x": [0.0] * 64, "step": 2}, ValueError, "needs x and a target"),
        ({"x": [0.0] * 3}, ValueError, "64 inputs"),
        ({"top_k": 0}, ValueError, r"^draw_network: top_k must be an int >= 1, got 0 \(int\)$"),
        ({"top_k": 2.0}, TypeError, r"^draw_network: top_k must be an int >= 1, got 2\.0"),
        ({"input_shape": (8, 9)}, ValueError, "input_shape"),
        ({"x": [0.0] * 64, "target": 3, "loss": "hinge"}, ValueError, LOSS_CHOICES + "'hinge'"),
        ({"x": [0.0] * 64, "target": 3, "loss": "MSE"}, ValueError, LOSS_CHOICES + "'MSE'"),
        ({"x": [0.0] * 64, "target": 3, "loss": 1}, ValueError, LOSS_CHOICES + "1"),
        ({"x": [0.0] * 64, "loss": "mse"}, ValueError, "loss='mse' is backprop's loss"),
        (
            {"x": [0.0] * 64, "target": [0.0] * 10, "loss": "cross_entropy"},
            ValueError,
            r"loss='cross_entropy' needs a class-index target .* got target=\[0\.0, ",
        ),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    model = nn.MLP(64, [16, 16, 10], seed=0)
    with pytest.raises(error, match=match):
        nn.draw_network(model, **kwargs)


def test_cross_entropy_needs_more_than_one_output():
    model = nn.MLP(2, [4, 4, 1], seed=1)
    with pytest.raises(ValueError, match=r"loss='cross_entropy' needs .* for 1 output$"):
        nn.draw_network(model, [0.5, -1.0], [1.0], loss="cross_entropy")


def test_not_a_model():
    with pytest.raises(TypeError, match=r"^draw_network: model must be an nn\.MLP, got Value$"):
        nn.draw_network(Value(1.0))


def test_network_svg_renders_with_named_coloured_connections(three, tmp_path):
    require_dot()
    from autograd.draw import render_svg

    model = nn.MLP(64, [16, 16, 10], seed=0)
    t = time.perf_counter()
    path = render_svg(nn.draw_network(model, three, 3, step=2), tmp_path / "step2.svg")
    assert time.perf_counter() - t < 10.0
    svg = svg_root(path.read_text(encoding="utf-8"))
    grads, _ = engine_gradients(model, three, 3, "cross_entropy")
    drawn = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert len(drawn) == 16 * 6 + 16 * 16 + 16 * 10
    checked = 0
    for g in drawn:
        name = g.get("id")
        stroke = next(g.iter(f"{SVG}path")).get("stroke").lower()
        if name.startswith("layers.2."):
            gw = grads[name]
            assert stroke == (BLUE if gw < 0 else RED if gw > 0 else FAINT)
            checked += 1
        else:
            assert stroke == FAINT
    assert checked == 160
    words = " ".join(texts(svg))
    for word in ("Backprop step 2", "hidden 1 (relu)", "output", "3: ", "→ 1 ▲", "more positive"):
        assert word in words
    assert len(groups(svg, "node")) > 64 + 16 + 16 + 10


# --- explain=: one weight's top paths to the loss -------------------------------------------


def _explained(three, name="layers.0.neurons.0.w.3", k=5):
    from autograd import explain_gradient

    model = nn.MLP(64, [32, 32, 10], seed=0)
    g = nn.draw_network(model, three, 3, explain=name, explain_k=k)
    loss = nn.cross_entropy(model(three), 3)
    return model, g, explain_gradient(loss, dict(model.named_parameters())[name], k)


def test_explain_draws_each_hop_with_its_local_derivative(three) -> None:
    model, g, e = _explained(three)
    hops = {i: a for i, a in edges(g).items() if i.startswith("path")}
    assert hops, "no path drawn"
    layers = dict(model.named_parameters())
    # The weight's own hop: x3 -> hidden 1 neuron 0, d(relu(w·x + b))/dw = x3 when active.
    own = [a for a in hops.values() if a["tooltip"] == f"local derivative: {fmt(three[3])}"]
    assert own and all(a["label"] == f"×{fmt(three[3])}" for a in own)
    # A hop from hidden 2 into the (linear) output 3 is that connection's weight.
    w_out = {fmt(layers[f"layers.2.neurons.3.w.{i}"].data) for i in range(32)}
    assert any(a["label"][1:] in w_out for a in hops.values())
    # The caption: each path's factors, and the sum reaching the gradient.
    assert f"= {fmt(e.total)} = d loss / d weight" in g.source
    assert f"the gradient sums {e.count:,} paths" in g.source
    for n, p in enumerate(e.paths, 1):
        assert f"path {n}: {fmt(p.contribution, '+')} = " in g.source
    colours = {a["color"] for a in hops.values()}
    assert colours <= {BLUE, RED, "#737373"} and len(colours) >= 2


def test_explain_names_each_route_between_two_neurons(three) -> None:
    # The loss reaches output 3 directly (×-1) and through the softmax's sum (×p3); with
    # enough paths listed both routes are on the one line, and both are said.
    _, g, _ = _explained(three, k=40)
    into_loss = [a for i, a in edges(g).items() if i.startswith("path") and " or " in a["label"]]
    assert len(into_loss) == 1
    assert into_loss[0]["label"].startswith("×-1.0000 or ×")
    assert into_loss[0]["tooltip"].startswith("local derivatives of its routes: -1.0000, ")


def test_explain_takes_the_weight_itself(three) -> None:
    model = nn.MLP(64, [32, 32, 10], seed=0)
    w = dict(model.named_parameters())["layers.1.neurons.4.w.7"]
    by_value = nn.draw_network(model, three, 3, explain=w).source
    by_name = nn.draw_network(model, three, 3, explain="layers.1.neurons.4.w.7").source
    assert by_value == by_name and "Why d loss / d layers.1.neurons.4.w.7" in by_name


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"explain": "layers.0.neurons.0.b"}, ValueError, "biases have no connection drawn"),
        ({"explain": "layers.9.w"}, ValueError, "explain must name a weight of the model"),
        ({"explain": 3}, TypeError, "explain must be a weight's name or the weight"),
        ({"explain": "layers.0.neurons.0.w.0", "target": None}, ValueError, "needs the input"),
        ({"explain": "layers.0.neurons.0.w.0", "explain_k": 0}, ValueError, "explain_k"),
    ],
)
def test_explain_refuses_bad_arguments(three, kwargs, error, match) -> None:
    model = nn.MLP(64, [32, 32, 10], seed=0)
    kwargs = {"target": 3, **kwargs}
    target = kwargs.pop("target")
    with pytest.raises(error, match=match):
        nn.draw_network(model, three, target, **kwargs)
