"""Whether ops record the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

The mode lives in a :class:`~contextvars.ContextVar`, so each thread and each
asyncio task has its own: ``no_grad`` in one never turns recording off in another.

Each of the three is a context manager and a decorator, as in PyTorch, and is
safe to share and to re-enter:

* An instance keeps no state of its own between ``__enter__`` and ``__exit__``.
  What ``__exit__`` restores is pushed, in ``__enter__``, on a stack held by the
  same ContextVar machinery (so per thread and per task), tagged with the
  instance; ``__exit__`` takes the latest entry of its own instance.  So one
  instance used in two threads at once, or entered again by recursion, restores
  the right mode each time.  (A single token kept on the instance, as
  ``ContextDecorator`` leaves it, is overwritten by the second entry: the first
  exit then raises and leaves recording off.)
* A decorated function enters a fresh block per call.  A decorated generator
  (or async generator) runs under the mode only while its own code runs, and
  gives the caller's mode back at every ``yield``, as PyTorch's
  ``_DecoratorContextManager`` does; a decorated ``async def`` holds the mode
  for its whole run, which, being in its own task's context, no other task sees.

The mode is always restored, whatever ends the block (an exception, a
``KeyboardInterrupt``, a generator closed early).
"""

from __future__ import annotations

import functools
import inspect
from contextvars import ContextVar
from typing import Any, Callable, TypeVar

from .checks import describe

__all__ = ["enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]

F = TypeVar("F", bound=Callable[..., Any])

grad_enabled_flag: ContextVar[bool] = ContextVar("autograd_grad_enabled", default=True)
# (instance, the mode to restore) per open block, innermost last; a tuple, because a
# ContextVar's value is shared with every copy of the context (asyncio tasks).
_open_blocks: ContextVar[tuple[tuple[Any, bool], ...]] = ContextVar(
    "autograd_grad_mode_blocks", default=()
)


def is_grad_enabled() -> bool:
    """Whether ops currently record the graph (in this thread or task)."""
    return grad_enabled_flag.get()


class _GradMode:
    """A block (or decorated function) in which recording is set to ``self.mode``."""

    mode: bool

    def __enter__(self) -> _GradMode:
        # Push first, then switch: an interrupt between the two leaves a stale entry,
        # never a mode that nothing will restore.
        _open_blocks.set((*_open_blocks.get(), (self, grad_enabled_flag.get())))
        grad_enabled_flag.set(self.mode)
        return self

    def __exit__(self, *exc: object) -> None:
        blocks = _open_blocks.get()
        for i in range(len(blocks) - 1, -1, -1):
            if blocks[i][0] is self:
                # Restore, then pop: an interrupt between the two leaves a stale entry.
                grad_enabled_flag.set(blocks[i][1])
                _open_blocks.set(blocks[:i] + blocks[i + 1 :])
                return
        # Entered in another thread or task (a generator finished elsewhere):
        # that context's mode is not ours to change.

    def clone(self) -> _GradMode:
        """A fresh block with the same mode (what each decorated call enters)."""
        new = object.__new__(type(self))
        new.mode = self.mode
        return new

    def __call__(self, func: F) -> F:
        """Decorate ``func`` so that it runs in this mode."""
        name = type(self).__name__
        if isinstance(func, type) or not callable(func):
            raise TypeError(f"{name}: can decorate a function, got {describe(func)}")
        if inspect.isasyncgenfunction(func):
            return self._wrap_async_generator(func)  # type: ignore[return-value]
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)  # type: ignore[return-value]
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_coroutine(*args: Any, **kwargs: Any) -> Any:
                with self.clone():
                    return await func(*args, **kwargs)

            return run_coroutine  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return func(*args, **kwargs)

        return run  # type: ignore[return-value]

    def _wrap_generator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def run_generator(*args: Any, **kwargs: Any) -> Any:
            gen = func(*args, **kwargs)  # runs none of its code yet
            try:
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException as e:
                        with self.clone():
                            response = gen.throw(e)
                    else:
                        with self.clone():
                            response = gen.send(request)
            except StopIteration as e:
                return e.value

        return run_generator

    def _wrap_async_generator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        async def run_async_generator(*args: Any, **kwargs: Any) -> Any:
            agen = func(*args, **kwargs)
            try:
                with self.clone():
                    response = await agen.asend(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            await agen.aclose()
                        raise
                    except BaseException as e:
                        with self.clone():
                            response = await agen.athrow(e)
                    else:
                        with self.clone():
                            response = await agen.asend(request)
            except StopAsyncIteration:
                return

        return run_async_generator


class _NoArgGradMode(_GradMode):
    """``no_grad()`` and ``enable_grad()``; as in PyTorch, also ``@no_grad`` without ``()``."""

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        self = super().__new__(cls)
        self.mode = cls.mode
        if func is None:
            return self
        return self(func)

    def __init__(self, func: Callable[..., Any] | None = None) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class no_grad(_NoArgGradMode):
    """Context manager (or decorator) inside which ops record no graph.

    ``with no_grad():``, ``@no_grad()`` or ``@no_grad``; per thread and per
    asyncio task, re-entrant, and correct for generators and coroutines (see the
    module docstring).
    """

    mode = False


class enable_grad(_NoArgGradMode):
    """Context manager (or decorator) that turns recording back on inside ``no_grad``."""

    mode = True


class set_grad_enabled(_GradMode):
    """Set recording on or off: at once when called, or for a block or a function.

    As in PyTorch: ``set_grad_enabled(False)`` alone switches recording off in
    this thread (or task) until switched back; ``with set_grad_enabled(mode):``
    and ``@set_grad_enabled(mode)`` restore the previous mode afterwards.
    """

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {describe(mode)}")
        self.mode = mode
        self._before_call: bool | None = grad_enabled_flag.get()
        grad_enabled_flag.set(mode)

    def __enter__(self) -> _GradMode:
        before = self._before_call
        if before is None:
            return super().__enter__()
        # The call already switched the mode: restore what was there before the call.
        self._before_call = None
        _open_blocks.set((*_open_blocks.get(), (self, before)))
        return self

    def __call__(self, func: F) -> F:
        before = self._before_call
        if before is not None:  # used as a decorator: the call was not meant to switch now
            self._before_call = None
            grad_enabled_flag.set(before)
        return super().__call__(func)

    def clone(self) -> _GradMode:
        new = super().clone()
        new._before_call = None  # type: ignore[attr-defined]
        return new

    def __repr__(self) -> str:
        return f"set_grad_enabled({self.mode})"
