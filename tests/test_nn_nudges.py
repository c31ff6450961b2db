"""nn.batch_nudges: each example's gradients and their average, which is the batch's gradient."""

from __future__ import annotations

import math
import random

import pytest

import nn
from autograd import grad, vsum
from nn import MLP
from tests.graphviz_check import SVG, svg_root


def setup(seed: int = 0, n: int = 6):
    model = MLP(9, [5, 4, 3], seed=seed)
    rng = random.Random(seed)
    for layer in model.layers:
        for neuron in layer.neurons:
            neuron.b.data = rng.uniform(-0.3, 0.3)
    X = [[rng.random() for _ in range(9)] for _ in range(n)]
    y = [rng.randrange(3) for _ in range(n)]
    return model, X, y


@pytest.mark.parametrize("seed", range(4))
def test_each_examples_gradients_are_backward_on_that_example_alone(seed):
    model, X, y = setup(seed)
    b = nn.batch_nudges(model, X, y)
    assert b.names == [name for name, _ in model.named_parameters()]
    for e, (x, t) in enumerate(zip(X, y)):
        model.zero_grad()
        run = nn.run_layers(model, x)
        loss = nn.cross_entropy(run.outputs, t)
        loss.backward()
        assert b.losses[e] == loss.data
        assert b.param_grads[e] == [p.grad for p in model.parameters()]
        assert b.z_grads[e] == [layer.z_grads for layer in run]


@pytest.mark.parametrize("seed", range(4))
def test_the_average_is_the_mean_of_the_examples_and_the_gradient_of_the_mean_loss(seed):
    model, X, y = setup(seed)
    b = nn.batch_nudges(model, X, y)
    n = len(X)
    for p in range(len(b.names)):
        assert b.mean_param_grads[p] == math.fsum(g[p] for g in b.param_grads) / n
    for li, layer in enumerate(b.mean_z_grads):
        for j, g in enumerate(layer):
            assert g == pytest.approx(sum(e[li][j] for e in b.z_grads) / n, rel=1e-12, abs=1e-15)
    batch_loss = vsum([nn.cross_entropy(model(x), t) for x, t in zip(X, y)]) / n
    direct = grad(batch_loss, model.parameters())
    assert b.mean_param_grads == pytest.approx(direct, rel=1e-9, abs=1e-12)
    assert b.mean_loss == pytest.approx(batch_loss.data, rel=1e-12)
    name = b.names[7]
    assert b.nudge(name) == -b.mean_param_grads[7]
    assert b.nudge(name, 2) == -b.param_grads[2][7]


def test_a_neurons_dl_dz_is_its_biass_gradient():
    model, X, y = setup(1)
    b = nn.batch_nudges(model, X, y)
    for li, layer in enumerate(model.layers):
        for j in range(len(layer.neurons)):
            p = b.names.index(f"layers.{li}.neurons.{j}.b")
            for e in range(len(X)):
                assert b.param_grads[e][p] == pytest.approx(b.z_grads[e][li][j], rel=1e-12)


def test_mse_targets_and_the_models_grad_left_as_it_was():
    model, X, _ = setup(2)
    for k, p in enumerate(model.parameters()):
        p.grad = float(k)
    before = [p.grad for p in model.parameters()]
    targets = [[1.0, 0.0, 0.5]] * len(X)
    b = nn.batch_nudges(model, X, targets, loss="mse")
    assert [p.grad for p in model.parameters()] == before
    model.zero_grad()
    loss = nn.mse(model(X[0]), targets[0])
    loss.backward()
    assert b.param_grads[0] == [p.grad for p in model.parameters()]


def test_the_picture_shows_examples_and_the_average_on_one_scale_per_column():
    from demos.datasets import load_digits

    X, y = load_digits()
    model = MLP(64, [8, 6, 10], seed=0)
    b = nn.batch_nudges(model, X[:10], y[:10])
    text = b.draw(show=3).svg
    root = svg_root(text)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert ["#1", "#2", "#3", "mean"] == [t for t in texts if t in ("#1", "#2", "#3", "mean")]
    wscale = max(abs(g) for e in [*b.param_grads[:3], b.mean_param_grads]
                 for name, g in zip(b.names, e) if name.startswith("layers.2.") and ".w." in name)
    assert f"±{wscale:.2g}" in " ".join(texts)
    assert "blue raise, red lower" in text


BAD = [
    (lambda m, X, y: nn.batch_nudges(m, [], []), ValueError, "batch_nudges: X is empty"),
    (lambda m, X, y: nn.batch_nudges(m, X, y[:-1]), ValueError,
     "batch_nudges: 6 examples but 5 targets"),
    (lambda m, X, y: nn.batch_nudges(m, X, y, loss="hinge"), ValueError,
     "batch_nudges: loss must be 'cross_entropy' or 'mse', got 'hinge'"),
    (lambda m, X, y: nn.batch_nudges(m, [[0.0] * 8] * 6, y), ValueError,
     "batch_nudges: expected 9 inputs, got 8"),
    (lambda m, X, y: nn.batch_nudges(m, X, y).nudge("w"), ValueError,
     "BatchNudges.nudge: no parameter named 'w'"),
    (lambda m, X, y: nn.batch_nudges(m, X, y).draw(show=7), ValueError,
     r"BatchNudges.draw: show must be an int in \[1, 6\], got 7"),
    (lambda m, X, y: nn.batch_nudges(m, X, y).draw(shape=(2, 2)), ValueError,
     r"BatchNudges.draw: shape must be \(rows, cols\) with rows \* cols == 9"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call(*setup())
