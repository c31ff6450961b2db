"""Stand-in for Cython's ``cython`` module where Cython is not installed.

The engine's modules ask ``cython.compiled`` to know whether the optional
compiled build (:mod:`autograd._build`) is running them; without Cython the
answer is no, and nothing else of Cython is used.
"""

compiled = False
