"""How every picture looks: palette, number format, label text and HTML-like widgets.

The one place that decides a picture's colours and states what they mean
(:data:`COLOUR_LANGUAGE`: blue positive / more positive, red negative / more
negative; each legend then says which number's sign, or which move, is
coloured: :func:`colour_key`), a colour per role, how a number is written
(:func:`fmt`, also in the text tables) and how any text becomes DOT
(:func:`html_text`, :func:`plain_text`: exactly as written, Graphviz's escapes
included, cut visibly when too long).
Shared by :mod:`autograd.draw`, :mod:`autograd.trace` and :mod:`nn.draw`; it
imports no Graphviz, so it is cheap to load.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .value import Value

# --- palette (ColorBrewer RdBu / PRGn / PuOr ends, readable on white) ---------------------

BLUE = "#2166ac"  # positive
RED = "#b2182b"  # negative
NEUTRAL = "#f7f7f7"  # about zero
INK = "#252525"
MUTED = "#737373"
LINE = "#8c8c8c"
HIGHLIGHT = "#f1b300"
FONT = "Helvetica"

# The one colour language of every picture, page and plot.  What is "positive" differs
# (a weight, a value, one descent step's move), so every legend says which (ENCODES).
COLOUR_LANGUAGE = "blue = positive / more positive, red = negative / more negative"
ENCODES = {
    "weight": "the weight's sign",
    "value": "the value's sign",
    "grad": "the gradient's sign",
    "step": "the direction one descent step moves it",
    "contribution": "the contribution's sign",
}
# Series told apart by colour (layers in a plot) use neither blue nor red: those mean signs.
SERIES = ("#762a83", "#e08214", "#1b7837", "#525252", "#8c510a", "#9970ab", "#5aae61")
MIN_TINT = 0.12  # the faintest shade of anything non-zero: small is never drawn as 0

# role: (fill, border); blue and red are kept for signs only.
ROLES = {
    "input": ("#d9f0d3", "#1b7837"),
    "parameter": ("#fee0b6", "#b35806"),
    "interior": ("#f0f0f0", "#737373"),
    "output": ("#e7d4e8", "#762a83"),
    "constant": ("#ffffff", "#bdbdbd"),  # a number lifted by an op: no gradient worth showing
}


# --- text ---------------------------------------------------------------------------------


def fmt(x: float, sign: str = "") -> str:
    """A number as pictures and text tables write it.

    4 decimals, or 4 significant digits in scientific notation below 0.001 or
    from 10,000 on, so that a column of them is at most 10 characters wide and
    small gradients keep their digits.  ``sign="+"`` writes a ``+`` before
    positive numbers too.  Zero is ``0.0000`` whatever its sign.
    """
    if x == 0.0:
        x = 0.0  # no "-0.0000"
    elif not 1e-3 <= abs(x) < 1e4:
        return f"{x:{sign}.3e}"
    return f"{x:{sign}.4f}"


_BREAK = re.compile("\r\n|\r|\n")
# XML's four, "]" (Graphviz 2.43 rejects a cell whose whole text is "]" or "]]") and the
# backslash: Graphviz expands its escapes (\N, \G, \E, \T, \H, \L, \l, \n, \r) inside
# HTML-like labels too, and "\\" is the one spelling of a backslash it leaves as one.
_HTML_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "]": "&#93;", "\\": "\\\\"}
)
# In a quoted label Graphviz reads entities too, and the graphviz package takes a label
# in <...> for HTML: escaping "<" keeps every plain label plain.
_PLAIN_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\\": "\\\\"}
)
MAX_TEXT = 1000  # characters of one text a picture shows; the rest become "… (+N chars)"
# Graphviz refuses an HTML-like label over 16,384 bytes (a caption holds a title, up to
# three notes and a legend): one text's markup stays under this many bytes.
_MAX_MARKUP = 3000


def label_text(v: Value) -> str:
    """``v.label`` as text: any object a user set is shown as ``str()`` of it, None as nothing."""
    label = v.label
    if isinstance(label, str):
        return label
    return "" if label is None else str(label)


def visible(text: str) -> str:
    """``text`` with characters no font can show (controls, surrogates) spelt as escapes.

    Newlines are kept (they become line breaks); everything else printable,
    including quotes, braces, ``|``, ``<``, ``>``, backslashes and non-ASCII,
    is kept as written.
    """
    out = []
    for ch in text:
        if ch in "\r\n":
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Zl", "Zp") or ch in "\ufffe\uffff":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def shorten(text: str) -> str:
    """``text`` cut visibly to what a picture can hold: ``MAX_TEXT`` characters and a note.

    Graphviz fails on labels past 16 KB; a cut ends in ``… (+N chars)``, N counting
    the characters left out, so nothing is dropped silently.
    """
    if len(text) <= MAX_TEXT and len(text.encode("utf-8")) * 6 <= _MAX_MARKUP:
        return text  # short enough whatever its escaping costs
    kept, size = 0, 0
    for ch in text[:MAX_TEXT]:
        size += len(visible(ch).translate(_HTML_ESCAPES).encode("utf-8"))
        if ch in "\r\n":
            size += 5  # <BR/>
        if size > _MAX_MARKUP - 40:  # room for the note
            break
        kept += 1
    if kept == len(text):
        return text
    return f"{text[:kept]}… (+{len(text) - kept:,} chars)"


def html_text(text: str) -> str:
    """``text`` escaped for a Graphviz HTML-like label: it renders exactly as written.

    With :func:`plain_text`, the one place text becomes DOT: every label, title,
    note and legend entry of every picture goes through one of the two (long
    ones are cut by :func:`shorten`).
    """
    lines = _BREAK.split(visible(shorten(text)))
    return "<BR/>".join(line.translate(_HTML_ESCAPES) for line in lines)


def plain_text(text: str) -> str:
    """``text`` escaped for a plain (quoted) Graphviz label: it renders exactly as written.

    The twin of :func:`html_text` for labels that are not HTML-like (an op's
    circle, nn's neuron values): the same escapes, with ``\\n`` for a line break.
    """
    lines = _BREAK.split(visible(shorten(text)))
    return "\\n".join(line.translate(_PLAIN_ESCAPES) for line in lines)


# --- colour -------------------------------------------------------------------------------


def mix(c1: str, c2: str, t: float) -> str:
    """The colour ``t`` of the way from ``c1`` to ``c2`` (both ``#rrggbb``)."""
    a = [int(c1[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(c2[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b))


def strength(x: float, scale: float) -> float:
    """How strongly (0..1) a magnitude ``|x|`` is drawn against ``scale`` (full at or above it).

    ``MIN_TINT + (1 - MIN_TINT) * sqrt(|x| / scale)``: the square root keeps small
    values visible next to large ones, and anything non-zero gets at least
    ``MIN_TINT``, so a small value never looks like 0.  Exactly 0 is 0.
    """
    if x == 0.0 or not scale > 0.0:
        return 0.0
    return MIN_TINT + (1.0 - MIN_TINT) * min(1.0, abs(x) / scale) ** 0.5


def signed_shade(x: float, scale: float, base: str = NEUTRAL) -> tuple[float, str]:
    """How strongly (0..1) and in which colour a signed quantity is drawn.

    Blue for positive, red for negative (:data:`COLOUR_LANGUAGE`), as strong as
    :func:`strength` says; exactly zero is ``base``.
    """
    t = strength(x, scale)
    if t == 0.0:
        return 0.0, base
    return t, mix(base, BLUE if x > 0.0 else RED, t)


def ink_on(t: float) -> str:
    """Text colour that stays readable on a shade of strength ``t``."""
    return "white" if t > 0.6 else INK



# --- HTML-like widgets ------------------------------------------------------------------


def table(
    cells: Iterable[str], *, fill: str, border: str, width: int = 1, stacked: bool = False
) -> str:
    """The box every value (one row of cells) and group (``stacked``: one cell a row) is."""
    rules, body = ("ROWS", "</TR><TR>".join(cells)) if stacked else ("COLUMNS", "".join(cells))
    return (
        f'<<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="2" CELLPADDING="4" '
        f'COLOR="{border}" BGCOLOR="{fill}" STYLE="rounded" {rules}="*"><TR>{body}</TR></TABLE>>'
    )


def cell(html: str, *, bg: str | None = None, ink: str | None = None, bold: bool = False) -> str:
    """One table cell of already escaped ``html``; a coloured cell is a rounded pill."""
    if bold:
        html = f"<B>{html}</B>"
    if ink:
        html = f'<FONT COLOR="{ink}">{html}</FONT>'
    if bg:
        return f'<TD BGCOLOR="{bg}" STYLE="rounded">{html}</TD>'
    return f"<TD>{html}</TD>"


def swatch(text: str, color: str, glyph: str = "■") -> str:
    """A legend entry: a coloured ``glyph`` and its meaning."""
    # An en space: SVG viewers drop a plain space at the start of the following text run.
    return f'<FONT COLOR="{color}">{glyph}\u2002</FONT>{html_text(text)}'


def legend_label(text: str) -> str:
    return f'<FONT COLOR="{MUTED}">{html_text(text)}</FONT>'


def caption(title: str, rows: Iterable[Iterable[str]], notes: Iterable[str] = ()) -> str:
    """A graph label: a bold ``title``, legend rows (of swatches), then small notes."""
    # Plain text runs, not nested tables: Graphviz stretches nested tables to the widest row.
    parts = [
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="15"><B>{html_text(title)}</B></FONT></TD></TR>'
    ]
    for row in rows:
        row = list(row)
        if row:
            parts.append(
                f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="11">{"   ".join(row)}</FONT></TD></TR>'
            )
    for note in notes:
        parts.append(
            f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="10" COLOR="{MUTED}">{html_text(note)}'
            "</FONT></TD></TR>"
        )
    return '<<TABLE BORDER="0" CELLSPACING="2" CELLPADDING="1">' + "".join(parts) + "</TABLE>>"


def colour_key(encodes: str, positive: str = "positive", negative: str = "negative",
               glyphs: tuple[str, str] = ("■", "■")) -> list[str]:
    """A legend's statement of what its blue and red encode: ``colour = <encodes>: blue
    <positive>, red <negative>``.  ``encodes`` is a key of :data:`ENCODES` (or the text)."""
    what = ENCODES.get(encodes, encodes)
    return [legend_label(f"colour = {what}:"), swatch(f"blue {positive}", BLUE, glyphs[0]),
            swatch(f"red {negative}", RED, glyphs[1])]


def scale_text(scale: float, fixed: bool) -> str:
    """How a picture's scale was chosen, for its legend."""
    return (f"fixed scale: full at {fmt(scale)} and above" if fixed
            else f"scale: this picture's largest, {fmt(scale)}")


def grad_legend(scale: float, what: str = "grad", fixed: bool = False) -> list[list[str]]:
    """Legend rows for the gradient colours: what they encode, and the scale of the shades."""
    cells = [legend_label(f"{what} shade:")]
    for x in (-scale, -scale / 4, 0.0, scale / 4, scale):
        _, fill = signed_shade(x, scale)
        cells.append(swatch(fmt(x), fill) if x else swatch(f"{fmt(x)} exactly", LINE, "□"))
    cells.append(legend_label(f"(∝ √|{what}|, any non-zero tinted; {scale_text(scale, fixed)})"))
    return [colour_key("grad", f"{what} > 0", f"{what} < 0"), cells]



def html_label(text: str) -> str:
    return f"<{html_text(text)}>"

