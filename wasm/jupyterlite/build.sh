#!/usr/bin/env bash
# Builds the kite JupyterLite extension and its wheel.
#   wasm/jupyterlite/build.sh [DIST_DIR]   (default: build/wasm/dist)
# DIST_DIR holds the wasm build: kite.js kite.wasm kite-stdlib.zip worker.js controller.js.
# Output: build/jupyterlite/dist/kite_jupyterlite-<version>-py3-none-any.whl
# (KITE_LITE_NO_WASM=1 builds without the wasm assets: UI development only.)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/wasm/jupyterlite"
dist="${1:-build/wasm/dist}"
case "$dist" in /*) ;; *) dist="$root/$dist" ;; esac
out="$root/build/jupyterlite/dist"
venv="$root/.venv"
say() { printf '[kite-lite] %s\n' "$*"; }
die() { printf '[kite-lite] ERROR: %s\n' "$*" >&2; exit 1; }

assets=(kite.js kite.wasm kite-stdlib.zip worker.js fetch.js controller.js)
if [ "${KITE_LITE_NO_WASM:-0}" != 1 ]; then
  for f in "${assets[@]}"; do
    [ -f "$dist/$f" ] || die "missing $dist/$f (build the wasm kernel first: make wasm)"
  done
fi
[ -x "$venv/bin/jupyter" ] || die "missing $venv (run scripts/install-deps.sh)"
export PATH="$venv/bin:$PATH"

cd "$here"
if [ ! -d node_modules ] || [ package.json -nt node_modules/.kite-stamp ] || [ package-lock.json -nt node_modules/.kite-stamp ]; then
  say "npm ci (wasm/jupyterlite)"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.kite-stamp
fi

say "compiling TypeScript (tsc)"
npx --no-install tsc

say "building the federated extension (jupyter labextension build)"
mkdir -p "$root/build/jupyterlite"
extlog="$root/build/jupyterlite/labextension-build.log"
jupyter labextension build . >"$extlog" 2>&1 || { cat "$extlog"; die "jupyter labextension build failed"; }
grep -E 'compiled|ERROR' "$extlog" | sed 's/^/  /' || true
printf '%s\n' '{"packageManager": "python", "packageName": "kite-jupyterlite", "uninstallInstructions": "pip uninstall kite-jupyterlite"}' \
  >"$here/kite_jupyterlite/labextension/install.json"

labext="$here/kite_jupyterlite/labextension"
static="$labext/static/kite"
rm -rf "$static"
mkdir -p "$static"
if [ "${KITE_LITE_NO_WASM:-0}" != 1 ]; then
  say "copying the wasm assets from ${dist#$root/} into the labextension (static/kite/)"
  for f in "${assets[@]}"; do
    cp "$dist/$f" "$static/$f"
    printf '  %-16s %9d bytes\n' "$f" "$(stat -c %s "$static/$f")"
  done
else
  say "KITE_LITE_NO_WASM=1: no wasm assets (the kernel will not start)"
fi
# JupyterLite's DriveFS for the classic worker script (the notebook's files, browser only): one
# IIFE that worker.js loads with importScripts; @lumino/coreutils replaced by its one used export
npx --no-install esbuild worker/drive.js --bundle --format=iife --minify --target=es2020 \
  --alias:@lumino/coreutils=./worker/uuid.js --log-level=warning --outfile="$static/drive.js"
printf '  %-16s %9d bytes\n' drive.js "$(stat -c %s "$static/drive.js")"

# the build add-on (kite_jupyterlite/addon.py) resolves bundled packages with kite's own
# resolver: a copy of it goes into the wheel (one source: kernel/python/kite/packages)
say "vendoring kite's resolver (kernel/python/kite/packages) into kite_jupyterlite/kite_packages"
rm -rf "$here/kite_jupyterlite/kite_packages"
cp -r "$root/kernel/python/kite/packages" "$here/kite_jupyterlite/kite_packages"
find "$here/kite_jupyterlite/kite_packages" -name __pycache__ -prune -exec rm -rf {} +

say "building the wheel into ${out#$root/}"
mkdir -p "$out"
rm -f "$out"/kite_jupyterlite-*.whl
python -m build --wheel --no-isolation --outdir "$out" . >"$root/build/jupyterlite/wheel.log" 2>&1 \
  || { cat "$root/build/jupyterlite/wheel.log"; die "wheel build failed"; }
rm -rf "$here/build"   # hatchling's scratch dir, if any
whl="$(ls "$out"/kite_jupyterlite-*.whl)"
say "wheel: ${whl#$root/} ($(stat -c %s "$whl") bytes)"
