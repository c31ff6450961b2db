"""The ``autograd`` and ``nn`` imported are this repository's, not HIPS autograd or another."""

from __future__ import annotations

from pathlib import Path

import autograd
import nn

ROOT = Path(__file__).resolve().parents[1]


def test_autograd_is_this_repository() -> None:
    assert Path(autograd.__file__).resolve() == ROOT / "autograd" / "__init__.py"
    assert hasattr(autograd, "Value") and hasattr(autograd, "gradcheck")


def test_nn_is_this_repository() -> None:
    assert Path(nn.__file__).resolve() == ROOT / "nn" / "__init__.py"
