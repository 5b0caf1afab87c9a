"""`get_ipython()`: kite's own lightweight shell with the part of ipykernel's InteractiveShell
that libraries and notebooks use (kernel.comm_manager, display_pub, display_formatter, events,
user_ns, magics, run_cell, ex/ev, system/getoutput, config). The real IPython package is not
loaded: importing it costs more than kite's whole start-up (measured: DEVELOPERS.md)."""

import builtins
import sys

from . import formatters, runner


class UsageError(Exception):
    """A magic used wrongly (IPython's IPython.core.error.UsageError): shown without traceback."""


class EventManager:
    """IPython's shell.events: callbacks for pre/post_execute and pre/post_run_cell."""

    EVENTS = ("pre_execute", "pre_run_cell", "post_execute", "post_run_cell", "shell_initialized")

    def __init__(self):
        self.callbacks = {name: [] for name in self.EVENTS}

    def register(self, event, function):
        if event not in self.callbacks:
            raise KeyError("Unknown event %s" % event)
        if not callable(function):
            raise TypeError("Need a callable, got %r" % function)
        if function not in self.callbacks[event]:
            self.callbacks[event].append(function)

    def unregister(self, event, function):
        try:
            self.callbacks[event].remove(function)
        except ValueError:
            raise ValueError("Function %r is not registered as a %s callback" % (function, event))

    def trigger(self, event, *args, **kwargs):
        for function in list(self.callbacks[event]):
            try:
                function(*args, **kwargs)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception:
                import traceback
                sys.stderr.write("Error in callback %r (for %s):\n" % (function, event))
                traceback.print_exc()


class ExecutionInfo:
    def __init__(self, raw_cell, store_history, silent, shell_futures=True, cell_id=None):
        self.raw_cell = raw_cell
        self.store_history = store_history
        self.silent = silent
        self.shell_futures = shell_futures
        self.cell_id = cell_id


class ExecutionResult:
    def __init__(self, info):
        self.info = info
        self.execution_count = None
        self.error_before_exec = None
        self.error_in_exec = None
        self.result = None

    @property
    def success(self):
        return self.error_before_exec is None and self.error_in_exec is None

    def raise_error(self):
        if self.error_before_exec is not None:
            raise self.error_before_exec
        if self.error_in_exec is not None:
            raise self.error_in_exec


class _Formatter:
    """One MIME type of display_formatter.formatters: for_type registration."""

    def __init__(self, mime):
        self.format_type = mime
        self.enabled = True

    @property
    def type_printers(self):
        return formatters.type_printers.setdefault(self.format_type, {})

    def for_type(self, typ, func=None):
        old = self.type_printers.get(typ)
        if func is not None:
            self.type_printers[typ] = func
        return old

    def for_type_by_name(self, type_module, type_name, func=None):
        module = sys.modules.get(type_module)
        typ = getattr(module, type_name, None) if module is not None else None
        if typ is None:  # not imported yet: registered when it is
            def register(mod):
                self.for_type(getattr(mod, type_name), func)
            sys.modules["_kite"].importer.when_imported(type_module, register)
            return None
        return self.for_type(typ, func)

    def pop(self, typ, default=None):
        return self.type_printers.pop(typ, default)

    def __call__(self, obj):
        data, _ = formatters.format(obj, include={self.format_type})
        return data.get(self.format_type)


class DisplayFormatter:
    MIMES = ("text/plain", "text/html", "text/markdown", "image/svg+xml", "image/png",
             "image/jpeg", "text/latex", "application/json", "application/javascript",
             "application/pdf")

    def __init__(self):
        self.formatters = {mime: _Formatter(mime) for mime in self.MIMES}

    def format(self, obj, include=None, exclude=None):
        return formatters.format(obj, include, exclude)


class DisplayPublisher:
    def publish(self, data, metadata=None, source=None, *, transient=None, update=False):
        from .display import publish_display_data
        publish_display_data(data, metadata, transient=transient, update=update)

    def clear_output(self, wait=False):
        from .display import clear_output
        clear_output(wait=wait)


class Kernel:
    """get_ipython().kernel: what libraries reach through it (comm_manager, shell)."""

    implementation = "kite"

    def __init__(self, shell):
        self.shell = shell

    @property
    def comm_manager(self):
        from . import comm
        return comm.get_comm_manager()

    def get_parent(self, channel="shell"):
        return self.shell.get_parent()


class Config(dict):
    """shell.config: a plain dict. 'IPKernelApp' present, as in ipykernel: libraries (tqdm's
    autonotebook) read it to tell a notebook kernel from a terminal."""

    def __init__(self):
        super().__init__(IPKernelApp={})

    def __getattr__(self, name):
        return self.setdefault(name, {})


class SList(list):
    """getoutput()'s result (IPython's SList): the lines, and .s / .n / .l / .p views."""

    @property
    def s(self):
        return " ".join(self)

    @property
    def n(self):
        return "\n".join(self)

    @property
    def l(self):  # noqa: E743 (IPython's name)
        return list(self)

    @property
    def p(self):
        import pathlib
        return [pathlib.Path(x) for x in self]

    def grep(self, pattern):
        import re
        return SList(x for x in self if re.search(pattern, x))


class InteractiveShell:
    """The shell behind get_ipython() (one per kernel)."""

    _instance = None

    def __init__(self):
        from . import magics
        self.user_ns = runner.ns
        self.user_ns_hidden = runner.hidden_names
        self.kernel = Kernel(self)
        self.events = EventManager()
        self.display_pub = DisplayPublisher()
        self.display_formatter = DisplayFormatter()
        self.config = Config()
        self.magics_manager = magics.MagicsManager(self)
        self.execution_count = 1
        self.last_execution_succeeded = True
        self.last_execution_result = None

    @classmethod
    def instance(cls):
        if cls._instance is None:
            cls._instance = ZMQInteractiveShell()
        return cls._instance

    @classmethod
    def initialized(cls):
        return cls._instance is not None

    # -- magics ----------------------------------------------------------------------------
    def register_magic_function(self, func, magic_kind="line", magic_name=None):
        self.magics_manager.register_function(func, magic_kind, magic_name)

    def register_magics(self, *objs):
        self.magics_manager.register(*objs)

    def find_line_magic(self, name):
        return self.magics_manager.magics["line"].get(name)

    def find_cell_magic(self, name):
        return self.magics_manager.magics["cell"].get(name)

    def find_magic(self, name, magic_kind="line"):
        return self.magics_manager.magics[magic_kind].get(name)

    def run_line_magic(self, magic_name, line, _stack_depth=1):
        return self.magics_manager.run_line(magic_name, line)

    def run_cell_magic(self, magic_name, line, cell):
        return self.magics_manager.run_cell(magic_name, line, cell)

    # -- code ------------------------------------------------------------------------------
    def transform_cell(self, raw_cell):
        from .transform import transform_cell
        return transform_cell(raw_cell)

    def run_cell(self, raw_cell, store_history=False, silent=False, shell_futures=True,
                 cell_id=None):
        """Run IPython-syntax code in the user's namespace, as a nested cell: its last
        expression is displayed; errors are shown, not raised (as IPython does)."""
        info = ExecutionInfo(raw_cell, store_history, silent, shell_futures, cell_id)
        result = ExecutionResult(info)
        result.execution_count = self.execution_count
        try:
            result.result = runner.run_nested(raw_cell, show_result=not silent)
        except BaseException as exc:
            result.error_in_exec = exc
            runner.show_error(exc)
        return result

    def ex(self, cmd):
        exec(cmd, self.user_ns)

    def ev(self, expr):
        return eval(expr, self.user_ns)

    def push(self, variables, interactive=True):
        if isinstance(variables, str):
            frame = sys._getframe(1)
            variables = {name: eval(name, frame.f_globals, frame.f_locals)
                         for name in variables.replace(",", " ").split()}
        self.user_ns.update(variables)
        if not interactive:
            self.user_ns_hidden.update(variables)

    def system(self, cmd):
        from .magics import system
        self.user_ns["_exit_code"] = system.run(cmd)

    def getoutput(self, cmd, split=True):
        from .magics import system
        out = system.output(cmd)
        return SList(out.splitlines()) if split else out

    def enable_gui(self, gui=None):
        if gui not in (None, "inline"):
            raise UsageError("kite has no GUI event loops (%s)" % gui)

    def enable_matplotlib(self, gui=None):
        from .magics import basic
        return basic.enable_matplotlib(gui)

    def showtraceback(self, exc_tuple=None, *args, **kwargs):
        exc = (exc_tuple or sys.exc_info())[1]
        if exc is not None:
            runner.show_error(exc)

    def get_parent(self):
        """The request being handled, as ipykernel's: {"header": ...}. ipywidgets' Output
        widget takes its msg_id to capture the outputs that request produces."""
        import _kite
        return {"header": _kite.parent_header()}

    def set_parent(self, parent):
        pass  # kite's core tracks the request itself

    def get_ipython(self):
        return self

    def __repr__(self):
        return "<kite shell (get_ipython())>"


class ZMQInteractiveShell(InteractiveShell):
    """Named like ipykernel's shell: notebooks and libraries test
    `get_ipython().__class__.__name__ == 'ZMQInteractiveShell'` to know they run in a
    Jupyter kernel with rich display."""


def get_ipython():
    """The kernel's shell (IPython's get_ipython())."""
    return InteractiveShell.instance()


def install():
    """get_ipython is a builtin (IPython puts it in the user namespace; a builtin survives
    `del` and %reset). The shell itself is made on first use."""
    builtins.get_ipython = get_ipython
