"""Grids of small pixel pictures (weights, saliency, digits, nudges) as a plain SVG string.

A weight image of a 784-input neuron is 784 coloured squares; sixteen of them are
12,544, which Graphviz would lay out as nodes.  These pictures have no graph to
lay out, so they are written directly as SVG, a panel (:class:`Panel`) per picture,
each row of pixels as strokes (one per run of equal colour).  The colours are
style.py's: a signed panel mixes from ``NEUTRAL`` (0) to ``BLUE`` (``+scale``) or
``RED`` (``-scale``) *linearly*, in ``LEVELS`` steps, so a pixel's shade is
proportional to its value; an ink panel is a digit, white
(0) to near-black (``scale``).  Every panel of a picture is drawn on the scale
it is given, never on its own maximum, so the caller decides what is comparable
and the legend says it.

:class:`SvgPicture` shows inline in Jupyter (``_repr_svg_``) and saves
atomically (:meth:`SvgPicture.save`).  Needs nothing outside Python.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from autograd.files import write_text_atomic
from autograd.style import BLUE, FONT, INK, MUTED, NEUTRAL, RED, mix

__all__ = ["Panel", "SvgPicture", "draw_grid", "reshape", "signed_color"]

KINDS = ("signed", "ink")
PANEL_SIDE = 84.0  # px: the longer side of a panel
GAP = 12.0
LEVELS = 32  # shades per sign: finer than the eye tells apart, few enough to group by colour
TEXT = 11.0


def reshape(values: Sequence[float], shape: tuple[int, int]) -> list[list[float]]:
    """A flat list as ``shape[0]`` rows of ``shape[1]`` values (row-major, as the pixels)."""
    rows, cols = shape
    return [list(values[r * cols : (r + 1) * cols]) for r in range(rows)]


def signed_color(v: float, scale: float) -> str:
    """``NEUTRAL`` at exactly 0, linearly (in ``LEVELS`` steps, to the nearest, the first
    step at least) to ``BLUE`` at ``+scale`` or ``RED`` at ``-scale``; clipped beyond."""
    if scale <= 0.0 or v == 0.0:
        return NEUTRAL
    # At least the first step: a small value never looks like an exact 0.
    t = max(1, round(min(1.0, abs(v) / scale) * LEVELS)) / LEVELS
    return mix(NEUTRAL, BLUE if v > 0.0 else RED, t)


def _ink(v: float, scale: float) -> str:
    t = 0.0 if scale <= 0.0 else max(0.0, min(1.0, v / scale))
    return mix("#ffffff", "#202020", round(t * LEVELS) / LEVELS)


@dataclass(frozen=True)
class Panel:
    """One small picture: ``values`` (rows of numbers) drawn as ``kind`` on ``scale``.

    ``kind``: ``"signed"`` (blue positive, red negative, full colour at ``|scale|``)
    or ``"ink"`` (a digit: white 0, black ``scale``).  ``title`` above, ``caption``
    below; ``highlight`` draws a thicker frame.
    """

    values: list[list[float]]
    kind: str = "signed"
    scale: float = 1.0
    title: str = ""
    caption: str = ""
    highlight: bool = False
    pixel: float | None = None  # px per value; None: the panel fits the grid's side

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Panel: kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.values), max((len(r) for r in self.values), default=0)


class SvgPicture:
    """An SVG picture as text: shows inline in Jupyter, ``save(path)`` writes it atomically."""

    def __init__(self, svg: str) -> None:
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg

    def __str__(self) -> str:
        return self.svg

    def save(self, path: str | os.PathLike) -> Path:
        return write_text_atomic(path, self.svg)


def _pixel(panel: Panel, side: float = PANEL_SIDE) -> float:
    if panel.pixel is not None:
        return panel.pixel
    rows, cols = panel.shape
    return max(3.0, min(10.0, side / max(rows, cols, 1)))


def _text(x: float, y: float, s: str, *, size: float = TEXT, color: str = INK,
          anchor: str = "start", bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" fill="{color}" '
            f'text-anchor="{anchor}"{weight}>{escape(s)}</text>')


def _panel_svg(p: Panel, x: float, y: float, px: float) -> list[str]:
    # One unit per value, scaled to px; each colour is one path of 1-unit-wide strokes, a run
    # of equal colours in a row one stroke: a 784-pixel image stays a few kilobytes, so the
    # notebooks that store these pictures stay small.
    color = signed_color if p.kind == "signed" else _ink
    runs: dict[str, list[str]] = {}
    for r, row in enumerate(p.values):
        fills = [color(v, p.scale) for v in row]
        c = 0
        while c < len(fills):
            end = c
            while end < len(fills) and fills[end] == fills[c]:
                end += 1
            runs.setdefault(fills[c], []).append(f"M{c} {r}.5h{end - c}")
            c = end
    out = [f'<g transform="translate({x:.1f},{y:.1f}) scale({px:.3g})" stroke-width="1">']
    out += [f'<path d="{"".join(d)}" stroke="{fill}"/>' for fill, d in runs.items()]
    out.append("</g>")
    rows, cols = p.shape
    out.append(f'<rect x="{x:.2f}" y="{y:.2f}" width="{cols * px:.2f}" height="{rows * px:.2f}" '
               'fill="none" stroke="#bdbdbd" stroke-width="0.6"/>')
    if p.highlight:  # outside the pixels, so it hides none of them
        out.append(f'<rect x="{x - 2.5:.2f}" y="{y - 2.5:.2f}" width="{cols * px + 5:.2f}" '
                   f'height="{rows * px + 5:.2f}" fill="none" stroke="{INK}" stroke-width="1.5"/>')
    return out


def draw_grid(
    rows: Sequence[Sequence[Panel | None]],
    *,
    title: str = "",
    legend: str = "",
    notes: Sequence[str] = (),
    row_titles: Sequence[str] | None = None,
    column_titles: Sequence[str] | None = None,
    side: float = PANEL_SIDE,
) -> SvgPicture:
    """Panels in rows (``None`` leaves a cell empty), a bold ``title`` above, a ``legend``
    line and small ``notes`` below; optional titles for each row (left) and column (top).
    ``side``: a panel's longer side in px (a pixel is 3 to 10 px whatever it says)."""

    def pixel(p: Panel) -> float:
        return _pixel(p, side)

    rows = [list(r) for r in rows]
    ncols = max((len(r) for r in rows), default=0)
    widths = [0.0] * ncols
    heights = [0.0] * len(rows)
    for i, row in enumerate(rows):
        for c, p in enumerate(row):
            if p is not None:
                px = pixel(p)
                r_, c_ = p.shape
                widths[c] = max(widths[c], c_ * px, 6.5 * max(len(p.title), len(p.caption)))
                heights[i] = max(heights[i], r_ * px)
    left = 8.0 + (7.0 * max(len(t) for t in row_titles) + 8.0 if row_titles else 0.0)
    top = 8.0 + (20.0 if title else 0.0)
    head_lines = max((len(t.split("\n")) for t in column_titles), default=0) if column_titles else 0
    top += head_lines * (TEXT + 3)
    cell_h = [h + 2 * (TEXT + 4) for h in heights]  # title above, caption below
    body = []
    xs = [left]
    for w in widths:
        xs.append(xs[-1] + w + GAP)
    y = top
    if column_titles:
        for c, t in enumerate(column_titles[:ncols]):
            for k, line in enumerate(t.split("\n")):
                body.append(_text(xs[c], top - (head_lines - k) * (TEXT + 3) + TEXT, line,
                                  bold=True, size=TEXT))
    for i, row in enumerate(rows):
        if row_titles and i < len(row_titles):
            body.append(_text(8.0, y + TEXT + 4 + heights[i] / 2 + 4, row_titles[i], bold=True))
        for c, p in enumerate(row):
            if p is None:
                continue
            x = xs[c]
            if p.title:
                body.append(_text(x, y + TEXT, p.title, size=TEXT - 1, color=INK))
            body += _panel_svg(p, x, y + TEXT + 4, pixel(p))
            if p.caption:
                body.append(_text(x, y + TEXT + 4 + p.shape[0] * pixel(p) + TEXT + 2, p.caption,
                                  size=TEXT - 1.5, color=MUTED))
        y += cell_h[i] + GAP
    foot = [legend] if legend else []
    foot += list(notes)
    for k, line in enumerate(foot):
        body.append(_text(8.0, y + k * (TEXT + 5) + TEXT, line, size=TEXT - (0 if k == 0 else 1),
                          color=INK if k == 0 and legend else MUTED))
    height = y + len(foot) * (TEXT + 5) + 8.0
    width = max(xs[-1], 8.0 + 8.4 * len(title),
                8.0 + 6.2 * max((len(s) for s in foot), default=0)) + 8.0
    head = _text(8.0, 8.0 + 14.0, title, size=14, bold=True) if title else ""
    svg = (
        f'<svg width="{width:.0f}pt" height="{height:.0f}pt" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="{FONT}, Arial, sans-serif">\n'
        f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="white"/>\n'
        + head + "\n" + "\n".join(body) + "\n</svg>\n"
    )
    return SvgPicture(svg)
