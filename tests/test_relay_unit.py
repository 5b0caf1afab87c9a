"""The controller's side of the service-worker relay (interrupts and input() on pages without
cross-origin isolation, issue 11): wasm/js/test/relay.test.mjs under `node --test`, with a stub
worker (no wasm build, no browser). The browser end to end: tests/browser/test_nonisolated.py."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_relay_controller_units() -> None:
    if not shutil.which("node"):
        pytest.fail("node not found", pytrace=False)
    r = subprocess.run(["node", "--test", str(ROOT / "wasm/js/test/relay.test.mjs")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
