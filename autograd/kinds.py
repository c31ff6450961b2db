"""Rule kinds: the one place that knows how a node holds its parents.

A :class:`~autograd.value.Value` made by an op has two parent slots, ``_a`` and
``_b``, and what they hold depends on the kind of its rule:

=============  ======================  ==========================================
kind           ``_a``                  ``_b``
=============  ======================  ==========================================
``Unary``      the input               unused
``Binary``     the left input          the right input (``Product``: ``*``, and
                                       ``Linear``: ``+``, ``-``, call their rule's ``d``)
``Nary``       a tuple of the inputs   unused
``Bilinear``   a tuple, the 1st half   a tuple, the 2nd half (``dot``: weights, inputs)
``Closure``    a tuple of children     unused (micrograd's hand-built node)
``LocalGrads`` a tuple of children     a tuple of their local derivatives (microgpt's)
=============  ======================  ==========================================

Only this module reads or writes those slots.  Each kind says, for its own
nodes, what their parents are (:meth:`RuleKind.parents`), how to record one
(``record``), how backward's float pass sends a gradient to the parents
(:meth:`RuleKind.send`), what the rule sends each parent as floats
(:meth:`RuleKind.vjp_of`) or as Values when a gradient graph is recorded
(:meth:`RuleKind.vjp_graph`), its local derivatives (for the trace and gradcheck)
and whether a node sits on a kink.  ``backward``, ``grad``, ``trace_backward``,
``gradcheck`` and the pictures all go through these methods.

``Rule(symbol, arity, forward, vjp, ...)`` returns the kind that fits
(``arity`` 1, 2 or 0, and ``partners`` for a bilinear op), so a new op is still
one declaration in :mod:`autograd.rules` (or in user code) used with
:func:`autograd.apply`.  Every kind is a :class:`RuleKind`, and ``isinstance(r,
Rule)`` holds for all of them.  ``Rule`` picks the kind in a factory rather than
being the kinds' base class so that the kinds can be extension types with C-level
methods in the optional compiled build (``kinds.pxd``): an extension type cannot
have a ``__new__`` that returns another class.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence, Set
from typing import Any, Callable

from .checks import describe, real, sent, sequence
from .grad_mode import grad_enabled_flag
from .node import collectable

__all__ = [
    "LOCAL_GRADS",
    "Bilinear",
    "Binary",
    "Closure",
    "Linear",
    "LocalGrads",
    "Nary",
    "Product",
    "Rule",
    "RuleKind",
    "Unary",
    "VjpShapeError",
    "is_finite",
]

# Whether ops record (no_grad turns it off): the ContextVar's bound ``get``, called
# once per op without looking the method up each time.
_recording = grad_enabled_flag.get

# Errors that mean "no derivative here" rather than "the rule is broken".
_UNDEFINED = (ArithmeticError, ValueError)


def is_finite(x: float) -> bool:
    """``x`` is neither infinite nor NaN: ``x - x`` is 0.0 exactly then.

    The one spelling of the test.  Hot loops (backward's, the ops') write
    ``x - x != 0.0`` inline instead, to save a call per node.
    """
    return x - x == 0.0


class VjpShapeError(TypeError):
    """A rule's vjp returned something other than one gradient per input."""


def _bad_vjp(node: Any, gs: Any) -> VjpShapeError:
    rule = node._rule
    return VjpShapeError(
        f"backward: the vjp of rule {rule.symbol!r} must return one gradient per input "
        f"({len(rule.parents(node))}), got {describe(gs)}"
    )


def _checked(node: Any, ps: Sequence, gs: Any) -> Any:
    """``gs`` if it holds one gradient per parent; zip would drop the rest without a word.

    Any ordered iterable is taken (a generator included); a dict (whose keys
    unpacking would take) or a set (in no order) is refused.
    """
    if isinstance(gs, (Mapping, Set, str, bytes)):
        raise _bad_vjp(node, gs)
    try:
        n = len(gs)
    except TypeError:
        try:
            gs = tuple(gs)
            n = len(gs)
        except TypeError:
            n = -1
    if n != len(ps):
        raise _bad_vjp(node, gs)
    return gs


class RuleKind:
    """One differentiable op: its symbol, arity, float forward and vjp; the base of
    every kind.

    Made with :class:`Rule`, which picks the kind that fits ``arity`` (and
    ``partners``): :class:`Unary`, :class:`Binary`, :class:`Nary` or
    :class:`Bilinear`.  ``forward``, ``vjp``, ``kink`` and ``domain`` take the
    inputs as separate arguments for a unary or binary rule, as one sequence for
    an n-ary one.
    """

    __slots__ = ("symbol", "arity", "forward", "vjp", "domain", "law", "kink", "partners", "finite")

    def __init__(
        self,
        symbol: str,
        arity: int,
        forward: Callable[..., float],
        vjp: Callable[..., Any],
        domain: Callable[..., str | None] | None = None,
        law: str = "",
        kink: Callable[..., bool] | None = None,
        partners: Callable[[Sequence, Sequence], tuple[Sequence, Sequence]] | None = None,
        finite: bool = False,
    ) -> None:
        kind = _kind_for(symbol, arity, forward, vjp, partners)
        if type(self) in _KINDS and type(self) is not kind:
            raise ValueError(
                f"Rule {symbol!r}: a {type(self).__name__} rule cannot have arity {arity}"
                f"{' and partners' if partners is not None else ''}; Rule(...) picks the kind"
            )
        self.symbol = symbol  # what graphs and micrograd's ``_op`` show
        self.arity = arity  # 1, 2, or 0 for n-ary
        self.forward = forward
        self.vjp = vjp
        # Only consulted after forward failed, so it costs nothing on the hot path.
        self.domain = domain
        self.law = law  # how the rule routes gradient, for the backward trace
        self.kink = kink  # True where the op is not differentiable (relu/abs at 0)
        self.partners = partners  # bilinear ops only: see autograd.rules
        # The local derivatives are finite wherever forward succeeds, so a zero
        # upstream gradient sends only zeros, and backward may skip the node.
        self.finite = finite

    def __repr__(self) -> str:
        return f"Rule({self.symbol!r})"

    # --- calling conventions: separate arguments, or one sequence (n-ary) -----------

    def forward_on(self, datas: Sequence[float]) -> float:
        """The forward of the inputs' ``datas`` (a list)."""
        return self.forward(*datas)

    def vjp_on(self, g: Any, out: Any, args: Sequence) -> Any:
        """The rule's vjp for upstream ``g``, output ``out`` and inputs ``args`` (a list)."""
        return self.vjp(g, out, *args)

    def domain_on(self, datas: Sequence[float]) -> str | None:
        """Why forward failed at ``datas``, if the rule says (None otherwise)."""
        return None if self.domain is None else self.domain(*datas)

    def kink_on(self, datas: Sequence[float]) -> bool:
        return bool(self.kink(*datas))

    # --- a node's shape ---------------------------------------------------------------

    def parents(self, node: Any) -> tuple:
        """The inputs ``node`` was computed from, in order."""
        raise NotImplementedError

    def check_operands(self, n: int) -> None:
        """Refuse ``n`` operands that do not fit: extra ones would be silently dropped."""

    def record_operands(self, out: Any, operands: Sequence) -> None:
        """Make ``out`` this rule's node over ``operands`` (already checked to fit)."""
        raise NotImplementedError

    # --- gradients ----------------------------------------------------------------------

    def send(self, node: Any, g: float) -> None:
        """Backward's float step: add ``g`` times each local derivative to the parents'
        ``.grad``."""
        ps = self.parents(node)
        for p, gp in zip(ps, self.vjp_of(node, g)):
            p._grad += gp

    def vjp_of(self, node: Any, g: float) -> Sequence[float]:
        """What the rule sends each parent for upstream ``g``, as floats (one per parent)."""
        ps = self.parents(node)
        gs = _checked(node, ps, self.vjp_on(g, node._data, [p._data for p in ps]))
        return [gp if gp.__class__ is float else sent(gp, self.symbol) for gp in gs]

    def vjp_graph(self, node: Any, g: Any) -> Sequence:
        """The same as differentiable Values (``grad(..., create_graph=True)``)."""
        ps = self.parents(node)
        return _checked(node, ps, self.vjp_on(g, node, ps))

    def local_derivatives(self, node: Any) -> tuple[float, ...]:
        """d node / d parent for each parent (what the rule sends for upstream 1);
        NaN where the rule has no finite derivative here."""
        try:
            return tuple(float(d) for d in self.vjp_of(node, 1.0))
        except _UNDEFINED:
            return (float("nan"),) * len(self.parents(node))

    def at_kink(self, node: Any) -> bool:
        """``node`` sits where its op is not differentiable (relu at 0)."""
        if self.kink is None:
            return False
        try:
            return self.kink_on([p._data for p in self.parents(node)])
        except _UNDEFINED:
            return False

    def kink_within(self, node: Any, reach: float) -> bool:
        """The local derivative jumps within ``reach`` of the node's input.

        Only a unary rule can tell (its one input moves along a line); others say no.
        """
        return False


class Unary(RuleKind):
    """``_a`` is the input."""

    __slots__ = ()

    def parents(self, node: Any) -> tuple:
        return (node._a,)

    def record(self, out: Any, x: Any) -> None:
        if _recording():
            out._rule = self
            out._a = x
        else:
            out._rule = None

    def check_operands(self, n: int) -> None:
        if n != 1:
            raise TypeError(f"{self.symbol}: a unary rule takes 1 operand, got {n}")

    def record_operands(self, out: Any, operands: Sequence) -> None:
        self.record(out, operands[0])

    def send(self, node: Any, g: float) -> None:
        a = node._a
        gs = self.vjp(g, node._data, a._data)
        if gs.__class__ is not tuple:
            gs = _checked(node, (a,), gs)
        (ga,) = gs
        a._grad += ga if ga.__class__ is float else sent(ga, self.symbol)

    def kink_within(self, node: Any, reach: float) -> bool:
        u = node._a._data
        try:
            lo, hi = self._derivative_at(u - reach), self._derivative_at(u + reach)
        except _UNDEFINED:
            return False
        return abs(hi - lo) > _JUMP * max(1.0, abs(lo), abs(hi))

    def _derivative_at(self, u: float) -> float:
        return float(self.vjp(1.0, self.forward(u), u)[0])


_JUMP = 1e-3  # relative jump of a local derivative that counts as crossing a kink


class Binary(RuleKind):
    """``_a`` and ``_b`` are the left and right inputs."""

    __slots__ = ()

    def parents(self, node: Any) -> tuple:
        return (node._a, node._b)

    def record(self, out: Any, a: Any, b: Any) -> None:
        if _recording():
            out._rule = self
            out._a = a
            out._b = b
        else:
            out._rule = None

    def check_operands(self, n: int) -> None:
        if n != 2:
            raise TypeError(f"{self.symbol}: a binary rule takes 2 operands, got {n}")

    def record_operands(self, out: Any, operands: Sequence) -> None:
        self.record(out, operands[0], operands[1])

    def send(self, node: Any, g: float) -> None:
        a = node._a
        b = node._b
        gs = self.vjp(g, node._data, a._data, b._data)
        if gs.__class__ is not tuple:
            gs = _checked(node, (a, b), gs)
        ga, gb = gs
        a._grad += ga if ga.__class__ is float else sent(ga, self.symbol)
        b._grad += gb if gb.__class__ is float else sent(gb, self.symbol)


class Product(Binary):
    """A binary rule whose local derivatives its rule states as one function,
    ``d(a, b) -> (d out/d a, d out/d b)``, in :mod:`autograd.rules` beside its
    forward: ``Product("*", operator.mul, d=lambda a, b: (b, a))``.

    Both passes run that statement: backward's float step calls it on the inputs'
    floats (``a.grad += g * da``), and the vjp (``grad(create_graph=True)``, the
    trace, gradcheck) calls it on whatever it is given, Values included.
    """

    __slots__ = ("d",)

    def __init__(
        self, symbol: str, forward: Callable[[float, float], float],
        d: Callable[[Any, Any], tuple[Any, Any]], law: str = "",
    ) -> None:
        if not callable(d):
            raise TypeError(f"{type(self).__name__} {symbol!r}: d must be callable, got {d!r}")
        super().__init__(symbol, 2, forward, _LocalVjp(d), law=law, finite=True)
        self.d = d

    def send(self, node: Any, g: float) -> None:
        a = node._a
        b = node._b
        da, db = self.d(a._data, b._data)
        a._grad += g * da
        b._grad += g * db


class Linear(Product):
    """A :class:`Product` whose local derivatives are constants (``+``, ``-``):
    ``Linear("-", operator.sub, d=lambda a, b: (1.0, -1.0))``, or the constants
    themselves, ``Linear("-", operator.sub, (1.0, -1.0))`` (checked finite).

    Its vjp sends ``g`` itself for a derivative 1 and ``-g`` for -1, so a recorded
    gradient graph has no ``* 1`` nodes; for a float, ``g * 1.0`` is ``g`` and
    ``g * -1.0`` is ``-g`` exactly, so the float step gives the same bits.
    """

    __slots__ = ()

    def __init__(
        self, symbol: str, forward: Callable[[float, float], float],
        coefficients: tuple[float, float] | None = None, law: str = "",
        d: Callable[[Any, Any], tuple[Any, Any]] | None = None,
    ) -> None:
        if (coefficients is None) == (d is None):
            raise TypeError(
                f"Linear {symbol!r}: give either coefficients or d, got both or neither"
            )
        if d is None:
            d = _constants(symbol, coefficients)
        super().__init__(symbol, forward, d, law=law)


def _constants(symbol: str, coefficients: Any) -> Callable[[Any, Any], tuple[float, float]]:
    what = f"Linear {symbol!r}"
    cs = sequence(coefficients, what, "coefficients", "numbers")
    if len(cs) != 2:
        raise ValueError(f"{what}: coefficients must be two numbers, got {describe(coefficients)}")
    ca, cb = (real(c, what, "a coefficient") for c in cs)
    return lambda a, b: (ca, cb)


def _times(g: Any, d: Any) -> Any:
    """``g * d``, as ``g`` itself for a float 1 and ``-g`` for -1 (a Value: no extra node)."""
    if d.__class__ is float:
        if d == 1.0:
            return g
        if d == -1.0:
            return -g
    return g * d


class _LocalVjp:
    """The vjp of a binary rule stated by its local derivatives ``d``: ``g`` times
    each.  A class rather than a closure, so that its nodes pickle."""

    __slots__ = ("d",)

    def __init__(self, d: Callable[[Any, Any], tuple[Any, Any]]) -> None:
        self.d = d

    def __call__(self, g: Any, out: Any, a: Any, b: Any) -> tuple:
        da, db = self.d(a, b)
        return _times(g, da), _times(g, db)

    def __reduce__(self) -> tuple:
        return _LocalVjp, (self.d,)


class Nary(RuleKind):
    """``_a`` is a tuple of the inputs; forward, vjp, kink and domain get it as one sequence."""

    __slots__ = ()

    def forward_on(self, datas: Sequence[float]) -> float:
        return self.forward(datas)

    def vjp_on(self, g: Any, out: Any, args: Sequence) -> Any:
        return self.vjp(g, out, args)

    def domain_on(self, datas: Sequence[float]) -> str | None:
        return None if self.domain is None else self.domain(datas)

    def kink_on(self, datas: Sequence[float]) -> bool:
        return bool(self.kink(datas))

    def parents(self, node: Any) -> tuple:
        return node._a

    def record(self, out: Any, xs: tuple) -> None:
        if _recording():
            out._rule = self
            out._a = xs
        else:
            out._rule = None

    def check_operands(self, n: int) -> None:
        if not n:
            raise ValueError(f"{self.symbol}: an n-ary rule needs at least one operand, got none")

    def record_operands(self, out: Any, operands: Sequence) -> None:
        self.record(out, tuple(operands))

    def send(self, node: Any, g: float) -> None:
        ps = node._a
        gs = self.vjp(g, node._data, [p._data for p in ps])
        if gs.__class__ is not list and gs.__class__ is not tuple:
            gs = _checked(node, ps, gs)
        if len(gs) != len(ps):  # zip would drop the rest without a word
            raise _bad_vjp(node, gs)
        for p, gp in zip(ps, gs):
            p._grad += gp if gp.__class__ is float else sent(gp, self.symbol)


class Bilinear(Nary):
    """``_a`` and ``_b`` are the two halves (``dot``: the weights and the inputs), as
    tuples a layer's neurons share; ``partners`` declares the derivative.

    The vjp is made from ``partners`` here (a rule gives ``vjp=None``): backward runs
    the partners, and grad, the trace and gradcheck the vjp, so a vjp given beside
    them could disagree with what backward does and gradcheck would never see it.
    """

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vjp = _bilinear_vjp(self.partners)

    def parents(self, node: Any) -> tuple:
        return node._a + node._b

    def record(self, out: Any, first: tuple, second: tuple) -> None:  # type: ignore[override]
        if _recording():
            out._rule = self
            out._a = first
            out._b = second
        else:
            out._rule = None

    def check_operands(self, n: int) -> None:
        if n % 2 or not n:
            raise ValueError(f"{self.symbol}: needs two halves of equal length, got {n} operands")

    def record_operands(self, out: Any, operands: Sequence) -> None:
        n = len(operands) // 2
        self.record(out, tuple(operands[:n]), tuple(operands[n:]))

    def send(self, node: Any, g: float) -> None:
        # The rule's own declaration, run without building lists: the same
        # products its vjp returns.
        first = node._a
        second = node._b
        qs, rs = self.partners(first, second)
        if len(qs) != len(first) or len(rs) != len(second):
            raise _bad_vjp(node, (qs, rs))
        for p, q in zip(first, qs):
            p._grad += g * q._data
        for p, q in zip(second, rs):
            p._grad += g * q._data


def _bilinear_vjp(partners: Callable[[Sequence, Sequence], tuple[Sequence, Sequence]]) -> Callable:
    """The vjp of a bilinear op, made from its ``partners``."""

    def vjp(g: Any, out: Any, args: Sequence) -> list:
        n = len(args) // 2
        first, second = partners(args[:n], args[n:])
        # float * float on the fast path, Value * Value when the gradient graph is
        # recorded; a comprehension beats map(g.__mul__, ...) here.
        return [g * a for a in (*first, *second)]

    return vjp


_KIND_OF_ARITY = {1: Unary, 2: Binary, 0: Nary}
_KINDS = (Unary, Binary, Nary, Bilinear)


def _hand_built(kind: RuleKind, symbol: str, law: str, finite: bool) -> None:
    """The fields of a kind whose nodes are built by hand: no forward, vjp or partners
    to call, only a symbol, the trace's law and whether a zero gradient may be skipped."""
    kind.symbol = symbol
    kind.arity = 0
    kind.forward = kind.vjp = kind.domain = kind.kink = kind.partners = None
    kind.law = law
    kind.finite = finite


class Closure(RuleKind):
    """A node built by hand, micrograd's way: ``Value(data, (x,), 'exp')``.

    ``_a`` is the tuple of its children.  Its derivative is whatever the closure
    set with ``out._backward = fn`` does: called with no arguments, it reads
    ``out.grad`` and adds into the children's ``.grad``.  Each such node has its
    own rule, since the closure is its own.  The closure refers to ``out``, so the
    node is part of a reference cycle (micrograd's design; nodes made by
    valuegrad's own ops have none).  It works on floats only: a gradient graph
    (``create_graph=True``) cannot go through it.
    """

    __slots__ = ("closure",)

    def __init__(self, symbol: str, closure: Callable[[], Any] | None = None) -> None:
        # An unknown closure: never skipped.
        _hand_built(self, symbol, "the node's own _backward closure (what it added for "
                    "upstream 1)", finite=False)
        self.closure = closure

    def __repr__(self) -> str:
        return f"Closure({self.symbol!r})"

    def parents(self, node: Any) -> tuple:
        return node._a

    def record(self, out: Any, children: tuple) -> None:
        out._rule = self
        out._a = children
        # The closure will refer to ``out``: a cycle the cyclic GC must be able to free.
        collectable(out)

    def adopt(self, node: Any) -> None:
        """Make ``node`` (built by an op or by hand) this closure's node, same parents."""
        rule = node._rule
        self.record(node, () if rule is None else tuple(rule.parents(node)))

    def send(self, node: Any, g: float) -> None:
        if self.closure is None:
            raise TypeError(
                "backward: this node was built by hand with _children and has no derivative "
                "rule; give it a _backward closure (micrograd's way), build it from Value ops, "
                "or give it a Rule via autograd.apply"
            )
        self.closure()  # reads node.grad, which backward has set to g

    def vjp_of(self, node: Any, g: float) -> list[float]:
        """What the closure adds to each parent for upstream ``g``, measured by
        running it with the parents' ``.grad`` zeroed; every ``.grad`` is put back."""
        ps = node._a
        saved = [(p, p._grad) for p in ps]
        own = node._grad
        try:
            for p in ps:
                p._grad = 0.0
            node._grad = g
            self.send(node, g)
            counted: set = set()
            sent = []
            for p in ps:  # a child listed twice: all it got goes to its first place
                sent.append(0.0 if p in counted else float(p._grad))
                counted.add(p)
            return sent
        finally:
            for p, old in saved:
                p._grad = old
            node._grad = own

    def vjp_graph(self, node: Any, g: Any) -> Sequence:
        if self.closure is None:
            self.send(node, 0.0)  # the hand-built node's error
        raise TypeError(
            f"grad(create_graph=True): node {self.symbol!r} ({node!r}) was built by hand "
            "with a _backward closure, which adds floats only and cannot record a gradient "
            "graph; build it from Value ops, or declare a Rule and use autograd.apply"
        )

    def vjp_on(self, g: Any, out: Any, args: Sequence) -> Any:
        raise TypeError(f"{self.symbol}: a _backward closure has no vjp to call")


class LocalGrads(RuleKind):
    """A node built by hand, microgpt's way: ``Value(data, children, local_grads)``.

    ``_a`` is the tuple of its children and ``_b`` the tuple of its local
    derivatives, floats fixed when the node was made, as microgpt's own engine
    stores them.  Backward adds ``local * g`` into each child.  A gradient graph
    (``create_graph=True``) cannot go through it: its local derivatives are numbers,
    not Values that remember how they depend on the inputs.  One shared instance,
    :data:`LOCAL_GRADS`.
    """

    __slots__ = ()

    def __init__(self) -> None:
        # Checked finite when the node was made: a zero sends zeros.
        _hand_built(self, "local", "the local gradients stored with the node (microgpt's way)",
                    finite=True)

    def __repr__(self) -> str:
        return "LocalGrads()"

    def parents(self, node: Any) -> tuple:
        return node._a

    def record(self, out: Any, children: tuple, local_grads: tuple) -> None:
        out._rule = self
        out._a = children
        out._b = local_grads

    def send(self, node: Any, g: float) -> None:
        for child, local in zip(node._a, node._b):
            child._grad += local * g  # microgpt's own order of the product

    def vjp_of(self, node: Any, g: float) -> list[float]:
        return [local * g for local in node._b]

    def local_derivatives(self, node: Any) -> tuple[float, ...]:
        return tuple(node._b)

    def vjp_graph(self, node: Any, g: Any) -> Sequence:
        raise TypeError(
            f"grad(create_graph=True): node {node!r} was built by hand with local gradients "
            "(numbers), which cannot record a gradient graph; build it from Value ops, or "
            "declare a Rule and use autograd.apply"
        )

    def vjp_on(self, g: Any, out: Any, args: Sequence) -> Any:
        raise TypeError("local: a node built with local gradients has no vjp to call")


LOCAL_GRADS = LocalGrads()


class Rule(abc.ABC):  # noqa: B024 (an ABC only for register(): isinstance(kind, Rule))
    """One differentiable op: ``Rule(symbol, arity, forward, vjp, ...)``.

    Returns the kind that fits: :class:`Unary` (``arity`` 1), :class:`Binary` (2),
    :class:`Nary` (0) or, with ``partners``, :class:`Bilinear`.  ``forward(*inputs)``
    gives the float result; ``vjp(g, out, *inputs)`` one gradient per input (an
    n-ary rule gets its inputs as one sequence).  ``domain(*inputs)`` says why
    forward failed; ``law`` is the trace's text; ``kink(*inputs)`` is True where the
    op is not differentiable; ``finite=True`` promises finite local derivatives
    wherever forward succeeds.  Every kind is an instance of ``Rule``.
    """

    def __new__(  # type: ignore[misc]
        cls,
        symbol: str,
        arity: int,
        forward: Callable[..., float],
        vjp: Callable[..., Any],
        domain: Callable[..., str | None] | None = None,
        law: str = "",
        kink: Callable[..., bool] | None = None,
        partners: Callable[[Sequence, Sequence], tuple[Sequence, Sequence]] | None = None,
        finite: bool = False,
    ) -> RuleKind:
        kind = _kind_for(symbol, arity, forward, vjp, partners)
        return kind(symbol, arity, forward, vjp, domain, law, kink, partners, finite)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError(
            f"Rule: {cls.__name__} cannot subclass Rule, a factory of kinds; "
            "subclass one of autograd.kinds' kinds (Unary, Binary, Nary, Bilinear)"
        )


Rule.register(RuleKind)


def _kind_for(symbol: Any, arity: Any, forward: Any, vjp: Any, partners: Any) -> type:
    """The kind a rule with these fields is (they are checked first)."""
    _check_rule(symbol, arity, forward, vjp, partners)
    return Bilinear if partners is not None else _KIND_OF_ARITY[arity]


def _check_rule(symbol: Any, arity: Any, forward: Any, vjp: Any, partners: Any) -> None:
    if not isinstance(symbol, str) or not symbol:
        raise TypeError(f"Rule: symbol must be a non-empty str, got {symbol!r}")
    if arity.__class__ is not int or arity not in (0, 1, 2):
        raise ValueError(f"Rule {symbol!r}: arity must be 1, 2 or 0 (n-ary), got {arity!r}")
    if partners is not None and (arity != 0 or not callable(partners)):
        raise ValueError(
            f"Rule {symbol!r}: partners must be a callable of an n-ary (arity 0) rule, "
            f"got {partners!r} with arity {arity!r}"
        )
    if partners is not None and vjp is not None:
        raise ValueError(
            f"Rule {symbol!r}: a bilinear rule's vjp is made from its partners (give "
            f"vjp=None), got vjp {vjp!r}"
        )
    checked = (("forward", forward),) if partners is not None else (("forward", forward),
                                                                   ("vjp", vjp))
    for name, f in checked:
        if not callable(f):
            raise TypeError(f"Rule {symbol!r}: {name} must be callable, got {f!r}")
