"""Interrupt during a `%pip install` download in the browser (issue 9 part 1): on an isolated page
the download runs in a nested Worker (wasm/js/fetch.js) and the kernel's thread gives it up as
soon as Interrupt is pressed: KeyboardInterrupt within the usual budget, nothing installed, the
state kept. (Without isolation the download is a synchronous request that finishes first: not
tested here.) The index is tests/pypi_index.py with iniconfig's wheel throttled to 20 s."""
from __future__ import annotations

import sys

import pytest

from checks import check_interrupted
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from pypi_index import IndexServer  # noqa: E402

SLOW_SECONDS = 20.0


@pytest.fixture(scope="module")
def slow_index():
    with IndexServer(slow={"iniconfig": SLOW_SECONDS}) as server:
        yield server


def test_interrupt_a_download(scenario, isolated_url, slow_index):
    code = (f"%pip install --index-url {slow_index.simple_url} iniconfig\n"
            "# (never reached)")
    r = scenario("interrupt", isolated_url, code=code, settle=1500, tag="pip-download")
    check_interrupted(r)
    assert any(p.endswith("/files/iniconfig-2.0.0-py3-none-any.whl") for _, p in slow_index.requests)
