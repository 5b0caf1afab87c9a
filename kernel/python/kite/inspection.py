"""inspect_request: the name at (or the call around) the cursor, with signature and docstring."""

import inspect as _inspect
import re

from . import completion

_NAME_AT_END = re.compile(r"[^\W\d]\w*(?:\s*\.\s*[^\W\d]\w*)*$")
_NAME_START = re.compile(r"^\w*")
_MAX_REPR = 300
# Only this much text around the cursor is searched: the regex searches backtrack, so their cost
# grows with the square of the text; no name or call worth inspecting is longer.
WINDOW = 400


def _name_at(code, cursor):
    """The dotted name under the cursor, else the name of the innermost open call before it."""
    before, after = code[max(0, cursor - WINDOW):cursor], code[cursor:cursor + WINDOW]
    tail = _NAME_START.match(after).group(0)
    m = _NAME_AT_END.search(before + tail)
    if m and m.group(0):
        return re.sub(r"\s+", "", m.group(0))
    depth = 0
    for i in range(len(before) - 1, -1, -1):
        c = before[i]
        if c in ")]}":
            depth += 1
        elif c in "([{":
            if depth == 0:
                if c != "(":
                    return None
                m = _NAME_AT_END.search(before[:i].rstrip())
                return re.sub(r"\s+", "", m.group(0)) if m else None
            depth -= 1
    return None


def _signature(name, obj):
    try:
        return name + str(_inspect.signature(obj))
    except (TypeError, ValueError):
        return None


def describe(name, obj, detail_level=0):
    lines = []
    if callable(obj):
        sig = _signature(name.rpartition(".")[2], obj)
        if sig:
            lines.append("Signature: " + sig)
    else:
        try:
            text = repr(obj)
        except Exception:
            text = "<unprintable>"
        if len(text) > _MAX_REPR:
            text = text[:_MAX_REPR] + "..."
        lines.append("String form: " + text)
    doc = _inspect.getdoc(obj)
    if detail_level >= 1:
        try:
            lines.append("Source:\n" + _inspect.getsource(obj).rstrip("\n"))
        except (OSError, TypeError):
            pass
    if doc:
        lines.append("Docstring:\n" + doc if "\n" in doc else "Docstring: " + doc)
    lines.append("Type: " + type(obj).__name__)
    try:
        filename = _inspect.getsourcefile(obj) or _inspect.getfile(obj)
        lines.append("File: " + filename)
    except (OSError, TypeError):
        pass
    return "\n".join(lines)


def inspect(code, cursor_pos, detail_level=0):
    cursor = max(0, min(int(cursor_pos), len(code)))
    reply = {"status": "ok", "found": False, "data": {}, "metadata": {}}
    try:
        name = _name_at(code, cursor)
        obj = completion.lookup(name) if name else completion._MISSING
        if obj is completion._MISSING:
            return reply
        reply.update(found=True, data={"text/plain": describe(name, obj, detail_level)})
    except Exception:
        pass
    return reply
