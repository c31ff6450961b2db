"""The storage of a graph node: the slots every :class:`~autograd.value.Value` has.

``Node`` is Value's base class so that the lowest layers (input checks) can
recognise a Value without importing the op layer.  What the two parent slots
``_a`` and ``_b`` hold is the business of the node's rule kind alone
(:mod:`autograd.kinds`); nothing else reads them.

In the optional compiled build (:mod:`autograd._build`, ``node.pxd``) ``Node``
is an extension type whose nodes are kept off the cyclic garbage collector's
list: a graph built by valuegrad's ops has no reference cycles, so reference
counting frees it, and the collector need not walk millions of nodes to find
nothing.  Instances of a user's subclass of Value stay on it: their own
attributes may close a cycle.  A node that may be part of a cycle (micrograd's
hand-built node, whose ``_backward`` closure refers to it) is put back on the list
with :func:`collectable`.
"""

from __future__ import annotations

try:  # the compiled build's switch only; Cython is never required
    import cython
except ImportError:
    from . import _cython_shim as cython

if cython.compiled:
    from cython.cimports.autograd._capi import (
        Py_TPFLAGS_HEAPTYPE,
        PyObject_GC_IsTracked,
        PyObject_GC_Track,
        PyObject_GC_UnTrack,
        PyType_HasFeature,
    )

__all__ = ["Node", "collectable"]


class Node:
    """The value and gradient (``_data``, ``_grad``: floats, behind Value's checked
    ``data`` and ``grad``), ``label``, the rule that made the node, two parent slots."""

    __slots__ = ("_data", "_grad", "label", "_rule", "_a", "_b")

    def __cinit__(self) -> None:
        # Called by the compiled build only, as each node is allocated.  The node
        # keeps its GC header, so freeing a million-node chain still goes through
        # CPython's trashcan instead of recursing in C.  Only the engine's own
        # classes (static types): an instance of a user's subclass (a heap type)
        # may hold anything in its own attributes, cycles included.
        if cython.compiled and not PyType_HasFeature(type(self), Py_TPFLAGS_HEAPTYPE):
            PyObject_GC_UnTrack(self)


def collectable(node: Node) -> None:
    """Let the cyclic GC free ``node`` if it ends up in a reference cycle.

    Nodes are always collectable in pure Python; the compiled build untracks them
    at birth (see the module docstring), so a node that may close a cycle is
    tracked again here.
    """
    if cython.compiled:
        if not PyObject_GC_IsTracked(node):
            PyObject_GC_Track(node)
