"""A stand-in `comm` package (`comm`, `comm.base_comm`) for when the real one is not installed,
backed by kite.comm; and the hook that wires the real one to kite when it is.

Served by a stand_ins.StandInFinder: only when no other finder has `comm`."""

from . import stand_ins

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


def _wire_real(module):
    from . import comm as kite_comm
    kite_comm.patch_real_comm(module)


def install():
    stand_ins.install(_NAMES, ("comm",), _make_modules)
    import _kite
    _kite.importer.when_imported("comm", _wire_real)
