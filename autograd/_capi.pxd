# CPython's cyclic-GC calls, for the optional compiled build only (see autograd/node.py),
# and what keeps Value hashed by identity and open to new methods (node.open_value_class).
from cpython.object cimport PyTypeObject

cdef extern from "Python.h":
    void PyType_Modified(type)
    PyTypeObject PyBaseObject_Type
    int PyDict_DelItemString(object, const char*) except -1
    void PyObject_GC_UnTrack(object)
    void PyObject_GC_Track(object)
    bint PyObject_GC_IsTracked(object)
    unsigned long Py_TPFLAGS_HEAPTYPE
    unsigned long Py_TPFLAGS_IMMUTABLETYPE
    bint PyType_HasFeature(type, unsigned long)
