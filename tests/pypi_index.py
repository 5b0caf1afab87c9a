"""A local package index on 127.0.0.1 serving real wheels from PyPI (fetched once with `pip
download` into ~/.cache/kite/wheels/<key>), for kite's installer tests (Node, native, browser).

API (also used by helper B's browser tests):
    from pypi_index import IndexServer, WHEELS
    with IndexServer(slow={"iniconfig": 4.0}) as index:   # random port; thread; CORS
        index.url          # http://127.0.0.1:PORT   (PyPI JSON API base: /pypi/<name>/json)
        index.simple_url   # http://127.0.0.1:PORT/simple   (PEP 691 JSON, with PEP 658 .metadata)
        index.piplite_url  # http://127.0.0.1:PORT/all.json (piplite's format)
        index.file_url(filename); index.requests  # [(method, path)] served so far
    wheel_paths() -> {filename: Path}   # downloads what is missing (needs PyPI once)

Every response carries Access-Control-Allow-Origin: * and Cross-Origin-Resource-Policy:
cross-origin (a cross-origin isolated page may fetch from it). Projects served (WHEELS):
- python-dateutil 2.9.0.post0 -> six>=1.5; six 1.16.0 and 1.17.0 (a version pin);
- python-dotenv 1.0.1 with extra `cli` -> click; click 8.1.7 -> colorama; platform_system ==
  "Windows" (a marker that must be false in kite); colorama 0.4.6 served but never wanted;
- dataclasses 0.8: Requires-Python >=3.6, <3.7 (a mismatch for 3.11);
- markupsafe 3.0.2: only a manylinux cp311 wheel (binary-only);
- tomli 2.0.1: its bytes are served corrupted (hash mismatch against the listed sha256);
- iniconfig 2.0.0: throttled when named in `slow` ({name: seconds for the whole file}).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# (project, version, pip download extra args); pure wheels unless the args say otherwise
WHEELS = [
    ("python-dateutil", "2.9.0.post0", []),
    ("six", "1.16.0", []),
    ("six", "1.17.0", []),
    ("python-dotenv", "1.0.1", []),
    ("click", "8.1.7", []),
    ("colorama", "0.4.6", []),
    ("dataclasses", "0.8", ["--python-version", "3.6"]),
    ("iniconfig", "2.0.0", []),
    ("tomli", "2.0.1", []),
    ("markupsafe", "3.0.2", ["--platform", "manylinux2014_x86_64", "--python-version", "3.11",
                             "--implementation", "cp", "--abi", "cp311"]),
]
CORRUPT = {"tomli"}
CACHE = Path(os.environ.get("KITE_CACHE", Path.home() / ".cache" / "kite")) / "wheels"


def _key(wheels) -> str:
    return hashlib.sha256(json.dumps(wheels).encode()).hexdigest()[:12]


def wheel_paths(wheels=WHEELS) -> dict[str, Path]:
    """{filename: path} of every wheel in WHEELS, downloaded once into the cache."""
    folder = CACHE / _key(wheels)
    stamp = folder / ".complete"
    if not stamp.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name, version, extra in wheels:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                            "--only-binary=:all:", "--disable-pip-version-check", "-d", str(folder),
                            *extra, f"{name}=={version}"], check=True)
        stamp.write_text(json.dumps(wheels))
    return {p.name: p for p in sorted(folder.glob("*.whl"))}


def _canonical(name: str) -> str:
    import re
    return re.sub(r"[-_.]+", "-", name).lower()


class _File:
    def __init__(self, path: Path):
        self.filename = path.name
        self.data = path.read_bytes()
        self.sha256 = hashlib.sha256(self.data).hexdigest()
        dist, version = self.filename.split("-")[:2]
        self.project = _canonical(dist)
        self.version = version
        with zipfile.ZipFile(path) as z:
            meta = next(n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
            self.metadata = z.read(meta)
            # top-level packages (what kite's site add-on lists as kite_imports in all.json)
            self.imports = sorted({n.split("/")[0] for n in z.namelist()
                                   if "/" in n and not n.split("/")[0].endswith((".dist-info", ".data"))})
        self.requires_python = None
        for line in self.metadata.decode("utf-8", "replace").splitlines():
            if not line.strip():
                break
            if line.lower().startswith("requires-python:"):
                self.requires_python = line.split(":", 1)[1].strip()
        self.served = self.data
        if self.project in CORRUPT:
            b = bytearray(self.data)
            b[len(b) // 2] ^= 0xFF
            self.served = bytes(b)


class IndexServer:
    def __init__(self, slow: dict[str, float] | None = None, host: str = "127.0.0.1",
                 wheels=WHEELS, local: list[Path] = ()):
        """local: wheel files served as well (kite's own wasm wheels from build/wheels)."""
        self.files = [_File(p) for p in [*wheel_paths(wheels).values(), *local]]
        self.slow = {_canonical(k): v for k, v in (slow or {}).items()}
        self.requests: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self.simple_url = self.url + "/simple"
        self.piplite_url = self.url + "/all.json"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "IndexServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def file_url(self, filename: str) -> str:
        return f"{self.url}/files/{filename}"

    def project(self, name: str) -> list[_File]:
        return [f for f in self.files if f.project == _canonical(name)]

    # -- documents -------------------------------------------------------------------------------
    def simple_json(self, name: str) -> dict:
        return {"meta": {"api-version": "1.1"}, "name": _canonical(name), "files": [
            {"filename": f.filename, "url": f"../../files/{f.filename}", "hashes": {"sha256": f.sha256},
             "requires-python": f.requires_python, "yanked": False,
             "core-metadata": {"sha256": hashlib.sha256(f.metadata).hexdigest()}}
            for f in self.project(name)]}

    def _release_entry(self, f: _File) -> dict:
        return {"filename": f.filename, "url": self.file_url(f.filename), "digests": {"sha256": f.sha256},
                "requires_python": f.requires_python, "packagetype": "bdist_wheel", "yanked": False,
                "kite_imports": f.imports}

    def pypi_json(self, name: str) -> dict:
        files = self.project(name)
        releases: dict[str, list] = {}
        for f in files:
            releases.setdefault(f.version, []).append(self._release_entry(f))
        latest = max(releases, key=lambda v: [int(x) if x.isdigit() else 0 for x in v.split(".")])
        return {"info": {"name": name, "version": latest}, "releases": releases, "urls": releases[latest]}

    def piplite_json(self) -> dict:
        out: dict[str, dict] = {}
        for f in self.files:
            out.setdefault(f.project, {"releases": {}})["releases"].setdefault(f.version, []).append(self._release_entry(f))
        return out

    def _handler(self):
        index = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: without this, Nagle + delayed ACK add
            # ~40 ms to every response on a kept-alive connection (not what a real index costs)
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json", rate: float | None = None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
                self.end_headers()
                if self.command == "HEAD":
                    return
                try:
                    if rate is None:
                        self.wfile.write(body)
                        return
                    step = max(1, len(body) // 50)
                    for i in range(0, len(body), step):
                        self.wfile.write(body[i:i + step])
                        self.wfile.flush()
                        time.sleep(rate / 50)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_OPTIONS(self):
                self.send_response(204)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "*")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                index.requests.append(("GET", path))
                parts = [p for p in path.split("/") if p]
                if path == "/all.json":
                    return self._send(200, json.dumps(index.piplite_json()).encode())
                if len(parts) == 3 and parts[0] == "pypi" and parts[2] == "json" and index.project(parts[1]):
                    return self._send(200, json.dumps(index.pypi_json(parts[1])).encode())
                if len(parts) == 2 and parts[0] == "simple" and index.project(parts[1]):
                    return self._send(200, json.dumps(index.simple_json(parts[1])).encode(),
                                      "application/vnd.pypi.simple.v1+json")
                if len(parts) == 2 and parts[0] == "files":
                    name = parts[1]
                    for f in index.files:
                        if name == f.filename:
                            return self._send(200, f.served, "application/octet-stream", index.slow.get(f.project))
                        if name == f.filename + ".metadata":
                            return self._send(200, f.metadata, "text/plain")
                self._send(404, b'{"message": "Not Found"}')

            do_HEAD = do_GET

        return Handler


if __name__ == "__main__":  # serve until Ctrl-C: python tests/pypi_index.py
    with IndexServer() as s:
        print(s.url, s.simple_url, s.piplite_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
