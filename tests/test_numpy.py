"""numpy in kite, over the Jupyter protocol: kite-node installs kite's own wasm wheel
(build/wheels, made by wasm/recipes) with `%pip` from a local index and imports it; kite-native
imports numpy 2.4.6 from PyPI's manylinux wheel (unpacked once, outside the system Python). Then
the same cells on both: computations, random numbers equal to native numpy's for the same seeds,
and interrupts: a Python loop of numpy calls stops like any loop; one long C call raises
KeyboardInterrupt when it returns, before the reply (the signal is not lost).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernels import Kernel, in_ci, kernel_fixture, report, start_kernel

ROOT = Path(__file__).resolve().parent.parent
NUMPY_VERSION = "2.4.6"
CACHE = Path(os.environ.get("KITE_CACHE", Path.home() / ".cache" / "kite"))
MAX_LATENCY = float(os.environ.get("KITE_INTERRUPT_MAX_LATENCY", "1.0"))

kernel = kernel_fixture("module", ["kite-node", "kite-native"])


def kite_wheel() -> Path:
    wheels = sorted((ROOT / "build" / "wheels").glob(f"numpy-{NUMPY_VERSION}-*-kite_1_wasm32.whl"))
    if not wheels:
        reason = "no numpy wasm wheel in build/wheels (make wheels)"
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return wheels[-1]


def native_numpy_dir() -> Path:
    """numpy from PyPI for the native kernel and for the expected values (the tests must not
    install into the system Python kite-native embeds)."""
    target = CACHE / f"native-numpy-{NUMPY_VERSION}"
    if not (target / "numpy").is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--only-binary=:all:",
                        "--target", str(target), f"numpy=={NUMPY_VERSION}"], check=True)
    return target


def native_values(code: str):
    """What native numpy computes (the expression printed as JSON by /usr/bin/python3.11)."""
    out = subprocess.run(["/usr/bin/python3.11", "-c", code], check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(native_numpy_dir())}).stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def np_kernel(kernel: Kernel, tmp_path_factory) -> Kernel:
    if kernel.name == "kite-node":
        from pypi_index import IndexServer
        with IndexServer(wheels=[], local=[kite_wheel()]) as index:
            r = kernel.execute_ok(f"%pip install --index-url {index.simple_url} numpy", timeout=300)
        out = r.stream_text()
        assert f"Successfully installed numpy-{NUMPY_VERSION}" in out, r.describe()
    else:
        kernel.execute_ok(f"import sys; sys.path.insert(0, {str(native_numpy_dir())!r})")
    t0 = time.monotonic()
    kernel.execute_ok("import numpy as np", timeout=120)
    report("numpy_import", kernel=kernel.name, seconds=round(time.monotonic() - t0, 3))
    return kernel


def test_import_and_basics(np_kernel: Kernel) -> None:
    k = np_kernel
    assert k.expr("np.__version__") == repr(NUMPY_VERSION)
    assert k.expr("int(np.arange(10).sum())") == "45"
    assert k.expr("(np.ones((3, 4)) * 2 + np.arange(4)).tolist()") == repr([[2.0, 3.0, 4.0, 5.0]] * 3)
    # the default integer is the C long: 32-bit in wasm32 (as in Pyodide), 64-bit natively
    expected_int = "'int32'" if k.name == "kite-node" else "'int64'"
    assert k.expr("np.arange(3).dtype.name") == expected_int
    # an extension module is a real file the importer loaded (dynamic loading, not built in)
    origin = k.expr("np._core._multiarray_umath.__file__")
    assert origin.endswith(".so'"), origin


def test_computations(np_kernel: Kernel) -> None:
    k = np_kernel
    k.execute_ok("a = np.array([[4.0, 1.0], [2.0, 3.0]]); b = np.array([1.0, 2.0])")
    assert k.expr("np.linalg.solve(a, b).round(12).tolist()") == "[0.1, 0.6]"
    assert k.expr("sorted(np.linalg.eigvals(a).round(9).tolist())") == "[2.0, 5.0]"
    assert k.expr("np.fft.fft([1, 0, 0, 0]).real.tolist()") == "[1.0, 1.0, 1.0, 1.0]"
    assert k.expr("np.sort(np.array([3, 1, 2])).tolist()") == "[1, 2, 3]"
    assert k.expr("float((np.eye(200) @ np.full((200, 200), 0.5)).sum())") == "20000.0"
    assert k.expr("np.array(['b', 'a']).astype('U3').tolist()") == "['b', 'a']"
    assert k.expr("str(np.datetime64('2026-12-01') + np.timedelta64(1, 'D'))") == "'2026-12-02'"


def test_random_numbers_match_native_numpy(np_kernel: Kernel) -> None:
    code = ("import json, numpy as np; g = np.random.default_rng(12345); np.random.seed(7); "
            "print(json.dumps([g.random(4).tolist(), g.integers(0, 1000, 5).tolist(), "
            "g.normal(size=3).tolist(), np.random.rand(3).tolist(), np.random.randint(0, 100, 4).tolist(), "
            "np.random.RandomState(42).standard_normal(2).tolist(), "
            "np.random.default_rng(1).permutation(8).tolist()]))")
    expected = native_values(code)
    r = np_kernel.execute_ok(code)
    assert json.loads(r.stream_text()) == expected


def test_interrupt_a_loop_of_numpy_calls(np_kernel: Kernel) -> None:
    k = np_kernel
    k.execute_ok("x = 41; v = np.zeros(1000); rounds = 0")
    msg_id = k.start_cell("while True:\n    v = v + 1.0\n    rounds += 1")
    k.idle_for(0.5)
    t0 = time.monotonic()
    k.interrupt("mode")
    r = k.collect(msg_id, 10)
    latency = r.reply_time - t0
    assert r.status == "error" and r.content["ename"] == "KeyboardInterrupt", r.describe()
    assert latency < MAX_LATENCY, f"[{k.name}] interrupt -> reply {latency:.3f}s"
    assert r.idle
    # the loop really ran, its state is consistent and earlier state survived
    assert int(k.expr("rounds")) > 10
    assert k.expr("bool((v == v[0]).all()) and float(v[0]) in (rounds, rounds + 1)") == "True"
    assert k.expr("x + 1") == "42"
    report("numpy_interrupt", kernel=k.name, latency_ms=round(latency * 1000, 1))


def test_a_long_c_call_raises_when_it_returns(np_kernel: Kernel) -> None:
    """One numpy call that runs ~1.5 s in C: the interrupt cannot cut it short; KeyboardInterrupt
    comes when it returns. Natively at once (CPython's signal handler arms the eval loop). In
    wasm at the interpreter's next periodic interrupt check, which counts calls and loop
    iterations (every 50th reads the buffer: kite's CPython patch 03), so a few more simple
    statements can run first, never a loop; and when the call is the cell's last statement the
    signal is delivered before the reply (the cell fails, it is not lost)."""
    k = np_kernel
    k.execute_ok("x = 41; big = np.random.default_rng(0).random(2_000_000)")
    k.execute_ok("import time as _t; _t0 = _t.perf_counter(); np.sort(big); _dt = _t.perf_counter() - _t0")
    one_call = float(k.expr("_dt"))
    copies = max(1, round(1.5 / max(one_call, 0.005)))
    k.execute_ok(f"stack = np.tile(big, {copies})")  # sorting it is one C call of ~1.5 s
    cases = ["np.sort(stack); done = True\nfor i in range(1000):\n    pass\nafter = True",
             "np.sort(stack)"]
    for code in cases:
        k.execute_ok("done = after = False")
        msg_id = k.start_cell(code)
        k.idle_for(0.3)
        t0 = time.monotonic()
        k.interrupt("mode")
        r = k.collect(msg_id, 60)
        assert r.status == "error" and r.content["ename"] == "KeyboardInterrupt", f"{code}: {r.describe()}"
        assert len(r.errors()) == 1 and r.idle, r.describe()
        assert k.expr("after") == "False", f"[{k.name}] a loop ran after the interrupted call"
        if k.name == "kite-native":
            assert k.expr("done") == "False", "natively the statement after the call must not run"
        assert k.expr("x + 1") == "42"
        report("numpy_long_c_call", kernel=k.name, code=code, one_sort_s=round(one_call, 3),
               copies=copies, reply_after_interrupt_s=round(r.reply_time - t0, 3),
               next_statement_ran=k.expr("done") == "True")


def test_a_plain_import_installs_a_bundled_package() -> None:
    """As on a JupyterLite site that bundles numpy (KITE_BUNDLED_INDEX_URL, an all.json with
    kite_imports): the first `import numpy` installs it from that index, offline, and imports
    it; other missing modules stay ordinary ImportErrors, and modules that probe optional
    imports while the installer runs (subprocess's `import msvcrt`) are not disturbed."""
    from pypi_index import IndexServer
    with IndexServer(wheels=[], local=[kite_wheel()]) as index:
        k = start_kernel("kite-node", env={**os.environ, "KITE_BUNDLED_INDEX_URL": index.piplite_url,
                                          "KITE_INDEX_URL": "none"})
        try:
            r = k.execute("import definitely_not_a_module")
            assert r.content.get("ename") == "ModuleNotFoundError", r.describe()
            r = k.execute_ok("import numpy as np\nprint(np.__version__, int(np.arange(4).sum()))", timeout=300)
            out = r.stream_text()
            assert "installing numpy from this site's packages" in out, r.describe()
            assert out.strip().endswith(f"{NUMPY_VERSION} 6"), out
            assert k.expr("import subprocess; subprocess.__name__") == "'subprocess'"
        finally:
            k.shutdown()
