"""Minimal `IPython` and `IPython.display` modules when IPython is not installed, so notebooks
written for IPython (`from IPython.display import display, HTML`) work unchanged.

Served by a stand_ins.StandInFinder: only when no other finder has IPython."""

import sys

from . import stand_ins

_NAMES = ("IPython", "IPython.display", "IPython.core", "IPython.core.display")


def _make_modules():
    import types

    from . import display as kite_display

    display_mod = types.ModuleType("IPython.display", "kite's stand-in for IPython.display")
    for name in kite_display.__all__:
        setattr(display_mod, name, getattr(kite_display, name))
    display_mod.__all__ = list(kite_display.__all__)

    core = types.ModuleType("IPython.core", "kite's stand-in for IPython.core")
    core.display = display_mod
    core.__path__ = []

    ipython = types.ModuleType("IPython", "kite's stand-in for IPython (only the display API)")
    ipython.display = display_mod
    ipython.core = core
    ipython.get_ipython = lambda: None  # libraries use this to detect a real IPython shell
    ipython.__path__ = []  # a package, so `import IPython.display` works
    return {
        "IPython": ipython,
        "IPython.display": display_mod,
        "IPython.core": core,
        "IPython.core.display": display_mod,
    }


def install():
    """Append the finder (once). Returns False if a real IPython is already imported."""
    stand_ins.install(_NAMES, ("IPython", "IPython.core"), _make_modules)
    return "IPython" not in sys.modules
