"""Fixed-width text tables: one formatter for every table the project prints.

``format_table(headers, rows, align="lrr")`` lines the columns up; cells are
``str()``-ed, so format numbers first (``autograd.style.fmt`` is the house
format).  Used by ``nn.format_gradients`` and the demos' tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["format_table"]


def format_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    align: str = "",
    rule: bool = True,
    title: str = "",
    gap: int = 2,
) -> str:
    """A fixed-width text table, one line per row.

    ``headers``: the column names.  ``rows``: one sequence of cells per row, as
    many as ``headers``; each cell is shown as ``str(cell)``.  ``align``: one
    letter per column, ``"l"`` (left, the default for a missing letter) or
    ``"r"`` (right: numbers).  ``rule``: a line of dashes under the headers.
    ``title``: a first line above it all.  ``gap``: spaces between columns.
    Trailing spaces are stripped from every line.

    >>> print(format_table(["name", "grad"], [["w", "1.5"], ["bias", "-0.25"]], align="lr"))
    name   grad
    ----  -----
    w       1.5
    bias  -0.25
    """
    head = [str(h) for h in headers]
    body = [[str(c) for c in row] for row in rows]
    for i, row in enumerate(body):
        if len(row) != len(head):
            raise ValueError(
                f"format_table: row {i} has {len(row)} cells for {len(head)} columns, got {row!r}"
            )
    if set(align) - {"l", "r"} or len(align) > len(head):
        raise ValueError(
            f"format_table: align must be up to {len(head)} letters 'l' or 'r', got {align!r}"
        )
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    right = [i < len(align) and align[i] == "r" for i in range(len(head))]
    space = " " * gap

    def line(cells: Sequence[str]) -> str:
        return space.join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)
        ).rstrip()

    lines = [title] if title else []
    lines.append(line(head))
    if rule:
        lines.append(space.join("-" * w for w in widths))
    lines += [line(r) for r in body]
    return "\n".join(lines)
