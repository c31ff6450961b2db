"""The demos' output files: written atomically, every path reported, matplotlib optional."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def _atomic(path: Path, write: Callable[[str], None]) -> Path:
    """Let ``write`` fill a temp file beside ``path`` (same suffix), then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return _atomic(Path(path), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_svg(path: str | Path, picture: Any) -> Path:
    """Write a picture (SVG text, or a graphviz graph to render) as SVG, atomically."""
    svg = picture if isinstance(picture, str) else picture.pipe(format="svg", encoding="utf-8")
    return write_text(path, svg)


def save_figure(fig: Any, path: str | Path, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt

    try:
        return _atomic(Path(path), lambda tmp: fig.savefig(tmp, **kwargs))
    finally:
        plt.close(fig)


def pyplot(enabled: bool = True) -> Any | None:
    """``matplotlib.pyplot`` on the Agg backend, or None (with a printed note) if unavailable."""
    if not enabled:
        return None
    try:
        import matplotlib
    except ImportError:
        print("note: matplotlib is not installed, so no plots are drawn "
              "(pip install -e '.[demos]' adds it)")
        return None
    matplotlib.use("Agg")  # never needs a display
    import matplotlib.pyplot as plt

    return plt


def wrote(path: str | Path, what: str) -> None:
    """Tell the user where a file went."""
    print(f"wrote {what}: {path}")
