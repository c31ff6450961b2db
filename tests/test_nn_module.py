"""Module: parameter discovery, dotted names, lookup, caching, state dicts, repr, inspection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nn
from autograd import Value
from nn import (
    MLP,
    Layer,
    ModelLoadError,
    Module,
    Neuron,
    format_gradients,
    top_gradients,
)


def test_mlp_names_say_where_each_weight_lives():
    m = MLP(2, [3, 1], seed=0)
    names = [n for n, _ in m.named_parameters()]
    expected = []
    for j in range(3):
        expected += [f"layers.0.neurons.{j}.{k}" for k in ("w.0", "w.1", "b")]
    expected += [f"layers.1.neurons.0.w.{k}" for k in range(3)] + ["layers.1.neurons.0.b"]
    assert names == expected
    assert m.parameters() == [p for _, p in m.named_parameters()]
    assert m.num_parameters() == len(expected) == 13


def test_attribute_path_and_dotted_name_reach_the_same_value():
    m = MLP(64, [32, 32, 10], seed=0)
    w = m.layers[1].neurons[3].w[5]
    assert m.get_parameter("layers.1.neurons.3.w.5") is w
    assert m.get_parameter("layers.1.neurons.3.b") is m.layers[1].neurons[3].b
    assert w.label == "layers.1.neurons.3.w.5"
    assert all(p.label == name for name, p in m.named_parameters())
    assert m.num_parameters() == 64 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10


def test_unknown_parameter_name_suggests_a_close_one():
    m = MLP(2, [3, 1], seed=0)
    with pytest.raises(KeyError, match=r"no parameter 'layers\.0\.neurons\.1\.w\.9'.*did you mean"):
        m.get_parameter("layers.0.neurons.1.w.9")


def test_grad_is_reachable_through_attributes_after_backward():
    m = MLP(3, [4, 2], seed=1)
    out = m([1.0, -2.0, 0.5])
    (out[0] + 2.0 * out[1]).backward()
    assert m.layers[1].neurons[1].b.grad == 2.0
    w = m.layers[0].neurons[2].w[1]
    assert m.get_parameter("layers.0.neurons.2.w.1").grad == w.grad
    m.zero_grad()
    assert all(p.grad == 0.0 for p in m.parameters())


class Net(Module):
    """A user subclass: no registration, no super().__init__()."""

    def __init__(self) -> None:
        self.scale = Value(2.0)
        self.blocks = [Neuron(2, seed=0), Neuron(2, "tanh", seed=1)]
        self.head = Layer(2, 1, seed=2)
        self.table = {"bias": Value(0.5)}
        self.tied = self.scale  # shared: reported once, under its first name
        self.note = "not a parameter"
        self._cache_value = Value(9.0)  # private: not a parameter

    def __call__(self, x):
        h = [b(x) for b in self.blocks]
        return self.head(h) * self.scale + self.table["bias"]


def test_user_subclass_gets_generic_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == [
        "scale",
        "blocks.0.w.0", "blocks.0.w.1", "blocks.0.b",
        "blocks.1.w.0", "blocks.1.w.1", "blocks.1.b",
        "head.neurons.0.w.0", "head.neurons.0.w.1", "head.neurons.0.b",
        "table.bias",
    ]
    assert net.get_parameter("blocks.1.w.0") is net.blocks[1].w[0]
    net([1.0, 2.0]).backward()
    assert net.scale.grad != 0.0 and net.table["bias"].grad == 1.0
    net.zero_grad()
    assert all(p.grad == 0.0 for p in net.parameters())
    assert "Net(11 parameters)" in repr(net) and "(head): Layer(2 -> 1, relu" in repr(net)


def test_edits_to_plain_lists_are_seen():
    net = Net()
    extra = Value(1.0)
    net.blocks[0].w.append(extra)  # a TrackedList edit
    assert net.get_parameter("blocks.0.w.2") is extra
    net.blocks.append(Neuron(1, seed=3))  # a plain-list edit: never cached
    assert "blocks.2.b" in dict(net.named_parameters())


def test_cached_parameter_list_follows_structural_edits():
    m = MLP(2, [3, 1], seed=0)
    before = m.parameters()
    new_w, new_b = Value(7.0), Value(8.0)
    old_w = m.layers[0].neurons[1].w[1]
    m.layers[0].neurons[1].w[1] = new_w
    m.layers[1].neurons[0].b = new_b
    after = m.parameters()
    assert new_w in after and new_b in after and old_w not in after
    assert len(after) == len(before)
    new_w.grad = new_b.grad = 3.0
    m.zero_grad()
    assert new_w.grad == 0.0 and new_b.grad == 0.0
    m.layers.append(Layer(1, 2, seed=0))
    assert m.num_parameters() == 13 + 4
    assert m.nouts == [3, 1, 2]


def test_parameters_returns_a_copy():
    m = MLP(2, [1], seed=0)
    m.parameters().clear()
    m.named_parameters().clear()
    assert m.num_parameters() == 3


def test_micrograd_style_subclass_with_parameters_override():
    class Old(Module):
        def __init__(self) -> None:
            self._ps = [Value(1.0), Value(2.0)]

        def parameters(self):
            return self._ps

    old = Old()
    for p in old._ps:
        p.grad = 5.0
    old.zero_grad()
    assert [p.grad for p in old._ps] == [0.0, 0.0]
    assert old.num_parameters() == 2


def test_repr_has_shapes_and_counts():
    m = MLP(64, [32, 32, 10], seed=0)
    lines = repr(m).splitlines()
    assert lines[0] == "MLP(64 -> [32, 32, 10]; 3,466 parameters)"
    assert lines[1] == "  (layers.0): Layer(64 -> 32, relu; 2,080 parameters)"
    assert lines[3] == "  (layers.2): Layer(32 -> 10, linear; 330 parameters)"
    assert repr(Neuron(3, "tanh", seed=0)) == "Neuron(3, tanh; 4 parameters)"
    assert repr(Neuron(1, "linear", seed=0)) == "Neuron(1, linear; 2 parameters)"


def test_state_dict_round_trip_is_exact():
    a, b = MLP(3, [4, 2], seed=0), MLP(3, [4, 2], seed=1)
    assert a.state_dict() != b.state_dict()
    b.load_state_dict(a.state_dict())
    assert a.state_dict() == b.state_dict()
    assert list(a.state_dict()) == [n for n, _ in a.named_parameters()]


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda s: s.pop("layers.1.neurons.0.b"), "layers.1.neurons.0.b"),
        (lambda s: s.__setitem__("layers.9.b", 1.0), "layers.9.b"),
        (lambda s: s.__setitem__("layers.0.neurons.1.w.2", "0.5"), "layers.0.neurons.1.w.2"),
        (lambda s: s.__setitem__("layers.0.neurons.1.w.2", True), "layers.0.neurons.1.w.2"),
        (lambda s: s.__setitem__("layers.0.neurons.3.b", float("nan")), "layers.0.neurons.3.b"),
        (lambda s: s.__setitem__("layers.0.neurons.3.b", float("inf")), "layers.0.neurons.3.b"),
        (lambda s: s.__setitem__("layers.0.neurons.3.b", None), "layers.0.neurons.3.b"),
    ],
)
def test_bad_state_dict_names_the_key_and_changes_nothing(edit, key):
    m = MLP(3, [4, 2], seed=0)
    before = m.state_dict()
    state = MLP(3, [4, 2], seed=5).state_dict()
    edit(state)
    with pytest.raises(ModelLoadError, match=key.replace(".", r"\.")) as info:
        m.load_state_dict(state)
    assert info.value.key == key
    assert m.state_dict() == before


def test_load_state_dict_rejects_a_non_mapping():
    m = MLP(2, [1], seed=0)
    with pytest.raises(ModelLoadError, match=r"expected a mapping.*got list"):
        m.load_state_dict([1.0, 2.0, 3.0])


def test_top_gradients_ranks_by_absolute_gradient():
    m = MLP(2, [3, 1], seed=0)
    grads = {
        "layers.0.neurons.2.w.1": -5.0,
        "layers.1.neurons.0.b": 3.0,
        "layers.0.neurons.0.b": 0.5,
    }
    for name, g in grads.items():
        m.get_parameter(name).grad = g
    rows = top_gradients(m, k=2)
    assert [r[0] for r in rows] == ["layers.0.neurons.2.w.1", "layers.1.neurons.0.b"]
    name, value, grad = rows[0]
    assert value == m.get_parameter(name).data and grad == -5.0
    assert len(top_gradients(m, k=None)) == 13
    table = format_gradients(rows)
    assert table.splitlines()[1].split()[:2] == ["1", "layers.0.neurons.2.w.1"]
    assert "-5" in table.splitlines()[1]
    wrong_k = r"^top_gradients: k must be an int >= 0, got "
    with pytest.raises(ValueError, match=wrong_k + r"-1 \(int\)$"):
        top_gradients(m, k=-1)
    with pytest.raises(TypeError, match=wrong_k + r"2\.0 \(float\)$"):
        top_gradients(m, k=2.0)


def test_importing_nn_does_not_import_the_drawing_module():
    code = "import sys, nn; print('nn.draw' in sys.modules, nn.MLP.__name__)"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.split() == ["False", "MLP"]
    assert callable(nn.draw_network)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nn.nope  # noqa: B018
