"""Which weights does this example push hardest?  Parameters ranked by |grad|."""

from __future__ import annotations

from collections.abc import Sequence

from autograd import checks
from autograd.table import format_table

from .module import Module

Row = tuple[str, float, float]


def top_gradients(model: Module, k: int | None = 10) -> list[Row]:
    """``[(name, value, grad), ...]`` for the ``k`` parameters with the largest |grad|.

    Ties keep ``named_parameters`` order; ``k=None`` returns every parameter.
    """
    if not isinstance(model, Module):
        raise TypeError(f"top_gradients: model must be a Module, got {checks.describe(model)}")
    if k is not None:
        checks.integer(k, "top_gradients", "k", low=0)
    rows = [(name, p.data, p.grad) for name, p in model.named_parameters()]
    rows.sort(key=lambda r: -abs(r[2]))
    return rows if k is None else rows[:k]


def format_gradients(rows: Sequence[Row]) -> str:
    """A fixed-width text table of ``top_gradients`` rows, largest |grad| first."""
    rows = checks.sequence(rows, "format_gradients", "rows", "(name, value, grad) rows")
    for i, r in enumerate(rows):
        if not (
            isinstance(r, (tuple, list))
            and len(r) == 3
            and isinstance(r[0], str)
            and checks.is_real(r[1])
            and checks.is_real(r[2])
        ):
            raise TypeError(
                f"format_gradients: rows[{i}] must be a (name, value, grad) tuple, "
                f"got {checks.describe(r)}"
            )
    cells = [
        (i, name, f"{value:+.5g}", f"{grad:+.5g}")
        for i, (name, value, grad) in enumerate(rows, 1)
    ]
    return format_table(("#", "parameter", "value", "grad"), cells, align="rlrr", rule=False)
