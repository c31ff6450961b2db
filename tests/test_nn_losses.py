"""Losses: value against the hand formula, gradient against central differences."""

from __future__ import annotations

import math

import pytest

from autograd import Value, grad, gradcheck
from nn import (
    MLP,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    l2_penalty,
    mse,
    softmax,
)

LOGITS = [0.5, -1.2, 2.0, 0.1]


def assert_gradients_ok(f, xs):
    report = gradcheck(f, xs)
    assert report.all_ok, str(report)


def test_mse_value_and_gradient():
    pred, target = [0.5, -1.0, 2.5], [1.0, 0.0, 2.0]
    expected = ((0.5 - 1.0) ** 2 + (-1.0) ** 2 + 0.5**2) / 3
    assert mse([Value(p) for p in pred], target).data == pytest.approx(expected, rel=1e-15)
    assert mse(Value(3.0), 1.0).data == 4.0
    assert_gradients_ok(lambda *ps: mse(list(ps), target), pred)
    ps = [Value(p) for p in pred]
    assert grad(mse(ps, target), ps) == pytest.approx(
        [2 * (p - t) / 3 for p, t in zip(pred, target)], rel=1e-15
    )


def test_softmax_values_sum_to_one_and_gradients_check():
    probs = softmax([Value(v) for v in LOGITS])
    z = sum(math.exp(v) for v in LOGITS)
    assert [p.data for p in probs] == pytest.approx([math.exp(v) / z for v in LOGITS], rel=1e-14)
    assert sum(p.data for p in probs) == pytest.approx(1.0, rel=1e-15)
    for k in range(len(LOGITS)):
        assert_gradients_ok(lambda *ls, k=k: softmax(list(ls))[k], LOGITS)


def test_softmax_is_stable_for_huge_logits():
    probs = softmax([Value(1000.0), Value(-1000.0), Value(999.0)])
    e = math.exp(-1.0)
    assert [p.data for p in probs] == pytest.approx([1 / (1 + e), 0.0, e / (1 + e)], rel=1e-14)


@pytest.mark.parametrize("target", range(len(LOGITS)))
def test_cross_entropy_value_and_gradient(target):
    expected = math.log(sum(math.exp(v) for v in LOGITS)) - LOGITS[target]
    ls = [Value(v) for v in LOGITS]
    loss = cross_entropy(ls, target)
    assert loss.data == pytest.approx(expected, rel=1e-14)
    z = sum(math.exp(v) for v in LOGITS)
    onehot = [1.0 if i == target else 0.0 for i in range(len(LOGITS))]
    assert grad(loss, ls) == pytest.approx(
        [math.exp(v) / z - t for v, t in zip(LOGITS, onehot)], rel=1e-12
    )
    assert_gradients_ok(lambda *xs: cross_entropy(list(xs), target), LOGITS)


def test_cross_entropy_at_plus_minus_1000_is_finite_and_exact():
    ls = [Value(1000.0), Value(-1000.0), Value(0.0)]
    right = cross_entropy(ls, 0)
    assert right.data == 0.0  # log(1 + e^-1000 + e^-2000) rounds to 0
    assert grad(right, ls) == [0.0, 0.0, 0.0]
    wrong = cross_entropy(ls, 1)
    assert wrong.data == 2000.0
    assert grad(wrong, ls) == [1.0, -1.0, 0.0]
    assert math.isfinite(cross_entropy([Value(-1000.0)] * 3, 2).data)
    assert cross_entropy([Value(-1000.0)] * 3, 2).data == pytest.approx(math.log(3), rel=1e-15)


def test_cross_entropy_rejects_bad_class_index():
    ls = [Value(0.0)] * 10
    with pytest.raises(ValueError, match=r"target class index 10 is out of range for 10 logits "
                                         r"\(expected 0\.\.9\)"):
        cross_entropy(ls, 10)
    with pytest.raises(ValueError, match="index -1 is out of range"):
        cross_entropy(ls, -1)
    with pytest.raises(TypeError, match=r"target must be a class index \(int\), got 3\.0"):
        cross_entropy(ls, 3.0)
    with pytest.raises(TypeError, match="target must be a class index"):
        cross_entropy(ls, True)
    with pytest.raises(TypeError, match=r"logits\[1\] must be a Value or a number, got 'x'"):
        cross_entropy([Value(0.0), "x"], 0)


def _bce(x: float, y: float) -> float:
    s = 1 / (1 + math.exp(-x))
    return -(y * math.log(s) + (1 - y) * math.log(1 - s))


@pytest.mark.parametrize("x", [-3.0, -0.4, 0.7, 2.5])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.25])
def test_binary_cross_entropy_value_and_gradient(x, y):
    loss = binary_cross_entropy_with_logits(Value(x), y)
    assert loss.data == pytest.approx(_bce(x, y), rel=1e-12)
    assert_gradients_ok(lambda v: binary_cross_entropy_with_logits(v, y), [x])


def test_binary_cross_entropy_at_zero_and_at_extremes():
    for y in (0.0, 1.0, 0.3):
        x = Value(0.0)
        loss = binary_cross_entropy_with_logits(x, y)
        assert loss.data == pytest.approx(math.log(2), rel=1e-15)
        assert grad(loss, x) == pytest.approx(0.5 - y, abs=1e-15)  # sigmoid(0) - y
    big = Value(800.0)
    assert binary_cross_entropy_with_logits(big, 0.0).data == 800.0
    assert grad(binary_cross_entropy_with_logits(big, 0.0), big) == 1.0
    assert binary_cross_entropy_with_logits(big, 1.0).data == 0.0
    assert binary_cross_entropy_with_logits(Value(-800.0), 1.0).data == 800.0


def test_binary_cross_entropy_means_over_lists_and_checks_targets():
    xs, ys = [0.3, -1.0], [1.0, 0.0]
    loss = binary_cross_entropy_with_logits([Value(x) for x in xs], ys)
    assert loss.data == pytest.approx((_bce(0.3, 1.0) + _bce(-1.0, 0.0)) / 2, rel=1e-14)
    with pytest.raises(ValueError, match=r"y\[0\] must be in \[0, 1\], got 2\.0"):
        binary_cross_entropy_with_logits(Value(0.0), 2.0)
    with pytest.raises(ValueError, match="logit has 2 values but y has 1"):
        binary_cross_entropy_with_logits([Value(0.0), Value(1.0)], [1.0])


def test_hinge_loss_matches_micrograd_formula():
    scores, labels = [0.3, -2.0, 1.5, -0.2], [1, -1, -1, 1]
    expected = sum(max(0.0, 1 - y * s) for s, y in zip(scores, labels)) / 4
    assert hinge_loss([Value(s) for s in scores], labels).data == pytest.approx(expected, rel=1e-15)
    # no score sits on the hinge (1 - y*s = 0), so the loss is differentiable here
    assert_gradients_ok(lambda *ss: hinge_loss(list(ss), labels), scores)
    with pytest.raises(ValueError, match="labels must be -1 or \\+1, got 0 at index 1"):
        hinge_loss([Value(0.0), Value(1.0)], [1, 0])
    with pytest.raises(ValueError, match="scores has 2 values but labels has 3"):
        hinge_loss([Value(0.0), Value(1.0)], [1, 1, -1])


def test_l2_penalty_is_one_dot_node_with_the_right_gradient():
    m = MLP(2, [3, 1], seed=0)
    ps = m.parameters()
    pen = l2_penalty(m, alpha=1e-2)
    assert pen.data == pytest.approx(1e-2 * sum(p.data**2 for p in ps), rel=1e-14)
    assert pen.parents[1].op == "dot"
    assert grad(pen, ps) == pytest.approx([2e-2 * p.data for p in ps], rel=1e-14)
    assert_gradients_ok(lambda *vs: l2_penalty(vs, alpha=0.5), [0.3, -1.2, 2.0])
    assert l2_penalty(ps).data == pytest.approx(1e-4 * sum(p.data**2 for p in ps), rel=1e-14)
    with pytest.raises(TypeError, match=r"^l2_penalty: params\[1\] must be a Value, "
                                        r"got 2\.0 \(float\)$"):
        l2_penalty([Value(1.0), 2.0])
    with pytest.raises(TypeError, match=r"^l2_penalty: params\[0\] must be a Value, "
                                        r"got 'xxxxx.*\.\.\..*xxx' \(str\)$"):
        l2_penalty(["x" * 10**6])  # checks.describe's short form, not a megabyte repr


def test_losses_train_a_model_end_to_end():
    m = MLP(4, [8, 3], seed=0)
    data = [([1.0, 0.0, 0.0, 1.0], 0), ([0.0, 1.0, 1.0, 0.0], 1), ([1.0, 1.0, 0.0, 0.0], 2)]

    def total() -> Value:
        return sum((cross_entropy(m(x), t) for x, t in data), Value(0.0))

    start = total().data
    for _ in range(50):
        loss = total()
        m.zero_grad()
        loss.backward()
        for p in m.parameters():
            p.data -= 0.1 * p.grad
    assert total().data < 0.2 * start
