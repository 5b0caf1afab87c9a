"""is_complete_request with the semantics of IPython's TransformerManager.check_complete:
'complete', 'incomplete' (with the indent of the next line) or 'invalid'."""

import codeop
import io
import re
import tokenize
import warnings

_INDENT = re.compile(r"^[ \t]+")
_SKIP_AT_END = {tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER}
_NOT_CODE = {tokenize.INDENT, tokenize.DEDENT, tokenize.NL, tokenize.COMMENT, tokenize.NEWLINE}


def _last_indent(lines):
    m = _INDENT.match(lines[-1]) if lines else None
    return len(m.group(0).replace("\t", " " * 4)) if m else 0


def strip_leading_indent(code):
    """Remove the first line's indentation from every line (IPython's leading_indent), so a
    block pasted from inside a function runs."""
    m = _INDENT.match(code)
    if not m:
        return code
    space = m.group(0)
    return "".join(line[len(space):] if line.startswith(space) else line
                   for line in code.splitlines(keepends=True))


def _tokens(source):
    """(tokens, finished): finished is False when the source ends inside a bracket or string."""
    toks = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            toks.append(tok)
    except tokenize.TokenError:
        return toks, False
    return toks, True


def _closes_unopened(tokens):
    # More closing than opening brackets: no continuation can fix that.
    depth = 0
    for tok in tokens:
        if tok.type == tokenize.OP:
            if tok.string in "([{":
                depth += 1
            elif tok.string in ")]}":
                depth -= 1
                if depth < 0:
                    return True
    return False


def check(code):
    """(status, indent or None)."""
    if not code.strip():
        return "complete", None
    ends_with_newline = code.rstrip(" \t\f\r").endswith("\n")
    if not ends_with_newline:
        code += "\n"
    code = strip_leading_indent(code)
    lines = code.splitlines(keepends=True)
    try:
        tokens, finished = _tokens(code)
    except (SyntaxError, ValueError):  # e.g. IndentationError from dedent mismatch
        return "invalid", None
    if len(lines) == 1 and _closes_unopened(tokens):
        return "invalid", None
    if not finished:
        return "incomplete", _last_indent(lines)  # open bracket, string or backslash

    # The last token that is code decides whether a block is being opened.
    significant = [t for t in tokens if t.type not in _SKIP_AT_END]
    while significant and significant[-1].type == tokenize.DEDENT:
        significant.pop()
    if not significant:
        return "complete", None  # only comments
    last = significant[-1]
    if last.type == tokenize.OP and last.string == ":":
        # The block's indent: where its logical line starts (it may span physical lines).
        i = next(i for i in range(len(tokens) - 1, -1, -1) if tokens[i] is last)
        while i > 0 and tokens[i - 1].type != tokenize.NEWLINE:
            i -= 1
        first = next(t for t in tokens[i:] if t.type not in _NOT_CODE)
        return "incomplete", first.start[1] + 4

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", SyntaxWarning)
            compiled = codeop.compile_command(code, symbol="exec")
    except (SyntaxError, OverflowError, ValueError, TypeError, MemoryError, SyntaxWarning):
        return "invalid", None
    if compiled is None:
        return "incomplete", _last_indent(lines)
    if _last_line_is_indented_block(tokens) and not ends_with_newline:
        return "incomplete", _last_indent(lines)
    return "complete", None


def _last_line_is_indented_block(tokens):
    # tokenize closes open blocks with DEDENTs at the end: any means the source ends in a block.
    for tok in reversed(tokens):
        if tok.type not in (tokenize.ENDMARKER, tokenize.NL):
            return tok.type == tokenize.DEDENT
    return False


def _ipython_syntax(code):
    """(status, indent) for cells IPython's rules decide: a cell magic is complete only after
    an empty last line; other IPython syntax is checked as the Python it becomes."""
    if code.lstrip().startswith("%%"):
        lines = code.splitlines()
        done = len(lines) > 1 and code.endswith("\n") and not lines[-1].strip()
        return ("complete", None) if done else ("incomplete", 0)
    from .transform import transform_cell
    return check(transform_cell(code))


def is_complete(code):
    if "%" in code or "!" in code or "?" in code:
        status, indent = _ipython_syntax(code)
    else:
        status, indent = check(code)
    reply = {"status": status}
    if status == "incomplete":
        reply["indent"] = " " * (indent or 0)
    return reply
