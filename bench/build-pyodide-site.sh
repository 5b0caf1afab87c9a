#!/usr/bin/env bash
# Builds the JupyterLite site with the Pyodide kernel (jupyterlite-pyodide-kernel, PyPI) that the
# browser benchmark compares kite with: build/bench/pyodide-site. No CDN is reachable here, so the
# Pyodide runtime is the npm `pyodide` package's files (bench/node_modules/pyodide, pinned in
# bench/package.json), copied into the site as static/pyodide, plus the pure-Python wheels the
# kernel loads at start-up (bench/pyodide-site-wheels.txt), fetched from PyPI with pip.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=build/bench/pyodide-site
ENV=build/bench/lite-env
LITE=build/bench/pyodide-lite
CACHE=${KITE_CACHE:-$HOME/.cache/kite}/bench
say() { printf '[bench] %s\n' "$*" >&2; }

NPM_PYODIDE=bench/node_modules/pyodide
[ -f "$NPM_PYODIDE/pyodide.mjs" ] || { say "missing $NPM_PYODIDE (run npm ci in bench/)"; exit 1; }
PYODIDE_VERSION=$(node -p "require('./$NPM_PYODIDE/package.json').version")

# 1. a separate environment with only jupyterlite-core + the Pyodide kernel
if [ ! -x "$ENV/bin/jupyter-lite" ] || ! cmp -s bench/requirements-lite.txt "$ENV/.bench-stamp"; then
  say "creating $ENV (jupyterlite-core, jupyterlite-pyodide-kernel)"
  rm -rf "$ENV"; python3.11 -m venv "$ENV"
  "$ENV/bin/pip" install -q -r bench/requirements-lite.txt
  cp bench/requirements-lite.txt "$ENV/.bench-stamp"
fi

# 2. the wheels (cached)
mkdir -p "$CACHE/wheels"
specs=$(grep -v '^#' bench/pyodide-site-wheels.txt | awk 'NF{print $1}')
"$ENV/bin/pip" download -q --no-deps --only-binary=:all: --python-version 3.14 --implementation py \
  --abi none --platform any -d "$CACHE/wheels" $specs

# 3. the lite dir: static/pyodide = npm pyodide + lock wheels (lock sha256 rewritten), pypi/ = the rest
rm -rf "$LITE" "$OUT"; mkdir -p "$LITE/static/pyodide" "$LITE/pypi"
cp -r "$NPM_PYODIDE"/. "$LITE/static/pyodide/"
rm -f "$LITE/static/pyodide"/*.map "$LITE/static/pyodide/package.json" "$LITE/static/pyodide"/*.d.ts "$LITE/static/pyodide"/*.html "$LITE/static/pyodide/README.md"
"$ENV/bin/python" - "$LITE" "$CACHE/wheels" bench/pyodide-site-wheels.txt <<'PY'
import hashlib, json, re, shutil, sys
from pathlib import Path
lite, wheels, spec = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
lock_path = lite / "static/pyodide/pyodide-lock.json"
lock = json.loads(lock_path.read_text())
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
pkgs = {norm(k): v for k, v in lock["packages"].items()}
for line in spec.read_text().splitlines():
    if not line.strip() or line.startswith("#"):
        continue
    req, where = line.split()[:2]
    name, version = req.split("==")
    stem = norm(name).replace("-", "_")
    found = [w for w in wheels.glob("*.whl") if norm(w.name.split("-")[0]) == norm(name) and w.name.split("-")[1] == version]
    if not found:
        sys.exit(f"wheel for {req} not downloaded")
    whl = found[0]
    if where == "lock":
        entry = pkgs[norm(name)]
        if entry["version"] != version:
            sys.exit(f"{name}: lock has {entry['version']}, spec {version}")
        shutil.copy(whl, lite / "static/pyodide" / entry["file_name"])
        entry["sha256"] = hashlib.sha256(whl.read_bytes()).hexdigest()
    else:
        shutil.copy(whl, lite / "pypi" / whl.name)
lock_path.write_text(json.dumps(lock))
PY
cat > "$LITE/jupyter-lite.json" <<JSON
{
  "jupyter-lite-schema-version": 0,
  "jupyter-config-data": {
    "appName": "Pyodide kernel (bench reference, pyodide $PYODIDE_VERSION from npm)",
    "litePluginSettings": {
      "@jupyterlite/pyodide-kernel-extension:kernel": { "disablePyPIFallback": true }
    }
  }
}
JSON
say "jupyter lite build -> $OUT"
(cd "$LITE" && "$ROOT/$ENV/bin/jupyter" lite build --output-dir "$ROOT/$OUT" >"$ROOT/build/bench/pyodide-site-build.log" 2>&1) \
  || { cat build/bench/pyodide-site-build.log; exit 1; }
grep -q pyodideUrl "$OUT/jupyter-lite.json" || { say "pyodideUrl not set in $OUT/jupyter-lite.json"; exit 1; }
say "pyodide site ready: $OUT (pyodide $PYODIDE_VERSION)"
