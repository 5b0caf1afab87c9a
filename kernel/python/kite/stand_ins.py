"""Stand-in modules for packages that may not be installed (IPython's display API, `comm`).

A StandInFinder sits at the end of sys.meta_path: only when no other finder has the package are
the stand-ins made, on its first import (nothing is imported at kernel start)."""

import sys


class StandInFinder:
    """Serves `make()`'s {name: module} for `names` (the first is the top-level package) when
    nothing earlier on sys.meta_path has them; submodules only under our own top level."""

    def __init__(self, names, packages, make):
        self._names = tuple(names)
        self._packages = frozenset(packages)
        self._make = make
        self._modules = None

    def find_spec(self, name, path=None, target=None):
        if name not in self._names:
            return None
        if name != self._names[0]:
            parent = sys.modules.get(self._names[0])
            if getattr(getattr(parent, "__spec__", None), "loader", None) is not self:
                return None  # the real package without that submodule: not ours to invent
        from _frozen_importlib import ModuleSpec
        return ModuleSpec(name, self, origin="kite", is_package=name in self._packages)

    def create_module(self, spec):
        if self._modules is None:
            self._modules = self._make()
        return self._modules[spec.name]

    def exec_module(self, module):
        pass


def install(names, packages, make):
    """Append a finder for `names` (once per top-level name)."""
    if any(isinstance(f, StandInFinder) and f._names[0] == names[0] for f in sys.meta_path):
        return
    sys.meta_path.append(StandInFinder(names, packages, make))
