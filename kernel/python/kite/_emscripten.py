"""What the WebAssembly build (sys.platform == "emscripten") needs from the stdlib, installed by
kite.kernel as post-import hooks so that nothing here is imported at start:

- asyncio: an event loop without a self-pipe (Emscripten has no socketpair(); socket.py's
  fallback listens on TCP, which Emscripten's socket emulation turns into `require('ws')` and a
  fatal JS error). The process is single-threaded, so nothing can wake the loop from another
  thread; only signals (interrupts) can, and the selector's wait returns for those. With no file
  descriptors registered the selector waits with the host's interruptible, CPU-free wait.
- socket: network operations that reach Emscripten's WebSocket emulation (connect, listen,
  bind, sendto/sendmsg of datagrams) raise OSError instead of killing the worker.
"""

import errno
import sys

import _kite

NO_NETWORK = "network sockets are not available in kite's WebAssembly build"
_POLL_INTERVAL = 0.01  # seconds between polls of registered fds (Emscripten's select cannot wait)
_FOREVER_CHUNK = 3600.0


def _no_network(*args, **kwargs):
    raise OSError(errno.EOPNOTSUPP, NO_NETWORK)


def patch_socket(socket):
    """socket.socket's methods that would reach SOCKFS's WebSocket code raise OSError."""
    if getattr(socket, "_kite_patched", False):
        return
    cls = socket.socket
    for name in ("connect", "connect_ex", "listen", "bind", "sendto", "sendmsg"):
        def method(self, *args, _name=name, **kwargs):
            raise OSError(errno.EOPNOTSUPP, NO_NETWORK)
        method.__name__ = name
        method.__qualname__ = "socket." + name
        method.__doc__ = "Not available in kite's WebAssembly build: raises OSError."
        setattr(cls, name, method)

    def socketpair(family=None, type=None, proto=0):
        raise OSError(errno.EOPNOTSUPP, NO_NETWORK)

    socket.socketpair = socketpair
    socket._kite_patched = True


def _wait(timeout):
    """Wait up to `timeout` seconds (None: until a signal); True if a signal handler ran."""
    if timeout is None:
        while True:
            if _kite.wait(_FOREVER_CHUNK):
                return True
    if timeout <= 0:
        return False
    return _kite.wait(timeout)


def patch_asyncio(asyncio):
    """Make kite's loop asyncio's default (policy, SelectorEventLoop)."""
    if getattr(asyncio, "_kite_patched", False):
        return
    import selectors
    import time
    from asyncio import events, selector_events

    class KiteSelector(selectors.SelectSelector):
        """select() waits with the host's interruptible wait instead of spinning."""

        def select(self, timeout=None):
            if not self._fd_to_key:
                _wait(timeout)
                return []
            deadline = None if timeout is None else time.monotonic() + max(timeout, 0)
            while True:
                ready = super().select(0)
                if ready:
                    return ready
                left = _POLL_INTERVAL if deadline is None else min(_POLL_INTERVAL, deadline - time.monotonic())
                if left <= 0 or _wait(left):
                    return []

    class KiteEventLoop(selector_events.BaseSelectorEventLoop):
        """asyncio's selector loop without the self-pipe (kite's WebAssembly build)."""

        def __init__(self, selector=None):
            super().__init__(selector if selector is not None else KiteSelector())

        def _make_self_pipe(self):
            pass

        def _close_self_pipe(self):
            pass

        def _write_to_self(self):
            # Single-threaded: callers are on the loop's thread, and the loop is either running
            # (it sees _ready before it waits) or woken by the signal whose handler called us.
            pass

        def _process_self_data(self, data):
            pass

    class KiteEventLoopPolicy(events.BaseDefaultEventLoopPolicy):
        _loop_factory = KiteEventLoop

    asyncio.KiteEventLoop = KiteEventLoop
    asyncio.SelectorEventLoop = KiteEventLoop
    asyncio.DefaultEventLoopPolicy = KiteEventLoopPolicy
    unix_events = sys.modules.get("asyncio.unix_events")
    if unix_events is not None:
        unix_events.SelectorEventLoop = KiteEventLoop
        unix_events.DefaultEventLoopPolicy = KiteEventLoopPolicy
    asyncio.set_event_loop_policy(KiteEventLoopPolicy())
    asyncio._kite_patched = True
