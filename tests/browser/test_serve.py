"""wasm/serve.py: isolation headers, MIME types, gzip, conditional requests, --no-isolation."""
from __future__ import annotations

import gzip
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT / "wasm" / "serve.py"


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><p>hi</p>" + "x" * 2000)
    (tmp_path / "sub" / "a.js").write_text("console.log(1);\n" * 200)
    (tmp_path / "sub" / "m.wasm").write_bytes(b"\0asm\1\0\0\0" + b"\0" * 4000)
    (tmp_path / "sub" / "d.json").write_text('{"a": 1}')
    (tmp_path / "sub" / "e.mjs").write_text("export default 1;\n")
    return tmp_path


def serve(root, *extra):
    proc = subprocess.Popen([sys.executable, str(SERVE), str(root), "--port", "0", "--quiet", *extra],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    url = "http://" + line.split("http://", 1)[1].split()[0]
    return proc, url


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_headers_mime_gzip_and_304(tree):
    proc, url = serve(tree)
    try:
        status, h, body = get(url)
        assert status == 200 and b"hi" in body
        assert h["Cross-Origin-Opener-Policy"] == "same-origin"
        assert h["Cross-Origin-Embedder-Policy"] == "require-corp"
        assert h["Cross-Origin-Resource-Policy"] == "same-origin"
        for name, mime in [("a.js", "text/javascript"), ("m.wasm", "application/wasm"),
                           ("d.json", "application/json"), ("e.mjs", "text/javascript")]:
            status, h, _ = get(url + "sub/" + name)
            assert status == 200 and h["Content-Type"].split(";")[0] == mime, (name, h)
        status, h, body = get(url + "sub/a.js", {"Accept-Encoding": "gzip, br"})
        assert h.get("Content-Encoding") == "gzip"
        assert gzip.decompress(body) == (tree / "sub" / "a.js").read_bytes()
        assert int(h["Content-Length"]) == len(body) < (tree / "sub" / "a.js").stat().st_size
        status, h2, body = get(url + "sub/m.wasm", {"Accept-Encoding": "gzip"})
        assert h2.get("Content-Encoding") == "gzip"
        status, _, _ = get(url + "sub/a.js", {"If-None-Match": h["ETag"]})
        assert status == 304
        status, h, _ = get(url + "missing.js")
        assert status == 404 and h["Cross-Origin-Embedder-Policy"] == "require-corp"
    finally:
        proc.terminate()
        proc.wait()


def test_no_isolation_flag(tree):
    proc, url = serve(tree, "--no-isolation")
    try:
        status, h, _ = get(url + "sub/a.js")
        assert status == 200
        assert "Cross-Origin-Opener-Policy" not in h
        assert "Cross-Origin-Embedder-Policy" not in h
    finally:
        proc.terminate()
        proc.wait()
