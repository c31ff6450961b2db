"""SGD and Adam against steps worked out by hand from the update formulas."""

from __future__ import annotations

import math

import pytest

from autograd import Value
from nn import MLP, SGD, Adam, mse


def _param(data: float) -> Value:
    return Value(data, label="p")


def test_plain_sgd_step():
    p, q = _param(1.0), _param(-2.0)
    opt = SGD([p, q], lr=0.1)
    p.grad, q.grad = 0.5, -3.0
    opt.step()
    assert p.data == 1.0 - 0.1 * 0.5
    assert q.data == -2.0 + 0.1 * 3.0
    opt.zero_grad()
    assert p.grad == q.grad == 0.0


def test_sgd_momentum_and_weight_decay_two_steps():
    p = _param(1.0)
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    p.grad = 1.0
    opt.step()
    g1 = 1.0 + 0.01 * 1.0  # weight decay adds wd * p
    p1 = 1.0 - 0.1 * g1  # first step: buffer = g
    assert p.data == pytest.approx(p1, rel=1e-15)
    p.grad = 0.5
    opt.step()
    g2 = 0.5 + 0.01 * p1
    buf2 = 0.9 * g1 + g2
    assert p.data == pytest.approx(p1 - 0.1 * buf2, rel=1e-15)


def test_adam_two_steps_with_bias_correction():
    p = _param(1.0)
    opt = Adam([p], lr=0.1)  # betas (0.9, 0.999), eps 1e-8
    p.grad = 0.5
    opt.step()
    # step 1: m = 0.1*0.5 = 0.05, v = 0.001*0.25 = 0.00025;
    # m_hat = 0.05/0.1 = 0.5, v_hat = 0.00025/0.001 = 0.25, sqrt = 0.5
    p1 = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8)
    assert p.data == pytest.approx(p1, rel=1e-14)
    p.grad = -0.25
    opt.step()
    # step 2: m = 0.9*0.05 - 0.1*0.25 = 0.02, v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225
    m_hat = 0.02 / (1 - 0.9**2)
    v_hat = 0.00031225 / (1 - 0.999**2)
    assert p.data == pytest.approx(p1 - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8), rel=1e-13)
    assert opt.t == 2


def test_adam_weight_decay_is_l2_style():
    p = _param(2.0)
    opt = Adam([p], lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)
    p.grad = 0.5
    opt.step()
    g = 0.5 + 0.1 * 2.0
    m_hat = (0.2 * g) / 0.2
    v_hat = (0.1 * g * g) / 0.1
    assert p.data == pytest.approx(2.0 - 0.01 * m_hat / (math.sqrt(v_hat) + 1e-6), rel=1e-14)


def test_lr_is_mutable_between_steps():
    p = _param(0.0)
    opt = SGD([p], lr=1.0)
    p.grad = 1.0
    opt.lr = 0.25
    opt.step()
    assert p.data == -0.25


def test_optimisers_reduce_a_loss():
    for make in (lambda ps: SGD(ps, lr=0.05, momentum=0.9), lambda ps: Adam(ps, lr=0.02)):
        m = MLP(3, [8, 1], seed=0)
        opt = make(m.parameters())
        x, y = [0.5, -1.0, 2.0], 3.0
        first = mse(m(x), y).data
        for _ in range(40):
            loss = mse(m(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert mse(m(x), y).data < 0.01 * first


def test_non_finite_update_raises_and_changes_nothing():
    p, q = _param(1.0), _param(2.0)
    opt = Adam([p, q], lr=0.1)
    p.grad, q.grad = 1e200, 1e200  # g*g overflows to inf
    with pytest.raises(FloatingPointError, match=r"Adam\.step: update of p is not finite"):
        opt.step()
    assert (p.data, q.data, opt.t) == (1.0, 2.0, 0)
    s = SGD([p], lr=1e300)
    p.grad = 1e300
    with pytest.raises(FloatingPointError, match="nothing was changed"):
        s.step()
    assert p.data == 1.0


def test_bad_optimiser_arguments():
    with pytest.raises(ValueError, match="SGD: lr must be a finite number >= 0, got -1"):
        SGD([_param(0.0)], lr=-1)
    with pytest.raises(ValueError, match=r"Adam: betas\[1\] must be a finite number in \[0, 1\)"):
        Adam([_param(0.0)], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])
    with pytest.raises(TypeError, match=r"params\[1\] must be a Value, got 3\.0"):
        SGD([_param(0.0), 3.0], lr=0.1)
    p = _param(0.0)
    with pytest.raises(ValueError, match=r"params\[1\].*appears twice"):
        SGD([p, p], lr=0.1)
    opt = SGD([p], lr=0.1)
    opt.lr = "fast"
    with pytest.raises(ValueError, match="lr must be a finite number"):
        opt.step()


_BAD_SETTINGS = [
    (SGD, {"lr": math.nan}, "lr must be a finite number >= 0, got nan (float)"),
    (SGD, {"lr": math.inf}, "lr must be a finite number >= 0, got inf (float)"),
    (SGD, {"momentum": -0.5}, "momentum must be a finite number >= 0, got -0.5 (float)"),
    (SGD, {"momentum": math.nan}, "momentum must be a finite number >= 0, got nan (float)"),
    (SGD, {"weight_decay": -1e-4}, "weight_decay must be a finite number >= 0, got -0.0001"),
    (SGD, {"weight_decay": "0"}, "weight_decay must be a finite number >= 0, got '0' (str)"),
    (Adam, {"eps": 0.0}, "eps must be a finite number > 0, got 0.0 (float)"),
    (Adam, {"eps": -0.0}, "eps must be a finite number > 0, got -0.0 (float)"),
    (Adam, {"eps": -1e-8}, "eps must be a finite number > 0, got -1e-08 (float)"),
    (Adam, {"eps": math.nan}, "eps must be a finite number > 0, got nan (float)"),
    (Adam, {"lr": math.nan}, "lr must be a finite number >= 0, got nan (float)"),
    (Adam, {"lr": -1e-3}, "lr must be a finite number >= 0, got -0.001 (float)"),
    (Adam, {"betas": (1.0, 0.999)}, "betas[0] must be a finite number in [0, 1), got 1.0"),
    (Adam, {"betas": (-0.1, 0.999)}, "betas[0] must be a finite number in [0, 1), got -0.1"),
    (Adam, {"betas": (0.9, math.nan)}, "betas[1] must be a finite number in [0, 1), got nan"),
    (Adam, {"betas": (0.9,)}, "betas must be a pair of numbers, got (0.9,) (tuple)"),
    (Adam, {"betas": (0.9, 0.99, 0.1)}, "betas must be a pair of numbers, got (0.9, 0.99, 0.1)"),
    (Adam, {"betas": 0.9}, "betas must be an iterable of two numbers, got 0.9 (float)"),
    (Adam, {"betas": {0.9: 0, 0.99: 1}}, "betas must be an ordered iterable of two numbers"),
    (Adam, {"weight_decay": -0.1}, "weight_decay must be a finite number >= 0, got -0.1"),
    (Adam, {"weight_decay": math.inf}, "weight_decay must be a finite number >= 0, got inf"),
]


@pytest.mark.parametrize("cls, setting, message", _BAD_SETTINGS,
                         ids=[f"{c.__name__}-{s}" for c, s, _ in _BAD_SETTINGS])
def test_every_optimiser_setting_is_checked_at_construction_and_at_step(cls, setting, message):
    kwargs = {"lr": 0.1, **setting}
    p = _param(1.0)
    with pytest.raises(ValueError) as info:
        cls([p], **kwargs)
    assert str(info.value).startswith(f"{cls.__name__}: {message}")
    # The same setting edited in by hand after construction is refused by step(), before any
    # change, never as a ZeroDivisionError from inside the update.
    opt = cls([p], lr=0.1)
    for name, bad in setting.items():
        setattr(opt, name, bad)
    p.grad = 0.0
    with pytest.raises(ValueError) as info:
        opt.step()
    assert str(info.value).startswith(f"{cls.__name__}: {message}")
    assert p.data == 1.0


def test_adam_with_the_smallest_eps_steps_on_a_zero_gradient():
    p, q = _param(1.0), _param(2.0)
    opt = Adam([p, q], lr=0.1, eps=5e-324)
    p.grad, q.grad = 0.0, 0.5
    opt.step()
    assert p.data == 1.0 and q.data < 2.0


def test_optimiser_accepts_a_module():
    m = MLP(2, [2], seed=0)
    assert SGD(m, lr=0.1).params == m.parameters()
