"""Shared pytest fixtures for every kite kernel test (any host: kite-node, kite-native, ...).

- ``build/share/jupyter`` (where ``make`` installs kernelspecs) is prepended to ``JUPYTER_PATH``
  by tests/kernels.py at import time, so pytest run by hand finds the same kernels as ``make test``.
- ``kernel_name``: "kite-node" unless parametrised, e.g.
  ``@pytest.mark.parametrize("kernel_name", ["kite-node", "kite-native"], indirect=True)``.
- ``started_kernel``: ``(km, kc)`` from ``jupyter_client.manager.start_new_kernel`` for
  ``kernel_name``; shut down afterwards.
Helpers live in plain modules (tests/kernels.py, tests/host_helpers.py), never imported as
``conftest`` (tests/browser has its own conftest).
"""
from __future__ import annotations

import pytest

from kernels import require_kernel  # also puts build/share/jupyter on JUPYTER_PATH

from jupyter_client.manager import start_new_kernel  # noqa: E402


@pytest.fixture
def kernel_name(request) -> str:
    """The kernel under test: "kite-node" unless parametrised (indirect=True)."""
    return getattr(request, "param", "kite-node")


@pytest.fixture
def started_kernel(kernel_name):
    """(km, kc) of a freshly started kernel `kernel_name`; shut down afterwards."""
    require_kernel(kernel_name)
    km, kc = start_new_kernel(kernel_name=kernel_name, startup_timeout=120)
    try:
        yield km, kc
    finally:
        try:
            kc.stop_channels()
        finally:
            if km.has_kernel:
                km.shutdown_kernel(now=False)
