"""autograd.checks: the one place for "op: what is wrong, got X"."""

from __future__ import annotations

import math
import time

import pytest

from autograd import Value, checks


def nested(depth: int) -> list:
    x: list = []
    for _ in range(depth):
        x = [x]
    return x


@pytest.mark.parametrize(
    "x, expected",
    [
        (3, "3 (int)"),
        ("abc", "'abc' (str)"),
        (None, "None (NoneType)"),
        (10**400, "an int of 401 digits"),
        (10**5000, "an int of 5,001 digits"),  # past Python's 4,300-digit repr limit
        (-(10**40), "a negative int of 41 digits"),
        (list(range(100)), "[0, 1, 2, 3, 4, 5, ...] (list)"),
        (nested(1000), "[[[[[[[...]]]]]]] (list)"),
        ([10**5000], "<list object> (list)"),  # repr() would refuse the int inside
    ],
    ids=lambda v: type(v).__name__,
)
def test_describe_is_a_short_repr_and_the_type(x, expected):
    assert checks.describe(x) == expected


def test_describe_cuts_a_huge_string_in_the_middle_without_building_its_repr():
    big = "a" * 10**6 + "z"
    start = time.perf_counter()
    text = checks.describe(big)
    assert time.perf_counter() - start < 0.05
    assert len(checks.short(big)) == 80
    assert text.startswith("'aaa") and text.endswith("az' (str)") and "..." in text


def test_describe_survives_a_broken_repr():
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert checks.describe(Broken()).endswith("(Broken)")


def test_describe_of_a_value_is_its_repr_alone():
    assert checks.describe(Value(2.0)) == repr(Value(2.0))


def test_short_keeps_a_container_of_long_items_to_80_characters():
    text = checks.short(["x" * 79] * 6)
    assert len(text) == 80 and text.endswith("...")


@pytest.mark.parametrize(
    "x, exc, message",
    [
        (0, ValueError, "f: n must be an int in [1, 4,294,967,295], got 0 (int)"),
        (2**32, ValueError, "f: n must be an int in [1, 4,294,967,295], got 4294967296 (int)"),
        (2.0, TypeError, "f: n must be an int in [1, 4,294,967,295], got 2.0 (float)"),
        (True, TypeError, "f: n must be an int in [1, 4,294,967,295], got True (bool)"),
        (10**400, ValueError, "f: n must be an int in [1, 4,294,967,295], got an int of 401 "
                              "digits"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_integer_checks_both_bounds(x, exc, message):
    with pytest.raises(exc) as info:
        checks.integer(x, "f", "n", low=1, high=2**32 - 1)
    assert str(info.value) == message


def test_integer_bounds_are_inclusive_and_optional():
    assert checks.integer(1, "f", "n", low=1, high=1) == 1
    assert checks.integer(-(10**100), "f", "n", high=0) == -(10**100)
    with pytest.raises(ValueError, match=r"^f: n must be an int <= 0, got 1 \(int\)$"):
        checks.integer(1, "f", "n", high=0)
    with pytest.raises(ValueError, match=r"^f: n must be an int >= 2, got 1 \(int\)$"):
        checks.integer(1, "f", "n", low=2)


@pytest.mark.parametrize(
    "x, message",
    [
        (0.0, "f: lr must be a finite number in (0, 10], got 0.0 (float)"),
        (10.5, "f: lr must be a finite number in (0, 10], got 10.5 (float)"),
        (math.nan, "f: lr must be a finite number in (0, 10], got nan (float)"),
        (10**400, "f: lr must be a finite number in (0, 10], got an int of 401 digits"),
    ],
)
def test_number_names_an_open_range(x, message):
    with pytest.raises(ValueError) as info:
        checks.number(x, "f", "lr", low=0.0, high=10.0, low_open=True)
    assert str(info.value) == message


def test_every_call_taking_a_sequence_refuses_a_set_or_a_mapping_naming_why():
    from autograd import dot, grad, vsum
    from nn import SGD

    x, y = Value(1.0), Value(2.0)
    calls = {
        "dot: weights": lambda bad: dot(bad, [x, y]),
        "sum: values": vsum,
        "grad: inputs": lambda bad: grad(x * y, bad),
        "SGD: params": lambda bad: SGD(bad, lr=0.1),
    }
    for bad, why in (({x, y}, "a set's order is arbitrary"),
                     (frozenset({x, y}), "a set's order is arbitrary"),
                     ({x: 1, y: 2}, "a mapping's keys are not its values")):
        for where, call in calls.items():
            with pytest.raises(TypeError) as info:
                call(bad)
            assert str(info.value).startswith(f"{where} must be an ordered iterable of ")
            assert f"({why}), got " in str(info.value)
    assert checks.sequence((v for v in [1, 2]), "f", "xs") == [1, 2]
    assert checks.sequence({1: "a"}.values(), "f", "xs") == ["a"]
