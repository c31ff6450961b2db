"""What model files and saving promise under corrupt input and odd paths (issue 10: 7, 11, 13, 18).

- Any corrupt model file (nested 1,500 deep, a 5,000-digit number, 1e999, NaN,
  wrong types, duplicate keys, not UTF-8, empty, a folder, a FIFO, too big) raises
  ``ModelLoadError`` naming the file, in a short message, and changes nothing; the
  demo that takes a model file says so in one line.
- Saving a non-finite parameter names the parameter and writes nothing.
- Saving through a symlink writes the target (the link stays a link); re-saving
  keeps the file's mode; a folder, a path under a file or a loop of links is a
  clear error; nothing is left behind, whatever stops the write (Ctrl-C included).
- Two parameters can never share a dotted name: the collision is refused where
  names are made, naming both; ``load_state_dict(state_dict())`` always works.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Mapping

import pytest

import nn.serialize
from autograd import Value, checks
from autograd.files import write_atomic, write_text_atomic
from demos import backprop_three
from nn import MLP, ModelLoadError, Module, load_model

P = "layers.0.neurons.1.w.0"


@pytest.fixture
def saved(tmp_path):
    """``(path, document)`` of a small saved MLP."""
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    return path, json.loads(path.read_text())


def _text(doc: dict) -> str:
    return json.dumps(doc)


def _with_param(doc: dict, literal: str) -> str:
    """The document with parameter P's value replaced by a raw JSON literal."""
    return _text(doc).replace(f'"{P}": {json.dumps(doc["parameters"][P])}', f'"{P}": {literal}')


CORRUPT = {
    "nested 1,500 deep (array)": lambda doc: "[" * 1500 + "]" * 1500,
    "nested 1,500 deep (object)": lambda doc: '{"a": ' * 1500 + "1" + "}" * 1500,
    "nested 100 deep in the architecture": lambda doc: _text(doc).replace(
        '"nouts": [3, 1]', '"nouts": ' + "[" * 100 + "3" + "]" * 100),
    "a 5,000-digit version": lambda doc: _text(doc).replace('"version": 1', '"version": '
                                                             + "1" * 5000),
    "a 5,000-digit parameter": lambda doc: _with_param(doc, "9" * 5000),
    "a 400-digit parameter": lambda doc: _with_param(doc, "9" * 400),
    "1e999 as a parameter": lambda doc: _with_param(doc, "1e999"),
    "NaN as a parameter": lambda doc: _with_param(doc, "NaN"),
    "-Infinity as a parameter": lambda doc: _with_param(doc, "-Infinity"),
    "Infinity as the version": lambda doc: _text(doc).replace('"version": 1',
                                                              '"version": Infinity'),
    "a string as a parameter": lambda doc: _with_param(doc, '"0.5"'),
    "an object as a parameter": lambda doc: _with_param(doc, '{"x": 1}'),
    "a list as parameters": lambda doc: _text({**doc, "parameters": [1, 2]}),
    "a string as architecture": lambda doc: _text({**doc, "architecture": "MLP"}),
    "a float as nin": lambda doc: _text(doc).replace('"nin": 2', '"nin": 2.0'),
    "a 5,000-digit nin": lambda doc: _text(doc).replace('"nin": 2', '"nin": ' + "9" * 5000),
    "a megabyte string as format": lambda doc: _text({**doc, "format": "x" * 10**6}),
    "a megabyte key": lambda doc: _text({**doc, "parameters": {"k" * 10**6: 1.0}}),
    "a duplicate parameter": lambda doc: _text(doc)[:-2] + f', "{P}": 0.5}}}}',
    "a top-level array": lambda doc: "[1, 2, 3]",
    "empty": lambda doc: "",
    "only whitespace": lambda doc: " \n\t ",
    "truncated": lambda doc: _text(doc)[: len(_text(doc)) // 2],
    "not UTF-8": lambda doc: b"\x80\x81\xfe garbage",
    "UTF-16": lambda doc: _text(doc).encode("utf-16"),
    "a NUL byte": lambda doc: b"\x00" + _text(doc).encode(),
}


@pytest.mark.parametrize("make", list(CORRUPT.values()), ids=list(CORRUPT))
def test_a_corrupt_model_file_is_a_model_load_error_naming_the_file(saved, make):
    path, doc = saved
    content = make(doc)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    model = MLP(2, [3, 1], seed=5)
    before = model.state_dict()
    for load in (model.load, MLP.from_file, nn.serialize.load_model):
        with pytest.raises(ModelLoadError) as info:
            load(path)
        message = str(info.value)
        assert str(path) in message
        assert len(message) < 500 and "\n" not in message
    assert model.state_dict() == before


def test_a_folder_a_fifo_and_a_huge_file_are_model_load_errors(tmp_path, monkeypatch):
    folder = tmp_path / "model.json"
    folder.mkdir()
    with pytest.raises(ModelLoadError, match=f"{folder}: is a folder"):
        MLP.from_file(folder)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo.json"
        os.mkfifo(fifo)
        with pytest.raises(ModelLoadError, match=f"{fifo}: not a regular file"):
            MLP.from_file(fifo)  # opening it would wait forever for a writer
    big = tmp_path / "big.json"
    MLP(2, [3, 1], seed=0).save(big)
    monkeypatch.setattr(nn.serialize, "MAX_FILE_BYTES", 100)
    with pytest.raises(ModelLoadError, match=f"{big}: .* larger than a model file may be"):
        MLP.from_file(big)


@pytest.mark.parametrize("what", ["missing", "folder"])
def test_the_demo_refuses_a_model_path_that_is_not_a_file_before_any_work(tmp_path, capsys,
                                                                          what):
    path = tmp_path / "model.json"
    if what == "folder":
        path.mkdir()
    with pytest.raises(SystemExit) as e:
        backprop_three.main(["--model", str(path), "--no-svg"])
    assert e.value.code == 2
    expected = "is not a file" if what == "folder" else "no such file"
    assert capsys.readouterr().err.endswith(f"error: argument --model: {expected}: {path}\n")


def test_a_missing_file_stays_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        MLP.from_file(tmp_path / "nope.json")


def test_load_state_dict_with_an_unprintable_int_is_a_model_load_error():
    model = MLP(2, [1], seed=0)
    state = model.state_dict()
    state["layers.0.neurons.0.b"] = 10**5000  # too long for repr() under Python's digit limit
    with pytest.raises(ModelLoadError) as info:
        model.load_state_dict(state)
    # autograd.checks.describe's words, as every other "got X" in valuegrad
    assert str(info.value) == ("load_state_dict: parameter 'layers.0.neurons.0.b' must be a "
                               "finite number, got an int of 5,001 digits")


def test_load_state_dict_describes_a_bad_value_as_every_check_does():
    model = MLP(2, [1], seed=0)
    state = model.state_dict()
    for bad in ("x" * 10**6, [[[[[[[[1.0]]]]]]]], None):
        state["layers.0.neurons.0.b"] = bad
        with pytest.raises(ModelLoadError) as info:
            model.load_state_dict(state)
        assert str(info.value).endswith(f"got {checks.describe(bad)}")
        assert len(str(info.value)) < 200


@pytest.mark.parametrize("name", ["nested 1,500 deep (array)", "a 5,000-digit version",
                                  "not UTF-8", "a megabyte string as format"])
def test_the_demo_taking_a_model_file_says_what_is_wrong_in_one_line(saved, name):
    path, doc = saved
    content = CORRUPT[name](doc)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(SystemExit) as e:
        backprop_three.main(["--model", str(path), "--no-svg"])
    message = e.value.code
    assert isinstance(message, str) and message.startswith(f"error: --model: {path}: ")
    assert len(message) < 500 and "\n" not in message


# --- saving ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_saving_a_non_finite_parameter_names_it_and_writes_nothing(saved, bad):
    path, _ = saved
    old = path.read_bytes()
    model = MLP(2, [3, 1], seed=0)
    model.get_parameter(P).data = bad
    with pytest.raises(ValueError) as info:
        model.save(path)
    assert str(info.value) == (f"save: parameter {P} is not finite, got {bad!r}; "
                               f"'{path}' was not written")
    assert path.read_bytes() == old
    assert os.listdir(path.parent) == ["model.json"]


def test_saving_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "store" / "model.json"
    real.parent.mkdir()
    MLP(2, [1], seed=0).save(real)
    link = tmp_path / "current.json"
    link.symlink_to(os.path.relpath(real, tmp_path))  # relative, as `ln -s` makes them
    chain = tmp_path / "latest.json"
    chain.symlink_to(link.name)
    for path, seed in ((link, 1), (chain, 2)):
        MLP(2, [1], seed=seed).save(path)
        assert link.is_symlink() and chain.is_symlink()
        assert MLP.from_file(real).state_dict() == MLP(2, [1], seed=seed).state_dict()
    assert sorted(os.listdir(real.parent)) == ["model.json"]  # no temp file beside the target
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to("store/new.json")
    MLP(2, [1], seed=3).save(dangling)  # creates the file the link points to, as open() does
    assert dangling.is_symlink() and (real.parent / "new.json").is_file()


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444])
def test_resaving_keeps_the_files_mode(tmp_path, mode):
    path = tmp_path / "model.json"
    MLP(2, [1], seed=0).save(path)
    os.chmod(path, mode)
    MLP(2, [1], seed=1).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    link = tmp_path / "link.json"
    link.symlink_to(path.name)
    write_text_atomic(link, "{}")
    assert stat.S_IMODE(path.stat().st_mode) == mode and link.is_symlink()


def test_a_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        write_text_atomic(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640


def _loop(tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    return tmp_path / "a"


@pytest.mark.parametrize(
    "where, message",
    [
        (lambda t: t / "folder", "Is a directory"),
        (lambda t: t / "to_folder", "Is a directory"),
        (lambda t: t / "a_file" / "model.json", "Not a directory"),
        (_loop, "Too many levels of symbolic links"),
    ],
    ids=["a folder", "a symlink to a folder", "under a file", "a loop of symlinks"],
)
def test_saving_where_no_file_can_be_is_a_clear_error_and_leaves_nothing(tmp_path, where,
                                                                         message):
    (tmp_path / "folder").mkdir()
    (tmp_path / "to_folder").symlink_to("folder")
    (tmp_path / "a_file").write_text("x")
    path = where(tmp_path)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(OSError) as info:
        MLP(2, [1], seed=0).save(path)
    assert str(info.value).startswith(f"cannot write '{path}': {message}")
    assert sorted(os.listdir(tmp_path)) == before
    assert os.listdir(tmp_path / "folder") == []  # no temp file inside the folder either


def test_saving_into_a_read_only_folder_is_a_clear_error(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o500)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Root writes into a 0500 folder anyway (as in CI): make the OS refuse as it would
        # refuse anyone else, at the one call that creates the file.
        def refused(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr("autograd.files.tempfile.mkstemp", refused)
    try:
        with pytest.raises(PermissionError, match=f"cannot write '{folder / 'm.json'}'"):
            MLP(2, [1]).save(folder / "m.json")
        assert os.listdir(folder) == []
    finally:
        os.chmod(folder, 0o700)


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit, MemoryError])
def test_whatever_stops_a_write_the_old_file_stays_and_no_temp_is_left(tmp_path, stop):
    path = tmp_path / "out.txt"
    path.write_text("old")

    def interrupted(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise stop

    with pytest.raises(stop):
        write_atomic(path, interrupted)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]


# --- parameter names --------------------------------------------------------------------------


class Net(Module):
    pass


class Child(Module):
    pass


def _dict_vs_dotted_attribute():
    m = Net()
    m.b = {"c": Value(1.0)}
    setattr(m, "b.c", Value(2.0))
    return m, "'b.c'", ["model.b['c']", "getattr(model, 'b.c')"]


def _int_key_vs_str_key():
    m = Net()
    m.d = {1: Value(1.0), "1": Value(2.0)}
    return m, "'d.1'", ["model.d[1]", "model.d['1']"]


def _list_index_vs_dotted_dict_key():
    m = Net()
    m.w = [Value(1.0)]
    m.v = {"x": Value(3.0)}
    setattr(m, "w.0", Value(2.0))
    return m, "'w.0'", ["model.w[0]", "getattr(model, 'w.0')"]


def _submodule_vs_dotted_key():
    m = Net()
    m.layer = Child()
    m.layer.bias = Value(1.0)
    m.extra = {"x": Value(0.0)}
    m.__dict__["layer.bias"] = Value(2.0)
    return m, "'layer.bias'", ["model.layer.bias", "getattr(model, 'layer.bias')"]


def _nested_dict_vs_dotted_key():
    m = Net()
    m.p = {"a": {"b": Value(1.0)}, "a.b": Value(2.0)}
    return m, "'p.a.b'", ["model.p['a']['b']", "model.p['a.b']"]


@pytest.mark.parametrize("build", [_dict_vs_dotted_attribute, _int_key_vs_str_key,
                                   _list_index_vs_dotted_dict_key, _submodule_vs_dotted_key,
                                   _nested_dict_vs_dotted_key])
def test_colliding_parameter_names_are_refused_naming_both(build, tmp_path):
    model, name, paths = build()
    for call in (model.named_parameters, model.state_dict, model.parameters,
                 lambda: model.save(tmp_path / "m.json"),
                 lambda: model.load_state_dict({})):
        with pytest.raises(ValueError) as info:
            call()
        message = str(info.value)
        assert f"both be named {name}" in message, message
        assert all(p in message for p in paths), message
    assert not (tmp_path / "m.json").exists()


def test_dotted_keys_that_do_not_collide_round_trip(tmp_path):
    m = Net()
    m.p = {"a.b": Value(1.0), "a": {"c": Value(2.0)}, 3: Value(3.0), "4": Value(4.0)}
    m.q = [Value(5.0), (Value(6.0),)]
    state = m.state_dict()
    assert len(state) == 6
    m.load_state_dict(state)
    m.save(tmp_path / "m.json")
    m.load(tmp_path / "m.json")
    assert m.state_dict() == state


def test_a_mapping_that_miscounts_is_a_model_load_error_not_stop_iteration():
    model = MLP(2, [1], seed=0)

    class Miscounting(Mapping):
        def __init__(self, d):
            self.d = d

        def __getitem__(self, k):
            return self.d[k]

        def __iter__(self):
            return iter(self.d)

        def __len__(self):
            return len(self.d) + 1

    with pytest.raises(ModelLoadError, match="says it has 4 entries"):
        model.load_state_dict(Miscounting(model.state_dict()))


if sys.platform == "win32":  # symlinks and modes are POSIX promises
    pytestmark = pytest.mark.skip(reason="POSIX file semantics")


def test_a_path_that_is_not_a_name_is_refused_before_anything_is_opened(tmp_path):
    """An int is a file descriptor to ``open``: ``load_model(1)`` used to read and close stdout."""
    model = MLP(2, [2], seed=0)
    for bad in (1, True, None, 2.5, b"m.json"[0]):
        with pytest.raises(TypeError, match=r"^load: path must be a str or a path, got "):
            load_model(bad)
        with pytest.raises(TypeError, match=r"^save: path must be a str or a path, got "):
            model.save(bad)
    os.fstat(1)  # stdout is still open


@pytest.mark.parametrize("edit", ["one hidden layer", "the output layer", "one neuron", "all"])
def test_a_model_whose_activations_were_changed_by_hand_loads_back_as_the_same_model(
    tmp_path, edit
):
    """The file used to record only the first layer's activation: a model with per-layer
    (or per-neuron) activations loaded back silently as a different model."""
    model = MLP(3, [4, 4, 2], seed=0)
    if edit == "one hidden layer":
        for n in model.layers[1].neurons:
            n.activation = "tanh"
    elif edit == "the output layer":
        for n in model.layers[2].neurons:
            n.activation = "sigmoid"
    elif edit == "one neuron":
        model.layers[0].neurons[2].activation = "tanh"
    else:
        for layer, act in zip(model.layers, ["tanh", "sigmoid", "relu"]):
            for n in layer.neurons:
                n.activation = act
    model.save(tmp_path / "m.json")
    back = load_model(tmp_path / "m.json")
    acts = [[n.activation for n in layer.neurons] for layer in model.layers]
    assert [[n.activation for n in layer.neurons] for layer in back.layers] == acts
    x = [0.3, -1.2, 2.0]
    assert back.predict(x) == model.predict(x)
    fresh = MLP(3, [4, 4, 2], seed=1)
    with pytest.raises(ModelLoadError, match="activations"):
        fresh.load(tmp_path / "m.json")  # a plain model is not that model: refused by name
