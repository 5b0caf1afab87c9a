"""`%pip install` on kite-node (issue 9's figures): a small package with one dependency
(python-dateutil -> six) from the local index of real wheels (tests/pypi_index.py), and what
the installer costs kernel start-up and the download. Prints JSON (and writes --out).

- install_cold_ms: a fresh kernel's first `%pip install python-dateutil` (execute -> reply),
  which also imports kite.packages and the vendored `packaging`;
- install_warm_ms: the same after `%pip uninstall -y python-dateutil six` in that kernel;
- import_installer_ms: `import kite.packages` alone in a fresh kernel (what start-up would pay if
  the installer were imported there: it is not);
- start_ms / start_unvendored_ms: spawn -> kernel_info_reply with the stdlib zip as built (with
  `_kite_vendor.packaging`) and with the same zip without it (a temporary copy of the bundle);
- stdlib_zip_gzip_bytes: the stdlib zip gzip -9'ed, with and without the vendored library.

    .venv/bin/python bench/packages.py [--quick] [--out build/bench/packages.json]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from driver import Kernel, clock  # noqa: E402
from pypi_index import IndexServer  # noqa: E402

DIST = ROOT / "build/wasm/dist"


def log(*a):
    print("[bench packages]", *a, file=sys.stderr, flush=True)


def stats(xs):
    v = sorted(xs)
    return {"n": len(v), "median": statistics.median(v), "min": v[0], "max": v[-1], "samples": xs}


def run(k, code):
    t0 = clock()
    r = k.execute(code, 120, store_history=False)
    if r.reply is None or r.status != "ok":
        raise RuntimeError(f"{code!r}: {r.describe()}")
    return (clock() - t0) * 1000, r.stream_text()


def unvendored_spec(tmp: Path) -> Path:
    """A kite-node kernelspec over a copy of the bundle whose stdlib zip lacks _kite_vendor/."""
    dist = tmp / "dist"
    shutil.copytree(DIST, dist, symlinks=True)
    src = DIST / "kite-stdlib.zip"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dist / "kite-stdlib.zip", "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            if not info.filename.startswith("_kite_vendor/"):
                zout.writestr(info, zin.read(info))
    spec_dir = tmp / "jupyter"
    subprocess.run([sys.executable, str(ROOT / "wasm/node/install-kernelspec.py"), "--dist", str(dist),
                    "--prefix", str(spec_dir), "--name", "kite-node-unvendored"], check=True,
                   stderr=subprocess.DEVNULL)
    return spec_dir


def start_ms(name, reps, env=None):
    out = []
    for _ in range(reps):
        k = Kernel.start(name, startup_timeout=60, env=env or dict(os.environ))
        out.append(k.startup_seconds * 1000)
        k.shutdown()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "build/bench/packages.json"))
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    reps = 3 if a.quick else 7
    os.environ["JUPYTER_PATH"] = os.environ.get("JUPYTER_PATH") or str(ROOT / "build/share/jupyter")
    result = {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "loadavg_before": list(os.getloadavg()), "reps": reps}
    with IndexServer() as index, tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, KITE_INDEX_URL=index.url)
        cold, warm, imports = [], [], []
        for _ in range(reps):
            k = Kernel.start("kite-node", startup_timeout=60, env=env)
            try:
                ms, out = run(k, "%pip install python-dateutil")
                assert "Successfully installed python-dateutil-2.9.0.post0 six-1.17.0" in out, out
                cold.append(ms)
                run(k, "%pip uninstall -y python-dateutil six")
                warm.append(run(k, "%pip install python-dateutil")[0])
            finally:
                k.shutdown()
            k = Kernel.start("kite-node", startup_timeout=60, env=env)
            try:
                _, out = run(k, "import time\nt0 = time.perf_counter()\nimport kite.packages.installer\n"
                                "print((time.perf_counter() - t0) * 1000)")
                imports.append(float(out))
            finally:
                k.shutdown()
        result["install_cold_ms"] = stats(cold)
        result["install_warm_ms"] = stats(warm)
        result["import_installer_ms"] = stats(imports)
        log(f"install cold {statistics.median(cold):.0f} ms, warm {statistics.median(warm):.0f} ms, "
            f"import {statistics.median(imports):.0f} ms")
        spec_dir = unvendored_spec(Path(tmp))
        env_unvendored = dict(os.environ, JUPYTER_PATH=os.pathsep.join([str(spec_dir), os.environ["JUPYTER_PATH"]]))
        with_v, without_v = [], []
        for _ in range(reps):  # alternated, so a load change hits both
            with_v += start_ms("kite-node", 1)
            os.environ["JUPYTER_PATH"], saved = env_unvendored["JUPYTER_PATH"], os.environ["JUPYTER_PATH"]
            try:
                without_v += start_ms("kite-node-unvendored", 1)
            finally:
                os.environ["JUPYTER_PATH"] = saved
        result["start_ms"] = stats(with_v)
        result["start_unvendored_ms"] = stats(without_v)
        result["stdlib_zip_gzip_bytes"] = {
            "with_vendored_packaging": len(gzip.compress((DIST / "kite-stdlib.zip").read_bytes(), 9)),
            "without": len(gzip.compress((Path(tmp) / "dist/kite-stdlib.zip").read_bytes(), 9)),
        }
        z = result["stdlib_zip_gzip_bytes"]
        z["added"] = z["with_vendored_packaging"] - z["without"]
        log(f"start {statistics.median(with_v):.0f} ms (unvendored {statistics.median(without_v):.0f} ms); "
            f"packaging adds {z['added']} bytes gzip")
    result["loadavg_after"] = list(os.getloadavg())
    text = json.dumps(result, indent=1)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
