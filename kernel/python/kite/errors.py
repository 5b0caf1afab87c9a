"""How exceptions reach the user: name, value and a traceback without kite's own frames."""

class StdinNotImplementedError(RuntimeError):
    """input() or getpass() was called, but the frontend cannot answer input requests."""


def _is_kite_frame(frame):
    return frame.filename.startswith("<kite/")


def _hide_kite_frames(te, seen):
    import traceback
    if id(te) in seen:
        return
    seen.add(id(te))
    frames = [f for f in te.stack if not _is_kite_frame(f)]
    te.stack = traceback.StackSummary.from_list(frames)
    for other in (te.__cause__, te.__context__):
        if other is not None:
            _hide_kite_frames(other, seen)
    for sub in getattr(te, "exceptions", None) or ():
        _hide_kite_frames(sub, seen)


def _safe_str(value):
    try:
        return str(value)
    except Exception:
        return "<unprintable %s object>" % type(value).__name__


def describe(exc):
    """(ename, evalue, traceback lines) of an exception, as ipykernel's error messages carry."""
    ename = type(exc).__name__
    evalue = _safe_str(exc)
    try:
        import traceback  # here, not at start: it imports linecache, tokenize, re, ...
        te = traceback.TracebackException(type(exc), exc, exc.__traceback__, compact=True)
        _hide_kite_frames(te, set())
        text = "".join(te.format())
    except Exception:
        text = "%s: %s\n" % (ename, evalue)
    return ename, evalue, text.rstrip("\n").split("\n")
