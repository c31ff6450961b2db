# Augmenting declarations for the optional compiled build (see autograd/_build.py).
# kinds.py is compiled as it is; this makes the rule kinds extension types, so that
# backward's ``r.parents(node)`` and ``r.send(node, g)`` and the ops' ``rule.record``
# are C calls, and a kind reads and writes its nodes' fields (C doubles) directly.

cimport cython
from autograd.node cimport Node

cdef class RuleKind:
    cdef public object symbol, forward, vjp, domain, law, kink, partners
    cdef public int arity
    cdef public bint finite
    cpdef tuple parents(self, Node node)
    cpdef send(self, Node node, double g)

cdef class Unary(RuleKind):
    cpdef record(self, Node out, Node x)
    @cython.locals(a=Node)
    cpdef send(self, Node node, double g)

cdef class Binary(RuleKind):
    cpdef record(self, Node out, Node a, Node b)
    @cython.locals(a=Node, b=Node)
    cpdef send(self, Node node, double g)

cdef class Product(Binary):
    cdef public object d
    @cython.locals(a=Node, b=Node, da=cython.double, db=cython.double)
    cpdef send(self, Node node, double g)

cdef class Linear(Product):
    pass

cdef class Nary(RuleKind):
    @cython.locals(ps=tuple, p=Node)
    cpdef send(self, Node node, double g)

cdef class Bilinear(Nary):
    @cython.locals(first=tuple, second=tuple, p=Node, q=Node)
    cpdef send(self, Node node, double g)

cdef class Closure(RuleKind):
    cdef public object closure

cdef class LocalGrads(RuleKind):
    @cython.locals(child=Node, local=cython.double)
    cpdef send(self, Node node, double g)
