"""Input checks shared by ``autograd`` and ``nn``: one place for "op: what is wrong, got X".

Every public call checks its arguments with these validators before it does any
work, so bad input fails at the call that received it, naming the call, the
argument and the value (``SGD: lr must be a finite number >= 0, got inf``), and
never as an ``AttributeError`` or ``'NoneType' object is not iterable`` from deep
inside.  Types that are wrong raise ``TypeError``, values that are wrong
``ValueError``.  :func:`describe` keeps the "got X" part short whatever X is (a
5,000-digit int, a million-item list, a list nested 1,000 deep): :func:`short` cuts
its repr as ``reprlib`` does, level by level, so no huge repr is ever built.

Only :func:`real` is on a hot path (every number an op lifts): it calls
:func:`describe` on failure only.
"""

from __future__ import annotations

import math
import numbers
import os
import reprlib
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any, Callable

from .node import Node

_MAX_REPR = 80
_REPR = reprlib.Repr()  # containers cut to a few items and 6 levels; strings/objects to 80
_REPR.maxstring = _REPR.maxother = _MAX_REPR


def describe(x: Any) -> str:
    """``x`` as it appears after "got": a :func:`short` repr and its type."""
    text = short(x)
    if type(x).__name__ == "Value" or _huge_int(x):  # "an int of 401 digits" says its type
        return text
    return f"{text} ({type(x).__name__})"


def short(x: Any) -> str:
    """``repr(x)`` in at most 80 characters, however large or deep ``x`` is.

    Strings and objects are cut in the middle, containers after a few items and 6
    levels (``reprlib``), so a megabyte string or a list nested 1,000 deep costs
    nothing; an int past 30 digits is named by its length.
    """
    if _huge_int(x):
        return f"{'a negative' if x < 0 else 'an'} int of {_digits(x):,} digits"
    try:
        text = _REPR.repr(x)
    except Exception:  # a broken __repr__, an int in a list past Python's 4,300 digits
        text = f"<{type(x).__name__} object>"
    if len(text) > _MAX_REPR:  # six items of 80 characters each
        text = text[: _MAX_REPR - 3] + "..."
    return text


def _huge_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and _digits(x) > 30


def describe_int(n: int) -> str:
    """``n`` with thousands separators, or, past 30 digits, its order of magnitude."""
    return f"{n:,}" if _digits(n) <= 30 else f"about 10^{_digits(n) - 1}"


def _digits(n: int) -> int:
    # str() of a huge int is slow and, past 4,300 digits, refused by Python 3.11+.
    n = abs(n)
    if n < 10**30:
        return len(str(n))
    return int(n.bit_length() * math.log10(2)) + 1


def is_real(x: Any) -> bool:
    """A real number that is not a bool (``True`` is an ``int`` to Python, not to us)."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def number(
    x: Any,
    op: str,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real setting (a rate, a tolerance...) in ``[low, high]`` as a float.

    ``low_open``/``high_open`` exclude the bound itself.  Bools, non-numbers,
    NaN, infinities and ints too large for a float are refused.
    """
    rng = _range_text(low, high, low_open, high_open)
    if not is_real(x):
        raise TypeError(f"{op}: {name} must be a finite number{rng}, got {describe(x)}")
    try:
        f = float(x)
    except (OverflowError, ValueError):
        f = math.inf
    if (
        not math.isfinite(f)
        or (low is not None and (f < low or (low_open and f == low)))
        or (high is not None and (f > high or (high_open and f == high)))
    ):
        raise ValueError(f"{op}: {name} must be a finite number{rng}, got {describe(x)}")
    return f


def _range_text(low: Any, high: Any, low_open: bool, high_open: bool) -> str:
    # Any, not float | None: compiled (Cython), that annotation would turn an int bound into a
    # float, and 4,294,967,295 into 4.29497e+09.
    if low is not None and high is not None:
        return (f" in {'(' if low_open else '['}{_bound(low)}, {_bound(high)}"
                f"{')' if high_open else ']'}")
    if low is not None:
        return f" {'>' if low_open else '>='} {_bound(low)}"
    if high is not None:
        return f" {'<' if high_open else '<='} {_bound(high)}"
    return ""


def _bound(b: Any) -> str:
    # An int bound in full (a seed's 4,294,967,295, not 4.29497e+09).
    return f"{b:,}" if isinstance(b, int) else f"{b:g}"


def integer(
    x: Any, op: str, name: str, *, low: int | None = None, high: int | None = None
) -> int:
    """An int (not a bool) in ``[low, high]`` (either bound may be left out)."""
    rng = _range_text(low, high, False, False)
    if not isinstance(x, numbers.Integral) or isinstance(x, bool):
        raise TypeError(f"{op}: {name} must be an int{rng}, got {describe(x)}")
    if (low is not None and x < low) or (high is not None and x > high):  # type: ignore[operator]  # an Integral compares with int
        raise ValueError(f"{op}: {name} must be an int{rng}, got {describe(x)}")
    return int(x)


def is_finite_real(x: Any) -> bool:
    """A finite real number: a float, or an int or other real a user's vjp returned."""
    return (x.__class__ is float or isinstance(x, numbers.Real)) and x - x == 0.0


def flag(x: Any, op: str, name: str) -> bool:
    """A bool, exactly (``raise_on_failure="no"`` is a mistake, not a truthy value)."""
    if not isinstance(x, bool):
        raise TypeError(f"{op}: {name} must be True or False, got {describe(x)}")
    return x


def function(f: Any, op: str, name: str) -> Callable[..., Any]:
    if not callable(f):
        raise TypeError(f"{op}: {name} must be callable, got {describe(f)}")
    return f


def path(x: Any, op: str, name: str = "path") -> Any:
    """A file name: a ``str`` or an ``os.PathLike``.  Not an int, which ``open`` would
    take as a file descriptor (``open(1)`` is stdout, and closing it closes stdout)."""
    if not isinstance(x, (str, os.PathLike)):
        raise TypeError(f"{op}: {name} must be a str or a path, got {describe(x)}")
    return x


def sequence(x: Any, op: str, name: str, what: str = "values") -> list:
    """An ordered iterable (a list, a tuple, a generator, a numpy array...) as a new list.

    A string or bytes (one value, not many), a mapping (its keys are names, not values)
    and a set (its order is arbitrary, so the result would change from run to run) are
    refused.
    """
    if isinstance(x, (Mapping, AbstractSet)):
        why = ("a set's order is arbitrary" if isinstance(x, AbstractSet)
               else "a mapping's keys are not its values")
        raise TypeError(
            f"{op}: {name} must be an ordered iterable of {what} ({why}), got {describe(x)}"
        )
    if x is None or isinstance(x, (str, bytes, bytearray)) or not isinstance(x, Iterable):
        raise TypeError(f"{op}: {name} must be an iterable of {what}, got {describe(x)}")
    return list(x)


def rng_seed(x: Any, op: str, name: str = "seed") -> int | None:
    """A random seed: an int >= 0 (not a bool), or None for "draw one".

    ``random.Random`` would take a float, a str or bytes (hashed) and a negative int
    (as its absolute value, so -1 and 1 would give the same weights): all refused.
    """
    if x is None:
        return None
    if not isinstance(x, numbers.Integral) or isinstance(x, bool):
        raise TypeError(f"{op}: {name} must be an int >= 0 or None, got {describe(x)}")
    if x < 0:
        raise ValueError(f"{op}: {name} must be an int >= 0 or None, got {describe(x)}")
    return int(x)


def value(x: Any, op: str, name: str) -> Any:
    """A :class:`~autograd.Value`."""
    if not isinstance(x, Node):
        raise TypeError(f"{op}: {name} must be a Value, got {describe(x)}")
    return x


def values(x: Any, op: str, name: str) -> list:
    """One Value or an iterable of Values, as a list; an element that is not one is named."""
    if isinstance(x, Node):
        return [x]
    xs = sequence(x, op, name, "Values")
    for i, v in enumerate(xs):
        if not isinstance(v, Node):
            raise TypeError(f"{op}: {name}[{i}] must be a Value, got {describe(v)}")
    return xs


def seed(gradient: Any, op: str) -> float:
    """The gradient a backward pass starts from: a finite number, or a Value's data
    (as PyTorch's ``backward(gradient=tensor)``)."""
    if isinstance(gradient, Node):
        gradient = gradient.data  # type: ignore[attr-defined]  # Node's fields are __slots__ (node.pxd types them)
    try:
        return real(gradient, op, "gradient")
    except OverflowError as e:  # a huge int: wrong value, not an arithmetic accident
        raise ValueError(str(e)) from None


def stored(x: Any, field: str) -> float:
    """What may be stored in a node's ``.data`` or ``.grad`` (``field``, as
    ``"Value.data"``): a real number, as the float it equals.

    An int or a numpy scalar becomes a float, as the compiled engine's C double
    would make it, so both engines compute in the same floats; a complex, a str,
    None or a Value (micrograd's slip ``x.grad += out``) is refused, naming the
    field.  Infinities and NaN are kept: the next op or backward names them.
    """
    if isinstance(x, Node):
        raise TypeError(
            f"{field}: must be a number, got the Value {short(x)}; assign its number, "
            f"{field.rpartition('.')[2]} = v.data"
        )
    if not isinstance(x, numbers.Real):
        raise TypeError(f"{field}: must be a real number, got {describe(x)}")
    try:
        return float(x)
    except OverflowError:
        raise OverflowError(f"{field}: {describe(x)} is too large for a float") from None


def sent(x: Any, symbol: str) -> float:
    """A gradient a rule's vjp sent on the float pass, as the float it equals
    (:func:`stored`'s rule: a numpy float32 would otherwise keep accumulating in
    float32 in pure Python, where the compiled engine adds C doubles)."""
    if isinstance(x, numbers.Real) and not isinstance(x, Node):
        return float(x)
    hint = "; on the float pass a vjp gets floats and returns floats" if isinstance(x, Node) else ""
    raise TypeError(
        f"backward: the vjp of rule {symbol!r} must return a number per input, "
        f"got {describe(x)}{hint}"
    )


def forward_result(x: Any, symbol: str) -> float:
    """What a rule's forward returned, as the float it equals; a str (which
    ``float()`` would parse), a complex or a Value is refused, naming the rule."""
    if not isinstance(x, numbers.Real) or isinstance(x, Node):
        raise TypeError(
            f"{symbol}: the rule's forward must return a real number, got {describe(x)}"
        )
    try:
        return float(x)
    except OverflowError:
        raise OverflowError(f"{symbol}: result overflows a float, got {describe(x)}") from None


# Calls whose argument is a number only: a Value there is a mistake, not an operand.
_DATA_ONLY = frozenset({"Value", "constant"})


def real(x: Any, op: str, what: str = "") -> float:
    """A raw number for ``op`` as a finite float; raise naming the op and the value otherwise.

    ``what`` names the argument (``"gradient"``); without it the message reads as
    an operand's, which may be a number or a Value.  On every op's hot path (a
    number lifted to a constant), hence the exact-class tests first.
    """
    if x.__class__ is not float and x.__class__ is not int and not isinstance(x, numbers.Real):
        if what:
            expected = f"{what} must be a real number"
        elif op in _DATA_ONLY:
            expected = "expected a real number"
        else:
            expected = "expected a real number or Value"
        hint = " (a Value: pass its .data, or use .detach())" if isinstance(x, Node) else ""
        raise TypeError(f"{op}: {expected}, got {describe(x)}{hint}")
    try:
        f = float(x)
    except OverflowError:  # ints too: float(10**400) overflows
        raise OverflowError(f"{op}: {describe(x)} is too large for a float") from None
    if f - f != 0.0:  # kinds.is_finite inlined (kinds sits above this module): hot
        raise ValueError(f"{op}: value must be finite, got {x!r}")
    return f
