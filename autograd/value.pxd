# Augmenting declarations for the optional compiled build (see autograd/_build.py).
# value.py is compiled as it is: Value becomes an extension type (Node's C fields,
# its operators C-level slots) and the helpers each op runs, C functions that
# call their kind's ``record`` in C.

cimport cython
from autograd.checks cimport real
from autograd.kinds cimport Binary, Unary
from autograd.node cimport Node

cdef class Value(Node):
    pass

cdef Value _lift(object x, str op)

cdef Value _reflected(object x, str op)

@cython.locals(xd=cython.double, data=cython.double, out=Value)
cdef Value _unary(Unary rule, Value x)

@cython.locals(ad=cython.double, bd=cython.double, data=cython.double, out=Value)
cdef Value _binary(Binary rule, Value a, Value b)
