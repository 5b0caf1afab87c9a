"""complete_request: names, attributes, dict keys and module names, without calling user code
(only simple dotted name chains are looked up)."""

import builtins
import keyword
import pkgutil
import re
import sys
import time

from . import runner

_IDENT = r"[^\W\d]\w*"
_CHAIN = r"%s(?:\s*\.\s*%s)*" % (_IDENT, _IDENT)
_ATTR_RE = re.compile(r"(%s)\s*\.\s*(\w*)$" % _CHAIN)
_NAME_RE = re.compile(r"(%s)?$" % _IDENT)
_KEY_RE = re.compile(r"(%s)\s*\[\s*(['\"])((?:[^'\"\\]|\\.)*)$" % _CHAIN)
_IMPORT_RE = re.compile(r"^\s*import\s+(?:[\w.]+\s*(?:as\s+\w+\s*)?,\s*)*([\w.]*)$")
_FROM_RE = re.compile(r"^\s*from\s+([\w.]*)$")
_FROM_IMPORT_RE = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+\(?\s*(?:\w+\s*(?:as\s+\w+\s*)?,\s*)*(\w*)$")

_module_cache = (0.0, [])
_MODULE_CACHE_SECONDS = 30.0

_MISSING = object()
# Names, attribute chains and dict keys are searched in this many characters before the cursor
# only: those regex searches backtrack (cost ~ length squared) and no completable token is longer.
WINDOW = 400


def _imported_by(code, name):
    """The module that an import statement in `code` binds to `name` (not yet run), or None."""
    for m in re.finditer(r"^[ \t]*import\s+([\w.]+)(?:\s+as\s+(\w+))?|^[ \t]*from\s+([\w.]+)\s+import\s+(\w+)(?:\s+as\s+(\w+))?",
                         code, re.M):
        if m.group(1) and (m.group(2) or m.group(1).split(".")[0]) == name:
            return m.group(1) if m.group(2) else name
        if m.group(3) and (m.group(5) or m.group(4)) == name:
            return m.group(3) + "." + m.group(4)
    return None


def lookup(chain, code=""):
    """The object a dotted name chain refers to in the user namespace, or _MISSING. A name the
    cell itself imports (`import os; os.pa`) is resolved by importing that module, as IPython does."""
    parts = [p.strip() for p in chain.split(".")]
    obj = runner.ns.get(parts[0], _MISSING)
    if obj is _MISSING:
        obj = getattr(builtins, parts[0], _MISSING)
    if obj is _MISSING:
        module = _imported_by(code, parts[0])
        if module is not None:
            obj = _import(module)
            if obj is None and "." in module:  # `from pkg import name` where name is an attribute
                parent = _import(module.rpartition(".")[0])
                obj = getattr(parent, module.rpartition(".")[2], None)
            if obj is None:
                obj = _MISSING
    for part in parts[1:]:
        if obj is _MISSING:
            break
        try:
            obj = getattr(obj, part)
        except Exception:
            return _MISSING
    return obj


def _visible(names, prefix):
    # Private names only when the user asks for them, as IPython does.
    hide = not prefix.startswith("_")
    return sorted({n for n in names
                   if isinstance(n, str) and n.startswith(prefix) and not (hide and n.startswith("_"))})


def _top_level_modules():
    global _module_cache
    stamp, names = _module_cache
    if time.monotonic() - stamp > _MODULE_CACHE_SECONDS:
        found = set(sys.builtin_module_names)
        try:
            found.update(m.name for m in pkgutil.iter_modules())
        except Exception:
            pass
        found.update(n for n in sys.modules if "." not in n)
        names = sorted(found)
        _module_cache = (time.monotonic(), names)
    return names


def _import(name):
    try:
        __import__(name)
        return sys.modules[name]
    except BaseException:  # completion must never fail because of an import's side effects
        return None


def _submodules(package):
    mod = _import(package)
    names = set()
    if mod is not None and hasattr(mod, "__path__"):
        try:
            names.update(m.name for m in pkgutil.iter_modules(mod.__path__))
        except Exception:
            pass
    prefix = package + "."
    names.update(n[len(prefix):] for n in sys.modules if n.startswith(prefix) and "." not in n[len(prefix):])
    return names


def _module_matches(dotted):
    if "." in dotted:
        package, _, prefix = dotted.rpartition(".")
        return [package + "." + n for n in _visible(_submodules(package), prefix)], dotted
    return _visible(_top_level_modules(), dotted), dotted


_MAGIC_RE = re.compile(r"^\s*(%%?)(\w*)$")


def _magic_matches(marks, prefix):
    """`%ti` -> %time, %timeit; `%%wr` -> %%writefile (a `%` alone lists line and cell magics
    on the first line, as IPython)."""
    from .shell import get_ipython
    magics = get_ipython().magics_manager.magics
    kinds = ("cell",) if marks == "%%" else ("line", "cell")
    out = []
    for kind in kinds:
        mark = "%%" if kind == "cell" else "%"
        out += [mark + name for name in sorted(magics[kind]) if name.startswith(prefix)]
    return out


def _matches(before, after):
    """(matches, length of the text they replace before the cursor)."""
    line = before.rsplit("\n", 1)[-1]

    m = _MAGIC_RE.match(line)
    if m:
        return _magic_matches(m.group(1), m.group(2)), len(m.group(1) + m.group(2))

    m = _IMPORT_RE.match(line) or _FROM_RE.match(line)
    if m:
        matches, replaced = _module_matches(m.group(1))
        return matches, len(replaced)

    m = _FROM_IMPORT_RE.match(line)
    if m:
        module, prefix = m.group(1), m.group(2)
        mod = _import(module)
        names = set(_submodules(module))
        if mod is not None:
            names.update(getattr(mod, "__all__", None) or dir(mod))
        return _visible(names, prefix), len(prefix)

    tail = line[-WINDOW:]
    m = _KEY_RE.search(tail)
    if m:
        obj, quote, prefix = lookup(m.group(1), before), m.group(2), m.group(3)
        if obj is _MISSING or not hasattr(obj, "keys"):
            return [], len(prefix)
        try:
            keys = [k for k in obj.keys() if isinstance(k, str)]
        except Exception:
            return [], len(prefix)
        close = "" if after.startswith(quote) else quote
        return sorted(k + close for k in keys if k.startswith(prefix)), len(prefix)

    m = _ATTR_RE.search(tail)
    if m and not re.search(r"[\w.)\]'\"]\s*$", tail[:m.start()]):
        obj, prefix = lookup(m.group(1), before), m.group(2)
        if obj is _MISSING:
            return [], len(prefix)
        try:
            names = dir(obj)
        except Exception:
            names = []
        return _visible(names, prefix), len(prefix)

    m = _NAME_RE.search(tail)
    prefix = m.group(1) or ""
    start = m.start(1) if m.group(1) else len(tail)
    if start > 0 and tail[start - 1] == ".":
        return [], len(prefix)  # an attribute of something we will not evaluate
    if start > 0 and tail[start - 1].isdigit():
        return [], 0
    names = set(runner.ns) | set(dir(builtins)) | set(keyword.kwlist)
    return _visible(names, prefix), len(prefix)


def complete(code, cursor_pos):
    cursor = max(0, min(int(cursor_pos), len(code)))
    try:
        matches, replaced = _matches(code[:cursor], code[cursor:])
    except Exception:
        matches, replaced = [], 0
    return {"status": "ok", "matches": matches, "cursor_start": cursor - replaced,
            "cursor_end": cursor, "metadata": {}}
