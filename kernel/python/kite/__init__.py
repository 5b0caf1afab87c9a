"""kite: the Python side of the kite kernel, embedded into its C++ core.

The C++ core calls the functions of `kite.kernel`; user code may import `kite.display`.
"""

__version__ = "0.1.0"
