"""Minimal `IPython` and `IPython.display` modules when IPython is not installed, so notebooks
written for IPython (`from IPython.display import display, HTML`) work unchanged.

Served by a stand_ins.StandInFinder: only when no other finder has IPython."""

import sys

from . import stand_ins

_NAMES = ("IPython", "IPython.display", "IPython.core", "IPython.core.display",
          "IPython.core.getipython", "IPython.core.magic", "IPython.core.error")


def _make_modules():
    import types

    from . import display as kite_display

    display_mod = types.ModuleType("IPython.display", "kite's stand-in for IPython.display")
    for name in kite_display.__all__:
        setattr(display_mod, name, getattr(kite_display, name))
    display_mod.__all__ = list(kite_display.__all__)

    from . import shell
    from .magics import api

    getipython = types.ModuleType("IPython.core.getipython")
    getipython.get_ipython = shell.get_ipython
    magic = types.ModuleType("IPython.core.magic", api.__doc__)
    for name in api.__all__:
        setattr(magic, name, getattr(api, name))
    error = types.ModuleType("IPython.core.error")
    error.UsageError = shell.UsageError

    core = types.ModuleType("IPython.core", "kite's stand-in for IPython.core")
    core.display, core.getipython, core.magic, core.error = display_mod, getipython, magic, error
    core.__path__ = []

    ipython = types.ModuleType("IPython", "kite's stand-in for IPython: the display API, "
                               "get_ipython() (kite's shell) and the magics API")
    ipython.display = display_mod
    ipython.core = core
    ipython.get_ipython = shell.get_ipython
    ipython.__path__ = []  # a package, so `import IPython.display` works
    return {
        "IPython": ipython,
        "IPython.display": display_mod,
        "IPython.core": core,
        "IPython.core.display": display_mod,
        "IPython.core.getipython": getipython,
        "IPython.core.magic": magic,
        "IPython.core.error": error,
    }


def patch_real_ipython(module):
    """A real IPython package (natively, where it may be installed): its get_ipython() gives
    kite's shell, as it gives ipykernel's in ipykernel."""
    if isinstance(getattr(module, "__spec__", None) and module.__spec__.loader, stand_ins.StandInFinder):
        return
    from . import shell
    module.get_ipython = shell.get_ipython
    getipython = sys.modules.get("IPython.core.getipython")
    if getipython is not None:
        getipython.get_ipython = shell.get_ipython


def install():
    """Append the finder (once). Returns False if a real IPython is already imported."""
    stand_ins.install(_NAMES, ("IPython", "IPython.core"), _make_modules)
    return "IPython" not in sys.modules
