"""Which weights does this example push hardest?  Parameters ranked by |grad|."""

from __future__ import annotations

from collections.abc import Sequence

from autograd.table import format_table

from .module import Module

Row = tuple[str, float, float]


def top_gradients(model: Module, k: int | None = 10) -> list[Row]:
    """``[(name, value, grad), ...]`` for the ``k`` parameters with the largest |grad|.

    Ties keep ``named_parameters`` order; ``k=None`` returns every parameter.
    """
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 0):
        raise ValueError(f"top_gradients: k must be a non-negative int or None, got {k!r}")
    rows = [(name, p.data, p.grad) for name, p in model.named_parameters()]
    rows.sort(key=lambda r: -abs(r[2]))
    return rows if k is None else rows[:k]


def format_gradients(rows: Sequence[Row]) -> str:
    """A fixed-width text table of ``top_gradients`` rows, largest |grad| first."""
    cells = [
        (i, name, f"{value:+.5g}", f"{grad:+.5g}")
        for i, (name, value, grad) in enumerate(rows, 1)
    ]
    return format_table(("#", "parameter", "value", "grad"), cells, align="rlrr", rule=False)
