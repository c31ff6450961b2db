"""Shared plumbing for the benchmark scripts: micrograd import, timing, deep-stack threads, report.

Not a test module (pytest does not collect this directory): the scripts print figures and
exit non-zero when a target is missed, so they can be run by hand or as a CI check.
"""

from __future__ import annotations

import gc
import platform
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from typing import Any, Callable, TypeVar

T = TypeVar("T")

MICROGRAD_VERSION = "0.1.0"


def require_micrograd() -> str:
    """The installed micrograd version; exit with a hint if it is missing or not 0.1.0."""
    try:
        version = metadata.version("micrograd")
    except metadata.PackageNotFoundError:
        sys.exit("micrograd is not installed: pip install -e '.[bench]' (micrograd==0.1.0)")
    if version != MICROGRAD_VERSION:
        sys.exit(f"micrograd {version} is installed; the targets assume {MICROGRAD_VERSION}")
    return version


def machine() -> str:
    """One line naming the interpreter, OS and CPU, for the record."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    import os

    import autograd

    engine = "compiled engine" if autograd.COMPILED else "pure-Python engine"
    return (
        f"{platform.python_implementation()} {platform.python_version()} on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}); {engine}"
    )


def run_deep(fn: Callable[[], T], *, stack_mb: int = 512, recursion_limit: int = 1_000_000) -> T:
    """Run ``fn`` in a thread with a big C stack and recursion limit, return its result.

    micrograd's backward is recursive: one Python frame per node on the longest path.
    Both engines are timed through this, so they run under the same conditions.
    """
    result: list[Any] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as e:  # re-raised in the caller's thread
            error.append(e)

    old_limit = sys.getrecursionlimit()
    old_size = threading.stack_size(stack_mb * 1024 * 1024)
    sys.setrecursionlimit(max(old_limit, recursion_limit))
    try:
        t = threading.Thread(target=target)
        t.start()
        t.join()
    finally:
        threading.stack_size(old_size)
        sys.setrecursionlimit(old_limit)
    if error:
        raise error[0]
    return result[0]


@contextmanager
def gc_mode(mode: str) -> Iterator[None]:
    """``normal``: the cyclic collector as usual; ``frozen``: existing objects moved out of
    its reach (``gc.freeze``); ``disabled``: no automatic collections at all."""
    was_enabled = gc.isenabled()
    if mode == "frozen":
        gc.collect()
        gc.freeze()
    elif mode == "disabled":
        gc.disable()
    elif mode != "normal":
        raise ValueError(f"gc_mode: unknown mode {mode!r}")
    try:
        yield
    finally:
        if mode == "frozen":
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def clock() -> float:
    return time.perf_counter()


def ms(seconds: float) -> str:
    """Milliseconds with about three significant digits."""
    x = seconds * 1e3
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}" if x >= 1 else f"{x:.3f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        padded = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        return "  ".join(padded)

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


class Verdicts:
    """PASS/FAIL lines per target; ``exit_code()`` is 1 if any target was missed."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def check(self, name: str, ok: bool, detail: str) -> None:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
        if not ok:
            self.failed.append(name)

    def exit_code(self) -> int:
        if self.failed:
            print(f"\n{len(self.failed)} target(s) missed: {', '.join(self.failed)}")
            return 1
        print("\nall targets met")
        return 0
