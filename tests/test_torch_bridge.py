"""nn.to_torch / nn.from_torch: PyTorch computes what valuegrad computes, and weights cross exactly.

The torch side of every loss is written from its definition (or is torch's own
``torch.nn.functional`` version), then outputs, losses and the gradients of every
weight, bias and input are compared.  PyTorch is an optional extra: without it
these tests skip, except in CI (``CI`` set), where a missing torch is a failure.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from graphviz_check import require_dot
from hypothesis import given
from hypothesis import strategies as st

import nn
from autograd import Value, vsum
from nn import (
    MLP,
    binary_cross_entropy_with_logits,
    cross_entropy,
    from_torch,
    hinge_loss,
    l2_penalty,
    mse,
    softmax,
    to_torch,
    torch_bridge,
    torch_names,
    valuegrad_names,
)
from tests.torch_check import F, needs_torch, torch

RTOL = 1e-12
ACTIVATIONS = list(nn.ACTIVATIONS)  # every activation valuegrad has, issue 22's included


# --- comparing two computations ----------------------------------------------------------


def relative_error(
    ours: Sequence[float], theirs: Sequence[float], scale: Sequence[float] | None = None
) -> float:
    """``max |ours - theirs| / max |scale|`` over one tensor (``scale`` defaults to ``theirs``)."""
    scale = theirs if scale is None else scale
    assert len(ours) == len(theirs) == len(scale)
    size = max((abs(t) for t in scale), default=0.0)
    worst = max((abs(a - b) for a, b in zip(ours, theirs)), default=0.0)
    if size == 0.0:
        return 0.0 if worst == 0.0 else math.inf
    return worst / size


def flat(t: Any) -> list[float]:
    return t.detach().reshape(-1).tolist()


@dataclass
class Loss:
    """A valuegrad loss over a batch, the same loss in torch, and how to draw targets.

    ``penalty``: a term of the torch loss that depends on the weights alone.
    """

    name: str
    ours: Callable[[list[list[Value]], list, MLP], Value]
    theirs: Callable[[Any, list, Any], Any]
    targets: Callable[[random.Random, int, int], list]
    penalty: Callable[[Any], Any] | None = None


def _ce_targets(rng: random.Random, n: int, nout: int) -> list:
    return [rng.randrange(nout) for _ in range(n)]


# Targets are kept away from what the network can output (|output| <= X_BOUND, and
# sigmoid(output) in [0.047, 0.953]), so no error ``output - target`` cancels to ~0: there
# any two implementations agree only to the size of the terms, as in a saturated tanh.


def _prob_targets(rng: random.Random, n: int, nout: int) -> list:
    # Both hard labels and probabilities: binary cross-entropy takes either.
    def one() -> float:
        return rng.choice([0.0, 1.0, rng.uniform(0.0, 0.02), rng.uniform(0.98, 1.0)])

    return [[one() for _ in range(nout)] for _ in range(n)]


def _real_targets(rng: random.Random, n: int, nout: int) -> list:
    def one() -> float:
        return rng.choice([-1.0, 1.0]) * rng.uniform(X_BOUND + 1.0, X_BOUND + 3.0)

    return [[one() for _ in range(nout)] for _ in range(n)]


def _weights(rng: random.Random, n: int, nout: int) -> list:
    # The gradient of sum_j c_j s_j is s_i * (c_i - sum_j c_j s_j), 0 where c_i is the
    # mean of the c_j whose logits tie (dead relus tie at 0): no power of 3 is the mean
    # of other powers of 3.
    return [[3.0**k for k in rng.sample(range(nout), nout)] for _ in range(n)]


def _sign_targets(rng: random.Random, n: int, nout: int) -> list:
    return [[rng.choice([-1, 1]) for _ in range(nout)] for _ in range(n)]


def _mean(xs: list[Value]) -> Value:
    return vsum(xs) / len(xs)


def _tensor(rows: list) -> Any:
    return torch.tensor(rows, dtype=torch.float64)


ALPHA = 0.03

# Each loss averaged over the batch, as torch's reduction="mean" does.
LOSSES = [
    Loss(
        "mse",
        lambda outs, ts, m: _mean([mse(o, t) for o, t in zip(outs, ts)]),
        lambda out, ts, net: F.mse_loss(out, _tensor(ts)),
        _real_targets,
    ),
    Loss(
        "cross_entropy",
        lambda outs, ts, m: _mean([cross_entropy(o, t) for o, t in zip(outs, ts)]),
        lambda out, ts, net: F.cross_entropy(out, torch.tensor(ts)),
        _ce_targets,
    ),
    Loss(
        # From the definition: logsumexp(logits) - logits[target].
        "cross_entropy (definition)",
        lambda outs, ts, m: _mean([cross_entropy(o, t) for o, t in zip(outs, ts)]),
        lambda out, ts, net: (
            torch.logsumexp(out, dim=1) - out[torch.arange(len(ts)), torch.tensor(ts)]
        ).mean(),
        _ce_targets,
    ),
    Loss(
        "binary_cross_entropy_with_logits",
        lambda outs, ts, m: _mean(
            [binary_cross_entropy_with_logits(o, t) for o, t in zip(outs, ts)]
        ),
        lambda out, ts, net: F.binary_cross_entropy_with_logits(out, _tensor(ts)),
        _prob_targets,
    ),
    Loss(
        # From the definition: -(y log σ(x) + (1 - y) log(1 - σ(x))).
        "binary_cross_entropy_with_logits (definition)",
        lambda outs, ts, m: _mean(
            [binary_cross_entropy_with_logits(o, t) for o, t in zip(outs, ts)]
        ),
        lambda out, ts, net: -(
            _tensor(ts) * F.logsigmoid(out) + (1 - _tensor(ts)) * F.logsigmoid(-out)
        ).mean(),
        _prob_targets,
    ),
    Loss(
        # micrograd's max-margin loss: mean(relu(1 - y * score)).
        "hinge_loss",
        lambda outs, ts, m: _mean([hinge_loss(o, t) for o, t in zip(outs, ts)]),
        lambda out, ts, net: torch.relu(1 - _tensor(ts) * out).mean(),
        _sign_targets,
    ),
    Loss(
        # softmax is no loss, but backward goes through it: weigh its outputs.
        "softmax",
        lambda outs, ts, m: _mean(
            [vsum([c * s for c, s in zip(cs, softmax(o))]) for o, cs in zip(outs, ts)]
        ),
        lambda out, ts, net: (
            torch.exp(out - out.max(dim=1, keepdim=True).values)
            / torch.exp(out - out.max(dim=1, keepdim=True).values).sum(dim=1, keepdim=True)
            * _tensor(ts)
        ).sum(dim=1).mean(),
        _weights,
    ),
    Loss(
        "l2_penalty",
        lambda outs, ts, m: _mean([mse(o, t) for o, t in zip(outs, ts)])
        + l2_penalty(m, ALPHA),
        lambda out, ts, net: F.mse_loss(out, _tensor(ts)),
        _real_targets,
        lambda net: ALPHA * sum((p**2).sum() for p in net.parameters()),
    ),
]

LOSS_FUNCTIONS = {
    "mse", "cross_entropy", "binary_cross_entropy_with_logits", "hinge_loss", "softmax",
    "l2_penalty",
}


def compare(model: MLP, inputs: list[list[float]], loss: Loss, rng: random.Random) -> dict:
    """Run ``loss`` on ``model`` and on ``to_torch(model)``; return each quantity's error."""
    nout = model.nouts[-1]
    targets = loss.targets(rng, len(inputs), nout)

    model.zero_grad()
    xs = [[Value(v) for v in row] for row in inputs]
    outs = [model(x) for x in xs]
    outs = [o if isinstance(o, list) else [o] for o in outs]
    ours = loss.ours(outs, targets, model)
    ours.backward()

    net = to_torch(model)
    X = _tensor(inputs).requires_grad_()
    out = net(X)
    theirs = loss.theirs(out, targets, net)
    if loss.penalty is not None:
        theirs = theirs + loss.penalty(net)
    theirs.backward()
    grads = {key: flat(p.grad) for key, p in net.named_parameters()}

    out_size, grad_size, input_size = term_sizes(model, inputs, _top_sizes(net, X, targets, loss))
    errors = {
        "outputs": relative_error([o.data for row in outs for o in row], flat(out), out_size),
        "loss": relative_error([ours.data], [theirs.item()], [_loss_size(net, X, targets, loss)]),
        "input gradients": relative_error(
            [x.grad for row in xs for x in row], flat(X.grad), input_size
        ),
    }
    if loss.penalty is not None:
        net.zero_grad()
        loss.penalty(net).backward()
        for key, p in net.named_parameters():
            grad_size[key] = [a + abs(b) for a, b in zip(grad_size[key], flat(p.grad))]
    names = valuegrad_names(model)
    for key, p in net.named_parameters():
        ours_grad = [
            model.get_parameter(names[f"{key}[{', '.join(map(str, i))}]"]).grad
            for i in _indices(p.shape)
        ]
        errors[f"{key}.grad"] = relative_error(ours_grad, grads[key], grad_size[key])
    return errors


# Errors are measured against the size of what a quantity adds up, not the quantity
# itself: a sum of terms that cancel to ~0 (a dot product, a gradient summed over a
# batch of mirror images) is known only to the size of its terms, in any two
# implementations, so an entry-wise ratio there would measure the cancellation, not the
# code.  The sizes are the usual running error bound: the forward and backward passes
# run again on absolute values (|w| |x| + |b| forward; |w| |upstream| |activation'|
# backward), starting from each sample's |d loss / d output|, which torch gives.


def _top_sizes(net: Any, X: Any, targets: list, loss: Loss) -> list[list[float]]:
    """``|d loss_i / d output_i|`` for each sample ``i``, with the batch's 1/n."""
    rows = []
    for i in range(len(targets)):
        out = net(X[i : i + 1].detach()).detach().requires_grad_()
        (loss.theirs(out, targets[i : i + 1], net) / len(targets)).backward()
        rows.append([abs(g) for g in flat(out.grad)])
    return rows


def _loss_size(net: Any, X: Any, targets: list, loss: Loss) -> float:
    with torch.no_grad():
        size = sum(
            abs(loss.theirs(net(X[i : i + 1]), targets[i : i + 1], net).item())
            for i in range(len(targets))
        ) / len(targets)
        return size + (abs(loss.penalty(net).item()) if loss.penalty is not None else 0.0)


_VALUE: dict[str, Callable[[float], float]] = {
    "relu": lambda z: max(z, 0.0),
    "tanh": math.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z)),
    "linear": lambda z: z,
    "leaky_relu": lambda z: z if z > 0.0 else 0.01 * z,
    "elu": lambda z: z if z > 0.0 else math.expm1(z),
    "gelu": lambda z: 0.5 * z * math.erfc(-z / math.sqrt(2.0)),
    "silu": lambda z: z / (1.0 + math.exp(-z)),
    "softplus": lambda z: math.log1p(math.exp(z)),
}
_SLOPE: dict[str, Callable[[float], float]] = {
    "relu": lambda z: 1.0 if z > 0.0 else 0.0,
    "tanh": lambda z: 1.0 - math.tanh(z) ** 2,
    "sigmoid": lambda z: (s := 1.0 / (1.0 + math.exp(-z))) * (1.0 - s),
    "linear": lambda z: 1.0,
    "leaky_relu": lambda z: 1.0 if z > 0.0 else 0.01,
    "elu": lambda z: 1.0 if z > 0.0 else math.exp(z),
    "gelu": lambda z: 0.5 * math.erfc(-z / math.sqrt(2.0))
    + z * math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi),
    "silu": lambda z: (s := 1.0 / (1.0 + math.exp(-z))) * (1.0 + z * (1.0 - s)),
    "softplus": lambda z: 1.0 / (1.0 + math.exp(-z)),
}


def term_sizes(
    model: MLP, inputs: list[list[float]], top: list[list[float]]
) -> tuple[list[float], dict[str, list[float]], list[float]]:
    """Sizes of the terms behind the outputs, each parameter's gradient and the inputs'.

    Parameter sizes are keyed and laid out as in ``to_torch(model).named_parameters()``.
    """
    layers = [
        ([[w.data for w in n.w] for n in layer.neurons], [n.b.data for n in layer.neurons],
         layer.activation)
        for layer in model.layers
    ]
    grads = {}
    for i, (W, b, _) in enumerate(layers):
        grads[f"{2 * i}.weight"] = [0.0] * (len(W) * len(W[0]))
        grads[f"{2 * i}.bias"] = [0.0] * len(b)
    outputs, input_grads = [], []
    for x, g_top in zip(inputs, top):
        a, size, saved = list(x), [abs(v) for v in x], []
        for W, b, act in layers:
            z = [sum(w * v for w, v in zip(row, a)) + c for row, c in zip(W, b)]
            saved.append((a, [_SLOPE[act](v) for v in z]))
            size = [sum(abs(w) * m for w, m in zip(row, size)) + abs(c) for row, c in zip(W, b)]
            a = [_VALUE[act](v) for v in z]
        outputs += size
        g = g_top
        for i in reversed(range(len(layers))):
            W, _, _ = layers[i]
            a_in, slope = saved[i]
            gz = [gj * sj for gj, sj in zip(g, slope)]
            wg, bg = grads[f"{2 * i}.weight"], grads[f"{2 * i}.bias"]
            for j, gzj in enumerate(gz):
                bg[j] += gzj
                for k, v in enumerate(a_in):
                    wg[j * len(a_in) + k] += gzj * abs(v)
            g = [sum(abs(W[j][k]) * gz[j] for j in range(len(W))) for k in range(len(a_in))]
        input_grads += g
    return outputs, grads, input_grads


def _indices(shape: Sequence[int]) -> list[tuple[int, ...]]:
    if not shape:
        return [()]
    return [(i, *rest) for i in range(shape[0]) for rest in _indices(shape[1:])]


# --- random networks ---------------------------------------------------------------------


@st.composite
def networks(
    draw: st.DrawFn, min_out: int = 1, per_layer: bool = True
) -> tuple[MLP, random.Random]:
    """An MLP of random shape and activations, with every weight and bias random.

    ``per_layer``: hidden layers may also get activations of their own (not only MLP's one).
    """
    nin = draw(st.integers(1, 5))
    nouts = draw(st.lists(st.integers(1, 5), min_size=0, max_size=3))
    nouts.append(draw(st.integers(min_out, 5)))
    hidden, output = draw(st.sampled_from(ACTIVATIONS)), draw(st.sampled_from(ACTIVATIONS))
    seed = draw(st.integers(0, 2**32 - 1))
    model = MLP(nin, nouts, hidden, output, seed=seed)
    if per_layer and draw(st.booleans()):
        # Per-layer activations beyond MLP's two: to_torch reads each layer's own.
        for layer in model.layers[:-1]:
            act = draw(st.sampled_from(ACTIVATIONS))
            for neuron in layer.neurons:
                neuron.activation = act
    rng = random.Random(seed)
    for layer in model.layers:
        for neuron in layer.neurons:
            bound_weights(neuron, rng)
    return model, rng


X_BOUND = 3.0  # inputs lie in [-X_BOUND, X_BOUND]
Z_BOUND = 3.0  # and every unit's pre-activation in [-Z_BOUND, Z_BOUND]


def bound_weights(neuron: nn.Neuron, rng: random.Random) -> None:
    """Random weights and bias (not 0, as biases start) keeping ``|w·x + b| <= Z_BOUND``.

    So no tanh or sigmoid saturates: where one does, its derivative ``1 - tanh(z)**2``
    comes from ``tanh(z)``, which torch's and the C library's tanh round differently
    by an ulp at times, and the subtraction from 1 magnifies that by ``1 / (1 -
    tanh(z)**2)`` (1e4 at ``z = 5``), in any implementation.  Every unit's output then
    lies within ``max(1, Z_BOUND) = X_BOUND`` too, so the bound holds layer after layer.
    """
    ws = [rng.uniform(-1.0, 1.0) for _ in neuron.w]
    b = rng.uniform(-1.0, 1.0)
    reach = X_BOUND * sum(abs(w) for w in ws) + abs(b)
    scale = min(1.0, Z_BOUND / reach) if reach else 1.0
    for p, v in zip(neuron.w, ws):
        p.data = v * scale
    neuron.b.data = b * scale


def batches(nin: int) -> st.SearchStrategy[list[list[float]]]:
    row = st.lists(st.floats(-X_BOUND, X_BOUND), min_size=nin, max_size=nin)
    return st.lists(row, min_size=1, max_size=4)


@needs_torch
@pytest.mark.parametrize("loss", LOSSES, ids=[loss.name for loss in LOSSES])
@given(data=st.data())
def test_outputs_and_gradients_match_torch(loss: Loss, data: st.DataObject) -> None:
    model, rng = data.draw(networks(min_out=2 if loss.name.startswith("cross") else 1))
    inputs = data.draw(batches(model.nin))
    errors = compare(model, inputs, loss, rng)
    bad = {k: e for k, e in errors.items() if not e <= RTOL}
    assert not bad, f"{loss.name}: relative errors above {RTOL}: {bad}"


def test_every_loss_is_compared() -> None:
    # A loss added to nn.losses without a torch twin here fails this test.
    import nn.losses as losses

    public = {
        name for name, f in vars(losses).items()
        if callable(f) and not name.startswith("_") and f.__module__ == losses.__name__
    }
    assert public == LOSS_FUNCTIONS
    assert {loss.name.split(" ")[0] for loss in LOSSES} == LOSS_FUNCTIONS


@needs_torch
def test_comparison_catches_a_wrong_weight_and_a_wrong_derivative(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The checks above can fail: one weight off by 1e-9, or tanh's derivative
    # replaced in torch, is caught.
    model = MLP(3, [4, 2], "tanh", seed=0)
    inputs = [[0.5, -1.0, 2.0], [1.5, 0.2, -0.7]]
    loss = LOSSES[0]
    assert max(compare(model, inputs, loss, random.Random(0)).values()) <= RTOL

    w = model.get_parameter("layers.0.neurons.1.w.2")
    saved = w.data
    net = to_torch(model)
    w.data = saved * (1 + 1e-9)  # ours moves, torch's copy would not
    ours = [model.predict(x) for x in inputs]
    assert relative_error([v for row in ours for v in row], flat(net(_tensor(inputs)))) > RTOL
    w.data = saved

    class WrongTanh(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return torch.tanh(x)

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            return g * (1 - torch.tanh(x) ** 2) * (1 + 1e-9)

    class Wrong(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            return WrongTanh.apply(x)

    monkeypatch.setattr(torch.nn, "Tanh", Wrong)  # to_torch finds activations by name
    errors = compare(model, inputs, loss, random.Random(0))
    assert errors["outputs"] <= RTOL and errors["loss"] <= RTOL
    assert errors["0.weight.grad"] > RTOL


# --- exact round trips -------------------------------------------------------------------


def assert_same_modules(a: Any, b: Any) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert sa[key].dtype == sb[key].dtype, key
        assert torch.equal(sa[key], sb[key]), key
    assert [type(m) for m in a] == [type(m) for m in b]


@needs_torch
@given(networks())
def test_valuegrad_torch_valuegrad_is_exact(net_rng: tuple[MLP, random.Random]) -> None:
    model, _ = net_rng
    back = from_torch(to_torch(model))
    assert back.state_dict() == model.state_dict()  # float == float: bit for bit
    assert back.nouts == model.nouts
    assert [layer.activation for layer in back.layers] == [
        layer.activation for layer in model.layers
    ]


@needs_torch
@given(networks())
def test_torch_valuegrad_torch_is_exact(net_rng: tuple[MLP, random.Random]) -> None:
    net = to_torch(net_rng[0])
    assert_same_modules(to_torch(from_torch(net)), net)


@needs_torch
def test_float32_round_trip_is_exact_and_widens_exactly() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3), torch.nn.Identity()
    )
    model = from_torch(net)
    w = net[0].weight
    # Exact widening: every float32 is a float64.
    assert model.get_parameter("layers.0.neurons.6.w.4").data == float(w[6, 4].item())
    assert_same_modules(to_torch(model, dtype=torch.float32), net)
    wide = to_torch(model)
    assert wide[0].weight.dtype == torch.float64
    assert torch.equal(wide[0].weight, w.double())
    assert torch.equal(wide[2].bias, net[2].bias.double())


@needs_torch
def test_a_plain_sequential_maps_with_its_own_keys() -> None:
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid()),
        torch.nn.Linear(3, 4),
        torch.nn.Sigmoid(),
        torch.nn.Linear(4, 1),  # no activation after it: linear
    ).double()
    model = from_torch(net)
    assert (model.nin, model.nouts) == (2, [3, 4, 1])
    assert [layer.activation for layer in model.layers] == ["sigmoid", "sigmoid", "linear"]
    names = torch_names(net)
    assert names["layers.0.neurons.2.w.1"] == "0.0.weight[2, 1]"
    assert names["layers.1.neurons.3.b"] == "1.bias[3]"
    assert names["layers.2.neurons.0.w.3"] == "3.weight[0, 3]"
    assert list(names) == [name for name, _ in model.named_parameters()]
    for ours, theirs in names.items():
        key, index = theirs[:-1].split("[")
        value = net.get_parameter(key)[tuple(int(i) for i in index.split(", "))].item()
        assert model.get_parameter(ours).data == value
    x = [[0.3, -1.2], [2.0, 0.5]]
    ours = [v for row in x for v in model.predict(row)]
    assert relative_error(ours, flat(net(_tensor(x)))) <= RTOL


@needs_torch
def test_from_torch_brings_gradients_when_asked() -> None:
    torch.manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 2))
    assert all(p.grad == 0.0 for p in from_torch(net, grads=True).parameters())  # torch: None
    net(torch.randn(4, 3)).square().sum().backward()
    # By default a new model's zeros: a backward() here must not add to torch's leftovers.
    assert all(p.grad == 0.0 for p in from_torch(net).parameters())
    model = from_torch(net, grads=True)
    for ours, theirs in torch_names(net).items():
        key, index = theirs[:-1].split("[")
        grad = net.get_parameter(key).grad[tuple(int(i) for i in index.split(", "))].item()
        assert model.get_parameter(ours).grad == grad


@needs_torch
def test_to_torch_leaves_torch_random_state_alone() -> None:
    state = torch.get_rng_state()
    to_torch(MLP(30, [20, 10], seed=0))
    assert torch.equal(torch.get_rng_state(), state)


# --- names -------------------------------------------------------------------------------


@needs_torch
def test_names_map_both_ways() -> None:
    model = MLP(3, [4, 2], seed=0)
    names = torch_names(model)
    assert names["layers.1.neurons.1.w.3"] == "2.weight[1, 3]"
    assert names["layers.0.neurons.3.b"] == "0.bias[3]"
    assert list(names) == [name for name, _ in model.named_parameters()]
    back = valuegrad_names(model)
    assert back["2.weight[1, 3]"] == "layers.1.neurons.1.w.3"
    assert {v: k for k, v in back.items()} == names
    net = to_torch(model)
    assert torch_names(net) == names  # the same names read from the torch side
    for ours, theirs in names.items():
        key, index = theirs[:-1].split("[")
        value = net.get_parameter(key)[tuple(int(i) for i in index.split(", "))].item()
        assert value == model.get_parameter(ours).data


def _spelled(model: MLP) -> list[str]:
    return [torch_bridge._parameter_name(i, j, k)
            for i, layer in enumerate(model.layers) for j, neuron in enumerate(layer.neurons)
            for k in [*range(len(neuron.w)), None]]


def test_the_bridge_spells_every_name_in_one_place_as_named_parameters_does() -> None:
    model = MLP(3, [2, 2], seed=0)
    spelled = _spelled(model)
    assert spelled == [name for name, _ in model.named_parameters()]
    assert list(torch_names(model)) == spelled
    assert [name for name, _ in torch_bridge._mlp_parameters(model)] == spelled


@needs_torch
def test_a_converted_model_keeps_the_names_the_bridge_spells() -> None:
    model = MLP(3, [2, 2], seed=0)
    assert list(torch_names(to_torch(model))) == _spelled(model)


def test_names_of_a_model_need_no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    assert torch_names(MLP(2, [1], seed=0)) == {
        "layers.0.neurons.0.w.0": "0.weight[0, 0]",
        "layers.0.neurons.0.w.1": "0.weight[0, 1]",
        "layers.0.neurons.0.b": "0.bias[0]",
    }


# --- errors ------------------------------------------------------------------------------


def _error(f: Callable, *args: Any) -> str:
    with pytest.raises((ValueError, TypeError)) as info:
        f(*args)
    return str(info.value)


@needs_torch
def test_from_torch_names_the_first_layer_it_cannot_map() -> None:
    net = torch.nn.Sequential(
        torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Conv2d(1, 1, 3), torch.nn.Softmax(dim=1)
    )
    assert _error(from_torch, net) == (
        "from_torch: cannot map layer 2 (Conv2d(1, 1, kernel_size=(3, 3), stride=(1, 1))): "
        "only Linear, ReLU, Tanh, Sigmoid, LeakyReLU, ELU, GELU, SiLU, Softplus, Identity are "
        "supported"
    )
    cases = {
        "layer 1 (LeakyReLU(negative_slope=0.2)): valuegrad's leaky_relu has "
        "negative_slope=0.01, got 0.2": torch.nn.Sequential(
            torch.nn.Linear(2, 2), torch.nn.LeakyReLU(0.2)
        ),
        "layer 1 (ELU(alpha=0.5)): valuegrad's elu has alpha=1.0, got 0.5": torch.nn.Sequential(
            torch.nn.Linear(2, 2), torch.nn.ELU(0.5)
        ),
        "layer 1 (GELU(approximate='tanh')): valuegrad's gelu has approximate='none', got "
        "'tanh'": torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.GELU(approximate="tanh")),
        "layer 1 (Softplus(beta=2.0, threshold=20.0)): valuegrad's softplus has beta=1.0, got "
        "2.0": torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softplus(beta=2.0)),
        "layer 1 (PReLU(num_parameters=1)): only Linear": torch.nn.Sequential(
            torch.nn.Linear(2, 2), torch.nn.PReLU()
        ),
        "layer 0 (ReLU()): it comes first": torch.nn.Sequential(
            torch.nn.ReLU(), torch.nn.Linear(2, 2)
        ),
        "layer 2 (Tanh()): it comes after another activation": torch.nn.Sequential(
            torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Tanh()
        ),
        "always have a bias": torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False)),
        "layer 2 (Linear(in_features=3, out_features=1, bias=True)): it reads 3 inputs but "
        "layer 0 gives 2": torch.nn.Sequential(
            torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(3, 1)
        ),
        "no Linear layer": torch.nn.Sequential(),
        "expected a torch.nn.Sequential of Linear and activation modules, got Linear": (
            torch.nn.Linear(2, 2)
        ),
    }
    for expected, module in cases.items():
        message = _error(from_torch, module)
        assert message.startswith("from_torch: ") and expected in message, message


@needs_torch
def test_from_torch_gives_each_hidden_layer_its_own_activation() -> None:
    # It once refused this net: MLP had one hidden activation. Layers now keep their own.
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4), torch.nn.Tanh(),
        torch.nn.Linear(4, 3), torch.nn.Linear(3, 2), torch.nn.Sigmoid(),
    )
    model = from_torch(net)
    assert [layer.activation for layer in model.layers] == ["relu", "tanh", "linear", "sigmoid"]
    x = [0.5, -1.25, 2.0]
    want = net(torch.tensor([x], dtype=torch.float64).to(torch.float32)).double()
    got = [v.data for v in model(x)]
    assert got == pytest.approx(want[0].tolist(), rel=1e-6)


def _f64(nin: int, nout: int) -> Any:
    return torch.nn.Linear(nin, nout, dtype=torch.float64)


def _same_outputs(model: MLP, net: Any, x: list[float]) -> None:
    want = net(torch.tensor([x], dtype=torch.float64))[0].tolist()
    assert model.predict(x) == pytest.approx(want, rel=1e-12, abs=1e-15)


@needs_torch
def test_a_reused_activation_module_gives_every_layer_its_activation() -> None:
    # torch's named_children lists a module used twice once: the second use was dropped.
    torch.manual_seed(0)
    act, tanh = torch.nn.ReLU(), torch.nn.Tanh()
    net = torch.nn.Sequential(_f64(3, 4), act, _f64(4, 4), tanh, _f64(4, 4), act, _f64(4, 3),
                              tanh, _f64(3, 2))
    model = from_torch(net)
    assert [layer.activation for layer in model.layers] == [
        "relu", "tanh", "relu", "tanh", "linear"]
    for x in ([0.5, -1.0, 2.0], [-2.0, 0.25, 1.5]):
        _same_outputs(model, net, x)
    assert list(torch_names(net).values())[-1] == "8.bias[1]"
    # nested Sequentials reused whole keep their order too
    inner = torch.nn.Sequential(torch.nn.Tanh())
    nested = torch.nn.Sequential(_f64(3, 3), inner, _f64(3, 3), inner, _f64(3, 1))
    assert [layer.activation for layer in from_torch(nested).layers] == [
        "tanh", "tanh", "linear"]
    _same_outputs(from_torch(nested), nested, [0.5, -1.0, 2.0])


@needs_torch
def test_the_same_linear_used_twice_is_refused_as_shared_weights() -> None:
    lin = torch.nn.Linear(3, 3)
    for net, first, again in (
        (torch.nn.Sequential(lin, torch.nn.Tanh(), lin), "0", "2"),
        (torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sequential(lin), torch.nn.ReLU(),
                             torch.nn.Sequential(lin)), "1.0", "3.0"),
    ):
        for f in (from_torch, torch_names):
            assert _error(f, net).endswith(
                f"cannot map layer {again} ({lin}): it is the same Linear as layer {first} "
                "(shared weights), and an MLP's layers each have their own")


@needs_torch
def test_a_sequential_with_its_own_forward_or_hooks_is_refused() -> None:
    class Doubled(torch.nn.Sequential):
        def forward(self, x: Any) -> Any:
            return super().forward(x) * 2

    class Plain(torch.nn.Sequential):  # a subclass that runs Sequential's forward is fine
        pass

    assert _error(from_torch, Doubled(torch.nn.Linear(2, 1))) == (
        "from_torch: Doubled overrides Sequential's forward, which an MLP would not reproduce "
        "(put its layers in a plain nn.Sequential, in the order they run)")
    assert from_torch(Plain(torch.nn.Linear(2, 1))).nouts == [1]
    hooked = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    hooked[1].register_forward_hook(lambda module, args, out: out * 3)
    assert _error(from_torch, hooked) == (
        "from_torch: cannot map layer 1 (ReLU()): it has forward hooks (_forward_hooks), which "
        "change what it computes and an MLP cannot carry")
    top = torch.nn.Sequential(torch.nn.Linear(2, 1))
    top.register_forward_pre_hook(lambda module, args: (args[0] * 2,))
    assert "the Sequential: it has forward hooks (_forward_pre_hooks)" in _error(from_torch, top)


@needs_torch
def test_a_weight_or_bias_of_the_wrong_shape_is_refused_naming_it() -> None:
    def with_param(field: str, shape: tuple) -> Any:
        net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
        setattr(net[0], field, torch.nn.Parameter(torch.zeros(shape)))
        return net

    linear = "Linear(in_features=3, out_features=2, bias=True)"
    for field, shape in (("weight", (2, 4)), ("weight", (2, 2)), ("weight", (3, 3)),
                         ("weight", (6,)), ("bias", (3,)), ("bias", (1,)), ("bias", (2, 1))):
        for f in (from_torch, torch_names):
            assert _error(f, with_param(field, shape)).endswith(
                f"cannot map layer 0 ({linear}): its {field} has shape {shape}, but a Linear of "
                f"3 inputs and 2 outputs needs {(2, 3) if field == 'weight' else (2,)}")


@needs_torch
def test_meta_weights_and_dtypes_without_kernels_are_refused_clearly() -> None:
    meta = torch.nn.Sequential(torch.nn.Linear(2, 2, device="meta"))
    assert _error(from_torch, meta) == (
        "from_torch: layer 0 (Linear(in_features=2, out_features=2, bias=True)) weight is on "
        "the meta device, so it has no values to copy (materialise it first, e.g. "
        "module.to_empty(device='cpu'), then load its weights)")
    kinds = "torch.float64, torch.float32, torch.float16, torch.bfloat16"
    for name in ("float8_e4m3fn", "float8_e5m2"):
        dtype = getattr(torch, name, None)
        if dtype is None:
            continue
        assert _error(to_torch, MLP(2, [1], seed=0), dtype) == (
            f"to_torch: dtype must be one of {kinds}, got torch.{name}")
        net = torch.nn.Sequential(torch.nn.Linear(2, 2).to(dtype))
        assert _error(from_torch, net) == (
            "from_torch: layer 0 (Linear(in_features=2, out_features=2, bias=True)) weight must "
            f"be a tensor of {kinds}, got torch.{name}")


@needs_torch
def test_from_torch_refuses_non_finite_weights_by_index() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    with torch.no_grad():
        net[0].weight[1, 2] = float("nan")
    assert "layer 0 (Linear(in_features=3, out_features=2, bias=True)) weight[1, 2] must be " \
        "finite, got nan" in _error(from_torch, net)


@needs_torch
def test_to_torch_refuses_what_a_sequential_cannot_express() -> None:
    mixed = MLP(2, [3, 1], seed=0)
    mixed.layers[0].neurons[1].activation = "tanh"
    assert _error(to_torch, mixed) == (
        "to_torch: layer 0 mixes activations (relu for neurons [0, 2], tanh for neurons [1]); "
        "a torch Linear is followed by one activation, so every neuron of a layer needs the "
        "same one"
    )

    class Scaled(MLP):
        def __init__(self) -> None:
            super().__init__(2, [1], seed=0)
            self.scale = Value(2.0)

    assert "parameters outside its layers' weights and biases (e.g. 'scale')" in _error(
        to_torch, Scaled()
    )

    class Doubled(MLP):
        def __call__(self, x: Any) -> Any:
            return super().__call__(x) * 2

    assert "Doubled (or one of its layers or neurons) overrides the forward pass" in _error(
        to_torch, Doubled(2, [1], seed=0)
    )
    assert _error(to_torch, nn.Layer(2, 2, seed=0)) == (
        "to_torch: model must be an nn.MLP, got Layer"
    )
    empty = MLP(2, [3, 1], seed=0)
    empty.layers[0].neurons.clear()
    assert _error(to_torch, empty) == "to_torch: layers.0 has no neurons"
    narrow = MLP(2, [3, 1], seed=0)
    narrow.layers[1].neurons[0].w.pop()
    assert _error(to_torch, narrow) == (
        "to_torch: layers.1.neurons.0 has 2 weights but its layer reads 3 inputs"
    )
    big = MLP(2, [2], seed=0)
    big.get_parameter("layers.0.neurons.1.w.0").data = 1e39
    assert _error(lambda: to_torch(big, torch.float32)) == (
        "to_torch: layers.0.neurons.1.w.0 is too large for torch.float32 (it would become inf)"
    )
    big.get_parameter("layers.0.neurons.1.w.0").data = 0.5
    big.get_parameter("layers.0.neurons.0.b").data = -1e39
    assert "layers.0.neurons.0.b is too large" in _error(lambda: to_torch(big, torch.float32))
    assert "floating-point torch.dtype, got torch.int64" in _error(
        to_torch, MLP(1, [1], seed=0), torch.int64
    )


def test_a_missing_torch_gets_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    for f, who in ((to_torch, "to_torch"), (from_torch, "from_torch")):
        with pytest.raises(ImportError) as info:
            f(MLP(1, [1], seed=0))
        assert str(info.value) == f"{who}: PyTorch is not installed; pip install -e '.[torch]'"


def test_import_nn_does_not_import_torch() -> None:
    # A fresh interpreter: this one may have imported torch already.
    code = "import sys, autograd, nn; print(sorted(m for m in sys.modules if m[:5] == 'torch'))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert out.stdout.strip() == "[]"


# --- the documentation's example ---------------------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def docs_example(section: str = "## Outgrowing valuegrad") -> str:
    """The first ``python`` code block after ``section`` in docs/nn.md."""
    with open(os.path.join(ROOT, "docs", "nn.md"), encoding="utf-8") as f:
        text = f.read()
    after = text[text.index(section) :]
    start = after.index("```python\n") + len("```python\n")
    return after[start : after.index("```", start)]


@needs_torch
def test_the_outgrowing_example_runs(tmp_path: Any) -> None:
    require_dot()  # it draws the network
    env = {**os.environ, "PYTHONPATH": ROOT}
    out = subprocess.run(
        [sys.executable, "-c", docs_example()], capture_output=True, text=True, cwd=tmp_path,
        env=env, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "MLP(64 -> [32, 32, 10]; 3,466 parameters)"
    assert "2.weight[3, 5]" in lines and "True" in lines
    accuracy = float(next(line for line in lines if "unseen digits read right" in line)[:4])
    assert accuracy > 85.0
    ours, theirs = (float(w) for w in lines[-1].replace(" in torch", "").split()[-3::2])
    assert abs(ours - theirs) <= RTOL * abs(theirs)
    assert (tmp_path / "three.svg").read_text().lstrip().startswith("<?xml")
