"""``Module``: the base class that finds, names, zeroes, saves and loads parameters.

Parameters are discovered generically: every public attribute (no leading
``_``) that is a :class:`~autograd.Value` is a parameter, and sub-Modules,
lists, tuples and dicts of them are searched recursively.  Names are dotted
paths that say where a weight lives: ``layers.1.neurons.3.w.5``.  So a user
subclass gets names, ``state_dict`` and saving without extra code; keep Values
that are not parameters (cached outputs...) in ``_private`` attributes.

The flat parameter list is cached, because ``zero_grad`` runs every training
step.  The cache is only kept where every edit is seen: assigning a Module
attribute, or editing a :class:`TrackedList` (which ``Neuron``, ``Layer`` and
``MLP`` use), bumps a global version.  A module that keeps parameters in plain
lists or dicts is searched afresh on every call instead.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

from autograd import Value

from . import serialize
from .serialize import PathLike, check_state

structure_version = 0  # bumped by every structural edit; caches store the version they saw


def _touch() -> None:
    global structure_version
    structure_version += 1


class TrackedList(list):
    """A list whose edits invalidate cached parameter lists (otherwise a plain list)."""

    __slots__ = ()


def _tracked(name: str) -> Callable[..., Any]:
    base = getattr(list, name)

    def method(self: TrackedList, *args: Any, **kwargs: Any) -> Any:
        _touch()
        return base(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    return method


for _name in (
    "__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend", "insert",
    "pop", "remove", "clear", "sort", "reverse",
):
    setattr(TrackedList, _name, _tracked(_name))

_STRUCTURAL = (Value, list, tuple, dict)


def _is_structural(x: Any) -> bool:
    return isinstance(x, _STRUCTURAL) or isinstance(x, Module)


class Module:
    """Base class for anything with parameters (micrograd's ``Module``, grown up).

    Subclasses need no ``__init__`` call and no registration; overriding
    ``parameters()`` micrograd-style still works for ``zero_grad``.
    """

    # Class-level default, so subclasses that never call Module.__init__ still work.
    _cache: tuple[int, list[tuple[str, Value]], list[Value]] | None = None
    _repr_children = True

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_") and (
            _is_structural(value) or _is_structural(self.__dict__.get(name))
        ):
            _touch()
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if not name.startswith("_"):
            _touch()
        object.__delattr__(self, name)

    # --- discovery -------------------------------------------------------------------

    def _walk(self, trace: bool = False) -> tuple[list[tuple[str, Value]], bool]:
        """``(named parameters, cacheable)``; shared Values and Modules appear once.

        Two parameters must never share a dotted name (``{"b": {"c": v}}`` and a key
        ``"b.c"`` both give ``b.c``): ``state_dict`` would keep one of them. That is
        refused here, where names are made; a second pass (``trace``) finds how each
        is reached, for the message.
        """
        named: list[tuple[str, Value]] = []
        made: dict[str, str | None] = {}  # name -> how it is reached (when tracing)
        seen: set[int] = set()
        cacheable = True

        def visit(obj: Any, name: str, access: str | None) -> None:
            nonlocal cacheable
            if isinstance(obj, Value):
                if id(obj) not in seen:
                    seen.add(id(obj))
                    if trace:
                        if name in made:
                            raise ValueError(
                                f"named_parameters: two parameters of {type(self).__name__} "
                                f"would both be named {name!r}: {made[name]} and {access}; "
                                f"rename a key or attribute so the dotted names differ"
                            )
                        made[name] = access
                    named.append((name, obj))
            elif isinstance(obj, Module):
                if id(obj) in seen:
                    return
                seen.add(id(obj))
                prefix = f"{name}." if name else ""
                for key, val in vars(obj).items():
                    if not key.startswith("_"):
                        visit(val, prefix + key, access and (
                            f"{access}.{key}" if key.isidentifier()
                            else f"getattr({access}, {key!r})"))
            elif isinstance(obj, (list, tuple)):
                if isinstance(obj, list) and not isinstance(obj, TrackedList):
                    cacheable = False
                for i, val in enumerate(obj):
                    visit(val, f"{name}.{i}", access and f"{access}[{i}]")
            elif isinstance(obj, dict):
                cacheable = False
                for key, val in obj.items():
                    if isinstance(key, (str, int)) and not isinstance(key, bool):
                        visit(val, f"{name}.{key}", access and f"{access}[{key!r}]")

        visit(self, "", "model" if trace else None)
        if not trace and len({name for name, _ in named}) != len(named):
            self._walk(trace=True)  # raises, naming both
        return named, cacheable

    def _named(self) -> list[tuple[str, Value]]:
        c = self._cache
        if c is not None and c[0] == structure_version:
            return c[1]
        named, cacheable = self._walk()
        self._cache = (structure_version, named, [p for _, p in named]) if cacheable else None
        return named

    def _params(self) -> list[Value]:
        c = self._cache
        if c is not None and c[0] == structure_version:
            return c[2]
        named = self._named()
        c = self._cache
        return c[2] if c is not None else [p for _, p in named]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``[(dotted name, Value), ...]`` in a stable order (attribute, then index order)."""
        return list(self._named())

    def parameters(self) -> list[Value]:
        """Every parameter Value, in ``named_parameters`` order."""
        return list(self._params())

    def num_parameters(self) -> int:
        return len(self.parameters())

    def get_parameter(self, name: str) -> Value:
        """The parameter called ``name`` (e.g. ``'layers.1.neurons.3.w.5'``)."""
        for n, p in self._named():
            if n == name:
                return p
        names = [n for n, _ in self._named()]
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(
            f"get_parameter: {type(self).__name__} has no parameter {name!r} "
            f"({len(names)} parameters, e.g. {names[:1]}){hint}"
        )

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0.0."""
        # A micrograd-style subclass may override parameters(); respect it.
        ps = self._params() if type(self).parameters is Module.parameters else self.parameters()
        for p in ps:
            p.grad = 0.0

    def _label_parameters(self) -> None:
        """Set each parameter's ``.label`` to its dotted name (shown in graphs and traces)."""
        for name, p in self._named():
            p.label = name

    # --- state -----------------------------------------------------------------------

    def state_dict(self) -> dict[str, float]:
        """``{dotted name: float}`` for every parameter."""
        return {name: p.data for name, p in self._named()}

    def load_state_dict(self, state: Any) -> None:
        """Set parameters from ``state``; validates fully first, so errors change nothing.

        Raises :class:`~nn.serialize.ModelLoadError` (a ``ValueError``) naming the
        first missing, unexpected or non-numeric key.
        """
        named = self._named()
        values = check_state(state, named)
        old = [p.data for _, p in named]
        try:
            for (_, p), v in zip(named, values):
                p.data = v
        except BaseException:  # Ctrl-C half way: a model is loaded whole or not at all
            for (_, p), v in zip(named, old):
                p.data = v
            raise

    def save(self, path: PathLike) -> None:
        """Write the architecture and parameters to ``path`` as JSON, atomically."""
        serialize.save(self, path)

    def load(self, path: PathLike) -> None:
        """Load parameters from ``path`` in place into a model of the same architecture."""
        serialize.load_into(self, path)

    @classmethod
    def from_file(cls, path: PathLike) -> Module:
        """Build the model saved in ``path`` (``MLP.from_file``, ``Layer.from_file``...)."""
        model = serialize.load_model(path)
        if not isinstance(model, cls):
            raise serialize.ModelLoadError(
                f"{path}: holds a {type(model).__name__}, not a {cls.__name__}",
                "architecture.class",
            )
        return model

    def _architecture(self) -> dict[str, Any]:
        """What a file must match to load into this model (subclasses add their shape)."""
        return {"class": type(self).__name__}

    # --- display ---------------------------------------------------------------------

    def _describe(self) -> str:
        """The shape part of the one-line repr (empty for a generic Module)."""
        return ""

    def _children(self) -> list[tuple[str, Module]]:
        out = []
        for key, val in vars(self).items():
            if key.startswith("_"):
                continue
            if isinstance(val, Module):
                out.append((key, val))
            elif isinstance(val, (list, tuple)):
                out.extend((f"{key}.{i}", m) for i, m in enumerate(val) if isinstance(m, Module))
        return out

    def __repr__(self) -> str:
        n = self.num_parameters()
        desc = self._describe()
        head = f"{type(self).__name__}({desc}{'; ' if desc else ''}{n:,} parameter{'s' * (n != 1)})"
        if not self._repr_children:
            return head
        lines = [head]
        for name, child in self._children():
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return "\n".join(lines)
