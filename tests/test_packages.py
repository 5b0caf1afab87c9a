"""`%pip install` in kite (issue 9), through jupyter_client, against a local index of real wheels
(tests/pypi_index.py). kite-node: kite's own installer in the wasm kernel, fetching through the
host (a helper thread; interruptible), the real working directory mounted. kite-native: the real
pip of the embedded Python's environment, run with --target into a temporary directory so the
shared .venv is never touched. The resolver's rules without a kernel: test_packages_resolver.py.
"""
from __future__ import annotations

import os
import socket
import time

import pytest

from kernels import Kernel, start_kernel
from pypi_index import IndexServer

SLOW_SECONDS = 8.0  # iniconfig's download: long enough to interrupt it mid-transfer


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def index():
    with IndexServer(slow={"iniconfig": SLOW_SECONDS}) as server:
        yield server


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("kite-cwd")
    (d / "data.csv").write_text("name,n\nkite,3\n")
    return d


@pytest.fixture(scope="module")
def node(index, workdir):
    env = dict(os.environ, KITE_INDEX_URL=index.url)
    env.pop("KITE_SITE_PACKAGES", None)
    k = start_kernel("kite-node", env=env, cwd=str(workdir))
    try:
        yield k
    finally:
        k.shutdown()


def ok(k: Kernel, code: str, timeout: float = 60) -> str:
    r = k.execute(code, timeout=timeout)
    assert r.status == "ok", r.describe() + "\n" + "\n".join(
        "\n".join(e["content"]["traceback"]) for e in r.errors())
    return r.stream_text("stdout")


def error(k: Kernel, code: str, timeout: float = 60) -> dict:
    r = k.execute(code, timeout=timeout)
    assert r.status == "error", r.describe()
    return r.content


# ---------------------------------------------------------------- kite-node: files
def test_cwd_is_the_real_working_directory(node, workdir):
    out = ok(node, "import csv, os\nprint(os.getcwd())\nprint(list(csv.reader(open('data.csv'))))\n"
                   "open('written.txt', 'w').write('from kite')")
    assert out.splitlines() == [str(workdir), "[['name', 'n'], ['kite', '3']]"]
    assert (workdir / "written.txt").read_text() == "from kite"


# ---------------------------------------------------------------- kite-node: installs
def test_install_with_a_dependency_chain(node):
    out = ok(node, "%pip install python-dateutil")
    assert "Successfully installed python-dateutil-2.9.0.post0 six-1.17.0" in out
    assert ok(node, "import dateutil.parser, six\nprint(dateutil.parser.parse('2026-12-01').year, six.__version__)").split() == ["2026", "1.17.0"]
    assert "Requirement already satisfied: python-dateutil" in ok(node, "%pip install python-dateutil")


def test_extras_and_markers(node):
    out = ok(node, "%pip install python-dotenv[cli]")
    # click's `colorama; platform_system == "Windows"` is false in kite: not installed
    assert "Successfully installed python-dotenv-1.0.1 click-8.1.7" in out
    assert "colorama" not in out
    listing = ok(node, "%pip list")
    assert "click" in listing and "python-dotenv" in listing and "colorama" not in listing
    assert ok(node, "import click, dotenv, importlib.metadata as m\nprint(m.version('click'))").strip() == "8.1.7"


def test_version_pin_and_upgrade(node):
    assert "Successfully installed six-1.16.0" in ok(node, "%pip install six==1.16.0")
    assert ok(node, "import importlib.metadata as m; print(m.version('six'))").strip() == "1.16.0"
    assert "Successfully installed six-1.17.0" in ok(node, "%pip install -U six")
    assert "six  " in ok(node, "%pip list") or "six 1.17.0" in ok(node, "%pip list").replace("  ", " ")


@pytest.mark.parametrize("requirement, ename, words", [
    ("markupsafe", "NoPureWheel", ["markupsafe", "only binary wheels", "pure-Python wheels"]),
    ("no-such-project", "PackageNotFound", ["no-such-project"]),
    ("dataclasses", "RequiresPythonMismatch", ["dataclasses 0.8", ">=3.6, <3.7", "3.11"]),
    ("tomli", "HashMismatch", ["tomli-2.0.1-py3-none-any.whl", "sha256", "nothing was installed"]),
    ("six==9.9", "NoMatchingVersion", ["six", "==9.9", "1.17.0"]),
    ("six==1.16.0 six>=1.17", "VersionConflict", ["six", "==1.16.0", ">=1.17"]),
])
def test_errors_have_their_own_class_and_keep_state(node, requirement, ename, words):
    ok(node, "kept = 42")
    c = error(node, f"%pip install {requirement}")
    assert c["ename"] == ename, c
    for w in words:
        assert w in c["evalue"], c["evalue"]
    assert not any("<kite/" in line for line in c["traceback"]), c["traceback"]  # no kernel frames
    assert ok(node, "print(kept)").strip() == "42"


def test_unreachable_index(node):
    c = error(node, f"%pip install --index-url http://127.0.0.1:{unused_port()} no-such-project")
    assert c["ename"] == "IndexUnreachable" and "ECONNREFUSED" in c["evalue"], c


def test_interrupt_mid_download_installs_nothing(node, index):
    ok(node, "import importlib.metadata as m; before = sorted(d.metadata['Name'] for d in m.distributions()); kept = 'state'")
    mid = node.send_execute("%pip install colorama iniconfig")  # colorama first, then the slow one
    assert node.wait_for(lambda: ("GET", "/files/iniconfig-2.0.0-py3-none-any.whl") in index.requests, 20)
    time.sleep(0.5)
    t0 = time.monotonic()
    node.interrupt()
    r = node.collect(mid, timeout=SLOW_SECONDS)
    took = time.monotonic() - t0
    assert r.status == "error" and r.content["ename"] == "KeyboardInterrupt", r.describe()
    assert took < SLOW_SECONDS / 2, f"the interrupt took {took:.2f}s: the download was not abandoned"
    out = ok(node, "import importlib, importlib.util\nimportlib.invalidate_caches()\n"
                   "print(importlib.util.find_spec('colorama'), importlib.util.find_spec('iniconfig'))\n"
                   "print(before == sorted(d.metadata['Name'] for d in m.distributions()), kept)")
    assert out.split() == ["None", "None", "True", "state"]


def test_awaitable_api(node):
    out = ok(node, "import kite.packages\nr = await kite.packages.install(['six'], quiet=True)\nprint(r.installed, r.kept)")
    assert "['six']" in out


def test_install_into_a_directory_on_disk(index, workdir, tmp_path):
    site = tmp_path / "site"
    env = dict(os.environ, KITE_INDEX_URL=index.simple_url, KITE_SITE_PACKAGES=str(site))
    k = start_kernel("kite-node", env=env, cwd=str(workdir))
    try:
        assert "Successfully installed six-1.17.0" in ok(k, "%pip install six")
        assert (site / "six.py").exists() and (site / "six-1.17.0.dist-info" / "INSTALLER").read_text() == "kite\n"
        k.restart()
        k.wait_ready()
        assert ok(k, "import six; print(six.__file__)").strip() == str(site / "six.py")
        assert "Successfully uninstalled six-1.17.0" in ok(k, "%pip uninstall -y six")
        assert not (site / "six.py").exists()
    finally:
        k.shutdown()


# ---------------------------------------------------------------- kite-native: the real pip
def test_native_pip_installs_with_target(index, tmp_path):
    """kite-native runs `python -m pip` of its environment. The test installs with --target into
    a temporary directory (never into the shared .venv)."""
    k = start_kernel("kite-native")
    try:
        target = tmp_path / "t"
        out = ok(k, f"%pip install --no-deps --target {target} --index-url {index.simple_url} six==1.16.0", timeout=120)
        assert "Successfully installed six-1.16.0" in out, out
        assert ok(k, f"import sys; sys.path.insert(0, {str(target)!r})\nimport six; print(six.__version__, six.__file__)").split() == ["1.16.0", str(target / "six.py")]
        c = error(k, f"%pip install --target {target} --index-url {index.simple_url} no-such-project", timeout=120)
        assert c["ename"] == "CalledProcessError", c
    finally:
        k.shutdown()
