"""kite.packages' resolver and installer in plain CPython (no kernel): tags, markers, extras,
Requires-Python, the three index formats, hashes, and the all-or-nothing install. Runs the same
code the wasm kernel embeds (kernel/python), against the local index of real wheels
(tests/pypi_index.py), with urllib. The `packaging` used is the .venv's (the wasm build bundles
the same pinned version)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kernel" / "python"))

from kite import packages  # noqa: E402
from kite.packages import environment, errors, installer, wheel  # noqa: E402
from kite.packages._packaging import Marker, Requirement, parse_wheel_filename  # noqa: E402
from pypi_index import IndexServer  # noqa: E402


@pytest.fixture(scope="module")
def index():
    with IndexServer() as server:
        yield server


def names(dists):
    return [(d.name, str(d.version)) for d in dists]


def test_wasm_environment_markers_and_tags():
    env = environment.WASM
    assert env.evaluate(Marker('sys_platform == "emscripten" and platform_system == "Emscripten"'))
    assert not env.evaluate(Marker('platform_system == "Windows"'))
    assert env.evaluate(Marker('python_version >= "3.8" and platform_machine == "wasm32"'))
    assert env.evaluate(Marker('extra == "cli"'), "cli") and not env.evaluate(Marker('extra == "cli"'))
    rank = lambda f: env.tag_rank(parse_wheel_filename(f)[3])  # noqa: E731
    assert rank("x-1-py3-none-any.whl") is not None
    assert rank("x-1-py2.py3-none-any.whl") is not None
    assert rank("x-1-cp311-none-any.whl") < rank("x-1-py3-none-any.whl")
    assert rank("x-1-cp311-cp311-manylinux_2_17_x86_64.whl") is None
    assert rank("x-1-cp311-cp311-emscripten_3_1_6_wasm32.whl") is None  # no C extensions yet
    assert rank("x-1-py2-none-any.whl") is None


@pytest.mark.parametrize("shape", ["url", "simple_url", "piplite_url"])
def test_the_three_index_formats_resolve_the_same(index, shape):
    dists = packages.resolve(["python-dateutil", "python-dotenv[cli]", "six==1.16.0"], [getattr(index, shape)])
    assert names(dists) == [("python-dateutil", "2.9.0.post0"), ("python-dotenv", "1.0.1"),
                            ("six", "1.16.0"), ("click", "8.1.7")]
    assert all(d.sha256 and d.url.endswith(d.filename) for d in dists)


def test_pep658_metadata_avoids_downloading_wheels(index):
    before = len(index.requests)
    dists = packages.resolve(["python-dateutil"], [index.simple_url])
    fetched = [p for _, p in index.requests[before:]]
    assert all(not p.endswith(".whl") for p in fetched), fetched
    assert any(p.endswith(".whl.metadata") for p in fetched)
    assert all(d.data is None for d in dists)
    assert packages.download(dists[0])[:2] == b"PK"


def test_first_index_that_knows_a_project_wins(index, tmp_path):
    # an unreachable first index is skipped for a project another index knows
    dists = packages.resolve(["six"], ["http://127.0.0.1:9/simple", index.simple_url])
    assert names(dists) == [("six", "1.17.0")]
    with pytest.raises(errors.IndexUnreachable):
        packages.resolve(["six"], ["http://127.0.0.1:9/simple"])


def test_installed_distributions_are_kept_when_they_satisfy(index):
    dists = packages.resolve(["python-dateutil"], [index.url], installed={"six": "1.16.0"})
    assert [(d.name, d.installed) for d in dists] == [("python-dateutil", False), ("six", True)]
    dists = packages.resolve(["python-dateutil"], [index.url], installed={"six": "1.4"})
    assert [(d.name, str(d.version), d.installed) for d in dists][1] == ("six", "1.17.0", False)


@pytest.mark.parametrize("reqs, exc", [
    (["markupsafe"], errors.NoPureWheel),
    (["dataclasses"], errors.RequiresPythonMismatch),
    (["no-such-project"], errors.PackageNotFound),
    (["six>2"], errors.NoMatchingVersion),
    (["six==1.16.0", "six>=1.17"], errors.VersionConflict),
    (["six==1.16.0", "python-dateutil", "six>1.16"], errors.VersionConflict),
    (["not a requirement!"], errors.InvalidRequirement),
])
def test_errors(index, reqs, exc):
    with pytest.raises(exc):
        packages.resolve(reqs, [index.simple_url])


def test_hash_mismatch(index):
    dists = packages.resolve(["tomli"], [index.simple_url])  # metadata only: resolves
    with pytest.raises(errors.HashMismatch, match="nothing was installed"):
        packages.download(dists[0])


def test_install_is_all_or_nothing(index, tmp_path, monkeypatch):
    site = tmp_path / "site"
    monkeypatch.setenv("KITE_SITE_PACKAGES", str(site))
    # only the test's site-packages: the .venv's own six and click must not count as installed
    monkeypatch.setattr(sys, "path", [p for p in sys.path if "site-packages" not in p])
    with pytest.raises(errors.HashMismatch):
        installer.install_wasm(["six", "tomli"], [index.simple_url])  # six downloads fine first
    assert sorted(os.listdir(site)) == []
    result = installer.install_wasm(["python-dotenv[cli]"], [index.simple_url], quiet=True)
    assert result.installed == [("python-dotenv", "1.0.1"), ("click", "8.1.7")]
    assert (site / "click-8.1.7.dist-info" / "INSTALLER").read_text() == "kite\n"
    record = (site / "click-8.1.7.dist-info" / "RECORD").read_text().splitlines()
    assert "click-8.1.7.dist-info/INSTALLER,sha256=" in "\n".join(record) and record[-1].endswith("RECORD,,")
    # a failure while moving files into place puts everything back
    real_replace = os.replace
    calls = []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    before = sorted(os.listdir(site))
    with pytest.raises(KeyboardInterrupt):
        wheel.install_all([(d.filename, packages.download(d)) for d in packages.resolve(["python-dateutil"], [index.simple_url])], str(site))
    monkeypatch.setattr(os, "replace", real_replace)
    assert sorted(os.listdir(site)) == before
    assert [n for n, _ in installer.list_installed() if n in ("click", "python-dotenv")] == ["click", "python-dotenv"]
    installer.uninstall_wasm(["click"], quiet=True)
    assert not (site / "click").exists() and not (site / "click-8.1.7.dist-info").exists()


def test_requirement_markers_at_top_level_are_honoured(index):
    assert names(packages.resolve(['six; sys_platform == "win32"', "click"], [index.simple_url])) == [("click", "8.1.7")]
    assert Requirement("x; extra == 'a'")  # the vendored parser handles extras markers


def test_host_fetcher_units():
    """wasm/js/fetch.js (what `_kite.fetch` uses in wasm) under `node --test`."""
    import shutil
    import subprocess
    if not shutil.which("node"):
        pytest.fail("node not found", pytrace=False)
    test_file = Path(__file__).resolve().parents[1] / "wasm" / "js" / "test" / "fetch.test.mjs"
    r = subprocess.run(["node", "--test", str(test_file)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
