"""Small expressions shared by the tests of pictures and traces."""

from __future__ import annotations

from autograd import Value


def micrograd_example() -> tuple[Value, dict[str, Value]]:
    """micrograd's lesson example ``L = (a*b + c) * f``, labelled, before backward."""
    a, b, c, f = (Value(x, label=n) for x, n in [(2.0, "a"), (-3.0, "b"), (10.0, "c"), (-2.0, "f")])
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    L.label = "L"
    return L, {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}
