"""Namespace, environment, directory, history, extension and help magics (IPython's names,
options and output formats)."""

import os
import sys

from . import parse_options, shell, user_ns


def _usage(text):
    from ..shell import UsageError
    return UsageError(text)


# -- packages -------------------------------------------------------------------------------
def pip(line):
    """%pip install NAME ...: kite's installer (kite.packages) in wasm, the real pip natively."""
    from .. import packages
    return packages.pip_command(line)


# -- environment and directories ------------------------------------------------------------
def env(line):
    line = line.strip()
    if not line:
        return dict(os.environ)
    if "=" in line or " " in line:
        return set_env(line)
    try:
        return os.environ[line]
    except KeyError:
        raise _usage("Environment does not have key: %s" % line)


def set_env(line):
    name, sep, value = line.strip().partition("=")
    if not sep:
        name, _, value = line.strip().partition(" ")
    name, value = name.strip(), value.strip()
    if not name:
        raise _usage("usage is 'set_env var=val'")
    if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    os.environ[name] = value
    print("env: %s=%s" % (name, value))


_dir_history = []


def cd(line):
    target = line.strip()
    if len(target) > 1 and target[0] == target[-1] and target[0] in "'\"":
        target = target[1:-1]
    if not target:
        target = os.path.expanduser("~")
    elif target == "-":
        if len(_dir_history) < 2:
            raise _usage("cd -: no previous directory")
        target = _dir_history[-2]
    try:
        os.chdir(os.path.expanduser(target))
    except OSError as exc:
        print("[Errno %s] %s: '%s'" % (exc.errno, exc.strerror, target))
        return
    cwd = os.getcwd()
    _dir_history.append(cwd)
    user_ns()["_dh"] = list(_dir_history)
    print(cwd)


def pwd(line):
    return os.getcwd()


def ls(line):
    """The directory listing, like `ls -F` (no shell needed: works in the browser too)."""
    target = line.strip() or "."
    try:
        names = sorted(os.listdir(target))
    except OSError as exc:
        print("ls: cannot access '%s': %s" % (target, exc.strerror))
        return
    shown = []
    for name in names:
        if name.startswith("."):
            continue
        path = os.path.join(target, name)
        shown.append(name + ("/" if os.path.isdir(path) else ""))
    if shown:
        print("  ".join(shown))


# -- the namespace ----------------------------------------------------------------------------
def _visible():
    """The user's names, as IPython's who_ls: not private, not kite's own initial names."""
    ns = user_ns()
    hidden = shell().user_ns_hidden
    return [name for name in ns if not name.startswith("_") and name not in hidden]


def who_ls(line):
    names = _visible()
    types = line.split()
    if types:
        names = [n for n in names if type(user_ns()[n]).__name__ in types]
    return sorted(names)


def who(line):
    names = who_ls(line)
    if not names:
        print("Interactive namespace is empty." if not line.split()
              else "No variables match your requested type.")
        return
    for name in names:
        print(name + "\t", end=" ")
    print()


def whos(line):
    names = who_ls(line)
    if not names:
        print("Interactive namespace is empty." if not line.split()
              else "No variables match your requested type.")
        return
    ns = user_ns()
    typenames = [type(ns[n]).__name__ for n in names]
    varwidth = max(max(map(len, names)), len("Variable")) + 3
    typewidth = max(max(map(len, typenames)), len("Type")) + 3
    print("Variable".ljust(varwidth) + "Type".ljust(typewidth) + " Data/Info")
    print("-" * (varwidth + typewidth + len("Data/Info") + 1))
    for name, typename in zip(names, typenames):
        value = ns[name]
        print("{0:<{1}}{2:<{3}}".format(name, varwidth, typename, typewidth), end=" ")
        if typename in ("dict", "list", "tuple"):
            print("n=" + str(len(value)))
            continue
        try:
            text = str(value).replace("\n", "\\n")
        except Exception:
            text = "<unprintable>"
        print(text if len(text) < 50 else text[:25] + "<...>" + text[-25:])


def reset(line):
    opts, rest = parse_options(line, "fs", ["aggressive"])
    if "f" not in opts:
        answer = input("Once deleted, variables cannot be recovered. Proceed (y/[n])? ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing done.")
            return
    ns = user_ns()
    from .. import runner
    hidden = shell().user_ns_hidden
    for name in list(ns):
        if name not in hidden:
            del ns[name]
    runner.setup_namespace()
    ns["Out"].clear()


def precision(line):
    from .. import formatters
    line = line.strip()
    if not line:
        formatters.float_format = None
        return "%r"
    if "%" in line:
        try:
            line % 3.14159
        except Exception:
            raise _usage("Precision must be int or format string, not %s" % line)
        formatters.float_format = line
        return line
    try:
        digits = int(line)
    except ValueError:
        raise _usage("Precision must be int or format string, not %s" % line)
    formatters.float_format = "%%.%if" % digits
    return formatters.float_format


def history(line):
    """%history [-n] [-o] [-l N] [-g PATTERN] [-f FILE] [RANGE]: this session's inputs."""
    from .. import history as hist
    opts, rest = parse_options(line, "nol:g:f:p")
    entries = [(e[0], e[1], e[2]) for e in hist._entries]
    if "g" in opts:
        import fnmatch
        pattern = "*" + opts["g"] + "*"
        entries = [e for e in entries if fnmatch.fnmatchcase(e[1], pattern)]
    if rest.strip():
        picked = []
        for part in rest.split():
            start, sep, stop = part.partition("-")
            try:
                lo = int(start)
                hi = int(stop) if sep else lo
            except ValueError:
                raise _usage("Invalid history range: %s" % part)
            picked += [e for e in entries if lo <= e[0] <= hi]
        entries = picked
    if not rest.strip() and "g" not in opts:
        entries = entries[:-1]  # without this %history cell itself, as IPython
    if "l" in opts:
        entries = entries[-int(opts["l"]):] if int(opts["l"]) > 0 else []
    out = []
    for number, source, output in entries:
        if "n" in opts:  # IPython: the number right-aligned in 4, a multi-line cell below it
            out.append("%4d:%s%s" % (number, "\n" if "\n" in source else " ", source))
        else:
            out.append((">>> " if "p" in opts else "") + source)
        if "o" in opts and output is not None:
            out.append(output)
    text = "\n".join(out)
    if "f" in opts:
        with open(opts["f"], "w") as f:
            f.write(text + "\n")
    elif text:
        print(text)


# -- extensions and matplotlib ----------------------------------------------------------------
_loaded = set()


def load_ext(line):
    import importlib
    name = line.strip()
    if not name:
        raise _usage("Missing module name.")
    if name in _loaded:
        print("The %s extension is already loaded. To reload it, use:\n  %%reload_ext %s"
              % (name, name))
        return
    module = importlib.import_module(name)
    hook = getattr(module, "load_ipython_extension", None)
    if hook is None:
        return "no load function"
    hook(shell())
    _loaded.add(name)


def reload_ext(line):
    import importlib
    name = line.strip()
    module = sys.modules.get(name)
    if module is not None and name in _loaded:
        unload = getattr(module, "unload_ipython_extension", None)
        if unload is not None:
            unload(shell())
        module = importlib.reload(module)
        _loaded.discard(name)
    load_ext(name)


INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def _use_inline(matplotlib):
    try:
        matplotlib.use(INLINE_BACKEND)
    except (ImportError, ValueError):  # matplotlib_inline not installed: at least no GUI
        matplotlib.use("agg")


def enable_matplotlib(gui=None):
    """%matplotlib inline: figures shown inline. Accepted before matplotlib can be imported (a
    notebook's first cell often says it; matplotlib may come later from %pip): the backend is
    set when matplotlib is imported."""
    gui = (gui or "inline").strip()
    if gui not in ("inline", "agg"):
        raise _usage("kite shows figures inline only; %%matplotlib %s is not available" % gui)
    sys.modules["_kite"].importer.when_imported("matplotlib", _use_inline)
    return gui, INLINE_BACKEND


def matplotlib(line):
    opts, rest = parse_options(line, "l", ["list"])
    if "l" in opts or "list" in opts:
        print("Available matplotlib backends: ['inline', 'agg']")
        return
    enable_matplotlib(rest.strip() or None)


def config(line):
    return shell().config


def lsmagic(line):
    manager = shell().magics_manager
    line_names = "  ".join("%" + n for n in manager.names("line"))
    cell_names = "  ".join("%%" + n for n in manager.names("cell"))
    print("Available line magics:\n%s\n\nAvailable cell magics:\n%s" % (line_names, cell_names))


# -- help: obj? and obj?? ---------------------------------------------------------------------
def _page(name, detail):
    from .. import completion, inspection, runner
    obj = completion.lookup(name.strip())
    if obj is completion._MISSING:
        print("Object `%s` not found." % name.strip())
        return
    text = inspection.describe(name.strip(), obj, detail)
    runner.payload.append({"source": "page", "data": {"text/plain": text}, "start": 0})


def pinfo(line):
    _page(line, 0)


def pinfo2(line):
    _page(line, 1)


def psearch(line):
    import fnmatch
    pattern = line.strip()
    ns = user_ns()
    import builtins
    names = sorted(set(ns) | set(vars(builtins)))
    if "." in pattern:
        from .. import completion
        base, _, pattern = pattern.rpartition(".")
        obj = completion.lookup(base)
        names = sorted(dir(obj)) if obj is not completion._MISSING else []
    for name in names:
        if fnmatch.fnmatchcase(name, pattern) and not name.startswith("_"):
            print(name)
