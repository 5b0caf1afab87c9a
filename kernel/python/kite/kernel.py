"""What the C++ core calls: one-time setup, then one function per request type."""

import builtins
import getpass
import platform
import sys
import time

import _kite

from . import __version__, display, iopub, ipython_shim, runner, stdin
from . import history as _history


def setup():
    sys.stdout = iopub.OutStream("stdout")
    sys.stderr = iopub.OutStream("stderr")
    # sys.__stdout__/__stderr__ stay the process's own streams when it has them.
    if sys.__stdout__ is None:
        sys.__stdout__ = sys.stdout
    if sys.__stderr__ is None:
        sys.__stderr__ = sys.stderr
    _kite.set_flush_hook(iopub.flush)
    time.sleep = _kite.sleep  # interruptible, and flushes streams first
    builtins.input = stdin.input
    getpass.getpass = stdin.getpass
    builtins.display = display.display
    ipython_shim.install()
    runner.setup_namespace()


def execute(code, silent, store_history, user_expressions, allow_stdin):
    return runner.execute(code, silent, store_history, user_expressions, allow_stdin)


def complete(code, cursor_pos):
    from . import completion
    return completion.complete(code, cursor_pos)


def inspect(code, cursor_pos, detail_level):
    from . import inspection
    return inspection.inspect(code, cursor_pos, detail_level)


def is_complete(code):
    from . import completeness
    return completeness.is_complete(code)


def kernel_info():
    version = platform.python_version()
    return {
        "status": "ok",
        "protocol_version": "5.3",
        "implementation": "kite",
        "implementation_version": __version__,
        "language_info": {
            "name": "python",
            "version": version,
            "mimetype": "text/x-python",
            "file_extension": ".py",
            "pygments_lexer": "ipython3",
            "codemirror_mode": {"name": "ipython", "version": 3},
            "nbconvert_exporter": "python",
        },
        "banner": "kite %s: Python %s on %s\n" % (__version__, version, sys.platform),
        "help_links": [
            {"text": "Python Reference", "url": "https://docs.python.org/%d.%d" % sys.version_info[:2]},
        ],
        "debugger": False,
    }


def history(content):
    return {"status": "ok", "history": _history.query(content)}


def comm_info(content):
    return {"status": "ok", "comms": {}}


def shutdown(restart):
    iopub.flush()
    return {"status": "ok", "restart": bool(restart)}
