"""autograd.gradcheck: report, failures, kinks, domain edges, second order."""

from __future__ import annotations

import math

import pytest

import autograd.rules as R
from autograd import (
    GradcheckError,
    GradcheckReport,
    GradcheckRow,
    Rule,
    Value,
    apply,
    gradcheck,
    no_grad,
)


def smooth(x: Value, y: Value) -> Value:
    return (x * y).tanh() + x.exp() / y + (y * y + 1.0).log() * x.sigmoid()


def test_smooth_function_passes_with_a_row_per_input() -> None:
    report = gradcheck(smooth, [0.5, Value(2.0, label="y")])
    assert isinstance(report, GradcheckReport)
    assert report.passed and report.all_ok and bool(report)
    assert [r.name for r in report] == ["x0", "y"]
    assert [r.index for r in report] == [(0,), (1,)]
    assert len(report) == 2 and report[1].x == 2.0
    for row in report:
        assert isinstance(row, GradcheckRow)
        assert row.status == "ok" and row.passed and row.note == ""
        assert row.rel_error < 1e-8
        assert row.abs_error == abs(row.analytic - row.numeric)


def test_analytic_values_are_the_hand_derivatives() -> None:
    x, y = 0.5, 2.0
    t = math.tanh(x * y)
    s = 1.0 / (1.0 + math.exp(-x))
    dx = y * (1 - t * t) + math.exp(x) / y + math.log(y * y + 1) * s * (1 - s)
    dy = x * (1 - t * t) - math.exp(x) / y**2 + 2 * y / (y * y + 1) * s
    report = gradcheck(smooth, [x, y])
    assert [r.analytic for r in report] == pytest.approx([dx, dy], rel=1e-12)


def test_report_prints_a_table() -> None:
    text = str(gradcheck(smooth, [0.5, Value(2.0, label="y")]))
    lines = text.splitlines()
    assert lines[0].startswith("gradcheck order 1: passed (eps=1e-06, atol=1e-05, rtol=0.001)")
    assert lines[1].split() == ["input", "x", "analytic", "numeric", "rel", "err", "status", "note"]
    assert lines[3].split()[0] == "y" and lines[3].split()[-1] == "ok"
    assert len(lines) == 4


def test_inputs_are_left_alone() -> None:
    x = Value(0.5, label="x")
    x.grad = 7.0
    gradcheck(smooth, [x, 2.0])
    gradcheck(smooth, [x, 2.0], order=2)
    assert (x.data, x.grad, x.label, x.is_leaf) == (0.5, 7.0, "x", True)


def test_works_inside_no_grad() -> None:
    with no_grad():
        assert gradcheck(smooth, [0.5, 2.0]).all_ok
        assert gradcheck(smooth, [0.5, 2.0], order=2).all_ok


def test_single_input_need_not_be_a_list() -> None:
    report = gradcheck(lambda x: x**3, 2.0)
    assert report[0].analytic == 12.0 and report.all_ok


def test_unused_input_gets_zero() -> None:
    report = gradcheck(lambda x, y: x * 3.0, [1.0, 5.0])
    assert report[1].analytic == 0.0 and report[1].numeric == 0.0 and report.all_ok


def wrong_tanh(g, out, x):
    return (g * (1.0 - out),)


def test_a_wrong_rule_fails_and_can_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(R.TANH, "vjp", wrong_tanh)
    report = gradcheck(smooth, [0.5, 2.0])
    assert not report.passed and not bool(report)
    assert [r.status for r in report] == ["FAIL", "FAIL"]
    assert report.failures == list(report)
    assert "FAILED (2 of 2)" in str(report)
    with pytest.raises(GradcheckError) as info:
        gradcheck(smooth, [0.5, 2.0], raise_on_failure=True)
    assert info.value.report.failures and "FAIL" in str(info.value)
    assert isinstance(info.value, AssertionError)


def test_raise_on_failure_is_quiet_when_it_passes() -> None:
    assert gradcheck(smooth, [0.5, 2.0], raise_on_failure=True).passed


@pytest.mark.parametrize("op", [Value.relu, abs])
def test_on_a_kink_it_says_so(op) -> None:
    report = gradcheck(lambda x: op(x) * 3.0 + x, [0.0])
    (row,) = report
    assert row.status == "kink" and report.passed and not report.all_ok
    assert "at its kink" in row.note and "one-sided" in row.note


def test_near_a_kink_within_a_step_it_says_so() -> None:
    (row,) = gradcheck(lambda x: x.relu(), [3e-7])  # h = 1e-6 reaches past 0
    assert row.status == "kink" and "within" in row.note
    (far,) = gradcheck(lambda x: x.relu(), [1e-3])
    assert far.status == "ok"


def test_kink_reached_through_other_ops_uses_the_chain() -> None:
    # relu's input u = 100 * (x - 0.5): a step of 1e-6 in x moves u by 1e-4,
    # so u = 5e-5 is within reach of the kink although it is 50 steps away.
    f = lambda x: ((x - 0.5) * 100.0).relu()  # noqa: E731
    (row,) = gradcheck(f, [0.5 + 5e-7])
    assert row.status == "kink" and "relu input 5e-05 is within 0.0002 of its kink" in row.note
    assert gradcheck(f, [0.5 + 5e-4])[0].status == "ok"


def test_kink_only_counts_for_inputs_that_move_it() -> None:
    report = gradcheck(lambda a, b: a.relu() * b, [0.0, 2.0])
    assert [r.status for r in report] == ["kink", "ok"]


def _user_relu(vjp) -> Rule:
    return Rule("myrelu", 1, lambda x: max(x, 0.0), vjp)  # no kink predicate


def test_kink_found_by_one_sided_differences_without_graph_help() -> None:
    rule = _user_relu(lambda g, out, x: (g * (1.0 if x > 0.0 else 0.0),))
    (row,) = gradcheck(lambda x: apply(rule, x), [0.0])
    assert row.status == "kink" and "one-sided differences disagree" in row.note


def test_analytic_outside_one_sided_range_at_a_kink_fails() -> None:
    rule = _user_relu(lambda g, out, x: (g * 5.0,))
    (row,) = gradcheck(lambda x: apply(rule, x), [0.0])
    assert row.status == "FAIL" and "outside" in row.note


def test_domain_edge_is_reported_not_failed() -> None:
    (row,) = gradcheck(lambda x: x.sqrt(), [0.0])
    assert row.status == "domain" and row.passed
    assert "f fails at x-h" in row.note and "sqrt" in row.note
    assert math.isnan(row.analytic)  # d sqrt / dx is infinite at 0


def test_domain_edge_uses_a_one_sided_difference() -> None:
    # sqrt(x)^4 = x^2 is smooth but only defined for x >= 0; x - h < 0 here.
    x = 5e-7
    (row,) = gradcheck(lambda v: v.sqrt() ** 4 + v * 2.0, [x])
    assert row.status == "domain" and "forward difference agrees" in row.note
    assert row.passed and row.numeric == pytest.approx(2 * x + 2.0, rel=1e-9)


def test_domain_on_both_sides() -> None:
    (row,) = gradcheck(lambda x: (x * x * -1.0).sqrt(), [0.0])
    assert row.status == "domain" and math.isnan(row.numeric)


def test_second_order_matches_the_hessian() -> None:
    report = gradcheck(lambda x, y: x * x * y + y**3 + (x * y).tanh(), [1.5, -0.5], order=2)
    assert report.all_ok and report.order == 2
    assert [r.index for r in report] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [r.name for r in report] == ["x0,x0", "x0,x1", "x1,x0", "x1,x1"]
    x, y = 1.5, -0.5
    t = math.tanh(x * y)
    d2t = -2 * t * (1 - t * t)
    cross = 2 * x + (1 - t * t) + x * y * d2t
    hand = [2 * y + y * y * d2t, cross, cross, 6 * y + x * x * d2t]
    assert [r.analytic for r in report] == pytest.approx(hand, rel=1e-12)


def test_second_order_catches_a_rule_that_is_only_first_order_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def constant_slope(g, out, x):  # 1 - out^2 treated as a constant on the Value path
        d = out.data if isinstance(out, Value) else out
        return (g * (1.0 - d * d),)

    monkeypatch.setattr(R.TANH, "vjp", constant_slope)
    assert gradcheck(lambda x: x.tanh(), [0.7]).all_ok
    report = gradcheck(lambda x: x.tanh(), [0.7], order=2)
    assert [r.status for r in report] == ["FAIL"]


def test_second_order_kink() -> None:
    (row,) = gradcheck(lambda x: x.relu() * x, [0.0], order=2)
    assert row.status == "kink"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        gradcheck(smooth, [1.0, 2.0], order=3)
    with pytest.raises(ValueError, match="eps"):
        gradcheck(smooth, [1.0, 2.0], eps=0.0)
    with pytest.raises(ValueError, match="at least one input"):
        gradcheck(smooth, [])
    with pytest.raises(TypeError, match=r"gradcheck: inputs\[0\] must be a real number"):
        gradcheck(smooth, ["1", 2.0])
    with pytest.raises(ValueError, match="finite"):
        gradcheck(smooth, [math.nan, 2.0])
    with pytest.raises(TypeError, match="f must return a Value"):
        gradcheck(lambda x: 3.0, [1.0])


def test_f_failing_at_the_point_itself_raises_its_error() -> None:
    with pytest.raises(ValueError, match="log"):
        gradcheck(lambda x: x.log(), [-1.0])
