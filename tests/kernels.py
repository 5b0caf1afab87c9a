"""Kernel selection and pytest fixtures of kite's protocol-level kernel tests; re-exports the
jupyter_client driver (tests/driver.py: Kernel, Result, pid helpers).

Kernel selection: ``KITE_TEST_KERNELS`` (comma list, default ``kite-node,kite-native``). Add
``python3`` (ipykernel, the reference) only by asking for it there. A kernel whose kernelspec is
missing FAILS when ``CI=true`` (the build must produce it) and is skipped locally, with the reason.

Kernelspecs are looked up with ``build/share/jupyter`` prepended to ``JUPYTER_PATH`` (what ``make``
installs), so running pytest by hand finds the same kernels as ``make test``.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD_JUPYTER = ROOT / "build" / "share" / "jupyter"
REPORT_DIR = ROOT / "test-artifacts"


def _ensure_jupyter_path() -> None:
    parts = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if str(BUILD_JUPYTER) not in parts:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([str(BUILD_JUPYTER), *parts])


_ensure_jupyter_path()

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel  # noqa: E402

from driver import Kernel, Result, clock, pid_alive, wait_gone  # noqa: E402,F401  (re-exported)

DEFAULT_KERNELS = "kite-node,kite-native"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def kernel_names() -> list[str]:
    raw = os.environ.get("KITE_TEST_KERNELS", DEFAULT_KERNELS)
    return [n.strip() for n in raw.split(",") if n.strip()]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def kernelspec(name: str):
    try:
        return KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return None


def require_kernel(name: str) -> None:
    """Fail (CI) or skip (locally) when the kernelspec `name` is not installed."""
    if kernelspec(name) is not None:
        return
    reason = (
        f"kernelspec {name!r} not found (JUPYTER_PATH={os.environ.get('JUPYTER_PATH')}); "
        "build it with `make`"
    )
    if in_ci():
        pytest.fail(reason + " [CI=true: the build is supposed to produce it]", pytrace=False)
    pytest.skip(reason)


def start_kernel(name: str, **kw: Any) -> Kernel:
    """Kernel.start, after require_kernel (fail in CI, skip locally when not built)."""
    require_kernel(name)
    return Kernel.start(name, **kw)


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def report(kind: str, **data: Any) -> None:
    """Record a measured figure (message counts, soak stats) for the human reading the run.

    Appended as JSON lines to test-artifacts/kernel-tests.jsonl and printed (pytest -rP / -s).
    """
    line = json.dumps({"kind": kind, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **data})
    print(f"[kite-report] {line}")
    try:
        REPORT_DIR.mkdir(exist_ok=True)
        with open(REPORT_DIR / "kernel-tests.jsonl", "a") as f:
            f.write(line + "\n")
    except OSError:
        pass


def kernel_fixture(scope: str = "module", names: list[str] | None = None):
    """A pytest fixture (parametrised over `names`, default kernel_names()) yielding a started
    `Kernel`, shut down afterwards."""

    @pytest.fixture(scope=scope, params=kernel_names() if names is None else names)
    def _kernel(request):
        k = start_kernel(request.param)
        try:
            yield k
        finally:
            k.shutdown()

    return _kernel


# Shared fixtures; import them into a test module: `from kernels import kernel, k` (a module
# may define its own `kernel = kernel_fixture(...)`; `k` then uses that one).
kernel = kernel_fixture("module")


@pytest.fixture
def k(kernel: Kernel) -> Kernel:
    """The module's kernel, checked responsive before each test."""
    kernel.ensure_responsive()
    return kernel
