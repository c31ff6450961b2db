# Augmenting declarations for the optional compiled build (see autograd/_build.py).
# backward.py is compiled as it is; these lines type the hot loops' locals, so a
# node's fields and its kind's ``parents``/``send`` are reached in C.  The walk's test
# for a gradient that is not +0.0 runs on a C double: with libc's math cimported under
# the name backward.py imports, Cython takes ``math.copysign`` from libc (no Python call).

cimport cython
from autograd.kinds cimport RuleKind
from autograd.node cimport Node
from libc cimport math

@cython.locals(seen=set, stack=list, node=Node, p=Node, r=RuleKind, g=cython.double)
cpdef list _order(object root, bint include_leaves, list leaves_found=*, list saved=*,
                  list order=*)

@cython.locals(order=list, saved=list, leaves=list, node=Node, r=RuleKind,
               g=cython.double)
cpdef _run_backward(object root, double seed)
