# Augmenting declarations for the optional compiled build (see autograd/_build.py).
# node.py is compiled as it is; this makes Node an extension type with C fields:
# ``_data`` and ``_grad`` (behind Value's checked ``data``/``grad``) are C doubles, so
# the kinds' ``send`` adds gradients in C; the rest are Python objects.  Nodes freed in bulk are kept for reuse (freelist);
# freeing a long chain goes through the trashcan, not C recursion.

cimport cython

@cython.trashcan(True)
@cython.freelist(1024)
cdef class Node:
    cdef public double _data, _grad
    cdef public object label, _rule, _a, _b

cpdef collectable(Node node)
