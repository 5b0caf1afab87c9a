"""numpy's own test suite (a meaningful part of it) in kite-node, against kite's wasm numpy wheel:
pytest and hypothesis (pure-Python wheels from PyPI) and numpy are installed with `%pip` from a
local index into a directory on disk, numpy's test files (numpy-tests-<version>.tar.gz, made by
the recipe builder beside the wheel) are unpacked over it, and pytest runs in the kernel.

Known wasm32 differences fail as expected (tests/numpy_expected_failures.txt, one test id per
line with its reason); any other failure fails this test. The counts go to the report
(test-artifacts/kernel-tests.jsonl) and the JUnit file to test-artifacts/numpy-suite/.
"""
from __future__ import annotations

import os
import shutil
import tarfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kernels import Kernel, in_ci, report, start_kernel
from test_numpy import NUMPY_VERSION, kite_wheel

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "numpy-suite"
EXPECTED = Path(__file__).with_name("numpy_expected_failures.txt")
# pytest and what it needs on 3.11; hypothesis (numpy's conftest imports it; 6.155.7 is its last
# pure-Python wheel, later ones are compiled) and its dependency
SUITE_WHEELS = [("pytest", "9.2.0", []), ("iniconfig", "2.3.1", []), ("packaging", "26.4", []),
                ("pluggy", "1.7.0", []), ("pygments", "2.21.0", []), ("hypothesis", "6.155.7", []),
                ("sortedcontainers", "2.4.0", [])]
# numpy's test directories: the core (arrays, ufuncs, dtypes, strings, datetimes, ...), lib,
# linalg, fft, random, ma, polynomial, matrixlib, testing
SUITE = ["numpy/_core/tests", "numpy/lib/tests", "numpy/linalg/tests", "numpy/fft/tests",
         "numpy/random/tests", "numpy/ma/tests", "numpy/polynomial/tests",
         "numpy/matrixlib/tests", "numpy/testing/tests"]
# test modules that cannot even be imported in kite's wasm CPython: they import ctypes at the top
# (kite has no _ctypes: no libffi for wasm32 here); numpy's own wasm CI (Pyodide) has ctypes
NOT_COLLECTED = {
    "numpy/_core/tests/test_multiarray.py": "imports ctypes",
    "numpy/_core/tests/test_ufunc.py": "imports ctypes",
    "numpy/_core/tests/test_dtype.py": "imports ctypes",
    "numpy/_core/tests/test_casting_unittests.py": "imports ctypes",
    "numpy/_core/tests/test_umath_accuracy.py": "imports ctypes",
    "numpy/lib/tests/test_io.py": "imports ctypes",
    "numpy/random/tests/test_direct.py": "imports ctypes",
}


def expected_failures() -> dict[str, str]:
    """{test id: reason}; a '*' at the end of an id matches every parametrisation."""
    out = {}
    for line in EXPECTED.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            test_id, _, reason = line.partition("#")
            out[test_id.strip()] = reason.strip()
    return out


def is_expected(test_id: str, expected: dict[str, str]) -> bool:
    return any(test_id == e or (e.endswith("*") and test_id.startswith(e[:-1])) for e in expected)


def test_numpy_suite(tmp_path: Path) -> None:
    wheel = kite_wheel()
    tests_tarball = wheel.parent / f"numpy-tests-{NUMPY_VERSION}.tar.gz"
    if not tests_tarball.exists():
        pytest.fail(f"{tests_tarball} is missing (make wheels)", pytrace=False)
    site = tmp_path / "site"
    junit = tmp_path / "junit.xml"
    k: Kernel = start_kernel("kite-node", env={**os.environ, "KITE_SITE_PACKAGES": str(site)},
                             cwd=str(tmp_path))
    try:
        from pypi_index import IndexServer
        with IndexServer(wheels=SUITE_WHEELS, local=[wheel]) as index:
            r = k.execute_ok(f"%pip install --index-url {index.simple_url} numpy pytest hypothesis",
                             timeout=300)
        assert f"numpy-{NUMPY_VERSION}" in r.stream_text(), r.describe()
        with tarfile.open(tests_tarball) as tar:
            tar.extractall(site, filter="data")
        args = ["-q", "--tb=line", "-p", "no:cacheprovider", "-p", "no:faulthandler",
                "--capture=sys", "-m", "not slow", f"--junitxml={junit}", "-o", "junit_family=xunit1",
                *[f"--ignore={site / p}" for p in NOT_COLLECTED], *[str(site / p) for p in SUITE]]
        t0 = time.monotonic()
        r = k.execute(f"import pytest\n_rc = pytest.main({args!r})\nprint('pytest exit', int(_rc))",
                      timeout=1800)
        seconds = time.monotonic() - t0
    finally:
        k.shutdown()
    assert r.status == "ok", r.describe()[-3000:]
    assert junit.exists(), r.stream_text()[-3000:]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(junit, ARTIFACTS / "junit.xml")

    counts = {"passed": 0, "failed": 0, "skipped": 0, "xfailed": 0}
    failed: list[str] = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            counts["failed"] += 1
            failed.append(test_id)
        elif case.find("skipped") is not None:
            kind = "xfailed" if (case.find("skipped").get("type") or "").endswith("xfail") else "skipped"
            counts[kind] += 1
        else:
            counts["passed"] += 1
    expected = expected_failures()
    unexpected = [t for t in failed if not is_expected(t, expected)]
    (ARTIFACTS / "failed.txt").write_text("\n".join(failed) + "\n")
    report("numpy_suite", modules=len(SUITE), seconds=round(seconds, 1), **counts,
           expected_failures=len(failed) - len(unexpected), unexpected_failures=len(unexpected))
    assert counts["passed"] > 5000, counts
    assert not unexpected, (f"{len(unexpected)} unexpected failures (of {counts}); first ones:\n"
                            + "\n".join(unexpected[:40]))
