"""kite's cross toolchain for a wheel build: the wasm CPython prefix, Emscripten, a cached build venv
(host Python 3.11 with a recipe's pinned build requirements from PyPI) and the environment that
makes that host Python report the wasm CPython's sysconfig (headers, EXT_SUFFIX)."""
from __future__ import annotations

import functools
import hashlib
import os
import pathlib
import pprint
import shutil
import subprocess
import sys

from .progress import run, say
from .recipe import Abi

REPO = pathlib.Path(__file__).resolve().parents[3]
SYSCONFIG_NAME = "_sysconfigdata__emscripten_wasm32-emscripten"
# Values in the prefix's sysconfigdata that name the install location CPython was configured
# for (/usr/local); the build needs them to point at the prefix's headers instead.
_PREFIX_VARS = ("INCLUDEPY", "CONFINCLUDEPY", "LIBDIR", "LIBPL", "LIBDEST", "BINLIBDEST",
                "prefix", "exec_prefix")


def cache_root() -> pathlib.Path:
    return pathlib.Path(os.environ.get("KITE_CACHE") or pathlib.Path.home() / ".cache" / "kite")


@functools.cache
def cpython_prefix() -> pathlib.Path:
    """The wasm CPython prefix wasm/cpython/build.sh makes (KITE_CPYTHON_PREFIX overrides)."""
    if os.environ.get("KITE_CPYTHON_PREFIX"):
        return pathlib.Path(os.environ["KITE_CPYTHON_PREFIX"])
    out = subprocess.run(["bash", str(REPO / "wasm/cpython/build.sh"), "--print-prefix"],
                         capture_output=True, text=True, check=True)
    return pathlib.Path(out.stdout.strip())


@functools.cache
def emcc_version(cc: str) -> str:
    out = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True,
                         env=base_env())
    return out.stdout.splitlines()[0]


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("NODE_PATH", "/usr/share/nodejs")  # Debian's emcc needs acorn from here
    return env


def build_venv(requires: list[str], abi: Abi, log: pathlib.Path) -> pathlib.Path:
    """A venv with exactly these requirements, shared by every recipe that pins the same ones."""
    host = sys.version_info
    if f"{host.major}.{host.minor}" != abi.python_version:
        raise SystemExit(f"the builder needs Python {abi.python_version} (the wasm CPython's "
                         f"version) to run, not {host.major}.{host.minor}")
    key = hashlib.sha256("\n".join([sys.version, *sorted(requires)]).encode()).hexdigest()[:12]
    venv = cache_root() / f"wasm-build-venv-{key}"
    if (venv / ".kite-stamp").exists():
        return venv
    say(f"creating the build venv {venv.name} ({', '.join(requires)})")
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(venv)], log, label="build venv")
    run([str(venv / "bin/python"), "-m", "pip", "install", "--no-input", "--only-binary", ":all:",
         *requires], log, label="build venv")
    (venv / ".kite-stamp").write_text("\n".join(requires) + "\n")
    return venv


def write_sysconfig(prefix: pathlib.Path, directory: pathlib.Path) -> None:
    """A copy of the prefix's sysconfigdata with the install paths rewritten to the prefix."""
    source = prefix / f"lib/python{_version(prefix)}" / f"{SYSCONFIG_NAME}.py"
    namespace: dict = {}
    exec(source.read_text(), namespace)
    config = namespace["build_time_vars"]
    for name in _PREFIX_VARS:
        if isinstance(config.get(name), str):
            config[name] = config[name].replace("/usr/local", str(prefix), 1)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{SYSCONFIG_NAME}.py").write_text(
        f"# {source}, paths rewritten by wasm/recipes/builder/toolchain.py\n"
        f"build_time_vars = {pprint.pformat(config)}\n")


def _version(prefix: pathlib.Path) -> str:
    (lib,) = [p.name for p in (prefix / "lib").glob("python3.*") if p.is_dir()]
    return lib.removeprefix("python")


def cross_env(venv: pathlib.Path, sysconfig_dir: pathlib.Path, abi: Abi) -> dict[str, str]:
    """The environment of the PEP 517 build: the venv first on PATH, the wasm sysconfig."""
    env = base_env()
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    env["VIRTUAL_ENV"] = str(venv)
    env["_PYTHON_SYSCONFIGDATA_NAME"] = SYSCONFIG_NAME
    env["_PYTHON_HOST_PLATFORM"] = "emscripten_3_1_6_wasm32"  # the intermediate tag; retagged later
    env["PYTHONPATH"] = str(sysconfig_dir)
    env["CC"], env["CXX"], env["AR"] = abi.cc, abi.cxx, abi.ar
    for name in ("CFLAGS", "CXXFLAGS", "LDFLAGS", "CPPFLAGS", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(name, None)
    return env
