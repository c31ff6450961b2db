"""Model files: JSON format, exact round trip, atomic writes, and every bad load."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Value
from nn import MLP, Layer, ModelLoadError, Module, Neuron, load_model


@pytest.fixture
def model() -> MLP:
    return MLP(4, [5, 3], seed=0)


def _saved(model: Module, tmp_path) -> tuple:
    path = tmp_path / "model.json"
    model.save(path)
    return path, json.loads(path.read_text())


def test_file_format(model, tmp_path):
    _, doc = _saved(model, tmp_path)
    assert list(doc) == ["format", "version", "architecture", "parameters"]
    assert doc["format"] == "valuegrad.model" and doc["version"] == 1
    assert doc["architecture"] == {
        "class": "MLP", "nin": 4, "nouts": [5, 3],
        "activation": "relu", "output_activation": "linear",
    }
    assert doc["parameters"] == model.state_dict()


def test_round_trip_is_exact(model, tmp_path):
    awkward = [-1.7976931348623157e308, 0.1 + 0.2, 5e-324, 1 / 3, -0.0]
    for p, v in zip(model.parameters(), awkward):
        p.data = v
    path, _ = _saved(model, tmp_path)
    other = MLP(4, [5, 3], seed=1)
    other.load(path)
    assert other.state_dict() == model.state_dict()
    assert [repr(p.data) for p in other.parameters()] == [repr(p.data) for p in model.parameters()]
    x = [0.3, -1.0, 2.0, 0.5]
    assert [v.data for v in other(x)] == [v.data for v in model(x)]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=4, max_size=4))
def test_any_finite_floats_round_trip_bit_for_bit(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("rt") / "n.json"
    n = Neuron(3, "linear", seed=0)
    for p, v in zip(n.parameters(), values):
        p.data = v
    n.save(path)
    back = load_model(path)
    assert [repr(p.data) for p in back.parameters()] == [repr(v) for v in values]


def test_build_from_file_without_knowing_the_architecture(tmp_path):
    m = MLP(3, [4, 4, 2], activation="tanh", output_activation="sigmoid", seed=3)
    path, _ = _saved(m, tmp_path)
    for loaded in (load_model(path), MLP.from_file(path), Module.from_file(path)):
        assert isinstance(loaded, MLP)
        assert (loaded.nin, loaded.nouts, loaded.activation, loaded.output_activation) == (
            3, [4, 4, 2], "tanh", "sigmoid",
        )
        assert loaded.state_dict() == m.state_dict()
    with pytest.raises(ModelLoadError, match="holds a MLP, not a Layer"):
        Layer.from_file(path)


def test_neuron_and_layer_round_trip(tmp_path):
    for m in (Neuron(3, "sigmoid", seed=0), Layer(3, 2, "tanh", seed=0)):
        path = tmp_path / f"{type(m).__name__}.json"
        m.save(path)
        loaded = load_model(path)
        assert type(loaded) is type(m) and loaded.state_dict() == m.state_dict()
        assert loaded._architecture() == m._architecture()


def test_user_subclass_saves_and_loads_in_place(tmp_path):
    class Tiny(Module):
        def __init__(self, v: float) -> None:
            self.a = Value(v)
            self.body = Neuron(2, seed=int(v))

    path = tmp_path / "tiny.json"
    Tiny(1.0).save(path)
    t = Tiny(2.0)
    t.load(path)
    assert t.state_dict() == Tiny(1.0).state_dict()
    with pytest.raises(ModelLoadError, match=r"can build .* from a file") as info:
        load_model(path)
    assert info.value.key == "architecture.class"


# --- atomic save ---------------------------------------------------------------------


def _fail(*args, **kwargs):
    raise OSError("disk full (simulated)")


def _half_then_fail(obj, f, **kwargs):
    f.write(json.dumps(obj)[:100])
    raise OSError("disk full (simulated)")


@pytest.mark.parametrize("target, replacement", [("replace", _fail), ("dump", _half_then_fail)])
def test_failed_save_leaves_the_old_file_intact(model, tmp_path, monkeypatch, target, replacement):
    path, _ = _saved(model, tmp_path)
    old = path.read_bytes()
    for p in model.parameters():
        p.data += 1.0
    module = os if target == "replace" else nn.serialize.json
    monkeypatch.setattr(module, target, replacement)
    with pytest.raises(OSError, match="simulated"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.json"]  # no temp file left behind
    model.save(path)  # and a later save works
    assert path.read_bytes() != old


def test_save_refuses_non_finite_parameters(model, tmp_path):
    path, _ = _saved(model, tmp_path)
    old = path.read_bytes()
    model.layers[0].neurons[0].b.data = float("nan")
    with pytest.raises(ValueError):
        model.save(path)
    assert path.read_bytes() == old


# --- bad loads: clear error naming the key, model untouched ----------------------------


def _edit(doc: dict, path: str, value) -> None:
    *parents, last = path.split("/")
    for k in parents:
        doc = doc[k]
    if value is _DELETE:
        del doc[last]
    else:
        doc[last] = value


_DELETE = object()
P = "layers.1.neurons.2.w.4"

BAD_DOCS = [
    ("format", "pickle", "format"),
    ("version", 2, "version"),
    ("version", "1", "version"),
    ("parameters", _DELETE, "parameters"),
    ("parameters", [1.0, 2.0], "parameters"),
    ("architecture", "MLP", "architecture"),
    ("architecture/class", "Layer", "architecture.class"),
    ("architecture/nin", 5, "architecture.nin"),
    ("architecture/nouts", [5, 4], "architecture.nouts"),
    ("architecture/activation", "tanh", "architecture.activation"),
    ("architecture/output_activation", _DELETE, "architecture.output_activation"),
    ("architecture/dropout", 0.5, "architecture.dropout"),
    (f"parameters/{P}", _DELETE, f"parameters.{P}"),
    (f"parameters/{P}", "0.5", f"parameters.{P}"),
    (f"parameters/{P}", None, f"parameters.{P}"),
    (f"parameters/{P}", True, f"parameters.{P}"),
    (f"parameters/{P}", [0.5], f"parameters.{P}"),
    (f"parameters/{P}", float("nan"), f"parameters.{P}"),
    ("parameters/layers.7.b", 0.5, "parameters.layers.7.b"),
]


@pytest.mark.parametrize("where, value, key", BAD_DOCS)
def test_bad_file_names_the_key_and_changes_nothing(model, tmp_path, where, value, key):
    path, doc = _saved(MLP(4, [5, 3], seed=9), tmp_path)
    _edit(doc, where, value)
    path.write_text(json.dumps(doc))  # json writes NaN as the (non-standard) token NaN
    before = model.state_dict()
    with pytest.raises(ModelLoadError) as info:
        model.load(path)
    assert info.value.key == key
    section, _, name = key.partition(".")
    assert (name or section) in str(info.value) and str(path) in str(info.value)
    assert model.state_dict() == before
    if where != "architecture/activation":  # a tanh MLP file is fine to build from
        with pytest.raises(ModelLoadError):
            load_model(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not valid JSON"),  # truncated, filled in below
        (b"\x80\x81\xfe garbage", "not a text"),
        (b"", "not valid JSON"),
        (b"[1, 2, 3]", "expected a JSON object at top level, got array"),
        (b'{"format": "valuegrad.model", "format": "x"}', "duplicate key 'format'"),
    ],
)
def test_corrupt_or_truncated_file(model, tmp_path, content, message):
    path, _ = _saved(MLP(4, [5, 3], seed=9), tmp_path)
    if content is None:
        content = path.read_bytes()[: len(path.read_bytes()) // 2]
    path.write_bytes(content)
    before = model.state_dict()
    with pytest.raises(ModelLoadError, match=message) as info:
        model.load(path)
    assert str(path) in str(info.value)
    assert model.state_dict() == before


def test_missing_file_is_a_plain_file_not_found(model, tmp_path):
    with pytest.raises(FileNotFoundError):
        model.load(tmp_path / "nope.json")


def test_loading_a_different_architecture_names_it(tmp_path):
    path, _ = _saved(MLP(64, [32, 10], seed=0), tmp_path)
    m = MLP(64, [32, 32, 10], seed=0)
    before = m.state_dict()
    with pytest.raises(ModelLoadError, match=r"architecture\.nouts .*file has \[32, 10\], "
                                             r"the model has \[32, 32, 10\]"):
        m.load(path)
    assert m.state_dict() == before


def test_saved_file_has_a_normal_files_mode(model, tmp_path):
    path, _ = _saved(model, tmp_path)
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's private 0600


@pytest.mark.parametrize(
    "arch, implied",
    [
        ({"class": "MLP", "nin": 10**9, "nouts": [10**9, 1], "activation": "relu",
          "output_activation": "linear"}, (10**9 + 1) * 10**9 + (10**9 + 1)),
        ({"class": "Layer", "nin": 10**9, "nout": 3, "activation": "relu"}, (10**9 + 1) * 3),
        ({"class": "Neuron", "nin": 10**9, "activation": "relu"}, 10**9 + 1),
    ],
)
def test_huge_architecture_in_a_tiny_file_fails_before_building(
    model, tmp_path, monkeypatch, arch, implied
):
    path, doc = _saved(model, tmp_path)  # 43 parameters
    doc["architecture"] = arch
    path.write_text(json.dumps(doc))

    def build(*args, **kwargs):
        raise AssertionError("built a neuron: the count check must come first")

    monkeypatch.setattr(Neuron, "__init__", build)  # every model is built of neurons
    with pytest.raises(ModelLoadError) as info:
        load_model(path)
    assert info.value.key == "parameters"
    assert f"implies {implied:,} parameters" in str(info.value)
    assert "the file has 43" in str(info.value) and str(path) in str(info.value)
