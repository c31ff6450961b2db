"""valuegrad's version: the one place it is written (setup.cfg reads it with ``attr:``).

Kept in its own module, with no imports, so setuptools reads it without importing
``autograd`` (whose import would need the package's dependencies at build time).
"""

VERSION = "0.1.0"
