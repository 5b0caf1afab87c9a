"""Runs the interpreter core's C++ unit tests (kernel/tests, GoogleTest over the real CPython)
through CMake/CTest: configure and build into build/native (reused if present), then ctest."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "native"


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)
    print(proc.stdout)
    return proc


def test_kernel_unit_tests():
    if not (BUILD / "CMakeCache.txt").exists():
        configure = ["cmake", "-S", str(ROOT), "-B", str(BUILD)]
        if shutil.which("ninja"):
            configure += ["-G", "Ninja"]
        proc = _run(configure, timeout=300)
        assert proc.returncode == 0, "cmake configure failed"
    jobs = os.environ.get("KITE_JOBS", "2")
    proc = _run(["cmake", "--build", str(BUILD), "--target", "kite_kernel_tests", "-j", jobs],
                timeout=1200)
    assert proc.returncode == 0, "building kite_kernel_tests failed"
    # -L kernel: the core's cases only (other CTest tests of the tree belong to other suites).
    proc = _run(["ctest", "--test-dir", str(BUILD), "--output-on-failure", "-j", jobs,
                 "-L", "kernel"], timeout=300)
    assert proc.returncode == 0, "kernel unit tests failed (see ctest output above)"
    assert "100% tests passed" in proc.stdout
