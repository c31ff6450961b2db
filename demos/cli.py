"""The demos' command lines: bounded flags, a work budget, the output folder, one-line exits.

Every number a demo takes is parsed here, by a type that knows the flag's range
(both ends, shown in ``--help``): a value outside it, NaN or infinity stops the
demo before any work with argparse's ``error: argument --flag: ...`` and exit
status 2. Flags that are each fine can still multiply into hours or gigabytes
(``--hidden 1024,1024`` with ``--epochs 1000``), so :func:`check_budget` also bounds
what a whole configuration costs: its parameter count (memory) and the number of
weight-times-example products its training performs (time).

:func:`command` wraps each demo's ``main``: whatever ends a run early ends it with
one line on stderr and no traceback: an ``OSError`` (disk full...) exits 1, Ctrl-C
exits 130 (the shell's convention for SIGINT), training that diverges exits 1
saying where and what to change (see :func:`diverged`). Files are written
atomically (``demos.output``), so none is left half-written.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable, Optional

from autograd import checks
from demos import take_back_ctrl_c
from nn.layers import count_parameters

Main = Callable[[Optional[Sequence[str]]], int]  # Optional: Python 3.9

# --- the limits: one place ------------------------------------------------------------

MAX_SEED = 2**32 - 1
MAX_WIDTH = 1024  # neurons in one hidden layer
MAX_PARAMETERS = 500_000  # ~0.3 GB of Values and optimizer state in this pure-Python engine
# Weight-times-example products a run may perform (parameters x examples x passes):
# at ~2.2 million a second on one core of a 2-core VM, about 40 minutes.
MAX_WORK = 5_000_000_000
# Neurons x examples in the graph of one step: each neuron's output for each example is a
# few nodes (~300 bytes), so about 0.3 GB.
MAX_STEP = 1_000_000
STEP_MEMORY = "0.3 GB"
WORK_TIME = "about 40 minutes on a 2-core machine"
MAX_MESSAGE = 300  # characters of an engine error quoted in a one-line exit


def spelled_number(text: str) -> int | float | str:
    """The number ``text`` spells (an int if it is whole, else a float), or ``text`` itself.

    A whole number past Python's 4,300-digit limit for ``int(str)`` comes back as a
    stand-in of the same sign and length: every check refuses it, and
    ``autograd.checks.describe`` names it by its length alone.
    """
    try:
        return int(text)
    except ValueError:
        pass
    digits = text.strip().lstrip("+-").replace("_", "")
    if len(digits) > 4300 and digits.isdecimal():
        return (-1 if text.strip().startswith("-") else 1) * 10 ** (len(digits) - 1)
    try:
        return float(text)
    except ValueError:
        return text


_OP = "argument"  # a stand-in for the flag, which argparse names itself


def checked(check: Callable[..., Any], x: Any, name: str = "", **bounds: Any) -> Any:
    """``check(x, ...)``, an ``autograd.checks`` validator, for an argparse type.

    Its "op: " is dropped (argparse writes "argument --flag: " in its place), so
    ``--lr 0`` reads ``argument --lr: must be a finite number in (0, 10], got 0 (int)``.
    """
    try:
        return check(x, _OP, name, **bounds)
    except (TypeError, ValueError) as e:
        raise argparse.ArgumentTypeError(str(e)[len(_OP) + 1 :].lstrip()) from None


def int_range(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: a whole number in ``lo..hi``."""

    def parse(text: str) -> int:
        return checked(checks.integer, spelled_number(text), low=lo, high=hi)

    parse.__name__ = f"whole number {lo}..{hi}"
    return parse


def float_range(lo: float, hi: float, *, lo_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""

    def parse(text: str) -> float:
        return checked(checks.number, spelled_number(text), low=lo, high=hi, low_open=lo_open)

    parse.__name__ = f"number {lo}..{hi}"
    return parse


_COUNTS = {1: "one", 2: "two", 3: "three"}


def hidden_sizes(count: int, hi: int = MAX_WIDTH) -> Callable[[str], list[int]]:
    """An argparse type: ``count`` comma-separated layer widths in ``1..hi``, e.g. ``32,32``."""

    def parse(text: str) -> list[int]:
        parts = text.split(",")
        if len(parts) != count:
            raise argparse.ArgumentTypeError(
                f"the network has {_COUNTS.get(count, count)} hidden layers, got "
                f"{len(parts)} width{'' if len(parts) == 1 else 's'}: {checks.short(text)}"
            )
        return [checked(checks.integer, spelled_number(part), f"layer {i}'s width", low=1,
                        high=hi)
                for i, part in enumerate(parts, 1)]

    parse.__name__ = "hidden sizes"
    return parse


def _range_note(lo: Any, hi: Any) -> str:
    return f"{lo:,}..{hi:,}" if isinstance(lo, int) else f"{lo:g}..{hi:g}"


def add_int(p: argparse.ArgumentParser, flag: str, lo: int, hi: int, help: str,
            **kwargs: Any) -> None:
    """``--flag`` taking a whole number in ``lo..hi``; the range is shown in ``--help``."""
    p.add_argument(flag, type=int_range(lo, hi), help=f"{help} [{_range_note(lo, hi)}]",
                   **kwargs)


def add_float(p: argparse.ArgumentParser, flag: str, lo: float, hi: float, help: str,
              lo_open: bool = False, **kwargs: Any) -> None:
    """``--flag`` taking a finite number in ``[lo, hi]`` (``(lo, hi]``); shown in ``--help``."""
    note = f"{'>' if lo_open else '>='} {lo:g}, <= {hi:g}"
    p.add_argument(flag, type=float_range(lo, hi, lo_open=lo_open), help=f"{help} [{note}]",
                   **kwargs)


def add_seed(p: argparse.ArgumentParser, help: str, default: int = 0) -> None:
    add_int(p, "--seed", 0, MAX_SEED, help, default=default)


def check_budget(
    p: argparse.ArgumentParser, *, parameters: tuple[int, str] = (0, ""),
    step: tuple[int, str] = (0, ""), work: tuple[int, str] = (0, ""),
) -> None:
    """Refuse a configuration beyond the limits, naming the flags that set each measure.

    Each measure is ``(size, flags)``: ``parameters`` (the model's memory), ``step``
    (neurons x examples in one step: the graph's memory) and ``work`` (parameters x
    examples x passes over the whole run: its time).
    """
    n, flags = parameters
    if n > MAX_PARAMETERS:
        p.error(f"argument {flags}: the network would have {n:,} parameters, more than the "
                f"limit of {MAX_PARAMETERS:,}; use fewer neurons")
    n, flags = step
    if n > MAX_STEP:
        p.error(f"arguments {flags}: one step's graph would hold {n:,} neuron outputs "
                f"(neurons x examples), more than the limit of {MAX_STEP:,} (about "
                f"{STEP_MEMORY}); lower one of them")
    n, flags = work
    if n > MAX_WORK:
        p.error(f"arguments {flags}: the run would compute {n:,} weight-example products "
                f"(parameters x examples x passes), more than the limit of {MAX_WORK:,} "
                f"({WORK_TIME}); lower one of them")


MAX_EPOCHS = 500
MAX_LR = 10.0  # Adam moves each weight by about lr a step: beyond this, only overflow


def parse_mlp_training(
    argv: Sequence[str] | None, prog: str, description: str, *, nin: int, out: Path,
    hidden: str, epochs: int, n_data: int, min_limit: int, limit_help: str,
) -> argparse.Namespace:
    """The flags of a demo that trains an ``MLP(nin, [h1, h2, 10])`` on a data set of
    ``n_data`` examples (``demos.digits``, ``demos.mnist``), each with its range, parsed;
    a run beyond the budget is refused, and ``--out`` is made."""
    p = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter, prog=prog, description=description
    )
    add_int(p, "--epochs", 1, MAX_EPOCHS, "passes over the training set", default=epochs)
    p.add_argument("--hidden", type=hidden_sizes(2), default=hidden,
                   help=f"the two hidden layers' widths, comma-separated [1..{MAX_WIDTH:,} each]")
    add_float(p, "--lr", 0.0, MAX_LR, "Adam's starting learning rate", lo_open=True,
              default=1e-2)
    add_int(p, "--batch-size", 1, n_data, "examples per step", default=32)
    add_seed(p, "initial weights and batch order")
    p.add_argument("--out", type=Path, default=out, help="output folder")
    add_int(p, "--limit", min_limit, n_data, limit_help, default=None)
    p.add_argument("--no-plots", action="store_true", help="skip the matplotlib figures")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.add_argument("--diagnose", action="store_true",
                   help="print nn.diagnose's network health report before and after training")
    p.epilog = (f"Limits on the whole run: at most {MAX_PARAMETERS:,} parameters, "
                f"{MAX_STEP:,} neurons x --batch-size, and {MAX_WORK:,} parameters x "
                f"examples x --epochs ({WORK_TIME}).")
    args = p.parse_args(argv)
    params = count_parameters([nin, *args.hidden, 10])
    examples = args.limit or n_data
    check_budget(
        p,
        parameters=(params, "--hidden"),
        step=((sum(args.hidden) + 10) * min(args.batch_size, examples),
              "--hidden and --batch-size"),
        work=(params * examples * args.epochs, "--hidden, --limit and --epochs"),
    )
    output_folder(p, args.out)
    return args


def output_folder(parser: argparse.ArgumentParser, folder: Path) -> Path:
    """Create ``--out`` and check it takes files now, so a bad one fails before training."""
    if folder.exists() and not folder.is_dir():
        parser.error(f"argument --out: '{folder}' exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        parser.error(f"argument --out: cannot create folder '{folder}': {e.strerror or e}")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        parser.error(f"argument --out: cannot write in folder '{folder}': {e.strerror or e}")
    return folder


# --- ending a run early: one line --------------------------------------------------------

# What the engine raises when numbers blow up: OverflowError, GradientError (a
# FloatingPointError) and ZeroDivisionError are ArithmeticErrors; a domain error
# (log of 0 after an overflow to -inf...) is a ValueError.
DIVERGENCE = (ArithmeticError, ValueError)


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line, cut to ``limit`` characters with a note of how much was cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def diverged(where: str, error: BaseException, advice: str = "try a smaller --lr") -> SystemExit:
    """The exit for training that blew up: where, what the engine said (short), what to do."""
    return SystemExit(
        f"error: training diverged at {where}: {shorten(str(error))}; {advice}"
    )


def command(main: Main) -> Main:
    """Wrap a demo's ``main`` so every early end is one line on stderr, never a traceback.

    Ctrl-C prints ``interrupted`` and exits 130; an ``OSError`` or running out of
    memory prints ``error: ...`` and exits 1; a closed stdout (``| head``) exits quietly.
    """

    @functools.wraps(main)
    def run(argv: Sequence[str] | None = None) -> int:
        take_back_ctrl_c()  # see demos/__init__.py
        try:
            return main(argv)
        except KeyboardInterrupt:
            sys.stderr.write("\ninterrupted\n" if _isatty(sys.stderr) else "interrupted\n")
            sys.stderr.flush()
            raise SystemExit(130) from None
        except MemoryError:
            raise SystemExit("error: out of memory; try smaller sizes") from None
        except BrokenPipeError:
            _silence_stdout()  # the reader left: nothing more to say, and no flush error at exit
            raise SystemExit(1) from None
        except OSError as e:
            raise SystemExit(f"error: {shorten(str(e))}") from None

    return run


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's capture): nothing will be flushed to a pipe
