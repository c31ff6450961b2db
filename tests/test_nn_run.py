"""nn.run_layers: a network run layer by layer is the model's own forward pass, kept whole."""

from __future__ import annotations

import math
import random

import pytest

import nn
from autograd import Value, grad, no_grad
from nn import MLP, Layer, LayerRun, NetworkRun, run_layers

ACTS = {
    "relu": lambda z: max(0.0, z),
    "tanh": math.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z)),
    "linear": lambda z: z,
}


def mixed_model(seed: int) -> MLP:
    """A small MLP whose neurons have activations of their own, set by hand."""
    rng = random.Random(seed)
    sizes = [rng.randint(1, 5) for _ in range(rng.randint(1, 4))]
    model = MLP(rng.randint(1, 5), sizes, seed=seed)
    for layer in model.layers:
        for n in layer.neurons:
            n.activation = rng.choice(sorted(ACTS))
            n.b.data = rng.uniform(-1, 1)
    return model


@pytest.mark.parametrize("seed", range(12))
def test_a_run_is_model_x_layer_by_layer(seed):
    model = mixed_model(seed)
    rng = random.Random(100 + seed)
    x = [rng.uniform(-2, 2) for _ in range(model.nin)]
    run = run_layers(model, x)
    assert isinstance(run, NetworkRun) and len(run) == len(model.layers)
    out = model(x)
    out = out if isinstance(out, list) else [out]
    assert [v.data for v in run.outputs] == [v.data for v in out]  # the very same floats
    assert [v.data for v in run.inputs] == x
    previous = run.inputs
    for i, (layer, lr) in enumerate(zip(model.layers, run)):
        assert isinstance(lr, LayerRun) and lr.index == i and lr.name == f"layers.{i}"
        assert lr.layer is layer and lr.inputs is previous
        assert lr.activations == [n.activation for n in layer.neurons]
        for n, z, a in zip(layer.neurons, lr.z, lr.a):
            wx = math.fsum([w.data * v.data for w, v in zip(n.w, previous)] + [n.b.data])
            assert z.data == pytest.approx(wx, rel=1e-12, abs=1e-12)  # z = w·x + b
            assert a.data == pytest.approx(ACTS[n.activation](z.data), rel=1e-12, abs=1e-300)
            assert (a is z) == (n.activation == "linear")
        previous = lr.a
    assert run.columns == [run.inputs, *(lr.a for lr in run)]


@pytest.mark.parametrize("seed", range(6))
def test_after_backward_each_layers_dl_dz_and_dl_da_are_read_from_the_run(seed):
    model = mixed_model(seed)
    x = [0.3 * (i + 1) for i in range(model.nin)]
    run = run_layers(model, x)
    loss = nn.mse(run.outputs, [0.5] * len(run.outputs))
    want = grad(loss, [v for lr in run for v in (*lr.z, *lr.a)])
    loss.backward()
    got = [g for lr in run for g in (*lr.z_grads, *lr.a_grads)]
    assert got == want
    for lr in run:  # the chain rule through the activation: dL/dz = dL/da * act'(z)
        for n, z, a in zip(lr.layer.neurons, lr.z, lr.a):
            d = {"relu": float(z.data > 0), "tanh": 1 - a.data**2,
                 "sigmoid": a.data * (1 - a.data), "linear": 1.0}[n.activation]
            assert z.grad == pytest.approx(a.grad * d, rel=1e-12, abs=1e-15)


def test_the_output_layers_dl_dz_is_softmax_minus_one_hot():
    model = MLP(4, [5, 3], seed=0)
    run = run_layers(model, [1.0, -1.0, 0.5, 2.0])
    nn.cross_entropy(run.outputs, 2).backward()
    p = nn.softmax([v.data for v in run.outputs])
    assert run[-1].z_grads == pytest.approx([p[k].data - (k == 2) for k in range(3)], abs=1e-15)


def test_a_run_takes_values_and_records_nothing_under_no_grad():
    model = MLP(2, [3, 1], seed=1)
    xs = [Value(0.5), Value(-1.0)]
    run = run_layers(model, xs)
    assert run.inputs == xs  # the caller's Values: their .grad is dL/dx after backward
    run.outputs[0].backward()
    assert xs[0].grad != 0.0
    with no_grad():
        quiet = run_layers(model, [0.5, -1.0])
    assert quiet.outputs[0].data == run.outputs[0].data
    assert not quiet.outputs[0].parents


@pytest.mark.parametrize(
    "model, error, message",
    [
        (Layer(3, 2, seed=0), TypeError, r"^run_layers: model must be an nn\.MLP, got Layer"),
        (None, TypeError, r"^run_layers: model must be an nn\.MLP, got None"),
    ],
)
def test_what_is_not_an_mlp_is_refused(model, error, message):
    with pytest.raises(error, match=message):
        run_layers(model, [1.0, 2.0, 3.0])


def test_a_model_layer_or_neuron_with_its_own_forward_is_refused():
    class Doubled(MLP):
        def __call__(self, x):
            return [2 * v for v in super().__call__(x)]

    with pytest.raises(TypeError, match="overrides the forward pass"):
        run_layers(Doubled(2, [3, 2], seed=0), [1.0, 2.0])

    class Odd(Layer):
        def _run(self, xs):
            zs, acts = super()._run(xs)
            return zs, [a * 3 for a in acts]

    model = MLP(2, [3, 2], seed=0)
    model.layers[0] = Odd(2, 3, seed=0)
    with pytest.raises(TypeError, match="overrides the forward pass"):
        run_layers(model, [1.0, 2.0])


def test_a_model_edited_out_of_shape_is_named():
    model = MLP(3, [4, 2], seed=0)
    model.layers[1].neurons[1].w.pop()
    with pytest.raises(ValueError, match=r"^run_layers: layers\.1\.neurons\.1 has 3 weights but "
                                         r"its layer reads 4 inputs$"):
        run_layers(model, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^run_layers: expected 3 inputs, got 2$"):
        run_layers(MLP(3, [2], seed=0), [1.0, 2.0])
    empty = MLP(3, [2], seed=0)
    empty.layers.clear()
    with pytest.raises(ValueError, match="run_layers: the MLP has no layers"):
        run_layers(empty, [1.0, 2.0, 3.0])


def test_the_documented_example_prints_what_the_docs_show():
    """docs/nn.md's run_layers example, run as written, prints its text block exactly."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "nn.md").read_text(encoding="utf-8")
    after = text[text.index("## One way to run a network: `nn.run_layers`"):]
    code = after.split("```python\n", 1)[1].split("```", 1)[0]
    shown = after.split("```text\n", 1)[1].split("```", 1)[0]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)}, cwd=root,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == shown
