# Augmenting declarations for the optional compiled build (see autograd/_build.py).
# value.py is compiled as it is: Value becomes an extension type (Node's C fields,
# its operators C-level slots) and the helpers each op runs, C functions.

from autograd.node cimport Node

cdef class Value(Node):
    pass

cdef Value _lift(object x, str op)
cdef Value _unary(object rule, Value x)
cdef Value _binary(object rule, Value a, Value b)
