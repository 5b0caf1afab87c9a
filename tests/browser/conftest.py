"""Fixtures of the JupyterLite end-to-end tests (headless Debian chromium via playwright-core).

- The site is ``build/site`` (``make site``; override with ``KITE_SITE``). Without it the tests
  are skipped with the reason, except under ``CI=true`` where they fail (the build must make it).
- ``isolated_url`` / ``plain_url``: the site served by ``wasm/serve.py`` with and without the
  COOP/COEP headers (one server each per session, on free ports).
- ``scenario(name, url, **opts)``: runs ``driver.mjs`` for one scenario and returns what it
  measured; screenshots go to ``test-artifacts/browser/`` (repo root).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("KITE_SITE", ROOT / "build" / "site"))
ARTIFACTS = ROOT / "test-artifacts" / "browser"
DRIVER = Path(__file__).with_name("driver.mjs")
SERVE = ROOT / "wasm" / "serve.py"
CHROMIUM = os.environ.get("KITE_CHROMIUM", "/usr/bin/chromium")
WASM = SITE / "extensions" / "kite-jupyterlite" / "static" / "kite" / "kite.wasm"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _require_site() -> None:
    if WASM.is_file():
        return
    reason = (f"the JupyterLite site is not built ({WASM.relative_to(ROOT) if WASM.is_relative_to(ROOT) else WASM}"
              " missing); build it with `make site`")
    if _in_ci():
        pytest.fail(reason + " [CI=true: the build is supposed to produce it]", pytrace=False)
    pytest.skip(reason)


def _require_tools() -> None:
    problems = []
    if not shutil.which("node"):
        problems.append("node not found")
    if not Path(CHROMIUM).exists():
        problems.append(f"{CHROMIUM} not found (apt install chromium)")
    if not (ROOT / "wasm" / "jupyterlite" / "node_modules" / "playwright-core").is_dir():
        problems.append("playwright-core missing (npm ci in wasm/jupyterlite, or scripts/install-deps.sh)")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


class Server:
    def __init__(self, isolation: bool, site: Path = SITE):
        args = [sys.executable, str(SERVE), str(site), "--port", "0", "--quiet"]
        if not isolation:
            args.append("--no-isolation")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        if "http://" not in line:
            self.proc.kill()
            raise RuntimeError(f"serve.py did not start: {line!r}")
        self.url = line.split("http://", 1)[1].split()[0]
        self.url = "http://" + self.url

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def site():
    _require_site()
    _require_tools()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return SITE


@pytest.fixture(scope="session")
def isolated_url(site):
    server = Server(isolation=True)
    yield server.url
    server.close()


@pytest.fixture(scope="session")
def plain_url(site):
    server = Server(isolation=False)
    yield server.url
    server.close()


def run_scenario(name: str, url: str, timeout: float = 180, **opts) -> dict:
    args = ["node", str(DRIVER), "--url", url, "--scenario", name, "--out", str(ARTIFACTS)]
    for key, value in opts.items():
        args += [f"--{key}", str(value)]
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    if not lines:
        raise AssertionError(f"driver gave no result (rc={proc.returncode})\nstdout:\n{proc.stdout}\n"
                             f"stderr:\n{proc.stderr}")
    result = json.loads(lines[-1][len("RESULT "):])
    tag = f"{opts['tag']}-" if opts.get("tag") else ""
    (ARTIFACTS / f"{tag}{name}.json").write_text(json.dumps(result, indent=2))
    if not result.get("ok"):
        console = "\n".join(result.get("console", [])[-40:])
        raise AssertionError(f"scenario {name} failed: {result.get('failure')}\n"
                             f"page errors: {result.get('errors')}\nconsole (last 40):\n{console}\n"
                             f"screenshots: {result.get('screenshots')}")
    return result


@pytest.fixture
def scenario():
    return run_scenario


@pytest.fixture(scope="module")
def module_scenario():
    """`scenario` for module-scoped fixtures (one browser run shared by several tests)."""
    return run_scenario
