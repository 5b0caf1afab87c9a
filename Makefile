# kite: `make` builds everything, `make test` builds and runs every test, `make demo` builds and
# serves the JupyterLite site. Expensive builds are cached under $(KITE_CACHE).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export KITE_CACHE ?= $(HOME)/.cache/kite
# Debian's emcc needs acorn, which Debian installs outside Node's default search path.
export NODE_PATH := /usr/share/nodejs
JOBS ?= 2
PY := $(CURDIR)/.venv/bin/python
PORT ?= 8000
export JUPYTER_PATH := $(CURDIR)/build/share/jupyter

.PHONY: all deps cpython wheels wasm native lite site prefix xeus-site test soak demo bench console clean
all: wasm wheels native site xeus-site

deps:
	@bash scripts/install-deps.sh

cpython: deps
	@bash wasm/cpython/build.sh >/dev/null

# wasm wheels of C-extension packages (numpy) from wasm/recipes/*/recipe.toml, cached by recipe hash
wheels: cpython
	@$(PY) wasm/recipes/build_wheel.py --all --out build/wheels

wasm: cpython
	@echo "[kite] building the wasm kernel (build/wasm)"
	@mkdir -p build
	@emcmake cmake -S . -B build/wasm -G Ninja -DKITE_CPYTHON_PREFIX="$$(bash wasm/cpython/build.sh --print-prefix)" \
	  -Dnlohmann_json_DIR=$(CURDIR)/wasm/cmake/nlohmann_json >build/wasm-configure.log 2>&1 \
	  || { cat build/wasm-configure.log; exit 1; }
	@cmake --build build/wasm -j $(JOBS)

native: deps
	@echo "[kite] building the native kernel and unit tests (build/native)"
	@mkdir -p build && cmake -S . -B build/native -G Ninja >build/native-configure.log 2>&1 || { cat build/native-configure.log; exit 1; }
	@cmake --build build/native -j $(JOBS)

lite: wasm
	@bash wasm/jupyterlite/build.sh build/wasm/dist

site: lite wheels
	@bash wasm/jupyterlite/build-site.sh

# kite as an emscripten-forge-style prefix (what recipe/recipe.yaml packages), and the site
# jupyterlite-xeus builds from it (`jupyter lite build --XeusAddon.prefix=...`, no network)
prefix: wasm
	@python3 wasm/prefix/make_prefix.py build/wasm/dist build/prefix/kite

xeus-site: lite prefix
	@bash wasm/prefix/build-site.sh build/prefix/kite build/xeus-site

test: all
	@$(PY) -m pytest tests

# The long reliability run (10x the rounds of `make test`): interrupt soak (tests/test_soak.py),
# message fuzzer (tests/test_fuzz.py), memory check (tests/test_memory.py). Override any knob on
# the command line.
KITE_SOAK_ROUNDS ?= 10000
KITE_FUZZ_MESSAGES ?= 20000
KITE_MEMORY_CELLS ?= 20000
soak: all
	@KITE_SOAK_ROUNDS=$(KITE_SOAK_ROUNDS) KITE_FUZZ_MESSAGES=$(KITE_FUZZ_MESSAGES) \
	  KITE_MEMORY_CELLS=$(KITE_MEMORY_CELLS) $(PY) -m pytest \
	  tests/test_soak.py tests/test_fuzz.py tests/test_memory.py -rA

demo: all
	@$(PY) wasm/serve.py build/site --port $(PORT)

bench: all
	@bash bench/run.sh

console: wasm
	@.venv/bin/jupyter console --kernel kite-node

clean:
	rm -rf build test-artifacts
