"""Running Graphviz: under a timeout, with clear errors, never losing the DOT source.

A picture is a :class:`graphviz.Digraph` (our subclass, :func:`new_picture`,
shows inline in Jupyter).  Every rendering goes through :func:`run_graphviz`,
which runs ``dot`` (or ``neato``) under ``DOT_TIMEOUT`` seconds.  Anything that
stops it raises a :class:`RenderError`: :class:`GraphvizNotFoundError` (not
installed), :class:`RenderTimeoutError` (too slow) or the error itself (Graphviz
failed); :func:`render_svgs` saves each unrendered picture's DOT source beside
the SVG it could not write, so a caller can report the picture as skipped and
carry on.  ``graphviz`` is imported only when a picture is built.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .files import write_text_atomic
from .style import FONT, INK, LINE, MUTED

if TYPE_CHECKING:
    import graphviz

# Seconds a Graphviz run may take.  Within the drawing budget (MAX_NODES, MAX_LAYOUT) dot
# lays a picture out in about a second here, so this only ends a runaway: a graph drawn
# with max_nodes=None, or a hand-made one.
DOT_TIMEOUT = 60.0


class RenderError(RuntimeError):
    """Graphviz could not turn a picture into SVG; its DOT source is kept.

    ``reason`` says why in a few words (for one-line reports); ``dot_paths``
    are where the DOT sources were saved (empty if they could not be: a
    picture's source is still ``graph.source``), ``dot_path`` the first of them;
    ``written``, the SVGs of a batch (:func:`render_svgs`) rendered before it failed.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str = "",
        dot_paths: Sequence[Path] = (),
        written: Sequence[Path] = (),
    ) -> None:
        super().__init__(message)
        self.reason = reason or message
        self.dot_paths = list(dot_paths)
        self.written = list(written)

    @property
    def dot_path(self) -> Path | None:
        return self.dot_paths[0] if self.dot_paths else None


class GraphvizNotFoundError(RenderError):
    """The Graphviz executables (``dot``, ``neato``) are not installed."""


class RenderTimeoutError(RenderError):
    """Graphviz took longer than its timeout and was stopped."""


def require_graphviz(engine: str = "dot") -> str:
    """The path of Graphviz's ``engine`` executable; raise with install advice if missing."""
    exe = shutil.which(engine)
    if exe is None:
        raise GraphvizNotFoundError(
            f"rendering needs the Graphviz executable {engine!r}, which is not on PATH. "
            "Install Graphviz: `sudo apt-get install graphviz` (Debian/Ubuntu), "
            "`brew install graphviz` (macOS) or `conda install graphviz`. The picture's DOT "
            "source is still available as `graph.source`; save it with "
            "`autograd.draw.save_dot(graph, 'graph.dot')` and render it elsewhere with "
            "`dot -Tsvg graph.dot -o graph.svg`.",
            reason=f"Graphviz is not installed (no {engine!r} on PATH)",
        )
    return exe


def require_graphviz_package() -> None:
    """Raise with install advice unless the ``graphviz`` Python package can be imported."""
    try:
        import graphviz  # noqa: F401
    except ImportError:
        raise GraphvizNotFoundError(
            "pictures need the graphviz Python package, which cannot be imported; install "
            "it with `pip install graphviz` (it is valuegrad's one dependency)",
            reason="the graphviz Python package is not installed",
        ) from None


def run_graphviz(
    source: str, engine: str = "dot", format: str = "svg", timeout: float | None = DOT_TIMEOUT
) -> bytes:
    """Graphviz's ``engine`` run on DOT ``source``: the ``format`` output, or a RenderError."""
    exe = require_graphviz(engine)
    try:
        proc = subprocess.run(
            [exe, f"-T{format}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderTimeoutError(
            f"{engine}: still laying out the picture after {timeout:g} s, so it was stopped. "
            "Draw a smaller graph (an intermediate Value as root, a smaller model or batch, "
            "or keep the default max_nodes), or pass a longer timeout.",
            reason=f"{engine} took over {timeout:g} s",
        ) from None
    except OSError as e:
        raise RenderError(f"{engine}: cannot run {exe}: {e}", reason=f"cannot run {engine}") from e
    if proc.returncode:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise RenderError(
            f"{engine} failed (exit status {proc.returncode}): {err[:500]}",
            reason=f"{engine} failed: {err.splitlines()[0][:120] if err else 'no message'}",
        )
    return proc.stdout


@cache
def _picture_class() -> type:
    require_graphviz_package()
    import graphviz

    class Picture(graphviz.Digraph):
        """A ``graphviz.Digraph`` rendered under a timeout, explaining a missing Graphviz."""

        def pipe(
            self,
            format: str | None = None,
            renderer: str | None = None,
            formatter: str | None = None,
            neato_no_op: Any = None,
            quiet: bool = False,
            *,
            engine: str | None = None,
            encoding: str | None = None,
            timeout: float | None = DOT_TIMEOUT,
        ) -> Any:
            if neato_no_op:
                return super().pipe(format, renderer, formatter, neato_no_op, quiet,
                                    engine=engine, encoding=encoding)
            spec = ":".join(x for x in (format or self.format, renderer, formatter) if x)
            out = run_graphviz(self.source, engine or self.engine, spec, timeout)
            return out if encoding is None else out.decode(encoding)

        def render(self, *args: Any, **kwargs: Any) -> Any:
            require_graphviz(kwargs.get("engine") or self.engine)
            return super().render(*args, **kwargs)

    return Picture


def new_picture(
    name: str, *, engine: str = "dot", graph_attr: Mapping[str, str] | None = None
) -> graphviz.Digraph:
    """An empty picture with the house style (white background, Helvetica)."""
    attrs = {"bgcolor": "white", "fontname": FONT, "fontsize": "12", "pad": "0.25"}
    attrs.update(graph_attr or {})
    return _picture_class()(
        name,
        engine=engine,
        format="svg",
        graph_attr=attrs,
        node_attr={"fontname": FONT, "fontsize": "11", "color": MUTED, "fontcolor": INK},
        edge_attr={"color": LINE, "arrowsize": "0.6", "fontname": FONT, "fontsize": "10"},
    )


def save_dot(graph: graphviz.Digraph, path: str | os.PathLike) -> Path:
    """Write ``graph``'s DOT source to ``path`` (needs no Graphviz executable)."""
    return write_text_atomic(path, graph.source)


def _kept_source(
    e: RenderError, graphs: Sequence, paths: Sequence[Path], written: Sequence[Path] = ()
) -> RenderError:
    """``e`` again, after saving each graph's DOT source beside its SVG path; ``written``
    are the SVGs rendered before it."""
    try:
        saved = [save_dot(g, p.with_suffix(".dot")) for g, p in zip(graphs, paths)]
    except OSError as oe:
        note = f"the DOT source could not be saved either ({oe}); it is in graph.source"
        return type(e)(f"{e} ({note})", reason=e.reason, written=written)
    message = f"{e} (DOT source saved to {describe_paths(saved)})"
    return type(e)(message, reason=e.reason, dot_paths=saved, written=written)


def describe_paths(paths: Sequence[Path]) -> str:
    """``a.dot``, or ``first.dot .. last.dot`` for several files in one folder."""
    return str(paths[0]) if len(paths) == 1 else f"{paths[0]} .. {paths[-1].name}"



def render_svgs(
    graphs: Sequence[graphviz.Digraph],
    paths: Sequence[str | os.PathLike],
    *,
    timeout: float | None = DOT_TIMEOUT,
) -> list[Path]:
    """Write each graph as SVG to its path; on a RenderError keep every unrendered DOT source.

    Pictures rendered before the failure stay written (the error's ``written``);
    its ``dot_paths`` name the ``.dot`` files saved for the rest.
    """
    out_paths = [Path(p) for p in paths]
    done: list[Path] = []
    for k, (graph, path) in enumerate(zip(graphs, out_paths)):
        try:
            svg = run_graphviz(graph.source, graph.engine, "svg", timeout).decode("utf-8")
        except RenderError as e:
            raise _kept_source(e, graphs[k:], out_paths[k:], done) from None
        done.append(write_text_atomic(path, svg))
    return done
