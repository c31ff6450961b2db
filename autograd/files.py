"""Atomic file writes: a crash or error mid-write leaves the previous file intact."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Union

from . import checks

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


def _target(path: Path) -> Path:
    """Where ``path`` really is: a symlink is written through, so the link stays a link.

    Replacing the link itself (``os.replace`` onto it) would leave its target
    stale.  Resolving the whole chain also puts the temp file beside the target,
    on its file system, so the final ``os.replace`` stays atomic.
    """
    if not path.is_symlink():
        return path
    try:
        return Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:  # a dangling link: create the file it points to, as open() does
        return Path(os.path.realpath(path))
    except OSError as e:  # a loop of links
        raise _naming(path, e) from e


def _keep_owner_and_mode(tmp: str, target: Path) -> None:
    """Give the temp file the mode (and, where allowed, the owner) of the file it replaces.

    A new file gets a normal file's mode under the umask (``mkstemp`` makes it 0600).
    """
    try:
        old = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        os.chmod(tmp, 0o666 & ~_umask())
        return
    if (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
        with contextlib.suppress(OSError):  # only root may give a file away: keep ours then
            os.chown(tmp, old.st_uid, old.st_gid)
    os.chmod(tmp, stat.S_IMODE(old.st_mode) & 0o777)  # never set-id bits on a copy


def write_atomic(path: PathLike, write: Callable[[str], object]) -> Path:
    """Let ``write(tmp)`` fill a temp file beside ``path``, then move it into place.

    The temp file sits in the same folder (so ``os.replace`` is atomic), is
    flushed to disk before the move and removed if anything fails, Ctrl-C
    included.  Missing folders on the way are created.  A symlink is written
    through to its target; an existing file keeps its mode.  An ``OSError`` is
    raised again as the same class, naming ``path``.
    """
    path = Path(checks.path(path, "save"))
    target = _target(path)
    if target.is_dir():  # os.replace would say "Is a directory" about a temp name
        raise _naming(path, IsADirectoryError(errno.EISDIR, "Is a directory"))
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError as e:  # a file where a folder must be: say that, not "exists"
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", e.filename) from e
        # The real suffix last: writers such as matplotlib pick the format from it.
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent
        )
    except OSError as e:
        raise _naming(path, e) from e
    try:
        os.close(fd)
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _keep_owner_and_mode(tmp, target)
        os.replace(tmp, target)
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
