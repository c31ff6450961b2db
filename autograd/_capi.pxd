# CPython's cyclic-GC calls, for the optional compiled build only (see autograd/node.py).
cdef extern from "Python.h":
    void PyObject_GC_UnTrack(object)
    void PyObject_GC_Track(object)
    bint PyObject_GC_IsTracked(object)
    unsigned long Py_TPFLAGS_HEAPTYPE
    bint PyType_HasFeature(type, unsigned long)
