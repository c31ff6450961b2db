"""Atomic file writes: a crash or error mid-write leaves the previous file intact."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Union

PathLike = Union[str, "os.PathLike[str]"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _naming(path: Path, e: OSError) -> OSError:
    """``e`` reworded to name ``path``: the user asked for it, not for our temp file."""
    message = f"cannot write '{path}': {e.strerror or e}"
    if isinstance(e.filename, str) and Path(e.filename) in path.parents:
        message += f": '{e.filename}'"  # a folder on the way, such as a file named like one
    try:
        err = type(e)(message)  # one argument, so str(err) is just the message
    except TypeError:  # a subclass with a constructor of its own
        err = OSError(message)
    err.errno = e.errno  # callers may still test for ENOSPC and the like
    return err


def write_atomic(path: PathLike, write: Callable[[str], None]) -> Path:
    """Let ``write(tmp)`` fill a temp file beside ``path``, then move it into place.

    The temp file sits in the same folder (so ``os.replace`` is atomic), is
    flushed to disk before the move and removed if anything fails.  An
    ``OSError`` is raised again as the same class, naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The real suffix last: writers such as matplotlib pick the format from it.
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent
        )
    except OSError as e:
        raise _naming(path, e) from e
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):  # the first error is the one worth reporting
            os.remove(tmp)
        if isinstance(e, OSError):
            raise _naming(path, e) from e
        raise
    return path


def write_text_atomic(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
