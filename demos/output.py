"""The demos' output files: written atomically, every path reported, matplotlib optional.

Pictures are the one output that needs a program outside Python (Graphviz): when it
is missing, or fails, :func:`write_svgs` is the one place that reports the picture
as skipped, with the reason and where its ``.dot`` source was kept, and lets the
demo carry on and exit 0.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import autograd
from autograd.files import write_atomic, write_text_atomic
from autograd.render import RenderError, describe_paths, render_svgs


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return write_text_atomic(path, text)


def write_svg(path: str | Path, picture: Any, what: str) -> Path | None:
    """Render a graphviz picture as SVG to ``path`` and report it (see :func:`write_svgs`)."""
    written = write_svgs([path], [picture], what)
    return written[0] if written else None


def write_svgs(paths: list, pictures: list, what: str) -> list[Path]:
    """Render pictures as SVG and report them; if Graphviz cannot, say so and keep the DOT.

    Returns the SVGs written.  If Graphviz fails, those rendered before stay
    written and are reported, and one line says which were skipped, why, and
    where their ``.dot`` sources are.
    """
    try:
        written = render_svgs(pictures, paths)
    except RenderError as e:
        kept = f"; DOT source kept: {describe_paths(e.dot_paths)}" if e.dot_paths else ""
        if e.written:
            wrote(describe_paths(e.written), f"{len(e.written)} of {what}")
            what = f"the other {len(pictures) - len(e.written)} of {what}"
        print(f"skipped {what}: {e.reason}{kept}")
        return e.written
    wrote(describe_paths(written), what)
    return written


# Graphviz writes "<!-- x0 -->" before each node and edge, repeating its <title>.
_SVG_COMMENT = re.compile(r"<!--.*?-->\n?", re.S)


def strip_svg_comments(svg: str) -> str:
    """``svg`` without its comments (and the line each stood on): a page or a notebook
    that embeds a picture needs none of them."""
    return _SVG_COMMENT.sub("", svg)


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


def engine_line(speedup: str = "") -> str:
    """Which engine runs this demo; on the pure one, with ``speedup`` (measured for the demo,
    as in docs/demos.md), the one command that builds the compiled engine."""
    if autograd.COMPILED:
        return "engine: compiled"
    if not speedup:
        return "engine: pure Python"
    return f"engine: pure Python (python -m autograd._build compiles it: {speedup} faster)"


def wrote(path: str | Path, what: str) -> None:
    """Tell the user where a file went."""
    print(f"wrote {what}: {path}")
