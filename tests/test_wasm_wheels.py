"""The wasm wheels `make wheels` builds from wasm/recipes (build/wheels): named and tagged with the
installer's platform tag, RECORD right, every extension module an Emscripten side module, test
files moved out, and a second build with nothing changed served from the cache."""
from __future__ import annotations

import base64
import csv
import fnmatch
import hashlib
import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WHEELS = ROOT / "build" / "wheels"
sys.path.insert(0, str(ROOT / "kernel" / "python"))
sys.path.insert(0, str(ROOT / "wasm" / "recipes"))

from builder import recipe as recipes, side_modules  # noqa: E402
from kite.packages import environment  # noqa: E402
from kite.packages._packaging import parse_wheel_filename  # noqa: E402

RECIPES = recipes.available()


def _wheel(name: str) -> Path:
    recipe = recipes.load(name)
    path = WHEELS / f"{recipe.name}-{recipe.version}-cp311-cp311-{environment.KITE_WASM_PLATFORM}.whl"
    if not path.exists():
        reason = f"{path} missing: build it with `make wheels`"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


@pytest.mark.parametrize("name", RECIPES)
def test_wheel_is_tagged_recorded_and_made_of_side_modules(name):
    path = _wheel(name)
    recipe = recipes.load(name)
    assert environment.WASM.tag_rank(parse_wheel_filename(path.name)[3]) is not None
    with zipfile.ZipFile(path) as wheel:
        files = {n: wheel.read(n) for n in wheel.namelist()}
    dist_info = f"{recipe.name}-{recipe.version}.dist-info"
    assert f"Tag: cp311-cp311-{environment.KITE_WASM_PLATFORM}" in files[f"{dist_info}/WHEEL"].decode()
    record = list(csv.reader(io.StringIO(files[f"{dist_info}/RECORD"].decode())))
    assert {row[0] for row in record} == set(files)
    for path_in_wheel, digest, size in record:
        if digest:
            data = files[path_in_wheel]
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (f"sha256={expected}", len(data)), path_in_wheel
    modules = [n for n in files if n.endswith(".so")]
    assert modules
    for module in modules:
        side_modules.check(module, files[module])
    left_out = recipe.tests + recipe.exclude
    assert not [n for n in files if any(fnmatch.fnmatchcase(n, p) for p in left_out)]


def test_unchanged_rebuild_is_a_cache_hit():
    _wheel(RECIPES[0])
    start = time.monotonic()
    out = subprocess.run([sys.executable, str(ROOT / "wasm/recipes/build_wheel.py"), "--all"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count(": cached (") == len(RECIPES), out.stderr
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("name", RECIPES)
def test_kite_wasm_provides_what_the_wheel_imports(name: str) -> None:
    """Every symbol a wheel's side modules take from the main module is there: exported by
    kite.wasm (CPython's C API, wasm/src/main-module-libc.txt) or a JavaScript function kite.js
    keeps (wasm/src/exported-library.json; invoke_* are made on demand). A missing one would
    fail the import ("missing function") or a call deep inside the package."""
    import json
    kite_wasm = ROOT / "build" / "wasm" / "dist" / "kite.wasm"
    if not kite_wasm.exists():
        pytest.skip("build/wasm/dist/kite.wasm missing (make wasm)")
    with zipfile.ZipFile(_wheel(name)) as z:
        modules = {n: z.read(n) for n in z.namelist() if n.endswith(".so")}
    needed = side_modules.main_module_imports(modules)
    _, exported = side_modules.symbols(kite_wasm.read_bytes())
    js = set(json.loads((ROOT / "wasm" / "src" / "exported-library.json").read_text()))
    missing = [s for s in needed if s not in exported and s not in js and not s.startswith("invoke_")]
    assert not missing, f"{name}: kite.wasm does not provide {missing}"
