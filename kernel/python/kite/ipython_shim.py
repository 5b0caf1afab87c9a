"""Minimal `IPython` and `IPython.display` modules when IPython is not installed, so notebooks
written for IPython (`from IPython.display import display, HTML`) work unchanged.

Served by a stand_ins.StandInFinder: only when no other finder has IPython."""

import sys

from . import stand_ins

_NAMES = ("IPython", "IPython.display", "IPython.core", "IPython.core.display",
          "IPython.core.getipython", "IPython.core.magic", "IPython.core.error",
          "IPython.core.interactiveshell")


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
    interactiveshell = types.ModuleType("IPython.core.interactiveshell")
    interactiveshell.InteractiveShell = shell.InteractiveShell
    interactiveshell.ExecutionInfo = shell.ExecutionInfo
    interactiveshell.ExecutionResult = shell.ExecutionResult

    core = types.ModuleType("IPython.core", "kite's stand-in for IPython.core")
    core.display, core.getipython, core.magic, core.error = display_mod, getipython, magic, error
    core.interactiveshell = interactiveshell
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
        "IPython.core.interactiveshell": interactiveshell,
    }


def _is_stand_in(module):
    return isinstance(getattr(getattr(module, "__spec__", None), "loader", None),
                      stand_ins.StandInFinder)


def _patch_get_ipython(module):
    if not _is_stand_in(module):
        from . import shell
        module.get_ipython = shell.get_ipython


def _patch_display_functions(module):
    # IPython's display() prints a repr unless its own InteractiveShell runs: kite's publish.
    from . import display
    for name in ("display", "clear_output", "update_display", "publish_display_data"):
        setattr(module, name, getattr(display, name))


def patch_real_ipython(hooks):
    """A real IPython package (natively, where it may be installed) serves kite's shell from
    get_ipython() and publishes display() through kite, as it does ipykernel's."""
    hooks.when_imported("IPython.core.getipython", _patch_get_ipython)
    hooks.when_imported("IPython", _patch_get_ipython)
    hooks.when_imported("IPython.core.display_functions", _patch_display_functions)


def install():
    """Append the finder (once). Returns False if a real IPython is already imported."""
    stand_ins.install(_NAMES, ("IPython", "IPython.core"), _make_modules)
    return "IPython" not in sys.modules
