"""Shared pytest fixtures for every kite kernel test (any host: kite-node, kite-native, ...).

- ``BUILD_JUPYTER`` (build/share/jupyter, where ``make`` installs kernelspecs) is prepended to
  ``JUPYTER_PATH`` at import time, so pytest run by hand finds the same kernels as ``make test``.
- ``kernel_name``: "kite-node" unless parametrised, e.g.
  ``@pytest.mark.parametrize("kernel_name", ["kite-node", "kite-native"], indirect=True)``.
- ``started_kernel``: ``(km, kc)`` from ``jupyter_client.manager.start_new_kernel`` for
  ``kernel_name``; shut down (and the process checked gone) afterwards.
- ``require_kernelspec(name)``: skip locally / fail under CI=true when a kernelspec is missing.
- ``wait_gone(pid, timeout)``, ``collect(kc, msg_id, ...)``: small helpers for host tests.

Fixture names here are deliberately generic and do not clash with tests/kernels.py (``kernel``,
``k``), which protocol-level suites import explicitly.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD_JUPYTER = ROOT / "build" / "share" / "jupyter"

_parts = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
if str(BUILD_JUPYTER) not in _parts:
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(BUILD_JUPYTER), *_parts])

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel  # noqa: E402
from jupyter_client.manager import start_new_kernel  # noqa: E402


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_kernelspec(name: str):
    """The kernelspec `name`; skips the test (fails under CI=true) when it is not installed."""
    try:
        return KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        reason = (f"kernelspec {name!r} not found (JUPYTER_PATH={os.environ.get('JUPYTER_PATH')}); "
                  "build it with `make`")
        if in_ci():
            pytest.fail(reason + " [CI=true: the build is supposed to produce it]", pytrace=False)
        pytest.skip(reason)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is gone for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    """True once process `pid` no longer exists (or is a zombie) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.02)
    return not pid_alive(pid)


def collect(kc, msg_id: str, timeout: float = 30.0) -> dict:
    """Reads shell and iopub until the reply to `msg_id` and its idle status arrived.

    Returns {"reply", "reply_time", "iopub": [msgs of that parent, minus status], "statuses",
    "idle_time", "stdin": [input_requests]} (times from time.monotonic()). Raises TimeoutError.
    """
    out = {"reply": None, "reply_time": None, "iopub": [], "statuses": [], "idle_time": None, "stdin": []}
    deadline = time.monotonic() + timeout
    while out["reply"] is None or out["idle_time"] is None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no reply/idle for {msg_id} within {timeout}s: {out}")
        got = False
        for chan, kind in ((kc.iopub_channel, "iopub"), (kc.shell_channel, "shell"), (kc.stdin_channel, "stdin")):
            while chan.msg_ready():
                got = True
                msg = chan.get_msg(timeout=0)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                now = time.monotonic()
                if kind == "shell":
                    out["reply"], out["reply_time"] = msg, now
                elif kind == "stdin":
                    out["stdin"].append(msg)
                elif msg["msg_type"] == "status":
                    out["statuses"].append(msg["content"]["execution_state"])
                    if msg["content"]["execution_state"] == "idle":
                        out["idle_time"] = now
                else:
                    out["iopub"].append(msg)
        if not got:
            time.sleep(0.002)
    return out


@pytest.fixture
def kernel_name(request) -> str:
    """The kernel under test: "kite-node" unless parametrised (indirect=True)."""
    return getattr(request, "param", "kite-node")


@pytest.fixture
def started_kernel(kernel_name):
    """(km, kc) of a freshly started kernel `kernel_name`; shut down afterwards."""
    require_kernelspec(kernel_name)
    km, kc = start_new_kernel(kernel_name=kernel_name, startup_timeout=120)
    try:
        yield km, kc
    finally:
        try:
            kc.stop_channels()
        finally:
            if km.has_kernel:
                km.shutdown_kernel(now=False)
