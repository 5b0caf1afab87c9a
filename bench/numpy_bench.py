"""Part 5: numpy (issue 13's figures), kite's wasm wheel (build/wheels, wasm/recipes) in kite-node
against numpy 2.4.6 from PyPI (the manylinux wheel, tests/test_numpy.native_numpy_dir) in
/usr/bin/python3.11 and in kite-native. Writes JSON (--out) and prints a table.

- cold import: a fresh kernel (numpy already on disk: the wheel unpacked into KITE_SITE_PACKAGES
  for kite-node, sys.path for kite-native), its first cell `import numpy`, timed inside the cell
  (perf_counter) and from the client (execute_request -> execute_reply); python3.11: a fresh
  process, timed inside and as the whole process. kite-node also on freshly unpacked copies
  (no .pyc yet), as after %pip: kite's installer writes no .pyc, pip's --target does;
- after %pip: a fresh kite-node kernel runs `%pip install numpy` from a local index
  (tests/pypi_index.py) and then `import numpy` at once ("immediate"), or, in another kernel,
  once the worker has compiled and instantiated every side module (the kernel log's "side module
  ready" lines; the time of the last one after the install is "preload done");
- operations: vector add and sum of 1e6 float64, sort of 1e6 random floats, 200x200 matmul, each
  timed in the runtime with timeit (autorange, then best of N); native numpy with one OpenBLAS
  thread (kite has no threads);
- sizes: the kernel download for a user who never imports numpy (build/wasm/dist, gzip -9) against
  the last figures before kite.wasm became a main module, and numpy's download;
- Pyodide's numpy: looked for where it could be on this machine (the npm packages); the result
  says why it was not compared.

    .venv/bin/python bench/numpy_bench.py [--quick] [--out build/bench/numpy.json]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # before bench/: tests/kernels.py, not bench/kernels.py
os.environ.setdefault("JUPYTER_PATH", str(ROOT / "build/share/jupyter"))
from driver import Kernel, clock  # noqa: E402
from pypi_index import IndexServer  # noqa: E402
from test_numpy import NUMPY_VERSION, native_numpy_dir  # noqa: E402

DIST = ROOT / "build/wasm/dist"
PYTHON = "/usr/bin/python3.11"
PYODIDE_NPM = ROOT / "bench/node_modules/pyodide"
# kite.wasm and kite.js as served gzip -9 (wasm/serve.py) in session 3's browser part (2026-12-01
# 15:35, kite.wasm a6f1dfebc89d2875, 6,386,805 B), the last run before kite.wasm became an
# Emscripten main module (2eb33a8). Only these two: the main-module change is theirs, and the
# stdlib zip and worker.js have changed for other reasons since.
BASE_BEFORE_MAIN_MODULE = {"kite.wasm": 2_314_970, "kite.js": 48_644}
BASE_FILES = ("kite.wasm", "kite.js", "kite-stdlib.zip", "worker.js")

# `import numpy`, how much of it loading extension modules took (the part the preload saves) and
# how many other (stdlib) modules it imported on the way (fewer when %pip ran before: the
# installer has imported some of them)
IMPORT_CELL = """
import sys, time, importlib.machinery
_before = set(sys.modules)
_ext_ms, _create = [], importlib.machinery.ExtensionFileLoader.create_module
def _timed_create(self, spec):
    t = time.perf_counter()
    try:
        return _create(self, spec)
    finally:
        _ext_ms.append((time.perf_counter() - t) * 1000)
importlib.machinery.ExtensionFileLoader.create_module = _timed_create
_t0 = time.perf_counter()
import numpy
print('import_ms', (time.perf_counter() - _t0) * 1000)
print('ext_ms', sum(_ext_ms))
print('other_modules', sum(1 for m in set(sys.modules) - _before if m.split('.')[0] != 'numpy'))
importlib.machinery.ExtensionFileLoader.create_module = _create
"""
# the same source in every runtime; prints one JSON line {op: [ms per call of each repeat]}
OPS_CELL = """
import json, timeit
import numpy as np
_rng = np.random.default_rng(0)
a, b = _rng.random(1_000_000), _rng.random(1_000_000)
m1, m2 = _rng.random((200, 200)), _rng.random((200, 200))
_ops = {"add": "a + b", "sum": "a.sum()", "sort": "np.sort(a)", "matmul": "m1 @ m2"}
_out = {}
for _name, _stmt in _ops.items():
    _t = timeit.Timer(_stmt, globals=globals())
    _number, _ = _t.autorange()
    _out[_name] = {"number": _number, "ms": [s / _number * 1000 for s in _t.repeat(REPEAT, _number)]}
print("ops_json", json.dumps(_out))
"""
OPS = {"add": "vector add, 2 × 1e6 float64 (`a + b`)", "sum": "sum of 1e6 float64 (`a.sum()`)",
       "sort": "sort 1e6 random floats (`np.sort(a)`)", "matmul": "200×200 float64 matmul (`m1 @ m2`)"}

from common import file_id, stats  # noqa: E402


def log(*a):
    print("[bench numpy]", *a, file=sys.stderr, flush=True)


def ratio(a, b):
    """kite / reference: median of the index-paired ratios (min-max) and the ratio of medians"""
    out = stats([x / y for x, y in zip(a, b) if y])
    out["of_medians"] = statistics.median(a) / statistics.median(b) if a and b else None
    return out


def tagged(text, tag):
    """the value printed after `tag` on its own line"""
    for line in text.splitlines():
        if line.startswith(tag + " "):
            return line[len(tag) + 1:]
    raise RuntimeError(f"no {tag!r} line in {text[-2000:]!r}")


def cell(k, code, timeout=300):
    """(client ms, stdout) of a cell that must succeed"""
    r = k.execute_ok(code, timeout, store_history=False)
    return (r.reply_time - r.sent_time) * 1000, r.stream_text()


def gzip9(path: Path) -> int:
    return len(subprocess.run(["gzip", "-9", "-n", "-c", str(path)], check=True, capture_output=True).stdout)


# ------------------------------------------------------------------------------ cold import
def import_figures(out, client_ms=None):
    d = {"in_cell_ms": float(tagged(out, "import_ms")), "ext_ms": float(tagged(out, "ext_ms")),
         "other_modules": int(tagged(out, "other_modules"))}
    if client_ms is not None:
        d["client_ms"] = client_ms
    return d


def unpack(wheel: Path, site: Path) -> Path:
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    return site


def kite_node_import(site: Path):
    k = Kernel.start("kite-node", startup_timeout=60, env=dict(os.environ, KITE_SITE_PACKAGES=str(site)),
                     log=ROOT / "build/bench/kernel-kite-node-numpy.log")
    try:
        client, out = cell(k, IMPORT_CELL)
        return {"start_ms": k.startup_seconds * 1000, **import_figures(out, client)}
    finally:
        k.shutdown()


def has_kite_native():
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try:
        KernelSpecManager().get_kernel_spec("kite-native")
        return True
    except NoSuchKernel:
        log("kite-native: kernelspec not installed (make native), skipped")
        return False


def kite_native_import(native: Path):
    k = Kernel.start("kite-native", startup_timeout=60, log=ROOT / "build/bench/kernel-kite-native-numpy.log")
    try:
        cell(k, f"import sys; sys.path.insert(0, {str(native)!r})")
        client, out = cell(k, IMPORT_CELL)
        return import_figures(out, client)
    finally:
        k.shutdown()


def native_env(native: Path, **extra):
    return {**os.environ, "PYTHONPATH": str(native), **extra}


def python_import(native: Path):
    t0 = clock()
    out = subprocess.run([PYTHON, "-c", IMPORT_CELL], check=True, capture_output=True, text=True, env=native_env(native)).stdout
    return {**import_figures(out), "process_ms": (clock() - t0) * 1000}


def cold(wheel: Path, native: Path, tmp: Path, reps, reps_no_pyc):
    """kite-node first on fresh unpacked copies (no .pyc yet: the import compiles numpy's .py files
    and writes __pycache__, as after %pip), then on the last of them (.pyc present, like the pip
    --target tree native numpy runs from), one run of each runtime in turn so that a change of the
    machine's load hits all three (the ratios pair the runs)"""
    no_pyc = [kite_node_import(unpack(wheel, tmp / f"cold-site-{i}")) for i in range(reps_no_pyc)]
    site = tmp / f"cold-site-{reps_no_pyc - 1}"
    runs = {"kite-node": [], "kite-native": [], "python3.11": []}
    native_kernel = has_kite_native()
    for _ in range(reps):
        runs["kite-node"].append(kite_node_import(site))
        if native_kernel:
            runs["kite-native"].append(kite_native_import(native))
        runs["python3.11"].append(python_import(native))
    kn = runs["kite-node"]
    log("kite-node cold import without .pyc: in cell", [round(r["in_cell_ms"]) for r in no_pyc], "ms; with .pyc: in cell",
        [round(r["in_cell_ms"]) for r in kn], "ms, client", [round(r["client_ms"]) for r in kn], "ms, extension modules",
        [round(r["ext_ms"]) for r in kn], "ms")
    log("kite-native cold import: in cell", [round(r["in_cell_ms"], 1) for r in runs["kite-native"]], "ms")
    log("python3.11 cold import: in process", [round(r["in_cell_ms"], 1) for r in runs["python3.11"]], "ms")
    return runs, no_pyc, site


# ------------------------------------------------------------------------- after %pip install
READY = re.compile(r"side module ready before its import: (\S+) \((\d+) ms after the install\)")


def preload_lines(log_file: Path):
    """(module, ms after the install) of each side module the worker reported ready"""
    return [(m.group(1), int(m.group(2))) for m in READY.finditer(log_file.read_text(errors="replace"))]


def after_pip(wheel: Path, n_side_modules: int, reps, tmp: Path):
    """per rep: one kernel imports right after the install's reply, another once every side
    module is preloaded (the log says so)"""
    runs = []
    with IndexServer(wheels=[], local=[wheel]) as index:
        for i in range(reps):
            for wait in (False, True):
                site = tmp / f"pip-site-{i}-{int(wait)}"
                log_file = tmp / f"kernel-pip-{i}-{int(wait)}.log"
                log_file.write_bytes(b"")
                k = Kernel.start("kite-node", startup_timeout=60, log=log_file,
                                 env=dict(os.environ, KITE_SITE_PACKAGES=str(site)))
                try:
                    install_ms, out = cell(k, f"%pip install --index-url {index.simple_url} numpy")
                    if f"Successfully installed numpy-{NUMPY_VERSION}" not in out:
                        raise RuntimeError(f"%pip install numpy: {out[-2000:]}")
                    run = {"wait_for_preload": wait, "install_ms": install_ms}
                    if wait:
                        t0 = clock()
                        while len(preload_lines(log_file)) < n_side_modules and clock() - t0 < 60:
                            time.sleep(0.05)
                        run["waited_ms"] = (clock() - t0) * 1000
                        if len(preload_lines(log_file)) < n_side_modules:
                            log(f"WARNING: not every side module reported ready within 60 s (see {log_file.name}'s format)")
                    client, out = cell(k, IMPORT_CELL)
                    run.update(import_figures(out, client))
                    time.sleep(0.2)  # the log is written by the kernel process
                    ready = preload_lines(log_file)
                    run["preloaded"] = len(ready)
                    run["preload_done_ms"] = max((ms for _, ms in ready), default=None)
                    runs.append(run)
                finally:
                    k.shutdown()
                log(f"after %pip ({'preload done' if wait else 'immediate'}): install {install_ms:.0f} ms, "
                    f"import in cell {run['in_cell_ms']:.0f} ms (extension modules {run['ext_ms']:.0f}), client {run['client_ms']:.0f} ms, "
                    f"{run['preloaded']}/{n_side_modules} side modules preloaded (last {run['preload_done_ms']} ms after the install)")
    return runs


# ------------------------------------------------------------------------------ operations
def ops_summary(raw):
    return {op: {"best_ms": min(v["ms"]), "median_ms": statistics.median(v["ms"]), "number": v["number"], "ms": v["ms"]} for op, v in raw.items()}


def kite_node_ops(site: Path, repeat):
    k = Kernel.start("kite-node", startup_timeout=60, env=dict(os.environ, KITE_SITE_PACKAGES=str(site)))
    try:
        _, out = cell(k, OPS_CELL.replace("REPEAT", str(repeat)), timeout=600)
    finally:
        k.shutdown()
    return ops_summary(json.loads(tagged(out, "ops_json")))


def python_ops(native: Path, repeat):
    out = subprocess.run([PYTHON, "-c", OPS_CELL.replace("REPEAT", str(repeat))], check=True, capture_output=True, text=True,
                         env=native_env(native, OPENBLAS_NUM_THREADS="1")).stdout
    return ops_summary(json.loads(tagged(out, "ops_json")))


# ------------------------------------------------------------------------------ sizes
def sizes(wheel: Path):
    base = {}
    for name in BASE_FILES:
        f = DIST / name
        base[name] = {"bytes": f.stat().st_size, "gzip9": gzip9(f), "before_main_module_gzip9": BASE_BEFORE_MAIN_MODULE.get(name)}
    total = sum(v["gzip9"] for v in base.values())
    main_module = sum(base[n]["gzip9"] for n in BASE_BEFORE_MAIN_MODULE)
    before = sum(BASE_BEFORE_MAIN_MODULE.values())
    with zipfile.ZipFile(wheel) as z, tempfile.TemporaryDirectory() as tmp:
        so = [i for i in z.infolist() if i.filename.endswith(".so")]
        per_so = {}
        for info in so:
            p = Path(tmp) / "m.so"
            p.write_bytes(z.read(info))
            per_so[info.filename] = {"bytes": info.file_size, "in_wheel": info.compress_size, "gzip9": gzip9(p)}
        rest = [i for i in z.infolist() if not i.filename.endswith(".so")]
        numpy = {
            "wheel": wheel.name, "wheel_bytes": wheel.stat().st_size, "files": len(z.infolist()),
            "side_modules": len(so), "side_modules_bytes": sum(i.file_size for i in so),
            "side_modules_in_wheel_deflated": sum(i.compress_size for i in so),
            "side_modules_gzip9": sum(v["gzip9"] for v in per_so.values()),
            "other_files_bytes": sum(i.file_size for i in rest), "other_files_in_wheel": sum(i.compress_size for i in rest),
            "per_side_module": dict(sorted(per_so.items(), key=lambda kv: -kv[1]["bytes"])),
        }
    return {"base": base, "base_gzip9_total": total, "kite_wasm_js_gzip9": main_module,
            "kite_wasm_js_before_main_module_gzip9": before, "main_module_added_gzip9": main_module - before, "numpy": numpy}


def pyodide_numpy():
    """Where Pyodide's numpy wheel could come from on this machine, and the verdict."""
    lock = json.loads((PYODIDE_NPM / "pyodide-lock.json").read_text())
    entry = lock["packages"].get("numpy", {})
    wanted = entry.get("file_name")
    found = [str(p) for p in PYODIDE_NPM.parent.glob("pyodide*/numpy-*.whl")]
    version = json.loads((PYODIDE_NPM / "package.json").read_text())["version"]
    return {
        "pyodide_npm": version, "lock_file_name": wanted, "lock_sha256": entry.get("sha256"), "found": found,
        "available": bool(found),
        "verdict": "compared" if found else "pyodide numpy: not available offline",
        "reason": None if found else (
            f"npm `pyodide` {version} ships the runtime only; its pyodide-lock.json names {wanted}, which only "
            "Pyodide's CDN serves (not reachable here). PyPI has no emscripten/Pyodide numpy wheel for any "
            "version (pip download with pyemscripten_2026_0 / pyodide_2025_0 / pyodide_2024_0 / "
            "emscripten_* wasm32 tags finds none, 2026-12-01), the npm registry has no package carrying it and "
            "Debian has no Pyodide package. Operations are compared with native numpy instead."),
    }


# ------------------------------------------------------------------------------ report
def table(r):
    s = r["summary"]

    def f(st, d=0):
        return "n/a" if not st or st.get("median") is None else f"{st['median']:,.{d}f} ({st['min']:,.{d}f}–{st['max']:,.{d}f})"
    rows = [
        ("cold `import numpy` (fresh kernel, numpy on disk with its .pyc), in cell (ms)", f(s["cold_in_cell_ms"]["kite-node"]),
         f(s["cold_in_cell_ms"]["kite-native"], 1), f(s["cold_in_cell_ms"]["python3.11"], 1), f"{s['cold_ratio_over_python']['median']:.1f}× ({s['cold_ratio_over_python']['min']:.1f}–{s['cold_ratio_over_python']['max']:.1f})"),
        ("… of which loading extension modules (`create_module`: compile + instantiate the side modules) (ms)", f(s["cold_ext_ms"]["kite-node"], 1),
         f(s["cold_ext_ms"]["kite-native"], 1), f(s["cold_ext_ms"]["python3.11"], 1), ""),
        ("cold `import numpy`, client: execute → reply (ms; python3.11: the whole process)", f(s["cold_client_ms"]["kite-node"]),
         f(s["cold_client_ms"]["kite-native"], 1), f(s["cold_client_ms"]["python3.11"], 1), ""),
        ("cold `import numpy`, no .pyc yet (fresh unpacked wheel), in cell (ms)", f(s["cold_no_pyc_in_cell_ms"]), "", "", ""),
        ("`%pip install numpy` from a local index, execute → reply (ms)", f(s["pip_install_ms"]), "", "", ""),
        ("`import numpy` sent right after the install's reply: in cell (extension modules) / client (ms)",
         f"{f(s['after_pip_immediate_in_cell_ms'])} ({f(s['after_pip_immediate_ext_ms'], 1)}) / {f(s['after_pip_immediate_client_ms'])}", "", "", ""),
        ("other (stdlib) modules `import numpy` imported: cold / after `%pip` (which imported some already)",
         f"{s['other_modules']['cold']['median']} / {s['other_modules']['after_pip']['median']}", "", f"{s['other_modules']['python3.11']['median']}", ""),
        ("side modules preloaded after the install: the last one ready (ms after the install)", f(s["preload_done_ms"]), "", "", ""),
        ("`import numpy` once every side module is preloaded: in cell (extension modules) / client (ms)",
         f"{f(s['after_pip_preloaded_in_cell_ms'])} ({f(s['after_pip_preloaded_ext_ms'], 1)}) / {f(s['after_pip_preloaded_client_ms'])}", "", "", ""),
    ]
    for op, label in OPS.items():
        o = s["ops"][op]
        rows.append((f"{label}, best of {r['reps']['ops_repeat']} (ms)", f"{o['kite-node_best_ms']:.3f}", "", f"{o['python3.11_best_ms']:.3f}", f"{o['ratio_best']:.2f}×"))
    out = ["| measure | kite-node | kite-native | python3.11 (native numpy) | kite-node / python3.11 |", "|---|---|---|---|---|"]
    out += [f"| {' | '.join(row)} |" for row in rows]
    z, n = r["sizes"], r["sizes"]["numpy"]
    base = z["base"]
    out += ["", "| download (gzip -9 unless said) | now | before kite.wasm became a main module | difference |", "|---|---|---|---|",
            f"| kernel for a user who never imports numpy: kite.wasm + kite.js + kite-stdlib.zip + worker.js (MB) | {z['base_gzip9_total'] / 1e6:.2f} | | |",
            f"| … kite.wasm + kite.js (MB) | {z['kite_wasm_js_gzip9'] / 1e6:.2f} (kite.wasm {base['kite.wasm']['gzip9'] / 1e6:.2f}, kite.js {base['kite.js']['gzip9'] / 1e6:.3f}) "
            f"| {z['kite_wasm_js_before_main_module_gzip9'] / 1e6:.2f} (kite.wasm {BASE_BEFORE_MAIN_MODULE['kite.wasm'] / 1e6:.2f}, kite.js {BASE_BEFORE_MAIN_MODULE['kite.js'] / 1e6:.3f}) "
            f"| +{z['main_module_added_gzip9'] / 1e6:.3f} MB |",
            f"| numpy: the wheel, stored deflated (MB) | {n['wheel_bytes'] / 1e6:.2f} ({n['side_modules']} side modules: {n['side_modules_bytes'] / 1e6:.2f} raw, "
            f"{n['side_modules_in_wheel_deflated'] / 1e6:.2f} deflated in the wheel, {n['side_modules_gzip9'] / 1e6:.2f} gzip -9) | | |",
            f"| Pyodide's numpy | {r['pyodide']['verdict']} | | |"]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "build/bench/numpy.json"))
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    wheels = sorted((ROOT / "build/wheels").glob(f"numpy-{NUMPY_VERSION}-*-kite_1_wasm32.whl"))
    if not wheels:
        log("FAILED: no numpy wheel in build/wheels (make wheels)")
        sys.exit(1)
    wheel = wheels[-1]
    R = dict(cold=3, cold_no_pyc=1, pip=1, ops_repeat=3) if a.quick else dict(cold=7, cold_no_pyc=3, pip=4, ops_repeat=9)
    native = native_numpy_dir()
    result = {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "loadavg_before": list(os.getloadavg()), "reps": R,
              "kite_wasm": file_id(DIST / "kite.wasm"), "wheel": file_id(wheel), "native_numpy": str(native),
              "python": subprocess.run([PYTHON, "-c", "import sys, numpy; print(sys.version.split()[0], numpy.__version__)"],
                                       check=True, capture_output=True, text=True, env=native_env(native)).stdout.split()}
    with zipfile.ZipFile(wheel) as z:
        n_so = sum(1 for n in z.namelist() if n.endswith(".so"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        result["cold"], no_pyc, site = cold(wheel, native, tmp, R["cold"], R["cold_no_pyc"])
        result["cold_no_pyc"] = {"kite-node": no_pyc}
        result["after_pip"] = after_pip(wheel, n_so, R["pip"], tmp)
        result["ops"] = {"kite-node": kite_node_ops(site, R["ops_repeat"]), "python3.11": python_ops(native, R["ops_repeat"])}
    log("ops best ms:", {op: (round(result["ops"]["kite-node"][op]["best_ms"], 3), round(result["ops"]["python3.11"][op]["best_ms"], 3)) for op in OPS})
    result["sizes"] = sizes(wheel)
    result["pyodide"] = pyodide_numpy()
    result["loadavg_after"] = list(os.getloadavg())

    c = result["cold"]
    imm = [x for x in result["after_pip"] if not x["wait_for_preload"]]
    pre = [x for x in result["after_pip"] if x["wait_for_preload"]]
    result["summary"] = {
        "cold_in_cell_ms": {n: stats([x["in_cell_ms"] for x in v]) for n, v in c.items()},
        "cold_client_ms": {"kite-node": stats([x["client_ms"] for x in c["kite-node"]]), "kite-native": stats([x["client_ms"] for x in c["kite-native"]]),
                           "python3.11": stats([x["process_ms"] for x in c["python3.11"]])},
        "cold_ext_ms": {n: stats([x["ext_ms"] for x in v]) for n, v in c.items()},
        "other_modules": {"cold": stats([x["other_modules"] for x in c["kite-node"]]), "after_pip": stats([x["other_modules"] for x in result["after_pip"]]),
                          "python3.11": stats([x["other_modules"] for x in c["python3.11"]])},
        "cold_no_pyc_in_cell_ms": stats([x["in_cell_ms"] for x in result["cold_no_pyc"]["kite-node"]]),
        "cold_ratio_over_python": ratio([x["in_cell_ms"] for x in c["kite-node"]], [x["in_cell_ms"] for x in c["python3.11"]]),
        "pip_install_ms": stats([x["install_ms"] for x in result["after_pip"]]),
        "after_pip_immediate_in_cell_ms": stats([x["in_cell_ms"] for x in imm]),
        "after_pip_immediate_client_ms": stats([x["client_ms"] for x in imm]),
        "after_pip_immediate_ext_ms": stats([x["ext_ms"] for x in imm]),
        "after_pip_preloaded_in_cell_ms": stats([x["in_cell_ms"] for x in pre]),
        "after_pip_preloaded_ext_ms": stats([x["ext_ms"] for x in pre]),
        "after_pip_preloaded_client_ms": stats([x["client_ms"] for x in pre]),
        "preload_done_ms": stats([x["preload_done_ms"] for x in pre if x["preload_done_ms"] is not None]),
        "ops": {op: {"kite-node_best_ms": result["ops"]["kite-node"][op]["best_ms"], "python3.11_best_ms": result["ops"]["python3.11"][op]["best_ms"],
                     "ratio_best": result["ops"]["kite-node"][op]["best_ms"] / result["ops"]["python3.11"][op]["best_ms"]} for op in OPS},
    }
    result["table_markdown"] = table(result)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
    print(result["table_markdown"])
    if not result["pyodide"]["available"]:
        print(f"\n{result['pyodide']['verdict']}: {result['pyodide']['reason']}")
    log(f"numpy results: {a.out}")


if __name__ == "__main__":
    main()
