"""The pieces of wasm/recipes/build_wheel.py: recipes, sources, toolchain, backends, wheel files."""
