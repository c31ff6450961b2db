"""The storage of a graph node: the slots every :class:`~autograd.value.Value` has.

``Node`` is Value's base class so that the lowest layers (input checks) can
recognise a Value without importing the op layer.  What the two parent slots
``_a`` and ``_b`` hold is the business of the node's rule kind alone
(:mod:`autograd.kinds`); nothing else reads them.
"""

from __future__ import annotations

__all__ = ["Node"]


class Node:
    """``data``, ``grad``, ``label``, the rule that made the node, two parent slots."""

    __slots__ = ("data", "grad", "label", "_rule", "_a", "_b")
