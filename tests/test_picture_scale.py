"""Absolute scales: pictures of one model compare by eye, and small is never drawn as 0.

``nn.Scale`` fixes the |weight|, |gradient|, |activation| and |input| drawn full;
``draw_network(scale=)``, ``draw_dot(scale=)`` and ``nn.draw_sequence`` use it and the
legend says which scale is in use.  The forward view ranks connections by what flows for
the input drawn (|weight × activation|), and every "the k ... are drawn" says by what.
"""

from __future__ import annotations

import random
import re

import pytest

import nn
from autograd import Value, draw_dot
from autograd.style import MIN_TINT, NEUTRAL, fmt, signed_shade, strength
from demos.datasets import load_digits
from nn.network_view import network_view


@pytest.fixture(scope="module")
def three() -> list[float]:
    xs, ys = load_digits()
    return xs[ys.index(3)]


def edges(g) -> dict[str, dict[str, str]]:
    out = {}
    for line in g.body:
        if "->" in line and " id=" in line:
            attrs = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line.split("[", 1)[1]))
            attrs = {k: v.strip('"') for k, v in attrs.items()}
            out[attrs["id"]] = attrs
    return out


def node(g, nid: str) -> dict[str, str]:
    line = next(ln for ln in g.body if ln.startswith(f"\t{nid} [") and "pos=" in ln)
    attrs = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line.split("[", 1)[1]))
    return {k: v.strip('"') for k, v in attrs.items()}


def widths(g) -> dict[str, float]:
    return {name: float(a["penwidth"]) for name, a in edges(g).items()}


def shrunk(model: nn.MLP, factor: float) -> nn.MLP:
    small = nn.MLP(model.nin, model.nouts, seed=0)
    small.load_state_dict(model.state_dict())
    for p in small.parameters():
        p.data *= factor
    return small


# --- style: the shades ----------------------------------------------------------------------


def test_anything_non_zero_is_tinted_and_zero_is_not():
    assert signed_shade(0.0, 1.0) == (0.0, NEUTRAL)
    for x in (1e-300, 1e-12, -1e-9, 1e-3):
        t, colour = signed_shade(x, 1.0)
        assert t >= MIN_TINT and colour != NEUTRAL, x
    assert strength(5.0, 1.0) == 1.0  # at or above the scale: full
    assert strength(0.25, 1.0) == pytest.approx(MIN_TINT + (1 - MIN_TINT) * 0.5)


# --- draw_dot(scale=) -----------------------------------------------------------------------


def test_draw_dot_takes_a_fixed_scale_and_says_so():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.backward()
    own, fixed = draw_dot(c).source, draw_dot(c, scale=30.0).source
    assert f"scale: this picture's largest, {fmt(3.0)}" in own
    assert f"fixed scale: full at {fmt(30.0)} and above" in fixed
    # b's grad 2 is drawn fainter on a scale of 30 than on its own scale of 3.
    assert signed_shade(2.0, 30.0)[1] in fixed and signed_shade(2.0, 3.0)[1] in own
    assert f"fixed scale: full at {fmt(1.5)}" in draw_dot(c, scale=nn.Scale(grad=1.5)).source


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1.0, ValueError),
                                        (float("nan"), ValueError), ("1", TypeError)])
def test_draw_dot_refuses_a_bad_scale(bad, error):
    with pytest.raises(error, match=r"^draw_dot: scale must be a finite number > 0, got "):
        draw_dot(Value(1.0), scale=bad)


# --- nn.Scale -------------------------------------------------------------------------------


def test_scale_checks_its_numbers():
    with pytest.raises(ValueError, match=r"^Scale: weight must be a finite number > 0, got -1"):
        nn.Scale(weight=-1.0)
    with pytest.raises(TypeError, match=r"^Scale: grad must be a finite number > 0, got True"):
        nn.Scale(grad=True)
    with pytest.raises(TypeError, match=r"^draw_network: scale must be an nn.Scale"):
        nn.draw_network(nn.MLP(2, [2, 1], seed=0), scale=1.0)
    with pytest.raises(ValueError, match=r"^Scale.of: 1 targets for 2 inputs"):
        nn.Scale.of(nn.MLP(2, [2, 1], seed=0), [[0.0, 1.0], [1.0, 0.0]], [[1.0]])


def test_scale_of_snapshots_is_the_largest_of_each(three):
    m = nn.MLP(64, [16, 16, 10], seed=0)
    half = shrunk(m, 0.5)
    s1, s2 = nn.Scale.of(m, [three], [3]), nn.Scale.of(half, [three], [3])
    both = nn.Scale.of([m, half], [three], [3])
    assert both.weight == max(s1.weight, s2.weight) == max(
        abs(w.data) for n in m.layers for neuron in n.neurons for w in neuron.w)
    assert both.grad == max(s1.grad, s2.grad)
    assert both.activation == max(s1.activation, s2.activation)
    assert both.input == max(three)


# --- draw_network: one scale across pictures and across layers --------------------------------


def test_a_shared_scale_shows_smaller_weights_thinner(three):
    m = nn.MLP(64, [16, 16, 10], seed=0)
    small = shrunk(m, 0.1)
    # Each on its own scale the two look alike: that is what a shared scale fixes.
    assert widths(nn.draw_network(m)) == widths(nn.draw_network(small))
    scale = nn.Scale.of([m, small])
    big_w, small_w = widths(nn.draw_network(m, scale=scale)), widths(
        nn.draw_network(small, scale=scale))
    assert big_w.keys() == small_w.keys()
    assert all(small_w[k] < big_w[k] for k in big_w)
    assert f"fixed scale: full at {fmt(scale.weight)} and above" in nn.draw_network(
        small, scale=scale).source


def grad_widths_follow(g, model, x, target, scale: float, layers=(0, 1, 2)) -> None:
    """Every drawn connection of ``layers`` is as wide as its |gradient| on ``scale`` says."""
    view = network_view(model, x, target)
    for name, attrs in edges(g).items():
        _, li, _, j, _, i = name.split(".")
        if int(li) in layers:
            gw = view.wgrad[int(li)][int(j)][int(i)]
            assert float(attrs["penwidth"]) == round(0.4 + 3.6 * strength(gw, scale), 2), name


def test_gradients_share_one_scale_across_layers_and_pictures(three):
    model = nn.MLP(64, [16, 16, 10], seed=0)
    g = nn.draw_network(model, three, 3)
    scale = nn.Scale.of(model, [three], [3]).grad
    grad_widths_follow(g, model, three, 3, scale)
    w = widths(g)
    per_layer = [max(v for k, v in w.items() if k.startswith(f"layers.{li}.")) for li in range(3)]
    assert len(set(per_layer)) == 3  # not each layer's largest drawn full
    assert f"the same scale in every layer; scale: this picture's largest, {fmt(scale)}" in (
        g.source)
    # The four steps of one model on one example share the scale by default.
    texts = {re.search(r"scale: this picture's largest, [^)<]*", nn.draw_network(
        model, three, 3, step=s).source).group(0) for s in (2, 3, 4)}
    assert len(texts) == 1


def test_snapshots_during_training_look_different(three):
    xs, ys = load_digits()
    model = nn.MLP(64, [16, 16, 10], seed=0)
    snaps = [shrunk(model, 1.0)]
    opt, rng = nn.SGD(model.parameters(), lr=0.5), random.Random(0)
    for step, batch in enumerate(nn.minibatches(len(xs), 32, rng), 1):
        loss = sum((nn.cross_entropy(model(xs[i]), ys[i]) for i in batch), start=0.0) * (
            1 / len(batch))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step == 20:
            break
    snaps.append(shrunk(model, 1.0))
    pictures = nn.draw_sequence(snaps, three, 3, titles=["0 steps", "20 steps"])
    scale = nn.Scale.of(snaps, [three], [3])
    own = [nn.Scale.of(m, [three], [3]).grad for m in snaps]
    assert own[0] != own[1]  # each on its own scale, full width would mean two things
    for g, m in zip(pictures, snaps):
        assert f"fixed scale: full at {fmt(scale.grad)} and above" in g.source
        grad_widths_follow(g, m, three, 3, scale.grad)
    assert widths(pictures[0]) != widths(pictures[1])
    with pytest.raises(ValueError, match=r"^draw_sequence: 1 titles for 2 models"):
        nn.draw_sequence(snaps, three, titles=["one"])


# --- shading: 0 is not small ------------------------------------------------------------------


def test_a_small_activation_is_grey_and_exactly_zero_is_dashed_white():
    model = nn.MLP(1, [3, 1], seed=0)
    hidden = model.layers[0].neurons
    for n, (w, b) in zip(hidden, [(1e-4, 0.0), (10.0, 0.0), (-1.0, 0.0)]):
        n.w[0].data, n.b.data = w, b  # activations 1e-4, 10 and relu(-1) = 0
    g = nn.draw_network(model, [1.0])
    tiny, big, off = (node(g, f"L0n{j}") for j in range(3))
    assert tiny["fillcolor"] != "#ffffff" and "dashed" not in tiny.get("style", "")
    assert off["fillcolor"] == "#ffffff" and "dashed" in off["style"]
    assert big["fillcolor"] != tiny["fillcolor"]
    assert "0 exactly (dashed)" in g.source


# --- the forward view ranks connections by what flows ----------------------------------------


def test_the_forward_view_draws_what_flows_for_this_input(three):
    model = nn.MLP(64, [16, 16, 10], seed=0)
    g = nn.draw_network(model, three)
    drawn = [k for k in edges(g) if k.startswith("layers.0.")]
    by_neuron: dict[int, list[int]] = {}
    for name in drawn:
        _, _, _, j, _, i = name.split(".")
        by_neuron.setdefault(int(j), []).append(int(i))
    for j, kept in by_neuron.items():
        ws = model.layers[0].neurons[j].w
        flows = sorted(range(64), key=lambda i: -abs(ws[i].data * three[i]))
        assert sorted(kept) == sorted(flows[:6])
        assert all(three[i] != 0.0 for i in kept)  # nothing from a blank pixel
    assert ("the 6 of 64 connections with the largest |weight × activation| (what flows for "
            "this input) are drawn" in g.source)
    # Without an input, by |weight|; in a backprop step, by |gradient|: each says so.
    assert "connections with the largest |weight| are drawn" in nn.draw_network(model).source
    assert "connections with the largest |gradient| are drawn" in nn.draw_network(
        model, three, 3, step=4).source


def test_a_connection_from_a_zero_source_is_grey(three):
    model = nn.MLP(64, [16, 16, 10], seed=0)
    g = nn.draw_network(model, three)
    run = nn.run_layers(model, three)
    for name, attrs in edges(g).items():
        li, i = int(name.split(".")[1]), int(name.split(".")[-1])
        source = run.columns[li][i].data
        assert (attrs["color"] == "#d0d0d0") == (source == 0.0), (name, source)


# --- the explorer: every view of a page on one scale ------------------------------------------


def test_the_explorers_views_share_one_fixed_scale():
    from explorer_http import untrained

    from demos.explorer.api import Explorer

    ex = Explorer(untrained())
    fixed = [f"fixed scale: full at {fmt(ex.scale.weight)} and above",
             f"fixed scale: full at {fmt(ex.scale.activation)} and above"]
    seen = set()
    for k in (0, 7):
        pixels = ex.test_pixels[k]
        svg = ex.predict({"pixels": pixels})["svg"]
        assert all(f in svg for f in fixed)
        step = ex.step({"pixels": pixels, "target": 3, "step": 2})["svg"]
        assert f"fixed scale: full at {fmt(ex.scale.grad)} and above" in step
        seen.add(svg)
    assert len(seen) == 2  # two digits, two pictures, one scale
