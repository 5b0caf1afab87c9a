"""kite: the Python side of the kite kernel, embedded into its C++ core.

The C++ core calls the functions of `kite.kernel`; user code may import `kite.display`.
Modules: kernel (entry points, setup), runner (cells), iopub (stream batching, output order),
display + formatters (MIME bundles), errors (tracebacks), stdin (input/getpass), history,
completion, inspection, completeness (is_complete), ipython_shim, _importer (serves these
sources from the C++ binary). `_kite` is the C++ extension module (publish, input, sleep).
"""

__version__ = "0.1.0"
