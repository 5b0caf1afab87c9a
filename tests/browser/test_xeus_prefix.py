"""kite in the xeus ecosystem (issue 12), end to end: the prefix (`make prefix`,
wasm/prefix/make_prefix.py) -> the site jupyterlite-xeus builds from it (`make xeus-site`:
`jupyter lite build --XeusAddon.prefix=build/prefix/kite`, no network) -> headless Chromium, where
@jupyterlite/xeus's stock worker loads bin/kite-xeus.js and kite's extension (installed next to
jupyterlite-xeus) makes it interruptible (wasm/jupyterlite/src/xeus.ts).

One notebook per page kind runs every check in a row (driver.mjs scenario `xeus`): the launcher
card "Python 3.11 (kite, xeus)", `x = 41`, Interrupt stops `while True: pass` and
`time.sleep(600)`, `input()` is answered, `x + 1` gives 42. On the cross-origin isolated page the
interrupt goes through the shared buffer; on the page without the COOP/COEP headers through
JupyterLite's service worker. Screenshots: test-artifacts/browser/xeus-*-xeus-*.png.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SERVE, _in_ci, _require_tools, run_scenario

XEUS_SITE = Path(os.environ.get("KITE_XEUS_SITE", ROOT / "build" / "xeus-site"))
CARD = "Python 3.11 (kite, xeus)"


@pytest.fixture(scope="module")
def xeus_site():
    if not (XEUS_SITE / "xeus" / "kernels.json").is_file():
        reason = f"the xeus prefix site is not built ({XEUS_SITE}/xeus/kernels.json missing); `make xeus-site`"
        if _in_ci():
            pytest.fail(reason + " [CI=true: the build is supposed to produce it]", pytrace=False)
        pytest.skip(reason)
    _require_tools()
    return XEUS_SITE


def serve(site: Path, isolation: bool):
    args = [sys.executable, str(SERVE), str(site), "--port", "0", "--quiet"]
    if not isolation:
        args.append("--no-isolation")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise RuntimeError(f"serve.py did not start: {line!r}")
    return proc, "http://" + line.split("http://", 1)[1].split()[0]


@pytest.fixture(scope="module", params=[True, False], ids=["isolated", "not-isolated"])
def xeus_run(request, xeus_site):
    isolated = request.param
    proc, url = serve(xeus_site, isolated)
    try:
        yield isolated, run_scenario("xeus", url, tag="xeus-isolated" if isolated else "xeus-plain", card=CARD)
    finally:
        proc.terminate()
        proc.wait(5)


def kite_lines(r: dict) -> str:
    return "\n".join(line for line in r.get("console", []) if "[kite]" in line)


def test_the_stock_xeus_worker_runs_kite(xeus_run):
    isolated, r = xeus_run
    assert r["isolated"] is isolated
    log = kite_lines(r)
    assert "kite-xeus: a kite kernel from a xeus prefix" in log, log
    channel = "shared-memory" if isolated else "service-worker"
    assert f"kite-xeus (xeus): interrupt channel {channel}" in log, log
    # xeus's own messages: the kernel came up through its loader, not kite's worker
    assert any("contents will be synced" in line or "Kernel successfuly started" in line for line in r["console"]), \
        "\n".join(r["console"][-30:])


def test_interrupt_keeps_state(xeus_run):
    _, r = xeus_run
    for name in ("loop", "sleep"):
        assert "KeyboardInterrupt" in r[name], (name, r[name])
        assert r[f"{name}Ms"] is not None and r[f"{name}Ms"] < 5000, (name, r[f"{name}Ms"])
    assert "42" in r["after"], r["after"]


def test_input(xeus_run):
    _, r = xeus_run
    assert "Hello, kite" in r["answered"], r["answered"]
