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
        Py_TPFLAGS_IMMUTABLETYPE,
        PyBaseObject_Type,
        PyDict_DelItemString,
        PyObject_GC_IsTracked,
        PyObject_GC_Track,
        PyObject_GC_UnTrack,
        PyType_HasFeature,
        PyType_Modified,
    )
    from cython.cimports.cpython.object import PyTypeObject

__all__ = ["Node", "collectable", "open_value_class"]


class Node:
    """The value and gradient (``_data``, ``_grad``: floats, behind Value's checked
    ``data`` and ``grad``), ``label``, the rule that made the node, two parent slots.

    No ``__dict__``, so ``p.m = 0`` raises ``AttributeError``: one would cost every node
    memory (measured in docs/benchmarks.md) for a habit a dict keyed by the Value serves.
    """

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


def open_value_class(cls: type) -> None:
    """Make the compiled ``cls`` (Value) behave as the pure-Python class does in two ways.

    Its hash stays identity although it defines ``<``: Python keeps the inherited
    hash of a class that defines ``__lt__`` but not ``__eq__``, while an extension
    type loses it (CPython inherits a static type's hash only together with its
    comparison) and would be unhashable, where graphs key their nodes by identity.
    So ``object``'s hash goes back in the type's slot and (removing the ``None``
    placed there) its dict.  And it takes new methods, as in micrograd's lecture
    (``Value.tanh = tanh``): an extension type is immutable unless its flag is
    cleared; setting an attribute then goes through CPython's own ``type.__setattr__``,
    which updates the method cache and operator slots.  Pure Python: nothing to do.
    """
    if cython.compiled:
        cython.cast(cython.pointer(PyTypeObject), cls).tp_flags &= ~Py_TPFLAGS_IMMUTABLETYPE
        cython.cast(cython.pointer(PyTypeObject), cls).tp_hash = PyBaseObject_Type.tp_hash
        own = cython.cast(object, cython.cast(cython.pointer(PyTypeObject), cls).tp_dict)
        if own.get("__hash__", 0) is None:
            PyDict_DelItemString(own, "__hash__")
        PyType_Modified(cls)
