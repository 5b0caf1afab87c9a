"""How each build backend is told to cross-compile for kite: meson-python gets a meson cross file
and setup args, setuptools gets compiler variables. Both are then driven through PEP 517."""
from __future__ import annotations

import pathlib
import shlex

from .recipe import Abi, Recipe

# Runs in the build venv with the source tree as cwd: the sdist's own PEP 517 backend, in process.
PEP517_BUILD = """\
import importlib, json, os, sys, tomllib
out, settings = sys.argv[1], json.loads(sys.argv[2])
with open("pyproject.toml", "rb") as f:
    system = tomllib.load(f).get("build-system", {})
sys.path[:0] = [os.path.abspath(p) for p in system.get("backend-path", [])]
module, _, attr = system.get("build-backend", "setuptools.build_meta:__legacy__").partition(":")
backend = importlib.import_module(module)
for part in filter(None, attr.split(".")):
    backend = getattr(backend, part)
print("kite-wheels built:", backend.build_wheel(out, settings))
"""


def _meson_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_meson_value(v) for v in value) + "]"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def meson_cross_file(recipe: Recipe, abi: Abi, venv: pathlib.Path) -> str:
    cflags, ldflags = abi.cflags + recipe.cflags, abi.ldflags + recipe.ldflags
    properties = "".join(f"{k} = {_meson_value(v)}\n" for k, v in recipe.cross_properties.items())
    return f"""\
[binaries]
c = {_meson_value(abi.cc)}
cpp = {_meson_value(abi.cxx)}
ar = {_meson_value(abi.ar)}
strip = 'true'
python = {_meson_value(str(venv / 'bin/python'))}
cython = {_meson_value(str(venv / 'bin/cython'))}

[host_machine]
system = 'emscripten'
cpu_family = 'wasm32'
cpu = 'wasm32'
endian = 'little'

[properties]
{properties}
[built-in options]
c_args = {_meson_value(cflags)}
cpp_args = {_meson_value(cflags)}
c_link_args = {_meson_value(ldflags)}
cpp_link_args = {_meson_value(ldflags)}
"""


def prepare(recipe: Recipe, abi: Abi, venv: pathlib.Path, work: pathlib.Path, jobs: int,
            env: dict[str, str]) -> tuple[dict, dict[str, str]]:
    """The PEP 517 config settings and the environment for this recipe's backend."""
    env = {**env, **recipe.env}
    cflags = " ".join(shlex.quote(f) for f in abi.cflags + recipe.cflags)
    ldflags = " ".join(shlex.quote(f) for f in abi.ldflags + recipe.ldflags)
    if recipe.backend == "meson-python":
        cross = work / "kite-cross.ini"
        cross.write_text(meson_cross_file(recipe, abi, venv))
        settings = {"builddir": str(work / "build"),
                    "setup-args": [f"--cross-file={cross}", *recipe.setup_args],
                    "compile-args": [f"-j{jobs}"]}
        return settings, env
    # setuptools: distutils takes the compiler from sysconfig unless these say otherwise; it
    # appends LDFLAGS to LDSHARED
    env.update(CFLAGS=cflags, CXXFLAGS=cflags, LDFLAGS=ldflags, LDSHARED=abi.cc, LDCXXSHARED=abi.cxx)
    return {}, env


MILESTONES = {
    # meson-python echoes its commands ("+ .../meson.py setup ...", "+ .../ninja -j2")
    "meson-python": {r"^\+ .*meson(\.py)? setup ": "configuring (meson setup)",
                     r"^\+ \S*ninja |^\+ .*meson(\.py)? compile": "compiling (ninja)"},
    "setuptools": {r"^running build_ext": "compiling (setuptools build_ext)",
                   r"^creating .*\.whl|^adding '": "packing the wheel"},
}
