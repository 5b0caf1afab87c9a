#!/usr/bin/env bash
# Builds a JupyterLite site from kite's prefix the way a site author of the xeus ecosystem does:
# jupyterlite-core + jupyterlite-xeus (PyPI) + kite's wheel (Interrupt for xeus-loaded kite), then
#   jupyter lite build --XeusAddon.prefix=<prefix>
# No network: the add-on packs the existing prefix (no environment to solve).
#   wasm/prefix/build-site.sh [PREFIX] [OUTPUT_DIR]   (defaults: build/prefix/kite build/xeus-site)
# Site config: wasm/prefix/site/ (kite's own kernel plugin disabled, so the launcher shows the
# prefix's kernel only; kite's xeus plugin and kernel client stay on).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/wasm/prefix"
prefix="${1:-build/prefix/kite}"
out="${2:-build/xeus-site}"
case "$prefix" in /*) ;; *) prefix="$root/$prefix" ;; esac
case "$out" in /*) ;; *) out="$root/$out" ;; esac
venv="$root/.venv"
say() { printf '[kite-xeus-site] %s\n' "$*"; }
die() { printf '[kite-xeus-site] ERROR: %s\n' "$*" >&2; exit 1; }

[ -f "$prefix/conda-meta/history" ] || die "no prefix at $prefix (make prefix)"
"$venv/bin/python" -c 'import jupyterlite_xeus' 2>/dev/null || die "jupyterlite-xeus is not installed in .venv (scripts/install-deps.sh)"
whl="$(ls "$root"/build/jupyterlite/dist/kite_jupyterlite-*.whl 2>/dev/null | head -n1)"
[ -n "$whl" ] || die "no wheel in build/jupyterlite/dist (make lite)"
"$venv/bin/pip" install -q --force-reinstall --no-deps "$whl"

lite="$root/build/prefix/lite"
rm -rf "$lite" "$out"
mkdir -p "$lite"
cp "$here/site/jupyter_lite_config.json" "$here/site/jupyter-lite.json" "$lite/"
log="$root/build/prefix/lite-build.log"
say "jupyter lite build --XeusAddon.prefix=${prefix#$root/} --output-dir ${out#$root/}"
(cd "$lite" && "$venv/bin/jupyter" lite build --lite-dir "$lite" --XeusAddon.prefix="$prefix" \
   --output-dir "$out") >"$log" 2>&1 || { tail -n 40 "$log"; die "jupyter lite build failed (log: ${log#$root/})"; }
env="$(basename "$prefix")"
for f in "xeus/kernels.json" "xeus/$env/bin/kite-xeus.js" "xeus/$env/bin/kite-xeus.wasm" \
         "xeus/$env/kite-xeus/kernel.json" "xeus/$env/empack_env_meta.json"; do
  [ -f "$out/$f" ] || die "the site has no $f"
done
say "site ready: ${out#$root/} ($(du -sh "$out" | cut -f1)); serve it with: .venv/bin/python wasm/serve.py ${out#$root/}"
