"""What the C++ core calls: one-time setup, then one function per request type."""

import builtins
import sys
import time

import _kite

from . import __version__, comm_fallback, iopub, ipython_shim, runner, shell, stdin
from . import history as _history

# Start time matters (wasm): modules kite patches are patched when user code imports them, and
# the helpers import heavy modules (inspect, pprint, uuid, ...) where they need them.


def _patch_getpass(getpass):
    getpass.getpass = stdin.getpass


def display(*objs, **kwargs):
    """Show objects in the frontend: kite.display.display, imported on first use (which then
    replaces this stand-in as builtins.display)."""
    from .display import display as _display
    return _display(*objs, **kwargs)


display._kite_lazy = True


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
    sys.unraisablehook = _kite.unraisablehook  # re-delivers interrupts a callback swallowed
    builtins.input = stdin.input
    builtins.display = display
    builtins.exit = runner.Exit("exit")
    builtins.quit = runner.Exit("quit")
    hooks = _kite.importer
    hooks.when_imported("getpass", _patch_getpass)
    hooks.when_imported("linecache", runner.patch_linecache)
    if sys.platform == "emscripten":
        def _patch_socket(module):
            from ._emscripten import patch_socket
            patch_socket(module)

        def _patch_asyncio(module):
            from ._emscripten import patch_asyncio
            patch_asyncio(module)

        hooks.when_imported("socket", _patch_socket)
        hooks.when_imported("asyncio", _patch_asyncio)
        # what %pip installed into a directory on disk (kite-node) in an earlier session
        import os
        if os.environ.get("KITE_SITE_PACKAGES"):
            sys.path.append(os.path.normpath(os.environ["KITE_SITE_PACKAGES"]))
        # `import numpy` on a site that bundles numpy installs it (packages/bundled.py)
        from .packages.bundled import install_finder
        install_finder()
    # Modules beside the notebook import, as in ipykernel (IPKernelApp.init_path): '' is the cwd.
    if not sys.path or sys.path[0] != "":
        sys.path.insert(0, "")
    shell.install()
    ipython_shim.install()
    ipython_shim.patch_real_ipython(hooks)
    comm_fallback.install()
    runner.setup_namespace()


def execute(code, silent, store_history, user_expressions, allow_stdin, count):
    return runner.execute(code, silent, store_history, user_expressions, allow_stdin, count)


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
    version = sys.version.split()[0]  # platform.python_version(), without importing platform
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
    from . import comm
    return {"status": "ok", "comms": comm.comm_info(content.get("target_name"))}


def shutdown(restart):
    iopub.flush()
    return {"status": "ok", "restart": bool(restart)}
