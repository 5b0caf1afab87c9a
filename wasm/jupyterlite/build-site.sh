#!/usr/bin/env bash
# Builds the kite JupyterLite site the way a user would: install the kite-jupyterlite wheel into
# the repo's .venv, then `jupyter lite build`.
#   wasm/jupyterlite/build-site.sh [OUTPUT_DIR]   (default: build/site)
# Uses the wheel from build/jupyterlite/dist (wasm/jupyterlite/build.sh), the site config in
# wasm/jupyterlite/site/ (Pyodide kernel disabled; bundles ipywidgets and kite's wasm wheels from
# build/wheels, e.g. numpy) and the notebooks in wasm/jupyterlite/content/.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/wasm/jupyterlite"
out="${1:-build/site}"
case "$out" in /*) ;; *) out="$root/$out" ;; esac
venv="$root/.venv"
say() { printf '[kite-site] %s\n' "$*"; }
die() { printf '[kite-site] ERROR: %s\n' "$*" >&2; exit 1; }

whl="$(ls "$root"/build/jupyterlite/dist/kite_jupyterlite-*.whl 2>/dev/null | head -n1)"
[ -n "$whl" ] || die "no wheel in build/jupyterlite/dist (run wasm/jupyterlite/build.sh first)"
[ -x "$venv/bin/jupyter-lite" ] || die "missing $venv/bin/jupyter-lite (run scripts/install-deps.sh)"

say "installing ${whl#$root/} into .venv"
"$venv/bin/pip" install -q --force-reinstall --no-deps "$whl"

lite="$root/build/jupyterlite/lite"
say "preparing the lite dir ${lite#$root/}"
rm -rf "$lite"
mkdir -p "$lite"
cp "$here/site/jupyter_lite_config.json" "$here/site/jupyter-lite.json" "$lite/"

say "jupyter lite build --output-dir ${out#$root/}"
rm -rf "$out"
log="$root/build/jupyterlite/lite-build.log"
(cd "$lite" && "$venv/bin/jupyter" lite build --lite-dir "$lite" --contents "$here/content" \
   --output-dir "$out") >"$log" 2>&1 || { tail -n 40 "$log"; die "jupyter lite build failed (log: ${log#$root/})"; }

# The build venv also holds jupyterlite-xeus (for `make xeus-site`): its extension would load
# on kite's site (disabling its plugins does not stop its module from fetching a package map
# from GitHub at page load), so kite's site does not ship it.
"$venv/bin/python" - "$out" <<'PY'
import json, shutil, sys
from pathlib import Path
out = Path(sys.argv[1])
config_path = out / "jupyter-lite.json"
config = json.loads(config_path.read_text())
data = config["jupyter-config-data"]
drop = {"@jupyterlite/xeus-extension"}
data["federated_extensions"] = [e for e in data.get("federated_extensions", []) if e["name"] not in drop]
config_path.write_text(json.dumps(config, indent=2))
for name in drop:
    shutil.rmtree(out / "extensions" / name, ignore_errors=True)
PY

ext="$out/extensions/kite-jupyterlite"
[ -f "$ext/package.json" ] || die "the site has no kite-jupyterlite extension ($ext)"
if [ -f "$ext/static/kite/kite.wasm" ]; then
  say "wasm assets: $(du -sh "$ext/static/kite" | cut -f1) in ${ext#$root/}/static/kite"
else
  say "WARNING: the site has no wasm assets (wheel built with KITE_LITE_NO_WASM=1?)"
fi
say "site ready: ${out#$root/} ($(du -sh "$out" | cut -f1)); serve it with: .venv/bin/python wasm/serve.py ${out#$root/}"
