"""Comms, the kernel side: one manager that receives comm_open/comm_msg/comm_close from the
frontend and the Comm objects that publish them, with binary buffers.

Libraries written for ipykernel use the `comm` package (`comm.create_comm`,
`comm.get_comm_manager`). When the real package is installed, kite wires its two hooks to this
module as ipykernel does; without it, kite_fallback serves a small `comm` stand-in backed by the
same classes, so those libraries work either way.
"""

import sys
import uuid

from . import iopub


class Comm:
    """A comm, with the API of `comm.base_comm.BaseComm` (ipykernel's Comm)."""

    def __init__(self, target_name="comm", data=None, metadata=None, buffers=None, comm_id=None,
                 primary=True, target_module=None, topic=None, _open_data=None, _close_data=None,
                 **kwargs):
        self.comm_id = comm_id if comm_id else uuid.uuid4().hex
        self.primary = primary
        self.target_name = target_name
        self.target_module = target_module
        self.topic = topic if topic else ("comm-%s" % self.comm_id).encode("ascii")
        self._open_data = _open_data if _open_data else {}
        self._close_data = _close_data if _close_data else {}
        self._msg_callback = None
        self._close_callback = None
        self._closed = True
        if self.primary:
            self.open(data=data, metadata=metadata, buffers=buffers)
        else:
            self._closed = False

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        publish_msg(self, msg_type, data, metadata, buffers, **keys)

    def __del__(self):
        self.close(deleting=True)

    def open(self, data=None, metadata=None, buffers=None):
        if data is None:
            data = self._open_data
        get_comm_manager().register_comm(self)
        try:
            self.publish_msg("comm_open", data=data, metadata=metadata, buffers=buffers,
                             target_name=self.target_name, target_module=self.target_module)
            self._closed = False
        except Exception:
            get_comm_manager().unregister_comm(self)
            raise

    def close(self, data=None, metadata=None, buffers=None, deleting=False):
        if self._closed:
            return
        self._closed = True
        if data is None:
            data = self._close_data
        try:
            self.publish_msg("comm_close", data=data, metadata=metadata, buffers=buffers)
        except Exception:  # at interpreter exit, or in __del__: nothing left to tell
            if not deleting:
                raise
        if not deleting:
            get_comm_manager().unregister_comm(self)

    def send(self, data=None, metadata=None, buffers=None):
        self.publish_msg("comm_msg", data=data, metadata=metadata, buffers=buffers)

    def on_close(self, callback):
        self._close_callback = callback

    def on_msg(self, callback):
        self._msg_callback = callback

    def handle_close(self, msg):
        if self._close_callback:
            self._close_callback(msg)

    def handle_msg(self, msg):
        if self._msg_callback:
            self._msg_callback(msg)


def publish_msg(comm, msg_type, data=None, metadata=None, buffers=None, **keys):
    """What every comm (kite's, or one made by the real `comm` package) publishes through."""
    content = dict(keys)
    content["data"] = {} if data is None else data
    content["comm_id"] = comm.comm_id
    iopub.publish(msg_type, content, metadata or {}, list(buffers) if buffers else None)


def _report(what):
    # ipykernel logs these to the kernel's log; the user's output is where they can see them.
    import traceback
    sys.stderr.write("kite: %s\n" % what)
    traceback.print_exc()


class CommManager:
    """Targets and open comms, with the API of `comm.base_comm.CommManager`."""

    def __init__(self):
        self.comms = {}
        self.targets = {}

    def register_target(self, target_name, f):
        if isinstance(f, str):
            import importlib
            module, _, name = f.rpartition(".")
            f = getattr(importlib.import_module(module), name)
        self.targets[target_name] = f

    def unregister_target(self, target_name, f=None):
        return self.targets.pop(target_name, None)

    def register_comm(self, comm):
        self.comms[comm.comm_id] = comm
        return comm.comm_id

    def unregister_comm(self, comm):
        return self.comms.pop(comm.comm_id, None)

    def get_comm(self, comm_id):
        return self.comms.get(comm_id)

    # The frontend's messages: (stream, ident, msg) as ipykernel calls them.
    def comm_open(self, stream, ident, msg):
        content = msg["content"]
        comm_id = content["comm_id"]
        target_name = content["target_name"]
        f = self.targets.get(target_name)
        comm = create_comm(comm_id=comm_id, primary=False, target_name=target_name)
        self.register_comm(comm)
        if f is None:
            sys.stderr.write("kite: no comm target registered for %r\n" % (target_name,))
        else:
            try:
                f(comm, msg)
                return
            except Exception:
                _report("comm_open of target %r failed" % (target_name,))
        try:  # no target, or it failed: close the comm so the frontend knows
            comm.close()
        except Exception:
            pass
        self.comms.pop(comm_id, None)

    def comm_msg(self, stream, ident, msg):
        comm = self.get_comm(msg["content"]["comm_id"])
        if comm is None:
            return
        try:
            comm.handle_msg(msg)
            import _kite
            _kite.check_signals()  # one that landed during the callback's last C call
        except KeyboardInterrupt as exc:
            # Interrupt stopped a widget callback: shown like a cell's (an Output widget
            # capturing this request shows it; the kernel's state is kept).
            from . import errors
            ename, evalue, tb = errors.describe(exc)
            iopub.publish("error", {"ename": ename, "evalue": evalue, "traceback": tb})
        except Exception:
            _report("comm_msg handler failed")

    def comm_close(self, stream, ident, msg):
        comm_id = msg["content"]["comm_id"]
        comm = self.get_comm(comm_id)
        if comm is None:
            return
        self.comms[comm_id]._closed = True
        del self.comms[comm_id]
        try:
            comm.handle_close(msg)
        except Exception:
            _report("comm_close handler failed")


_manager = None


def get_comm_manager():
    global _manager
    if _manager is None:
        _manager = CommManager()
    return _manager


def create_comm(*args, **kwargs):
    """A new comm: the real `comm` package's BaseComm when it is installed, else kite's."""
    real = sys.modules.get("comm")
    if real is not None and getattr(real, "_kite_comm_class", None) is not None:
        return real._kite_comm_class(*args, **kwargs)
    return Comm(*args, **kwargs)


def patch_real_comm(module):
    """Post-import hook of the real `comm` package: its hooks now reach kite (as ipykernel's)."""
    base = sys.modules.get("comm.base_comm")
    if base is None or getattr(module, "_kite_stand_in", False):
        return

    class KiteComm(base.BaseComm):
        def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
            publish_msg(self, msg_type, data, metadata, buffers, **keys)

    module._kite_comm_class = KiteComm
    module.create_comm = create_comm
    module.get_comm_manager = get_comm_manager


def handle(msg_type, msg):
    """A comm_open / comm_msg / comm_close from the frontend (called by the C++ core)."""
    import comm as _comm_package  # noqa: F401  (the real package, or the stand-in: hooks wired)
    getattr(get_comm_manager(), msg_type)(None, None, msg)


def comm_info(target_name=None):
    return {comm_id: {"target_name": comm.target_name}
            for comm_id, comm in get_comm_manager().comms.items()
            if not target_name or comm.target_name == target_name}
