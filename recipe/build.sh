#!/usr/bin/env bash
# rattler-build's build script for recipe.yaml: kite's wasm kernel from its sources ($SRC_DIR),
# installed into $PREFIX as the files of an emscripten-forge prefix (no conda-meta: the package
# manager writes the records). The same steps as `make prefix`, without Debian's packages.
set -euo pipefail
cd "$SRC_DIR"
# wasm/cpython/build.sh takes the orig tarballs from $KITE_CACHE/downloads before asking apt
export KITE_CACHE="$SRC_DIR/.kite-cache"
mkdir -p "$KITE_CACHE/downloads"
cp downloads/* "$KITE_CACHE/downloads/"
export KITE_JOBS="${CPU_COUNT:-2}"
bash wasm/cpython/build.sh >/dev/null
emcmake cmake -S . -B build/wasm -G Ninja \
  -DKITE_CPYTHON_PREFIX="$(bash wasm/cpython/build.sh --print-prefix)" \
  -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_FIND_ROOT_PATH="$PREFIX"
cmake --build build/wasm -j "$KITE_JOBS"
python wasm/prefix/make_prefix.py build/wasm/dist "$PREFIX" --version "$PKG_VERSION" --build "$PKG_BUILD_STRING" --files-only
