#!/usr/bin/env bash
# kite's benchmark suite (`make bench`): installs what it needs from the registries (bench npm
# packages: pyodide and playwright-core, pinned by bench/package-lock.json; the Pyodide-kernel
# JupyterLite site's tools and wheels through pip), runs the parts, prints the table and
# writes bench/results.json. A part whose inputs are missing fails loudly and the command exits
# non-zero; the other parts still run and report.
#   BENCH_QUICK=1     fewer repetitions (a smoke run, ~4 min)
#   BENCH_PARTS="raw kernels browser packages numpy"   which parts to run
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=$ROOT/.venv/bin/python
export JUPYTER_PATH=${JUPYTER_PATH:-$ROOT/build/share/jupyter}
PARTS=${BENCH_PARTS:-raw kernels browser packages numpy}
QUICK=()
[ "${BENCH_QUICK:-0}" = 1 ] && QUICK=(--quick)
say() { printf '[bench] %s\n' "$*" >&2; }
mkdir -p build/bench
# stale results of the parts about to run must not reach the table
for part in $PARTS; do
  case $part in raw) rm -f build/bench/node_raw.json ;; kernels) rm -f build/bench/kernels.json ;; browser) rm -f build/bench/browser.json ;; packages) rm -f build/bench/packages.json ;; numpy) rm -f build/bench/numpy.json ;; esac
done

# --- dependencies
[ -x "$PY" ] || { say "FAILED: $PY missing (make deps)"; exit 1; }
if [ ! -d bench/node_modules ] || [ bench/package-lock.json -nt bench/node_modules/.bench-stamp ]; then
  say "npm ci (bench: pyodide, playwright-core)"
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
  touch bench/node_modules/.bench-stamp
fi

# --- inputs of each part: report every missing one
failed=()
missing() { say "FAILED: $1: missing $2"; failed+=("$1"); }
need_raw() {
  local ok=0
  for f in kite.js kite.wasm kite-stdlib.zip worker.js; do
    [ -f build/wasm/dist/$f ] || { missing raw "build/wasm/dist/$f (make wasm)"; ok=1; break; }
  done
  [ -f wasm/node/worker-factory.js ] || { missing raw wasm/node/worker-factory.js; ok=1; }
  [ -x /usr/bin/python3.11 ] || { missing raw "/usr/bin/python3.11 (apt python3.11)"; ok=1; }
  return $ok
}
need_kernels() {
  [ -f "$JUPYTER_PATH/kernels/kite-node/kernel.json" ] || { missing kernels "$JUPYTER_PATH/kernels/kite-node/kernel.json (make wasm)"; return 1; }
  [ -f build/wasm/dist/controller.js ] || { missing kernels "build/wasm/dist/controller.js (make wasm)"; return 1; }
  [ -d wasm/node/node_modules/zeromq ] || { missing kernels "wasm/node/node_modules/zeromq (make deps)"; return 1; }
}
need_numpy() {
  local ok=0
  need_kernels || ok=1
  compgen -G "build/wheels/numpy-*-kite_1_wasm32.whl" >/dev/null || { missing numpy "build/wheels/numpy-*-kite_1_wasm32.whl (make wheels)"; ok=1; }
  [ -x /usr/bin/python3.11 ] || { missing numpy "/usr/bin/python3.11 (apt python3.11)"; ok=1; }
  return $ok
}
need_browser() {
  local ok=0
  [ -f build/site/index.html ] || { missing browser "build/site/index.html (make site)"; ok=1; }
  [ -f wasm/serve.py ] || { missing browser wasm/serve.py; ok=1; }
  [ -x /usr/bin/chromium ] || { missing browser "/usr/bin/chromium (apt chromium)"; ok=1; }
  return $ok
}

say "load before: $(uptime)"
for part in $PARTS; do
  case $part in
    raw)
      need_raw || continue
      say "part 1: raw runtimes in Node (node bench/node_raw.mjs)"
      node bench/node_raw.mjs "${QUICK[@]}" --out build/bench/node_raw.json || failed+=(raw) ;;
    kernels)
      need_kernels || continue
      say "part 2: kernels via jupyter_client (bench/kernels.py)"
      "$PY" bench/kernels.py "${QUICK[@]}" --out build/bench/kernels.json || failed+=(kernels) ;;
    browser)
      need_browser || continue
      say "part 3: JupyterLite sites in headless Chromium"
      bash bench/build-pyodide-site.sh || { failed+=(browser); continue; }
      runs=5; [ "${BENCH_QUICK:-0}" = 1 ] && runs=2
      node bench/browser.mjs --runs $runs --out build/bench/browser.json || failed+=(browser) ;;
    packages)
      need_kernels || continue
      say "part 4: %pip install on kite-node from a local index (bench/packages.py)"
      "$PY" bench/packages.py "${QUICK[@]}" --out build/bench/packages.json >/dev/null || failed+=(packages) ;;
    numpy)
      need_numpy || continue
      say "part 5: numpy, kite-node's wasm wheel vs native numpy (bench/numpy_bench.py)"
      "$PY" bench/numpy_bench.py "${QUICK[@]}" --out build/bench/numpy.json || failed+=(numpy) ;;
    *) say "unknown part $part"; exit 2 ;;
  esac
done
say "load after: $(uptime)"

"$PY" bench/report.py --out bench/results.json --md build/bench/results.md --failed "${failed[@]}"
if ((${#failed[@]})); then
  say "FAILED parts: ${failed[*]}"
  exit 1
fi
