"""Minimal `IPython` and `IPython.display` modules when IPython is not installed, so notebooks
written for IPython (`from IPython.display import display, HTML`) work unchanged."""

import importlib.util
import sys
import types


def install():
    try:
        if importlib.util.find_spec("IPython") is not None:
            return False
    except (ImportError, ValueError):
        pass
    from . import display as kite_display

    display_mod = types.ModuleType("IPython.display", "kite's stand-in for IPython.display")
    for name in kite_display.__all__:
        setattr(display_mod, name, getattr(kite_display, name))
    display_mod.__all__ = list(kite_display.__all__)

    core = types.ModuleType("IPython.core", "kite's stand-in for IPython.core")
    core.display = display_mod

    ipython = types.ModuleType("IPython", "kite's stand-in for IPython (only the display API)")
    ipython.display = display_mod
    ipython.core = core
    ipython.get_ipython = lambda: None  # libraries use this to detect a real IPython shell
    ipython.__path__ = []  # a package, so `import IPython.display` works

    sys.modules.update({
        "IPython": ipython,
        "IPython.display": display_mod,
        "IPython.core": core,
        "IPython.core.display": display_mod,
    })
    return True
