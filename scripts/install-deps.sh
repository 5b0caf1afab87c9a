#!/usr/bin/env bash
# Installs everything kite needs on a fresh Debian bookworm machine: system packages (apt),
# the Python tools (.venv, pip) and the npm packages of each JS part. Idempotent and quiet when
# everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[kite-deps] %s\n' "$*"; }

APT_PACKAGES=(emscripten chromium nlohmann-json3-dev python3.11-dev python3.11-venv xeus-dev
              libzmq3-dev cppzmq-dev cmake ninja-build g++ make xz-utils patch pkg-config zip unzip
              dpkg-dev)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python tools live in .venv so the machine's Python stays untouched.
stamp=.venv/.kite-requirements
if [ ! -f "$stamp" ] || ! cmp -s requirements-dev.txt "$stamp"; then
  say "pip: installing requirements-dev.txt into .venv"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-dev.txt
  cp requirements-dev.txt "$stamp"
fi

# npm packages of each JS part (lockfiles pin them).
for dir in wasm/node wasm/jupyterlite bench; do
  [ -f "$dir/package.json" ] || continue
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package.json" -nt "$dir/node_modules/.kite-stamp" ]; then
    say "npm: installing $dir"
    (cd "$dir" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi)
    touch "$dir/node_modules/.kite-stamp"
  fi
done
say "dependencies ready"
