"""autograd.files: a failed atomic write names the requested path and leaves no temp file."""

from __future__ import annotations

import os
import re
import sys

import pytest

from autograd.files import write_text_atomic
from nn import MLP

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


@pytest.mark.parametrize("where", [pytest.param("proc", marks=linux), "under_a_file"])
def test_failed_write_names_the_requested_path_not_the_temp_file(where, tmp_path):
    (tmp_path / "a_file").write_text("x")
    if where == "proc":  # /proc refuses only the temp file, whose name the user never chose
        path, error = "/proc/valuegrad-x.json", FileNotFoundError
        message = f"cannot write '{path}': No such file or directory"
    else:
        # "Not a directory", not mkdir's "File exists": the file is in the way of a folder
        path, error = str(tmp_path / "a_file" / "model.json"), NotADirectoryError
        message = f"cannot write '{path}': Not a directory: '{tmp_path / 'a_file'}'"
    with pytest.raises(error) as info:
        MLP(2, [1], seed=0).save(path)
    assert str(info.value) == message
    assert info.value.errno == info.value.__cause__.errno  # the original error, chained
    assert os.listdir(tmp_path) == ["a_file"]
    if where == "proc":
        assert not [f for f in os.listdir("/proc") if f.startswith(".valuegrad-x")]


def test_failed_write_callback_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match=re.escape(f"cannot write '{path}': No space left on device")):
        write_text_atomic(path, "hello")
    assert os.listdir(tmp_path) == []
