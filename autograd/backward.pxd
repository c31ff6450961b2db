# Augmenting declarations for the optional compiled build (see autograd/_build.py).
# backward.py is compiled as it is; these lines type the hot loops' locals, so a
# node's fields and its kind's ``parents``/``send`` are reached in C.

cimport cython
from autograd.kinds cimport RuleKind
from autograd.node cimport Node

@cython.locals(seen=set, stack=list, node=Node, p=Node, r=RuleKind)
cpdef list _order(object root, bint include_leaves, list leaves_found=*, list saved=*,
                  list saved_leaves=*, list order=*)

@cython.locals(order=list, saved=list, leaves=list, saved_leaves=list, node=Node, r=RuleKind,
               g=cython.double)
cpdef _run_backward(object root, double seed)
