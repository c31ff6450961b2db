"""Optimisers with PyTorch's habits: ``opt.zero_grad(); loss.backward(); opt.step()``.

Update rules are PyTorch's (``torch.optim.SGD`` without dampening or Nesterov,
``torch.optim.Adam`` with L2-style ``weight_decay``).  A step is all or
nothing: every new value is computed and checked first, so a non-finite
gradient raises instead of quietly writing NaN into the model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Union

from autograd import Value, checks
from autograd.checks import describe

from .module import Module

Params = Union[Module, Iterable[Value]]


def _real(
    x: Any, name: str, who: str, low: float = 0.0, high: float | None = None,
    low_open: bool = False,
) -> float:
    """A finite setting in ``[low, high)`` (``(low, high)`` with ``low_open``): a ValueError
    naming it otherwise (even for a str or an int too large for a float, so one
    ``except ValueError`` catches them all)."""
    try:
        return checks.number(x, who, name, low=low, high=high, low_open=low_open,
                             high_open=True)
    except TypeError as e:
        raise ValueError(str(e)) from None


class Optimizer:
    """Holds the parameter list; subclasses implement :meth:`_updates`."""

    def __init__(self, params: Params, lr: float) -> None:
        who = type(self).__name__
        if isinstance(params, Module):
            ps = params.parameters()
        else:
            ps = checks.sequence(params, who, "params", "Values (or a Module)")
        if not ps:
            raise ValueError(f"{who}: got an empty parameter list")
        seen: set[int] = set()
        for i, p in enumerate(ps):
            if not isinstance(p, Value):
                raise TypeError(
                    f"{who}: params[{i}] must be a Value, got {p!r} ({type(p).__name__})"
                )
            if id(p) in seen:
                raise ValueError(f"{who}: params[{i}] ({p!r}) appears twice")
            seen.add(id(p))
        self.params: list[Value] = ps
        self.lr = lr
        self._check_settings()

    def _check_settings(self) -> None:
        """Check every hyper-parameter, storing each as a float; raise naming the first bad
        one.  Run at construction and again before every step: a setting changed by hand
        (``opt.lr = ...`` for a schedule) is held to the same rules."""
        self.lr = _real(self.lr, "lr", type(self).__name__)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0.0."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Apply one update from the current ``.grad`` values: all of it, or, if anything
        stops it (a non-finite update, Ctrl-C), none of it."""
        self._check_settings()
        # Subclasses replace their state (buffers, step count) rather than mutate it,
        # so a shallow copy of it, and the old data, undo a step cut short anywhere.
        state = dict(self.__dict__)
        old = [p.data for p in self.params]
        try:
            new = self._updates()
            for p, d in zip(self.params, new):
                p.data = d
        except BaseException:
            for p, d in zip(self.params, old):
                p.data = d
            self.__dict__.update(state)
            raise

    def _updates(self) -> list[float]:
        raise NotImplementedError

    def _check(self, *columns: list[float]) -> None:
        """Raise naming the first parameter whose new value (or state) is inf or nan."""
        for column in columns:
            if not all(map(math.isfinite, column)):  # in C; the culprit only when there is one
                raise self._bad(next(i for i, x in enumerate(column) if not math.isfinite(x)))

    def _bad(self, i: int) -> FloatingPointError:
        p = self.params[i]
        return FloatingPointError(
            f"{type(self).__name__}.step: update of {p.label or f'params[{i}]'} is not finite "
            f"(data={p.data!r}, grad={p.grad!r}); nothing was changed"
        )


class SGD(Optimizer):
    """``SGD(params, lr, momentum=0, weight_decay=0)``.

    ``g = grad + wd * p``; with momentum ``buf = momentum * buf + g`` (``buf = g``
    on the first step) and ``g = buf``; then ``p -= lr * g``.
    """

    def __init__(
        self, params: Params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        self.momentum, self.weight_decay = momentum, weight_decay
        super().__init__(params, lr)
        self._bufs: list[float] | None = None

    def _check_settings(self) -> None:
        super()._check_settings()
        self.momentum = _real(self.momentum, "momentum", "SGD")
        self.weight_decay = _real(self.weight_decay, "weight_decay", "SGD")

    def _updates(self) -> list[float]:
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        ps = self.params
        gs = [p.grad + wd * p.data for p in ps] if wd else [p.grad for p in ps]
        if mu:
            bufs = gs if self._bufs is None else [mu * b + g for b, g in zip(self._bufs, gs)]
            gs = bufs
        new = [p.data - lr * g for p, g in zip(ps, gs)]
        self._check(new)
        if mu:
            self._bufs = bufs
        return new


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``.

    With ``g = grad + wd * p`` and step count ``t``: ``m = b1 m + (1-b1) g``,
    ``v = b2 v + (1-b2) g²``, ``p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)``.
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        super().__init__(params, lr)
        self.t = 0
        n = len(self.params)
        self._m = [0.0] * n
        self._v = [0.0] * n

    def _check_settings(self) -> None:
        super()._check_settings()
        try:
            betas = checks.sequence(self.betas, "Adam", "betas", "two numbers")
        except TypeError as e:  # a ValueError, as every other bad setting here
            raise ValueError(str(e)) from None
        if len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair of numbers, got {describe(self.betas)}")
        self.betas = (
            _real(betas[0], "betas[0]", "Adam", 0.0, 1.0),
            _real(betas[1], "betas[1]", "Adam", 0.0, 1.0),
        )
        # eps > 0: with 0, a parameter whose gradient has always been 0 divides 0 by 0.
        self.eps = _real(self.eps, "eps", "Adam", low_open=True)
        self.weight_decay = _real(self.weight_decay, "weight_decay", "Adam")

    def _updates(self) -> list[float]:
        (b1, b2), eps, wd, lr = self.betas, self.eps, self.weight_decay, self.lr
        t = self.t + 1
        c1 = 1.0 - b1**t
        c2 = 1.0 - b2**t
        sqrt = math.sqrt
        ms, vs, new = [], [], []
        for p, m, v in zip(self.params, self._m, self._v):
            g = p.grad + wd * p.data if wd else p.grad
            m = b1 * m + (1.0 - b1) * g
            v = b2 * v + (1.0 - b2) * g * g
            ms.append(m)
            vs.append(v)
            new.append(p.data - lr * (m / c1) / (sqrt(v / c2) + eps))
        self._check(new, vs)  # an overflowed v would silently freeze the parameter
        self._m, self._v, self.t = ms, vs, t
        return new
