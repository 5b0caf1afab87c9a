"""The kite-jupyterlite wheel and the site built from it (no browser needed)."""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("KITE_SITE", ROOT / "build" / "site"))


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")

WHEELS = sorted((ROOT / "build" / "jupyterlite" / "dist").glob("kite_jupyterlite-*.whl"))
ASSETS = ["kite.js", "kite.wasm", "kite-stdlib.zip", "worker.js", "fetch.js", "controller.js"]


def _need(path_ok: bool, what: str) -> None:
    if path_ok:
        return
    reason = f"{what} not built (make site)"
    if _in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def test_wheel_ships_prebuilt_extension_and_wasm():
    _need(bool(WHEELS), "the kite-jupyterlite wheel")
    with zipfile.ZipFile(WHEELS[-1]) as whl:
        names = whl.namelist()
        prefix = next(n.split("share/jupyter/labextensions/")[0] for n in names
                      if "share/jupyter/labextensions/" in n)
        ext = prefix + "share/jupyter/labextensions/kite-jupyterlite/"
        pkg = json.loads(whl.read(ext + "package.json"))
        assert pkg["name"] == "kite-jupyterlite"
        assert pkg["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
        assert ext + pkg["jupyterlab"]["_build"]["load"] in names
        for asset in ASSETS:
            assert ext + "static/kite/" + asset in names, asset
        # the labextension is not duplicated inside the Python package
        assert not any(n.startswith("kite_jupyterlite/labextension/") for n in names)


def test_site_has_kite_and_not_pyodide():
    config = SITE / "jupyter-lite.json"
    _need(config.is_file(), "the JupyterLite site")
    data = json.loads(config.read_text())["jupyter-config-data"]
    names = [e["name"] for e in data["federated_extensions"]]
    assert "kite-jupyterlite" in names
    assert "@jupyterlite/pyodide-kernel-extension" in data.get("disabledExtensions", [])
    assert data.get("defaultKernelName") == "kite"
    for asset in ASSETS:
        assert (SITE / "extensions" / "kite-jupyterlite" / "static" / "kite" / asset).is_file(), asset
