"""Train-loop pieces shared by the demos: confusion matrices, progress, and the ``--diagnose``
report.  Minibatches, predictions and accuracy are the library's (``nn.minibatches``,
``nn.predict_classes``, ``nn.accuracy``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from autograd.table import format_table
from nn import diagnose


def confusion_matrix(
    labels: Sequence[int], predicted: Sequence[int], n_classes: int
) -> list[list[int]]:
    """``m[true][predicted]`` counts."""
    m = [[0] * n_classes for _ in range(n_classes)]
    for t, p in zip(labels, predicted):
        m[t][p] += 1
    return m


def format_confusion(m: Sequence[Sequence[int]]) -> str:
    """The confusion matrix as a table: rows are true classes, columns predictions."""
    width = max(3, *(len(str(c)) for row in m for c in row))  # one width: a square grid

    def cells(values: Sequence[int]) -> list[str]:
        return [f"{v:>{width}}" for v in values]

    return format_table(["true\\pred", *cells(range(len(m)))],
                        [[i, *cells(row)] for i, row in enumerate(m)],
                        align="r" * (len(m) + 1), rule=False, gap=1)


def _terminal_width() -> int:
    """Columns of the terminal on stderr; 0 when stderr is not one (a pipe, a file, CI logs)."""
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns if sys.stderr.isatty() else 0
    except (OSError, ValueError, AttributeError):
        return 0  # no real file descriptor (e.g. captured by a test runner)


class Progress:
    """A tqdm bar on a terminal; otherwise nothing (the caller prints a line per epoch instead).

    Falls back silently when tqdm is not installed.
    """

    def __init__(self, total: int, desc: str, enabled: bool = True) -> None:
        self._bar: Any | None = None
        if enabled and _terminal_width() >= 40:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, desc=desc, leave=True, dynamic_ncols=True)

    @property
    def shown(self) -> bool:
        return self._bar is not None

    def update(self, n: int = 1, **postfix: str) -> None:
        if self._bar is not None:
            if postfix:
                self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(n)

    def write(self, text: str) -> None:
        """Print a line above the bar (or plainly when there is none)."""
        if self._bar is not None:
            self._bar.write(text)
        else:
            print(text, flush=True)

    def close(self, **postfix: str) -> None:
        if self._bar is not None:
            if postfix:
                self._bar.set_postfix(postfix)
            self._bar.close()


DIAGNOSE_SAMPLES = 200  # enough that a unit firing for one class in ten is not taken for dead


def print_diagnosis(
    model: Any, X: Sequence[Sequence[float]], y: Sequence[int], lr: float, when: str
) -> None:
    """``nn.diagnose`` on the first training examples, printed under a heading."""
    n = min(DIAGNOSE_SAMPLES, len(X))
    print(f"\nnetwork health {when} (nn.diagnose on the first {n} training examples):")
    print(diagnose(model, X[:n], y[:n], lr=lr), flush=True)
