#!/usr/bin/env python3
"""Serve a directory (the kite JupyterLite site) with the headers that make it cross-origin isolated.

    python wasm/serve.py build/site [--port 8000] [--host 127.0.0.1] [--no-isolation] [--quiet]

Every response carries `Cross-Origin-Opener-Policy: same-origin`,
`Cross-Origin-Embedder-Policy: require-corp` and `Cross-Origin-Resource-Policy: same-origin`, so
pages get `SharedArrayBuffer` (kite's interrupt and input() need it). `--no-isolation` leaves
them out, to see what a host such as GitHub Pages gives.

Other duties: correct MIME types (.wasm, .js, .mjs, .json, ...), gzip for compressible types when
the client accepts it (cached in memory, size logged), Last-Modified / If-Modified-Since so a warm
browser cache revalidates with 304s, HEAD, and a threaded server. Standard library only.
"""
from __future__ import annotations

import argparse
import email.utils
import gzip
import http.server
import mimetypes
import os
import posixpath
import re
import sys
import threading
import urllib.parse
from pathlib import Path

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}

MIME = {
    ".wasm": "application/wasm",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".ipynb": "application/json",
    ".webmanifest": "application/manifest+json",
    ".html": "text/html",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".py": "text/x-python",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

COMPRESSIBLE = (
    "text/",
    "application/javascript",
    "application/json",
    "application/wasm",
    "application/zip",  # kite-stdlib.zip is stored uncompressed so that this covers it whole
    "application/manifest+json",
    "image/svg+xml",
)
TEXTUAL = ("text/", "application/javascript", "application/json", "application/manifest+json",
           "image/svg+xml")
MIN_GZIP = 1024
# Content-hashed names (`1.a8fa7b2.js`, `remoteEntry.771f68ed466aab70.js`) or `?v=<hash>` URLs never
# change: the browser may keep them without asking. Everything else is revalidated (cheap 304s).
HASHED = re.compile(r"[.-][0-9a-f]{7,}\.(?:js|css|wasm|map|json)$")
IMMUTABLE = "public, max-age=31536000, immutable"


class _GzipCache:
    """Compressed bodies keyed by (path, mtime, size); compressed once per file version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[tuple[str, int, int], bytes] = {}

    def get(self, path: Path, stat: os.stat_result) -> bytes:
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            hit = self._data.get(key)
        if hit is None:
            hit = gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)
            with self._lock:
                self._data[key] = hit
        return hit


class Handler(http.server.SimpleHTTPRequestHandler):
    isolation = True
    quiet = False
    gz = _GzipCache()
    protocol_version = "HTTP/1.1"
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME}

    # -- headers on every response (errors and redirects included) ----------------------------
    def end_headers(self) -> None:
        if self.isolation:
            for name, value in ISOLATION_HEADERS.items():
                self.send_header(name, value)
        super().end_headers()

    def guess_type(self, path: str) -> str:
        ext = posixpath.splitext(path)[1].lower()
        ctype = MIME.get(ext) or mimetypes.guess_type(path)[0] or "application/octet-stream"
        if ctype.startswith(TEXTUAL) and "charset" not in ctype:
            ctype += "; charset=utf-8"
        return ctype

    def log_message(self, fmt: str, *args) -> None:
        if not self.quiet:
            sys.stderr.write("[serve] %s %s\n" % (self.address_string(), fmt % args))

    # -- GET / HEAD ------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            parts = urllib.parse.urlsplit(self.path)
            if not parts.path.endswith("/"):
                self.send_response(301)
                self.send_header("Location", urllib.parse.urlunsplit(
                    (parts[0], parts[1], parts[2] + "/", parts[3], parts[4])))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            index = path / "index.html"
            if not index.is_file():
                # Directory listing (small, uncompressed).
                f = self.list_directory(str(path))
                if f is not None:
                    try:
                        if not head:
                            self.copyfile(f, self.wfile)
                    finally:
                        f.close()
                return
            path = index
        if not path.is_file():
            self.send_error(404, "File not found")
            return
        try:
            stat = path.stat()
        except OSError:
            self.send_error(404, "File not found")
            return
        ctype = self.guess_type(str(path))
        last_modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        # The site build stamps files with a fixed mtime (1985): the inode tells rebuilt files apart.
        etag = f'"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}"'

        if self._not_modified(stat, etag):
            self.send_response(304)
            self.send_header("Last-Modified", last_modified)
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", self._cache_control(path))
            self.end_headers()
            return

        accept = self.headers.get("Accept-Encoding", "")
        use_gzip = (
            "gzip" in accept
            and ctype.startswith(COMPRESSIBLE)
            and stat.st_size >= MIN_GZIP
        )
        if use_gzip:
            body = self.gz.get(path, stat)
            if not self.quiet:
                sys.stderr.write(
                    f"[serve] gzip {self.path} {stat.st_size} -> {len(body)} bytes\n")
        else:
            body = None

        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Last-Modified", last_modified)
        self.send_header("ETag", etag)
        self.send_header("Cache-Control", self._cache_control(path))
        self.send_header("Vary", "Accept-Encoding")
        if body is not None:
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            return
        self.send_header("Content-Length", str(stat.st_size))
        self.end_headers()
        if not head:
            with path.open("rb") as f:
                self.copyfile(f, self.wfile)

    def _cache_control(self, path: Path) -> str:
        query = urllib.parse.urlsplit(self.path).query
        if HASHED.search(path.name) or re.search(r"(?:^|&)v=[0-9a-f]{7,}", query):
            return IMMUTABLE
        # Revalidate every time: the site is rebuilt in place during development.
        return "no-cache"

    def _not_modified(self, stat: os.stat_result, etag: str) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return False
            return int(stat.st_mtime) <= int(since)
        return False


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(directory: str, host: str, port: int, isolation: bool = True,
                quiet: bool = False) -> Server:
    root = str(Path(directory).resolve())

    class _Handler(Handler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=root, **kw)

    _Handler.isolation = isolation
    _Handler.quiet = quiet
    return Server((host, port), _Handler)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("directory", nargs="?", default="build/site", help="directory to serve")
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000),
                    help="port (default: $PORT or 8000; 0 picks a free one)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--no-isolation", action="store_true",
                    help="omit the COOP/COEP/CORP headers (page not cross-origin isolated)")
    ap.add_argument("--quiet", action="store_true", help="no request log")
    args = ap.parse_args(argv)
    if not Path(args.directory).is_dir():
        print(f"[serve] no such directory: {args.directory} (build the site: make site)",
              file=sys.stderr)
        return 2
    server = make_server(args.directory, args.host, args.port, not args.no_isolation, args.quiet)
    host, port = server.server_address[:2]
    mode = ("without isolation headers (Interrupt will not work)" if args.no_isolation
            else "cross-origin isolated (COOP same-origin, COEP require-corp)")
    print(f"[serve] {args.directory} on http://{host}:{port}/ {mode}", flush=True)
    print(f"[serve] open http://{host}:{port}/lab/index.html?path=interrupts.ipynb", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
