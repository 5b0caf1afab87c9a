"""A stand-in `comm` package (`comm`, `comm.base_comm`) for when the real one is not installed,
backed by kite.comm; and the hook that wires the real one to kite when it is.

A finder at the end of sys.meta_path: the stand-in is made only when no other finder has `comm`
(nothing is imported at kernel start)."""

import sys

_NAMES = ("comm", "comm.base_comm")


def _make_modules():
    import types

    from . import comm as kite_comm

    base = types.ModuleType("comm.base_comm", "kite's stand-in for comm.base_comm")
    base.BaseComm = kite_comm.Comm
    base.CommManager = kite_comm.CommManager
    package = types.ModuleType("comm", "kite's stand-in for the comm package")
    package.__version__ = "0.2.2+kite"
    package._kite_stand_in = True
    package.base_comm = base
    package.BaseComm = kite_comm.Comm
    package.CommManager = kite_comm.CommManager
    package.create_comm = kite_comm.create_comm
    package.get_comm_manager = kite_comm.get_comm_manager
    package.__path__ = []
    return {"comm": package, "comm.base_comm": base}


class StandInFinder:
    """The last meta path finder: serves the stand-in when nothing else provides `comm`."""

    def __init__(self):
        self._modules = None

    def find_spec(self, name, path=None, target=None):
        if name not in _NAMES:
            return None
        if name != "comm":
            parent = sys.modules.get("comm")
            if getattr(getattr(parent, "__spec__", None), "loader", None) is not self:
                return None
        from _frozen_importlib import ModuleSpec
        return ModuleSpec(name, self, origin="kite", is_package=name == "comm")

    def create_module(self, spec):
        if self._modules is None:
            self._modules = _make_modules()
        return self._modules[spec.name]

    def exec_module(self, module):
        pass


def _wire_real(module):
    from . import comm as kite_comm
    kite_comm.patch_real_comm(module)


def install():
    if not any(isinstance(f, StandInFinder) for f in sys.meta_path):
        sys.meta_path.append(StandInFinder())
    import _kite
    _kite.importer.when_imported("comm", _wire_real)
