"""The notebook's files in the browser (issue 9 part 4): JupyterLite's contents mounted at /drive
in kite's worker (wasm/jupyterlite/worker/drive.js, the page's end in src/drive.ts), the cwd
being the notebook's directory, on isolated pages and on pages without cross-origin isolation.
Scenarios `files` and `nodrive` of driver.mjs; screenshots test-artifacts/browser/*files-*.png."""
from __future__ import annotations

import pytest

MOUNTED = "files: the notebook's directory is the cwd (/drive/files-test)"


@pytest.fixture(params=["isolated", "plain"])
def page_url(request):
    # the session's servers: with the COOP/COEP headers, and without (GitHub Pages-like)
    return request.param, request.getfixturevalue(f"{request.param}_url")


def test_csv_next_to_the_notebook_and_files_written_by_python(scenario, page_url):
    kind, url = page_url
    r = scenario("files", url, tag=kind)
    assert r["isolated"] is (kind == "isolated")
    # a CSV saved through JupyterLite's contents, read with csv from the notebook's directory
    assert r["read"].splitlines()[0] == "/drive/files-test", r["read"]
    assert "{'name': 'Ada Lovelace', 'born': '1815'}" in r["read"], r["read"]
    # what Python wrote is in JupyterLite's contents and the file browser, binary intact
    assert "'written.txt'" in r["listed"] and "'blob.bin'" in r["listed"], r["listed"]
    assert {"written.txt", "blob.bin", "people.csv"} <= set(r["browser"]), r["browser"]
    assert r["blob"] == {"format": "base64", "bytes": 256}
    # ... and still there after a reload, for the file browser and a fresh kernel
    assert {"written.txt", "blob.bin"} <= set(r["browserAfterReload"]), r["browserAfterReload"]
    assert r["afterReload"].strip() == "written by kite 256 /drive/files-test", r["afterReload"]
    assert sum(MOUNTED in line for line in r["kite"]) == 2, r["kite"]


def test_without_a_service_worker_python_runs_in_memory(scenario, plain_url):
    # service workers blocked (some private windows): no drive, one clear warning, no crash
    r = scenario("nodrive", plain_url, sw="block", tag="nosw")
    assert r["output"].startswith("/ ") and "scratch.txt" in r["output"], r["output"]
    warnings = [line for line in r["kite"] if "JupyterLite's files are not available" in line]
    assert len(warnings) == 1 and "no service worker" in warnings[0], r["kite"]


def test_modules_next_to_the_notebook(scenario, page_url):
    # the notebook's directory is sys.path[0]: a module saved there through JupyterLite's contents
    # while the kernel runs is importable by the next cell; the searches of that directory by
    # 40 imports in one cell cost one stat of it through the page, not 40 (each is a round trip:
    # ~7 ms measured; the worker caches the drive's directory stats for one request)
    kind, url = page_url
    r = scenario("modules", url, tag=kind)
    assert r["before"].strip() == "before: None", r["before"]
    assert r["after"].strip() == "after: 42", r["after"]
    assert "find_spec of a missing module" in r["probe"], r["probe"]
    assert r["probeDriveCalls"].get("getattr", 0) <= 2, (r["probeDriveCalls"], r["probe"])
