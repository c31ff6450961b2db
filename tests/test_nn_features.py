"""nn.weight_images and nn.top_activating (what each neuron looks for), and their pictures."""

from __future__ import annotations

import random

import pytest

import nn
from autograd.style import BLUE, NEUTRAL, RED, mix
from nn import MLP
from nn.image_grid import Panel, _ink, draw_grid, signed_color
from tests.graphviz_check import SVG, svg_root
from tests.pixel_pictures import panels


def model_64() -> MLP:
    return MLP(64, [6, 5, 10], seed=3)


def test_weight_images_are_each_neurons_weights_laid_out_as_the_image():
    model = model_64()
    wi = nn.weight_images(model)
    assert wi.layer == 0 and wi.shape == (8, 8) and len(wi.images) == 6
    for j, neuron in enumerate(model.layers[0].neurons):
        for r in range(8):
            for c in range(8):
                assert wi.images[j][r][c] == neuron.w[r * 8 + c].data
    assert wi.biases == [n.b.data for n in model.layers[0].neurons]
    assert wi.scale == max(abs(w.data) for n in model.layers[0].neurons for w in n.w)


def test_weight_images_of_another_shape_and_layer():
    model = model_64()
    wi = nn.weight_images(model, (4, 16))
    assert wi.shape == (4, 16) and wi.images[2][1][3] == model.layers[0].neurons[2].w[19].data
    deeper = nn.weight_images(model, layer=1)  # 6 inputs: not square, so one row
    assert deeper.shape == (1, 6)
    assert deeper.images[4][0] == [w.data for w in model.layers[1].neurons[4].w]


def test_the_gallery_draws_one_pixel_per_weight_on_the_stated_scale():
    model = model_64()
    wi = nn.weight_images(model)
    text = wi.draw().svg
    drawn = panels(text)
    assert len(drawn) == 6
    for j, neuron in enumerate(model.layers[0].neurons):
        assert drawn[j] == [signed_color(w.data, wi.scale) for w in neuron.w]
    assert f"|weight| = {wi.scale:.3g}" in text
    big = max((w for n in model.layers[0].neurons for w in n.w), key=lambda w: abs(w.data))
    assert signed_color(big.data, wi.scale) in (BLUE, RED)


def test_signed_colours_are_linear_and_symmetric():
    assert signed_color(0.0, 1.0) == NEUTRAL
    assert signed_color(1.0, 1.0) == BLUE and signed_color(-1.0, 1.0) == RED
    assert signed_color(5.0, 1.0) == BLUE  # clipped at the scale
    assert signed_color(0.5, 1.0) != signed_color(-0.5, 1.0)
    assert signed_color(0.3, 0.0) == NEUTRAL
    assert signed_color(1e-9, 1.0) != NEUTRAL != signed_color(-1e-9, 1.0)  # small is not 0
    assert signed_color(0.25, 1.0) == mix(NEUTRAL, BLUE, 0.25)  # linear


def brute_top(model, X, layer, k):
    zs = [nn.run_layers(model, x).layers[layer].z_values for x in X]
    out = []
    for j in range(len(zs[0])):
        ranked = sorted(range(len(X)), key=lambda i: (-zs[i][j], i))
        out.append(ranked[:k])
    return out


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_top_activating_ranks_the_examples_by_each_neurons_z(layer):
    model = model_64()
    rng = random.Random(layer)
    X = [[rng.random() for _ in range(64)] for _ in range(25)]
    X.append(list(X[3]))  # a tie: the earlier example first
    top = nn.top_activating(model, X, layer, k=4)
    assert top.indices == brute_top(model, X, layer, 4)
    for j, idx in enumerate(top.indices):
        for i, z, a in zip(idx, top.z[j], top.a[j]):
            step = nn.run_layers(model, X[i]).layers[layer]
            assert z == step.z[j].data and a == step.a[j].data
        assert top.z[j] == sorted(top.z[j], reverse=True)
    for row in top.indices:
        if 3 in row and 25 in row:
            assert row.index(3) < row.index(25)


def test_top_activating_draws_the_examples():
    model = model_64()
    X = [[(i * j) % 17 / 16 for j in range(64)] for i in range(12)]
    top = nn.top_activating(model, X, 1, k=3)
    drawn = panels(top.draw(X).svg)
    assert len(drawn) == 5 * 3 and all(len(p) == 64 for p in drawn)  # 5 neurons x 3 digits
    assert drawn[0] == [_ink(v, 1.0) for v in X[top.indices[0][0]]]
    with pytest.raises(ValueError, match=r"TopActivating\.draw: X has 2 examples"):
        top.draw(X[:2])


def test_a_panel_grid_is_well_formed_svg_with_escaped_text():
    pic = draw_grid([[Panel([[1.0, -1.0]], title="<a & b>")], [None]], title='"q" <t>',
                    legend="l", notes=["n"], row_titles=["r1", "r2"], column_titles=["c\nd"])
    root = svg_root(pic.svg)
    assert root.get("width").endswith("pt")
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert '"q" <t>' in texts and "<a & b>" in texts
    assert pic._repr_svg_() == pic.svg == str(pic)
    with pytest.raises(ValueError, match="Panel: kind must be one of"):
        Panel([[0.0]], kind="rgb")


def test_a_picture_saves_atomically(tmp_path):
    path = nn.weight_images(model_64()).draw().save(tmp_path / "w.svg")
    assert path.read_text().startswith("<svg ")


BAD = [
    (lambda m: nn.weight_images(m, (8, 9)), ValueError,
     r"weight_images: shape \(8, 9\) holds 72 pixels but the layer reads 64 inputs"),
    (lambda m: nn.weight_images(m, "8x8"), TypeError, "weight_images: shape must be"),
    (lambda m: nn.weight_images(m, layer=3), ValueError,
     r"weight_images: layer must be an int in \[0, 2\], got 3"),
    (lambda m: nn.weight_images(m.layers[0]), TypeError,
     "weight_images: model must be an nn.MLP"),
    (lambda m: nn.weight_images(m).draw(columns=0), ValueError,
     "WeightImages.draw: columns must be an int >= 1, got 0"),
    (lambda m: nn.top_activating(m, [], 0), ValueError, "top_activating: X is empty"),
    (lambda m: nn.top_activating(m, [[0.0] * 64], 0, k=2), ValueError,
     r"top_activating: k must be an int in \[1, 1\], got 2"),
    (lambda m: nn.top_activating(m, [[0.0] * 63], 0, k=1), ValueError,
     "top_activating: expected 64 inputs, got 63"),
    (lambda m: nn.top_activating(m, {1: 2}, 0), TypeError, "top_activating: X must be"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call(model_64())


def test_top_activating_draws_the_chosen_neurons_only():
    model = model_64()
    X = [[(i * j) % 13 / 12 for j in range(64)] for i in range(8)]
    top = nn.top_activating(model, X, 0, k=2)
    texts = [t.text for t in svg_root(top.draw(X, neurons=[4, 1]).svg).iter(f"{SVG}text")]
    assert [t for t in texts if t.startswith("n")] == ["n4 #1", "n1 #1"]
    with pytest.raises(ValueError, match=r"TopActivating\.draw: neurons\[...\] must be an int"):
        top.draw(X, neurons=[6])


def test_the_documented_example_runs(tmp_path):
    """docs/nn.md's "What the network learned" example, run as written on a saved model."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "nn.md").read_text(encoding="utf-8")
    after = text[text.index("## What the network learned: neurons, digits and batches"):]
    code = after.split("```python\n", 1)[1].split("```", 1)[0]
    MLP(64, [32, 32, 10], seed=0).save(tmp_path / "out" / "digits" / "model.json")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(root)}, cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("z0 = ")
    for name in ("weights.svg", "top.svg", "why.svg", "nudges.svg"):
        assert (tmp_path / name).read_text().startswith("<svg "), name
