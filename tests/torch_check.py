"""Shared by the tests that compare with PyTorch: torch when installed, and the skip mark.

Without torch those tests skip, except in CI (``CI`` set), where a missing torch is an
import error: a skip there would hide the comparisons.
"""

from __future__ import annotations

import os

import pytest

try:
    import torch
    import torch.nn.functional as F
except ModuleNotFoundError:
    if os.environ.get("CI"):
        raise ModuleNotFoundError(
            "CI must install PyTorch (.ci/run does: torch==2.13.0+cpu)"
        ) from None
    torch = F = None

needs_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is not installed (pip install -e '.[torch]'); CI installs it"
)

__all__ = ["F", "needs_torch", "torch"]
