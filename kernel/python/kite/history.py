"""The in-memory input (and output) history of this session, queried by history_request."""

SESSION = 1
_entries = []  # [line, input, output text or None], in execution order


def add(line, source):
    _entries.append([line, source, None])


def set_output(line, text):
    for entry in reversed(_entries):
        if entry[0] == line:
            entry[2] = text
            return


def _format(entries, output):
    if output:
        return [[SESSION, line, [source, out]] for line, source, out in entries]
    return [[SESSION, line, source] for line, source, _ in entries]


def _last(entries, n):
    if n is None:
        return entries
    return entries[-n:] if n > 0 else []


def query(content):
    """The history list of a history_request content."""
    kind = content.get("hist_access_type", "tail")
    output = bool(content.get("output", False))
    n = content.get("n")
    if kind == "tail":
        return _format(_last(_entries, n), output)
    if kind == "range":
        session = content.get("session") or 0
        if session not in (0, SESSION):  # 0: the current session (IPython: <= 0 is relative)
            return []
        start = content.get("start") or 0
        stop = content.get("stop")
        picked = [e for e in _entries if e[0] >= start and (stop is None or e[0] < stop)]
        return _format(picked, output)
    if kind == "search":
        import fnmatch
        pattern = content.get("pattern") or "*"
        picked = [e for e in _entries if fnmatch.fnmatchcase(e[1], pattern)]
        if content.get("unique"):
            latest = {}
            for e in picked:
                latest[e[1]] = e
            picked = sorted(latest.values(), key=lambda e: e[0])
        return _format(_last(picked, n), output)
    raise ValueError("unknown hist_access_type %r" % (kind,))
