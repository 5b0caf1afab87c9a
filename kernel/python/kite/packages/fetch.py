"""HTTP GET for the installer. In kite's wasm build the host fetches (`_kite.fetch`: a helper
thread under Node, a nested Worker or a synchronous XMLHttpRequest in the browser; interruptible
like time.sleep). Elsewhere (the native kernel, plain CPython at site-build time) urllib does."""

import os

from .errors import IndexUnreachable

USER_AGENT = "kite-installer/0.1"


class Response:
    def __init__(self, url, status, headers, body):
        self.url = url
        self.status = status
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body

    @property
    def ok(self):
        return 200 <= self.status < 300


def _host_fetch():
    try:
        import _kite
    except ImportError:
        return None
    fetch = getattr(_kite, "fetch", None)
    return fetch if fetch is not None and _kite.has_fetch() else None


def _urllib_fetch(url, headers):
    import urllib.error
    import urllib.request
    if "://" not in url:
        url = "file://" + os.path.abspath(url)
    request = urllib.request.Request(url, headers=dict(headers, **{"User-Agent": USER_AGENT}))
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return Response(url, getattr(r, "status", None) or 200, dict(r.headers), r.read())
    except urllib.error.HTTPError as e:
        return Response(url, e.code, dict(e.headers or {}), e.read() if e.fp else b"")
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, FileNotFoundError):
            return Response(url, 404, {}, b"")
        raise IndexUnreachable("cannot fetch %s: %s" % (url, reason)) from None
    except OSError as e:
        raise IndexUnreachable("cannot fetch %s: %s" % (url, e)) from None


def get(url, headers=None):
    """GET url -> Response (any HTTP status). Raises IndexUnreachable when nothing answered."""
    headers = dict(headers or {})
    host = _host_fetch()
    if host is None:
        return _urllib_fetch(url, headers)
    try:
        status, response_headers, body = host(url, headers)
    except OSError as e:
        raise IndexUnreachable("cannot fetch %s: %s" % (url, e.strerror or e)) from None
    return Response(url, status, response_headers, body)
