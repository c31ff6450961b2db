"""Atomic file writes: a crash or error mid-write leaves the previous file intact.

Every file valuegrad writes (models, pictures, the demos' outputs) goes through
:func:`write_atomic`, so what a save may replace is decided here, once: only a
regular file (or a symlink to one) that the user may write.
"""

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


def _naming(path: Path, e: OSError, advice: str = "") -> OSError:
    """``e`` reworded to name ``path``: the user asked for it, not for our temp file."""
    message = f"cannot write '{path}': {e.strerror or e}"
    if isinstance(e.filename, str) and Path(e.filename) in path.parents:
        message += f": '{e.filename}'"  # a folder on the way, such as a file named like one
    if advice:
        message += f"; {advice}"
    try:
        err = type(e)(message)  # one argument, so str(err) is just the message
    except TypeError:  # a subclass with a constructor of its own
        err = OSError(message)
    err.errno = e.errno  # callers may still test for ENOSPC and the like
    err._names_path = True  # type: ignore[attr-defined]  # so it is never reworded twice
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


# Linux's memory devices (major 1), named so that a refusal says which one a node is.
_MEMORY_DEVICES = {3: "/dev/null", 5: "/dev/zero", 7: "/dev/full", 8: "/dev/random",
                   9: "/dev/urandom"}


def _kind(info: os.stat_result) -> str:
    """What a file that is not a regular one is, in words."""
    mode = info.st_mode
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISBLK(mode):
        return f"a block device ({os.major(info.st_rdev)},{os.minor(info.st_rdev)})"
    if stat.S_ISCHR(mode):
        major, minor = os.major(info.st_rdev), os.minor(info.st_rdev)
        like = _MEMORY_DEVICES.get(minor) if major == 1 else None
        return f"a character device ({major},{minor}{f', like {like}' if like else ''})"
    return f"not a regular file (mode {stat.filemode(mode)})"


def _check_replaceable(path: Path, target: Path) -> None:
    """Refuse to replace anything but a regular file the user may write.

    ``os.replace`` would swap a FIFO, a device node or a socket for a regular
    file without a word (as root, ``save("/dev/null")`` would replace the
    system's /dev/null), so those are refused naming their kind.  A read-only
    file is refused too: ``open(path, "w")`` would refuse it, and a rename
    needs only the folder's permission, so a save would silently overwrite a
    file its owner protected.  "Read-only" is read from the mode (no write bit
    for anyone: 0444, 0400, 0555), so root is refused too, and from the user's
    own access (another user's 0644 file).
    """
    try:
        info = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        return  # a new file
    except OSError as e:
        raise _naming(path, e) from e
    mode = info.st_mode
    if stat.S_ISDIR(mode):  # os.replace would say "Is a directory" about a temp name
        raise _naming(path, IsADirectoryError(errno.EISDIR, "Is a directory"))
    if not stat.S_ISREG(mode):
        kind = _kind(info)
        if stat.S_ISCHR(mode) and (os.major(info.st_rdev), os.minor(info.st_rdev)) == (1, 7):
            # Writing into it would fail as on a full disk: say so, as open(path, "w") would.
            reason = f"No space left on device: it is {kind}, not a regular file"
            err: OSError = OSError(errno.ENOSPC, reason)
        else:
            err = OSError(errno.EINVAL, f"it is {kind}, not a regular file")
        raise _naming(path, err, "save replaces only regular files")
    if not mode & 0o222:
        raise _naming(path, PermissionError(
            errno.EACCES, f"the file is read-only (mode {stat.S_IMODE(mode):04o})"),
            "make it writable (chmod u+w) to replace it")
    if not os.access(target, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
        raise _naming(path, PermissionError(
            errno.EACCES, f"Permission denied: this user may not write the file (mode "
            f"{stat.S_IMODE(mode):04o}, owner uid {info.st_uid})"))


def _temp_affixes(target: Path) -> tuple[str, str]:
    """``(prefix, suffix)`` of the temp file beside ``target``, short enough for the folder.

    The temp name is ``.{name}.XXXXXXXX.tmp{suffix}``; for a name near the file
    system's limit (255 bytes on most) the copy of the name is cut, so every
    name that is legal can be saved.  The real suffix stays last: writers such
    as matplotlib pick the format from it.
    """
    try:
        limit = os.pathconf(target.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = -1
    if limit <= 0:  # unknown, or "no limit"
        limit = 255
    suffix = f".tmp{target.suffix}"
    if len(os.fsencode(suffix)) > 32:  # a "suffix" that is most of the name
        suffix = ".tmp"
    # "." + name + "." before the random part, 8 characters from mkstemp
    room = limit - len(os.fsencode(suffix)) - 8 - 2
    name = target.name
    while len(os.fsencode(name)) > room:
        name = name[:-1]
    return f".{name}.", suffix


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
    through to its target; an existing file keeps its mode.  Only a regular
    file the user may write is ever replaced: a FIFO, a device, a socket or a
    read-only file is refused before anything is written.  An ``OSError`` is
    raised again as the same class, naming ``path``.
    """
    path = Path(checks.path(path, "save"))
    target = _target(path)
    _check_replaceable(path, target)
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError as e:  # a file where a folder must be: say that, not "exists"
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", e.filename) from e
        prefix, suffix = _temp_affixes(target)
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
    except OSError as e:
        raise _naming(path, e) from e
    try:
        os.close(fd)
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _keep_owner_and_mode(tmp, target)
        _check_replaceable(path, target)  # again: it may have changed while we wrote
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):  # the first error is the one worth reporting
            os.remove(tmp)
        if isinstance(e, OSError) and not getattr(e, "_names_path", False):
            raise _naming(path, e) from e
        raise
    return path


def write_text_atomic(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
