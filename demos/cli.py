"""The demos' command lines: argument types, the output folder and one-line errors.

A bad argument stops a demo before any work, with a clear message and exit status 2;
an ``OSError`` later (disk full...) is one line too, not a traceback.
"""

from __future__ import annotations

import argparse
import functools
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Callable, Optional

Main = Callable[[Optional[Sequence[str]]], int]  # Optional: Python 3.9


def _int_at_least(lo: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number >= {lo}, got {text!r}"
            ) from None
        if n < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {n}")
        return n

    return parse


positive_int = _int_at_least(1)
nonnegative_int = _int_at_least(0)


def positive_float(text: str) -> float:
    """A finite number > 0."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not math.isfinite(x) or x <= 0.0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return x


def hidden_sizes(text: str) -> list[int]:
    """Comma-separated layer widths, e.g. ``32,32``."""
    parts = [p.strip() for p in text.split(",")]
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers such as 32,32, got {text!r}"
        ) from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"every layer needs at least 1 neuron, got {text!r}")
    return sizes


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


def one_line_os_errors(main: Main) -> Main:
    """Report an ``OSError`` (disk full, folder removed mid-run...) as ``error: ...``, exit 1."""

    @functools.wraps(main)
    def run(argv: Sequence[str] | None = None) -> int:
        try:
            return main(argv)
        except OSError as e:
            raise SystemExit(f"error: {e}") from None

    return run
