"""Minimal `IPython` and `IPython.display` modules when IPython is not installed, so notebooks
written for IPython (`from IPython.display import display, HTML`) work unchanged.

A finder at the end of sys.meta_path: only when no other finder has IPython are the stand-ins
made, on the first `import IPython...` (nothing is imported at kernel start)."""

import sys

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


class ShimFinder:
    """The last meta path finder: serves the stand-ins when nothing else provides IPython."""

    def __init__(self):
        self._modules = None

    def find_spec(self, name, path=None, target=None):
        if name not in _NAMES:
            return None
        if name != "IPython":
            parent = sys.modules.get("IPython")
            if getattr(getattr(parent, "__spec__", None), "loader", None) is not self:
                return None  # a real IPython without that submodule: not ours to invent
        from _frozen_importlib import ModuleSpec
        return ModuleSpec(name, self, origin="kite", is_package=name in ("IPython", "IPython.core"))

    def create_module(self, spec):
        if self._modules is None:
            self._modules = _make_modules()
        module = self._modules[spec.name]
        return module

    def exec_module(self, module):
        pass


def install():
    """Append the finder (once). Returns False if a real IPython is already imported."""
    if any(isinstance(f, ShimFinder) for f in sys.meta_path):
        return True
    sys.meta_path.append(ShimFinder())
    return "IPython" not in sys.modules
