# Augmenting declarations for the optional compiled build (see autograd/_build.py).
# backward.py is compiled as it is; these lines type the hot loops' containers.

cimport cython

@cython.locals(order=list, stack=list)
cpdef list _order(object root, bint include_leaves, list leaves_found=*, set seen=*,
                  dict stash=*)

@cython.locals(stash=dict, seen=set, leaves=list, order=list)
cpdef _run_backward(object root, double seed)
