# Augmenting declarations for the optional compiled build (see autograd/_build.py).
# checks.py is compiled as it is; this makes ``real``, run for every number an op
# lifts to a constant (``x + 2.0``), a C-level call from value.py, with its float in C.

cimport cython

@cython.locals(f=cython.double)
cpdef double real(object x, object op, str what=*) except? -1.0
