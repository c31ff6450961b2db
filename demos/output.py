"""The demos' output files: written atomically, every path reported, matplotlib optional."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autograd.files import write_atomic, write_text_atomic


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return write_text_atomic(path, text)


def write_svg(path: str | Path, picture: Any) -> Path:
    """Write a picture (SVG text, or a graphviz graph to render) as SVG, atomically."""
    svg = picture if isinstance(picture, str) else picture.pipe(format="svg", encoding="utf-8")
    return write_text(path, svg)


def save_figure(fig: Any, path: str | Path, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt

    try:
        return write_atomic(path, lambda tmp: fig.savefig(tmp, **kwargs))
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
