"""Objects to MIME bundles, following IPython's _repr_*_ conventions.

A formatter that raises only loses its own MIME type (with a warning on stderr); text/plain
is always present unless excluded.
"""

import sys

# (MIME type, method) in IPython's order.
METHODS = (
    ("text/html", "_repr_html_"),
    ("text/markdown", "_repr_markdown_"),
    ("image/svg+xml", "_repr_svg_"),
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
    ("text/latex", "_repr_latex_"),
    ("application/json", "_repr_json_"),
    ("application/javascript", "_repr_javascript_"),
    ("application/pdf", "_repr_pdf_"),
)
BINARY = {"image/png", "image/jpeg", "application/pdf"}
# Printers registered for a type (IPython's `display_formatter.formatters[mime].for_type`):
# {mime: {type: func(obj) -> value}}; they win over the object's own _repr_*_ methods.
type_printers = {}
float_format = None  # %precision: a %-format for floats in text/plain, or None for repr
_PRETTY_TYPES = (dict, list, tuple, set, frozenset)
_PRETTY_MAX_ITEMS = 1000


def _warn(obj, method, exc, mime):
    try:
        detail = "%s: %s" % (type(exc).__name__, exc)
    except Exception:
        detail = type(exc).__name__
    sys.stderr.write("kite: %s.%s() failed (%s); %s not shown\n"
                     % (type(obj).__name__, method, detail, mime))


def _method(obj, name):
    # Classes get no bundle from their unbound _repr_*_ methods (IPython does the same).
    if isinstance(obj, type):
        return None
    try:
        method = getattr(obj, name, None)
    except Exception:
        return None
    return method if callable(method) else None


def _encode(mime, value):
    """JSON-ready value for one MIME type; None if unusable."""
    if mime in BINARY:
        if isinstance(value, (bytes, bytearray, memoryview)):
            import base64
            return base64.b64encode(bytes(value)).decode("ascii")
        return value if isinstance(value, str) else None
    if mime == "application/json" or mime.endswith("+json"):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def _registered(mime, obj):
    printers = type_printers.get(mime)
    if not printers:
        return None
    for cls in type(obj).__mro__:
        if cls in printers:
            return printers[cls]
    return None


def plain(obj):
    """text/plain: repr(), pretty-printed for built-in containers like IPython."""
    try:
        printer = _registered("text/plain", obj)
        if printer is not None:
            return str(printer(obj))
        if float_format is not None and type(obj) is float:
            return float_format % obj
        if type(obj) in _PRETTY_TYPES and len(obj) <= _PRETTY_MAX_ITEMS:
            import pprint  # here, not at start: it imports dataclasses, inspect, ...
            return pprint.pformat(obj, sort_dicts=False)
        return repr(obj)
    except Exception as exc:
        _warn(obj, "__repr__", exc, "its repr")
        return object.__repr__(obj)


def format(obj, include=None, exclude=None):
    """(data, metadata) of obj's MIME bundle."""

    def wanted(mime):
        return (include is None or mime in include) and (exclude is None or mime not in exclude)

    data, metadata = {}, {}
    method = _method(obj, "_repr_mimebundle_")
    if method is not None:
        try:
            bundle = method(include=include, exclude=exclude)
        except Exception as exc:
            _warn(obj, "_repr_mimebundle_", exc, "its MIME bundle")
            bundle = None
        if isinstance(bundle, tuple) and len(bundle) == 2:
            bundle, md = bundle
            if isinstance(md, dict):
                metadata.update(md)
        if isinstance(bundle, dict):
            for mime, value in bundle.items():
                value = _encode(str(mime), value)
                if value is not None and wanted(mime):
                    data[str(mime)] = value
    for mime in type_printers:
        printer = _registered(mime, obj) if mime != "text/plain" and wanted(mime) else None
        if printer is not None and mime not in data:
            try:
                value = _encode(mime, printer(obj))
            except Exception as exc:
                _warn(obj, "printer for %s" % mime, exc, mime)
                continue
            if value is not None:
                data[mime] = value
    for mime, name in METHODS:
        if mime in data or not wanted(mime):
            continue
        method = _method(obj, name)
        if method is None:
            continue
        try:
            value = method()
        except Exception as exc:
            _warn(obj, name, exc, mime)
            continue
        if isinstance(value, tuple) and len(value) == 2:
            value, md = value
            if md:
                metadata[mime] = md
        if value is None:
            continue
        encoded = _encode(mime, value)
        if encoded is None:
            sys.stderr.write("kite: %s.%s() returned %s, not usable as %s\n"
                             % (type(obj).__name__, name, type(value).__name__, mime))
            continue
        data[mime] = encoded
    if "text/plain" not in data and wanted("text/plain"):
        data["text/plain"] = plain(obj)
    return data, metadata
