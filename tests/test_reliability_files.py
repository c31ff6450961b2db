"""What model files and saving promise under corrupt input and odd paths (issue 10: 7, 11, 13, 18).

- Any corrupt model file (nested 1,500 deep, a 5,000-digit number, 1e999, NaN,
  wrong types, duplicate keys, not UTF-8, empty, a folder, a FIFO, too big) raises
  ``ModelLoadError`` naming the file, in a short message, and changes nothing; the
  demo that takes a model file says so in one line.
- Saving a non-finite parameter names the parameter and writes nothing.
- Saving through a symlink writes the target (the link stays a link); re-saving
  keeps the file's mode; a folder, a path under a file or a loop of links is a
  clear error; nothing is left behind, whatever stops the write (Ctrl-C included).
- A save replaces only a regular file the user may write (issue 18: 2, 15, 16): a
  FIFO, a socket, a device node (a copy of /dev/full says the disk is full) or a
  read-only file is refused naming its kind or mode, by every writer; a file name
  of the longest legal length saves.
- Two parameters can never share a dotted name: the collision is refused where
  names are made, naming both; ``load_state_dict(state_dict())`` always works.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

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


_FLOODS = {
    # 4 MB each: about 1.4 million empty objects (the 64 MB file held 22 million and
    # peaked at 3.2 GB), arrays, 4.2 million zeros, a million short keys under "parameters".
    "empty objects": lambda n: "[" + "{}," * (n // 3) + "{}]",
    "empty arrays": lambda n: "[" + "[]," * (n // 3) + "[]]",
    "nested pairs": lambda n: "[" + "[[]]," * (n // 5) + "[]]",
    "zeros": lambda n: "[" + "0," * (2**22) + "0]",
    "short strings": lambda n: "[" + '"ab",' * (n // 5) + '"ab"]',
    # with MAX_VALUES lowered to 2**16 (so the tests stay quick under tracemalloc: millions
    # of keys would take seconds, traced)
    "short keys": lambda n: '{"format": "valuegrad.model", "version": 1, "architecture": {}, '
                            '"parameters": {' + ",".join(f'"{i:x}":0' for i in range(2**17))
                            + "}}",
}


@pytest.mark.parametrize("make", list(_FLOODS.values()), ids=list(_FLOODS))
def test_a_file_of_millions_of_tiny_values_is_refused_before_it_is_parsed(tmp_path, make,
                                                                          monkeypatch):
    import tracemalloc

    if make in (_FLOODS["short keys"], _FLOODS["short strings"]):
        monkeypatch.setattr(nn.serialize, "MAX_VALUES", 2**16)
    # Strings are counted out a chunk at a time (a megabyte; 64 kB here, in proportion to
    # these small files): each chunk's work is bounded, whatever the file's size.
    monkeypatch.setattr(nn.serialize, "_CHUNK", 2**16)
    path = tmp_path / "flood.json"
    path.write_text(make(4 * 2**20))
    size = path.stat().st_size
    assert size <= nn.serialize.MAX_FILE_BYTES
    tracemalloc.start()
    try:
        with pytest.raises(ModelLoadError) as info:
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The bytes read and their text, and one chunk's work: the parser never starts (it would
    # have made one object per value, 20 to 100 bytes each).
    assert peak < 2.5 * size, f"peak {peak:,} bytes for a file of {size:,}"
    assert str(info.value).startswith(f"{path}: not a model file: it holds ")


# guard: held before the fix; kept so the counting cannot refuse a genuine file
def test_brackets_and_commas_inside_names_are_not_counted_as_structure(tmp_path):
    model = MLP(2, [1], seed=0)
    path = tmp_path / "model.json"
    model.save(path)
    doc = json.loads(path.read_text())
    doc["architecture"]["note"] = "[{,}]" * 10**6  # one string of 5 MB, 3 million "values"
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelLoadError, match="architecture has unexpected key 'note'"):
        model.load(path)


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


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604])
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


# --- what a save may replace: only a regular file the user may write -----------------------


def _writers():
    """Every kind of writer valuegrad has, each given a path: all go through write_atomic."""
    from autograd import Value, draw_dot
    from autograd.render import save_dot
    from demos import output

    return {
        "MLP.save": lambda p: MLP(2, [1], seed=0).save(p),
        "write_text_atomic": lambda p: write_text_atomic(p, "x"),
        "write_json_atomic": lambda p: nn.serialize.write_json_atomic(p, {"a": 1}),
        "save_dot": lambda p: save_dot(draw_dot(Value(1.0) * 2), p),
        "demos.output.write_text": lambda p: output.write_text(p, "x"),
    }


def _special_files(tmp_path):
    """``{name: (path, kind)}`` of every special file this process can make in tmp_path."""
    import socket

    made = {}
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    made["a FIFO"] = (fifo, "a FIFO (named pipe)")
    sock_path = tmp_path / "sock.json"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    sock.close()
    made["a socket"] = (sock_path, "a socket")
    for name, (major, minor, kind) in {
        "a copy of /dev/null": (1, 3, "a character device (1,3, like /dev/null)"),
        "a copy of /dev/zero": (1, 5, "a character device (1,5, like /dev/zero)"),
        "a block device": (7, 0, "a block device (7,0)"),
    }.items():
        node = tmp_path / f"{name.split()[-1].strip('/').replace('/', '_')}.json"
        mode = (stat.S_IFBLK if "block" in name else stat.S_IFCHR) | 0o666
        try:
            os.mknod(node, mode, os.makedev(major, minor))
        except PermissionError:  # only root (CAP_MKNOD) makes device nodes
            continue
        made[name] = (node, kind)
    return made


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_no_writer_replaces_a_fifo_a_socket_or_a_device_and_each_names_its_kind(tmp_path):
    special = _special_files(tmp_path)
    link = tmp_path / "link.json"
    link.symlink_to("fifo.json")
    special["a symlink to a FIFO"] = (link, "a FIFO (named pipe)")
    if os.geteuid() == 0:
        assert len(special) == 6  # root makes device nodes: every kind is tried
    before = {name: os.lstat(path) for name, (path, _) in special.items()}
    listing = sorted(os.listdir(tmp_path))
    for writer, write in _writers().items():
        for name, (path, kind) in special.items():
            with pytest.raises(OSError) as info:
                write(path)
            assert str(info.value) == (f"cannot write '{path}': it is {kind}, not a regular "
                                       "file; save replaces only regular files"), writer
            after = os.lstat(path)
            assert (after.st_mode, after.st_rdev, after.st_ino) == (
                before[name].st_mode, before[name].st_rdev, before[name].st_ino), (writer, name)
            assert sorted(os.listdir(tmp_path)) == listing  # no temp file left either


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_or_a_read_only_file_appearing_while_a_save_writes_is_still_refused(tmp_path):
    path = tmp_path / "out.json"

    def fifo_appears(tmp):
        Path(tmp).write_text("new")
        os.mkfifo(path)

    with pytest.raises(OSError) as info:
        write_atomic(path, fifo_appears)
    assert str(info.value) == (f"cannot write '{path}': it is a FIFO (named pipe), not a "
                               "regular file; save replaces only regular files")
    assert stat.S_ISFIFO(path.lstat().st_mode) and os.listdir(tmp_path) == ["out.json"]
    path.unlink()
    path.write_text("old")

    def made_read_only(tmp):
        Path(tmp).write_text("new")
        os.chmod(path, 0o444)

    with pytest.raises(PermissionError, match=r"^cannot write '.*': the file is read-only"):
        write_atomic(path, made_read_only)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["out.json"]


def test_a_save_to_a_full_device_says_the_disk_is_full_and_replaces_nothing(tmp_path):
    full = tmp_path / "full"
    try:
        os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("making a device node needs root (CAP_MKNOD); the FIFO test covers the rule")
    import errno

    for write in _writers().values():
        with pytest.raises(OSError) as info:
            write(full)
        assert info.value.errno == errno.ENOSPC
        assert str(info.value) == (
            f"cannot write '{full}': No space left on device: it is a character device "
            "(1,7, like /dev/full), not a regular file; save replaces only regular files")
        assert stat.S_ISCHR(full.lstat().st_mode) and os.listdir(tmp_path) == ["full"]


def test_a_file_name_of_the_longest_legal_length_saves(tmp_path):
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    for name in ("m" * (limit - 5) + ".json", "m" * limit, "é" * ((limit - 5) // 2) + ".svg",
                 "." + "x" * (limit - 1), "a." + "s" * (limit - 2)):
        assert len(os.fsencode(name)) <= limit
        path = tmp_path / name
        MLP(2, [1], seed=0).save(path)
        MLP(2, [1], seed=1).save(path)  # replacing it too
        assert MLP.from_file(path).state_dict() == MLP(2, [1], seed=1).state_dict()
        assert os.listdir(tmp_path) == [name]
        path.unlink()
    with pytest.raises(OSError, match="File name too long"):  # one byte more is the OS's no
        MLP(2, [1], seed=0).save(tmp_path / ("m" * (limit + 1)))


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o555, 0o044], ids=["0444", "0400", "0555", "0044"])
def test_a_read_only_file_is_refused_naming_its_mode_even_for_root(tmp_path, mode):
    path = tmp_path / "model.json"
    MLP(2, [1], seed=0).save(path)
    old = path.read_bytes()
    os.chmod(path, mode)
    link = tmp_path / "link.json"
    link.symlink_to(path.name)
    for target in (path, link):
        for write in _writers().values():
            with pytest.raises(PermissionError) as info:
                write(target)
            assert str(info.value) == (f"cannot write '{target}': the file is read-only (mode "
                                       f"{mode:04o}); make it writable (chmod u+w) to replace it")
    assert path.read_bytes() == old and stat.S_IMODE(path.stat().st_mode) == mode
    assert sorted(os.listdir(tmp_path)) == ["link.json", "model.json"]


_AS_NOBODY = """
import os, sys
sys.path.insert(0, sys.argv[1])
from nn import MLP
folder = sys.argv[2]
for name in ("ro.json", "theirs.json"):
    path = os.path.join(folder, name)
    old = open(path, "rb").read()
    try:
        open(path, "w")
        print(name, "open() allowed it")
    except PermissionError:
        pass
    try:
        MLP(2, [1], seed=1).save(path)
        print(name, "saved")
    except PermissionError as e:
        print(name, "refused:", e)
    assert open(path, "rb").read() == old
MLP(2, [1], seed=1).save(os.path.join(folder, "mine.json"))
print("mine.json saved")
"""


def test_as_a_normal_user_a_file_open_would_refuse_is_refused_too():
    """As user nobody (root drops to it with setpriv; root itself may write anything): a 0444
    file of its own and root's 0644 file, in a folder anyone may write to (so only the
    files' modes protect them, and a rename would replace either)."""
    import shutil
    import subprocess
    import tempfile

    nobody = 65534
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0:  # run as a normal user, the test above is this test already
        pytest.skip("needs root, to own a file nobody may not write and to become nobody")
    if setpriv is None:
        pytest.skip("setpriv is not installed: cannot drop root")
    folder = tempfile.mkdtemp()
    try:
        os.chmod(folder, 0o1777)  # sticky, as /tmp: writable by all
        ro, theirs = os.path.join(folder, "ro.json"), os.path.join(folder, "theirs.json")
        MLP(2, [1], seed=0).save(ro)
        MLP(2, [1], seed=0).save(theirs)
        os.chmod(ro, 0o444)
        os.chmod(theirs, 0o644)
        os.chown(ro, nobody, nobody)  # nobody's own read-only file; root keeps theirs.json
        cmd = [setpriv, f"--reuid={nobody}", f"--regid={nobody}", "--clear-groups"]
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        probe = subprocess.run([*cmd, sys.executable, "-c", "import sys; sys.path.insert(0, "
                                "sys.argv[1]); import nn", root], capture_output=True, timeout=60)
        if probe.returncode != 0:  # e.g. a checkout or an interpreter under /root, mode 0700
            pytest.skip(f"user nobody cannot run this interpreter on this checkout: "
                        f"{probe.stderr.decode(errors='replace').strip()[-200:]}")
        run = subprocess.run([*cmd, sys.executable, "-c", _AS_NOBODY, root, folder],
                             capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        assert run.returncode == 0, run.stderr
        assert run.stdout.splitlines() == [
            f"ro.json refused: cannot write '{ro}': the file is read-only (mode 0444); make it "
            "writable (chmod u+w) to replace it",
            f"theirs.json refused: cannot write '{theirs}': Permission denied: this user may not "
            f"write the file (mode 0644, owner uid {os.stat(theirs).st_uid})",
            "mine.json saved",
        ]
    finally:
        shutil.rmtree(folder)


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
