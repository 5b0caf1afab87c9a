"""IPython's cell syntax turned into Python, line for line (tracebacks keep their line numbers):

    %name args        -> get_ipython().run_line_magic('name', 'args')
    x = %name args    -> x = get_ipython().run_line_magic('name', 'args')
    %%name args\\nbody -> get_ipython().run_cell_magic('name', 'args', 'body')
    !cmd / x = !cmd   -> get_ipython().system('cmd') / x = get_ipython().getoutput('cmd')
    obj? obj?? ?obj   -> get_ipython().run_line_magic('pinfo' / 'pinfo2', 'obj')

The same calls IPython's TransformerManager produces. An escape only counts at the start of a
statement: never inside a string, a bracket or a backslash continuation. Cells without any
escape character at a line start or `?` at a line end (nearly all) are returned unchanged after
one cheap scan."""

import re

_ASSIGN = re.compile(r"^(\s*)((?:[\w.\[\]'\"]+\s*,\s*)*[\w.\[\]'\"]+\s*=\s*)([%!].*)$")
_HELP = re.compile(r"^(\s*)(\?{1,2})?([\w.*]+(?:\(\))?)(\?{1,2})?\s*$")
_ESCAPED = re.compile(r"^\s*(?:[%!?]|[\w.\[\]'\" ,]+=\s*[%!])")


def _candidate(line):
    return bool(_ESCAPED.match(line)) or line.rstrip().endswith("?")


def needs_transform(code):
    return any(_candidate(line) for line in code.splitlines())


def _at_statement_start(source):
    """True if `source` (the transformed lines before a candidate) ends outside strings,
    brackets and backslash continuations (tokenize fails on those at EOF)."""
    if not source:
        return True
    import io
    import tokenize
    depth = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.OP:
                if tok.string in "([{":
                    depth += 1
                elif tok.string in ")]}":
                    depth = max(depth - 1, 0)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return False  # an unterminated triple-quoted string or bracket
    return depth == 0


def _call(method, *args):
    return "get_ipython().%s(%s)" % (method, ", ".join(repr(a) for a in args))


def _line_escape(text):
    """The call for one escaped statement (without indentation), or None if not an escape."""
    if text.startswith("%%"):
        return None  # a cell magic below the first line: IPython leaves it to Python's error
    if text.startswith("%"):
        name, _, args = text[1:].partition(" ")
        if not name:
            return None
        return _call("run_line_magic", name, args.strip() if args.strip() else "")
    if text.startswith("!!"):
        return _call("getoutput", text[2:].strip())
    if text.startswith("!"):
        return _call("system", text[1:].strip())
    return None


def _help(line):
    m = _HELP.match(line)
    if not m or not (m.group(2) or m.group(4)):
        return None
    marks = m.group(4) or m.group(2)
    name = m.group(3)
    if "*" in name:
        return m.group(1) + _call("run_line_magic", "psearch", name)
    return m.group(1) + _call("run_line_magic", "pinfo2" if marks == "??" else "pinfo", name)


def _transform_line(line):
    indent = line[: len(line) - len(line.lstrip())]
    text = line.strip()
    call = _line_escape(text)
    if call is not None:
        return indent + call
    m = _ASSIGN.match(line)
    if m:
        rhs = m.group(3).strip()
        if rhs.startswith("%") and not rhs.startswith("%%"):
            name, _, args = rhs[1:].partition(" ")
            return m.group(1) + m.group(2) + _call("run_line_magic", name, args.strip())
        if rhs.startswith("!"):
            return m.group(1) + m.group(2) + _call("getoutput", rhs.lstrip("!").strip())
    return _help(line)


def _cell_magic(code):
    first, _, body = code.partition("\n")
    name, _, args = first.strip()[2:].partition(" ")
    if body and not body.endswith("\n"):
        body += "\n"  # as IPython passes it
    return _call("run_cell_magic", name, args.strip(), body) + "\n"


def transform_cell(code):
    """The Python source for an IPython-syntax cell (unchanged if it has no IPython syntax)."""
    if code.lstrip(" \t").startswith("%%") and code.lstrip().split(None, 1)[0] != "%%":
        return _cell_magic(code.lstrip(" \t"))
    if not needs_transform(code):
        return code
    lines = code.splitlines(True)
    out = []
    for line in lines:
        bare = line.rstrip("\r\n")
        if _candidate(bare) and _at_statement_start("".join(out)):
            new = _transform_line(bare)
            if new is not None:
                out.append(new + line[len(bare):])
                continue
        out.append(line)
    return "".join(out)
