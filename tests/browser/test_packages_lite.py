"""`%pip install` in the browser (issue 9 parts 1 and 3, end to end in Chromium):
- from helper A's local index server (tests/pypi_index.py, real wheels from PyPI, CORS + CORP
  headers) on the session's site, with and without cross-origin isolation;
- packages bundled into a site by kite's `jupyter lite build` add-on (kite_jupyterlite/addon.py):
  a small extra site whose config lists a requirement (resolved with its dependency from the local
  index at build time) and wheel files (KiteAddon.wheels, and the Pyodide kernel's
  PipliteAddon.piplite_urls), with PyPI disallowed; `%pip install` takes them from the site
  without asking the index server, and a package the site lacks gets a clear error.
Screenshots: test-artifacts/browser/*cells-done.png."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, Server

sys.path.insert(0, str(ROOT / "tests"))
from pypi_index import IndexServer, wheel_paths  # noqa: E402

JUPYTER = ROOT / ".venv" / "bin" / "jupyter"
SITE_CONFIG = ROOT / "wasm" / "jupyterlite" / "site"


@pytest.fixture(scope="module")
def index():
    with IndexServer() as server:
        yield server


def run_cells(scenario, url, cells, tag):
    return scenario("cells", url, tag=tag, cells=json.dumps(cells))


@pytest.mark.parametrize("kind", ["isolated", "plain"])
def test_pip_install_from_a_local_index(scenario, request, index, kind):
    url = request.getfixturevalue(f"{kind}_url")
    r = run_cells(scenario, url, [
        f"%pip install --index-url {index.simple_url} python-dateutil",
        "import dateutil, six\nprint(dateutil.__version__, six.__version__)",
    ], tag=f"pip-{kind}")
    installed, imported = r["outputs"]
    assert "Successfully installed" in installed and "python-dateutil-2.9.0.post0" in installed, installed
    assert imported.split() == ["2.9.0.post0", "1.17.0"], imported
    # the figure (not a timed assertion): %pip of a package with one dependency, in the page
    print(f"[{kind}] %pip install python-dateutil (+ six) from a local index: {r['cellMs'][0]} ms")


@pytest.fixture(scope="module")
def bundled_site(site, index, tmp_path_factory):
    """A site built with the add-on: python-dateutil (+ six) resolved from the local index, the
    iniconfig wheel file as is, PyPI disallowed. Served without the COOP/COEP headers (GitHub
    Pages-like: where such a site is typically deployed)."""
    lite = tmp_path_factory.mktemp("bundled-lite")
    out = tmp_path_factory.mktemp("bundled-site") / "site"
    config = json.loads((SITE_CONFIG / "jupyter_lite_config.json").read_text())
    wheels = wheel_paths()
    wheel = {name.split("-")[0]: str(path) for name, path in wheels.items()}
    config["KiteAddon"] = {
        "requirements": ["python-dateutil"],
        "index_urls": [index.simple_url],
        "wheels": [wheel["colorama"]],
        "allow_pypi": False,
    }
    # the Pyodide kernel's conventions are honoured too: its add-on's wheels ...
    config["PipliteAddon"] = {"piplite_urls": [wheel["iniconfig"]]}
    (lite / "jupyter_lite_config.json").write_text(json.dumps(config))
    # ... and its kernel's pipliteUrls (here the same index again, under its plain name)
    page_config = json.loads((SITE_CONFIG / "jupyter-lite.json").read_text())
    page_config["jupyter-config-data"]["litePluginSettings"] = {
        "@jupyterlite/pyodide-kernel-extension:kernel": {"pipliteUrls": ["./kite-packages/all.json"]}}
    (lite / "jupyter-lite.json").write_text(json.dumps(page_config))
    build = subprocess.run([str(JUPYTER), "lite", "build", "--lite-dir", str(lite), "--output-dir", str(out)],
                           cwd=lite, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    server = Server(isolation=False, site=out)
    yield out, server.url
    server.close()


def test_the_add_on_writes_wheels_an_index_and_the_site_settings(bundled_site):
    out, _ = bundled_site
    index = json.loads((out / "kite-packages" / "all.json").read_text())
    assert sorted(index) == ["colorama", "iniconfig", "python-dateutil", "six"]
    for project in index.values():
        for files in project["releases"].values():
            for f in files:
                assert (out / "kite-packages" / f["filename"]).is_file()
                assert len(f["digests"]["sha256"]) == 64
    settings = json.loads((out / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kite = settings["litePluginSettings"]["kite-jupyterlite:kernel"]
    assert kite["allowPyPI"] is False
    assert kite["indexUrls"][0].startswith("./kite-packages/all.json?sha256=")


def test_bundled_packages_install_offline(scenario, bundled_site, index):
    _, url = bundled_site
    index.requests.clear()
    r = run_cells(scenario, url, [
        "import os\nprint(os.environ['KITE_BUNDLED_INDEX_URL'], os.environ['KITE_INDEX_URL'])",
        "%pip install python-dateutil iniconfig",
        "import dateutil, six, iniconfig\nprint(dateutil.__version__, six.__version__, iniconfig.__name__)",
        "%pip install click",
    ], tag="bundled")
    env, installed, imported, missing = r["outputs"]
    # the site's index first (with its sha256), then the Pyodide kernel's pipliteUrls; no PyPI
    bundled, piplite, pypi = env.split()
    site = url.rstrip("/")
    assert bundled.startswith(f"{site}/kite-packages/all.json?sha256="), env
    assert piplite == f"{site}/kite-packages/all.json" and pypi == "none", env
    for name in ("python-dateutil-2.9.0.post0", "six-1.17.0", "iniconfig-2.0.0"):
        assert name in installed, installed
    assert imported.split() == ["2.9.0.post0", "1.17.0", "iniconfig"], imported
    # the site lacks click and PyPI is off: a clear error, nothing fetched from elsewhere
    assert "click" in missing and "Successfully" not in missing, missing
    assert index.requests == [], index.requests
