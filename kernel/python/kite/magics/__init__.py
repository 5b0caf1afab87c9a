"""Magics: the registry behind get_ipython().run_line_magic / run_cell_magic, and kite's
built-in magics, with IPython's names, options and output formats.

The built-ins are listed by name -> "module:function" and imported on first use, so a kernel
that never runs a magic pays nothing for them."""

import importlib

# name -> "submodule:function" (line magics get (line), cell magics get (line, cell)).
BUILTIN_LINE = {
    "time": "timing:time_line", "timeit": "timing:timeit_line",
    "pip": "basic:pip",
    "env": "basic:env", "set_env": "basic:set_env",
    "cd": "basic:cd", "pwd": "basic:pwd", "ls": "basic:ls",
    "who": "basic:who", "who_ls": "basic:who_ls", "whos": "basic:whos",
    "reset": "basic:reset", "precision": "basic:precision", "history": "basic:history",
    "hist": "basic:history",
    "load_ext": "basic:load_ext", "reload_ext": "basic:reload_ext", "matplotlib": "basic:matplotlib",
    "lsmagic": "basic:lsmagic", "magic": "basic:lsmagic",
    "pinfo": "basic:pinfo", "pinfo2": "basic:pinfo2", "psearch": "basic:psearch",
    "config": "basic:config",
    "system": "system:system_line", "sx": "system:sx_line",
}
BUILTIN_CELL = {
    "time": "timing:time_cell", "timeit": "timing:timeit_cell",
    "writefile": "cells:writefile", "file": "cells:writefile", "capture": "cells:capture",
    "html": "cells:html", "HTML": "cells:html", "javascript": "cells:javascript",
    "js": "cells:javascript", "markdown": "cells:markdown", "svg": "cells:svg",
    "SVG": "cells:svg", "latex": "cells:latex",
    "bash": "system:bash", "sh": "system:sh", "script": "system:script",
    "system": "system:system_cell", "sx": "system:sx_cell", "!": "system:system_cell",
}


def _builtin(spec):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(__name__ + "." + module), name)


class _Lazy:
    """A built-in magic, imported when first called."""

    def __init__(self, spec):
        self.spec = spec

    def __call__(self, *args):
        return _builtin(self.spec)(*args)


class MagicsManager:
    def __init__(self, shell):
        self.shell = shell
        self.magics = {
            "line": {name: _Lazy(spec) for name, spec in BUILTIN_LINE.items()},
            "cell": {name: _Lazy(spec) for name, spec in BUILTIN_CELL.items()},
        }
        self.registry = {}

    def register_function(self, func, magic_kind="line", magic_name=None):
        name = magic_name or func.__name__
        kinds = ("line", "cell") if magic_kind == "line_cell" else (magic_kind,)
        for kind in kinds:
            if kind not in self.magics:
                raise ValueError("magic_kind must be one of line, cell, line_cell: %r" % magic_kind)
            if magic_kind == "line_cell":
                self.magics[kind][name] = (lambda line, cell=None, _f=func: _f(line, cell))
            else:
                self.magics[kind][name] = func

    def register(self, *objs):
        """Register IPython-style Magics classes or instances (see kite.magics.api)."""
        from .api import magics_of
        for obj in objs:
            for kind, name, func in magics_of(obj, self.shell):
                self.magics[kind][name] = func

    def run_line(self, name, line):
        from ..shell import UsageError
        func = self.magics["line"].get(name)
        if func is None:
            if name in self.magics["cell"]:
                raise UsageError("Line magic function `%%%s` not found (But cell magic "
                                 "`%%%%%s` exists, did you mean that instead?)." % (name, name))
            raise UsageError("Line magic function `%%%s` not found." % name)
        return func(line)

    def run_cell(self, name, line, cell):
        from ..shell import UsageError
        func = self.magics["cell"].get(name)
        if func is None:
            if name in self.magics["line"]:
                raise UsageError("Cell magic `%%%%%s` not found (But line magic `%%%s` exists, "
                                 "did you mean that instead?)." % (name, name))
            raise UsageError("Cell magic `%%%%%s` not found." % name)
        return func(line, cell)

    def names(self, kind):
        return sorted(self.magics[kind], key=str.lower)


def shell():
    from ..shell import get_ipython
    return get_ipython()


def user_ns():
    from .. import runner
    return runner.ns


def parse_options(line, spec, long_opts=()):
    """IPython's parse_options: getopt-style `spec` ("n:r:qo"); returns (opts dict, rest)."""
    import getopt
    import shlex
    from ..shell import UsageError
    try:
        argv = shlex.split(line, posix=True)
    except ValueError:
        argv = line.split()
    # Options end at the first non-option (the code of %timeit may look like options).
    try:
        opts, rest = getopt.getopt(argv, spec, list(long_opts))
    except getopt.GetoptError as exc:
        raise UsageError("%s ( allowed: \"%s\" %s)" % (exc.msg, spec, " ".join(long_opts)))
    consumed = _consumed_prefix(line, argv, rest)
    return {k.lstrip("-"): v for k, v in opts}, consumed


def _consumed_prefix(line, argv, rest):
    """The raw text after the options (quotes and spacing of the code kept)."""
    if not rest:
        return ""
    n_opts = len(argv) - len(rest)
    text = line.lstrip()
    import re
    for _ in range(n_opts):
        m = re.match(r"""(?:'[^']*'|"[^"]*"|\S)+\s*""", text)
        if not m:
            break
        text = text[m.end():]
    return text
