"""nn.saliency, nn.contrast, nn.contributions: why a network reads an input as it does.

Values are checked against finite differences of the model's own outputs (saliency,
contrast) and against brute-force sums (contributions add up to z minus the bias);
the model's gradients are left as they were.
"""

from __future__ import annotations

import math
import random

import pytest

import nn
from autograd import Value, no_grad
from nn import MLP

H = 1e-6


def smooth_model(seed: int, nin: int = 6) -> MLP:
    """tanh hidden layers: smooth, so central differences are accurate everywhere."""
    model = MLP(nin, [5, 4, 3], activation="tanh", seed=seed)
    rng = random.Random(seed)
    for p in model.parameters():
        p.data = rng.uniform(-1.0, 1.0)
    return model


def logit(model: MLP, x: list[float], c: int) -> float:
    return model.predict(x)[c]


def numeric(f, x: list[float]) -> list[float]:
    """Central differences of ``f`` at ``x``, input by input."""
    out = []
    for i in range(len(x)):
        up, down = list(x), list(x)
        up[i] += H
        down[i] -= H
        out.append((f(up) - f(down)) / (2 * H))
    return out


def close(engine: list[float], fd: list[float]) -> bool:
    return all(math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-7) for a, b in zip(engine, fd))


@pytest.mark.parametrize("seed", range(6))
def test_saliency_is_the_numerical_derivative_of_the_logit(seed):
    model = smooth_model(seed)
    rng = random.Random(seed)
    x = [rng.uniform(0, 1) for _ in range(model.nin)]
    for c in range(3):
        s = nn.saliency(model, x, c)
        fd = numeric(lambda v, c=c: logit(model, v, c), x)
        assert len(s) == model.nin
        assert close(s, fd), (s, fd)


def test_the_finite_difference_check_catches_a_wrong_derivative():
    # The bite: a saliency off by 1% in one pixel (or of the wrong output) fails the check.
    model = smooth_model(0)
    x = [0.3, 0.1, 0.9, 0.5, 0.2, 0.7]
    fd = numeric(lambda v: logit(model, v, 1), x)
    s = nn.saliency(model, x, 1)
    wrong = list(s)
    wrong[2] *= 1.01
    assert close(s, fd) and not close(wrong, fd)
    assert not close(nn.saliency(model, x, 0), fd)


@pytest.mark.parametrize("seed", range(4))
def test_contrast_is_the_derivative_of_the_difference_of_two_logits(seed):
    model = smooth_model(seed)
    rng = random.Random(10 + seed)
    x = [rng.uniform(0, 1) for _ in range(model.nin)]
    c = nn.contrast(model, x, 2, 0)
    fd = numeric(lambda v: logit(model, v, 2) - logit(model, v, 0), x)
    assert close(c, fd)
    diff = [a - b for a, b in zip(nn.saliency(model, x, 2), nn.saliency(model, x, 0))]
    assert c == pytest.approx(diff, rel=1e-12, abs=1e-15)


def test_saliency_on_a_relu_digit_network_matches_finite_differences():
    from demos.datasets import load_digits

    X, _ = load_digits()
    model = MLP(64, [16, 16, 10], seed=0)
    x = X[5]
    s = nn.saliency(model, x, 4)
    fd = numeric(lambda v: logit(model, v, 4), x)
    # A ReLU kink within H of a pixel would break the comparison; none is that close here.
    assert close(s, fd)
    assert any(abs(v) > 1e-3 for v in s)


def test_the_models_gradients_are_left_as_they_were_and_no_grad_is_respected():
    model = smooth_model(1)
    for k, p in enumerate(model.parameters()):
        p.grad = 0.25 * k
    before = [p.grad for p in model.parameters()]
    x = [0.5] * model.nin
    expected = nn.saliency(model, x, 1)
    with no_grad():
        assert nn.saliency(model, x, 1) == expected
        assert nn.contrast(model, x, 1, 2) == nn.contrast(model, x, 1, 2)
        nn.contributions(model, x, 1, 0)
    assert [p.grad for p in model.parameters()] == before


def test_an_input_of_values_is_read_by_its_data():
    model = smooth_model(2)
    x = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    assert nn.saliency(model, [Value(v) for v in x], 0) == nn.saliency(model, x, 0)


@pytest.mark.parametrize("seed", range(4))
def test_contributions_add_up_to_z_minus_the_bias(seed):
    model = MLP(7, [5, 4, 3], seed=seed)
    rng = random.Random(seed)
    for layer in model.layers:
        for n in layer.neurons:
            n.b.data = rng.uniform(-0.5, 0.5)
    x = [rng.uniform(0, 1) for _ in range(7)]
    run = nn.run_layers(model, x)
    for li, layer in enumerate(model.layers):
        for j, neuron in enumerate(layer.neurons):
            c = nn.contributions(model, x, li, j)
            inputs = [v.data for v in run.layers[li].inputs]
            assert c.inputs == inputs
            assert c.weights == [w.data for w in neuron.w]
            assert c.terms == [w.data * a for w, a in zip(neuron.w, inputs)]
            assert c.bias == neuron.b.data
            assert c.z == run.layers[li].z[j].data
            assert c.activation == run.layers[li].a[j].data
            assert math.fsum(c.terms) == pytest.approx(c.z - c.bias, rel=1e-12, abs=1e-14)
    out = nn.contributions(model, x, 2, 1)
    assert out.z == model.predict(x)[1]  # the output layer's z is the logit


def test_contributions_top_ranks_by_size():
    model = MLP(4, [2], seed=0)
    c = nn.contributions(model, [1.0, -2.0, 0.5, 0.0], 0, 0)
    top = c.top(2)
    assert [i for i, _ in top] == sorted(range(4), key=lambda i: -abs(c.terms[i]))[:2]
    with pytest.raises(ValueError, match=r"Contributions.top: k must be an int >= 1, got 0"):
        c.top(0)


BAD = [
    (lambda m: nn.saliency(m, [0.0] * 5, 0), ValueError, "saliency: expected 6 inputs, got 5"),
    (lambda m: nn.saliency(m, [0.0] * 6, 3), ValueError,
     r"saliency: output must be an int in \[0, 2\], got 3"),
    (lambda m: nn.saliency(m, [0.0] * 6, "1"), TypeError, "saliency: output must be an int"),
    (lambda m: nn.saliency(m, [0.0] * 5 + [math.nan], 0), ValueError,
     r"saliency: x\[5\] must be a finite number, got nan"),
    (lambda m: nn.saliency(m, "abcdef", 0), TypeError, "saliency: x must be an iterable"),
    (lambda m: nn.saliency(m.layers[0], [0.0] * 6, 0), TypeError,
     "saliency: model must be an nn.MLP, got Layer"),
    (lambda m: nn.contrast(m, [0.0] * 6, 1, 1), ValueError,
     "contrast: a and b must be two different outputs, got 1 and 1"),
    (lambda m: nn.contrast(m, [0.0] * 6, 1, -1), ValueError, "contrast: b must be an int"),
    (lambda m: nn.contributions(m, [0.0] * 6, 3, 0), ValueError,
     r"contributions: layer must be an int in \[0, 2\], got 3"),
    (lambda m: nn.contributions(m, [0.0] * 6, 1, 4), ValueError,
     r"contributions: neuron must be an int in \[0, 3\], got 4"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call(smooth_model(0))


def test_draw_why_draws_saliencies_contrast_and_contributions_on_stated_scales():
    from nn.image_grid import signed_color
    from tests.pixel_pictures import panels

    model = MLP(64, [8, 6, 10], seed=4)
    x = [((i * 7) % 11) / 10 for i in range(64)]
    text = nn.draw_why(model, x, 4, 7).svg
    drawn = panels(text)
    assert [len(p) for p in drawn] == [64] * 5 + [6] * 3  # 5 pixel maps, 3 strips of 6 neurons
    s4, s7, c = nn.saliency(model, x, 4), nn.saliency(model, x, 7), nn.contrast(model, x, 4, 7)
    scale = max(abs(g) for g in [*s4, *s7, *c])
    assert drawn[3] == [signed_color(g, scale) for g in c]
    assert f"±{scale:.2g}" in text and "Why 4 rather than 7?" in text
    with pytest.raises(ValueError, match="draw_why: a and b must be two different outputs"):
        nn.draw_why(model, x, 3, 3)
    with pytest.raises(ValueError, match=r"draw_why: shape \(4, 4\) holds 16 pixels"):
        nn.draw_why(model, x, 3, 2, (4, 4))


def test_a_wrong_tanh_rule_is_caught_by_the_saliency_check(monkeypatch):
    """The bite: with tanh's derivative declared wrong (1 - t instead of 1 - t²), the
    engine's saliency no longer matches the finite differences of the model's outputs."""
    from autograd import rules as R
    from autograd import value as value_module

    right = R.TANH
    wrong = R.Rule(right.symbol, right.arity, right.forward, lambda g, out, x: (g * (1.0 - out),),
                   law=right.law, finite=True)
    model = smooth_model(3)
    x = [0.2, 0.8, 0.4, 0.6, 0.1, 0.9]
    fd = numeric(lambda v: logit(model, v, 1), x)
    assert close(nn.saliency(model, x, 1), fd)
    monkeypatch.setattr(R, "TANH", wrong)
    if hasattr(value_module, "TANH"):
        monkeypatch.setattr(value_module, "TANH", wrong)
    assert not close(nn.saliency(model, x, 1), fd)
