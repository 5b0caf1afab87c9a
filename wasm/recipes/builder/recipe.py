"""A package recipe (wasm/recipes/<name>/recipe.toml) and kite's wasm ABI (wasm/recipes/abi.toml),
read and checked, plus the cache key of a build."""
from __future__ import annotations

import ast
import dataclasses
import hashlib
import pathlib
import tomllib

RECIPES = pathlib.Path(__file__).resolve().parent.parent
BUILDER = pathlib.Path(__file__).resolve().parent
BACKENDS = ("meson-python", "setuptools")
# The installer's file: the one place that names kite's wheel platform tag.
ENVIRONMENT_PY = RECIPES.parents[1] / "kernel/python/kite/packages/environment.py"


class RecipeError(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Abi:
    platform_tag: str
    python_version: str
    cc: str
    cxx: str
    ar: str
    cflags: list[str]
    ldflags: list[str]


@dataclasses.dataclass(frozen=True)
class Recipe:
    directory: pathlib.Path
    name: str
    version: str
    sdist_sha256: str
    backend: str
    requires: list[str]
    setup_args: list[str]          # meson-python: meson setup options
    cross_properties: dict         # meson-python: [properties] of the cross file
    cflags: list[str]              # added after abi.toml's
    ldflags: list[str]
    env: dict[str, str]            # extra build environment
    exclude: list[str]             # fnmatch patterns dropped from the wheel
    tests: list[str]               # fnmatch patterns moved to the tests archive

    @property
    def patches(self) -> list[pathlib.Path]:
        return sorted((self.directory / "patches").glob("*.patch"))

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


def platform_tag() -> str:
    """KITE_WASM_PLATFORM = "..." in the installer's environment.py."""
    for node in ast.parse(ENVIRONMENT_PY.read_text()).body:
        targets = [getattr(t, "id", None) for t in getattr(node, "targets", [])]
        if isinstance(node, ast.Assign) and targets == ["KITE_WASM_PLATFORM"]:
            return ast.literal_eval(node.value)
    raise RecipeError(f"no KITE_WASM_PLATFORM in {ENVIRONMENT_PY}")


def load_abi() -> Abi:
    data = tomllib.loads((RECIPES / "abi.toml").read_text())
    tools = data["toolchain"]
    return Abi(platform_tag(), data["python_version"],
               tools["cc"], tools["cxx"], tools["ar"], list(tools["cflags"]), list(tools["ldflags"]))


def load(name: str) -> Recipe:
    path = RECIPES / name / "recipe.toml"
    if not path.is_file():
        raise RecipeError(f"no recipe {path} (recipes: {', '.join(available()) or 'none'})")
    data = tomllib.loads(path.read_text())
    unknown = set(data) - {"package", "build", "wheel"}
    if unknown:
        raise RecipeError(f"{path}: unknown tables {sorted(unknown)}")
    package, build, wheel = data.get("package", {}), data.get("build", {}), data.get("wheel", {})
    for key in ("name", "version", "sdist_sha256"):
        if key not in package:
            raise RecipeError(f"{path}: [package] needs {key}")
    if build.get("backend") not in BACKENDS:
        raise RecipeError(f"{path}: [build] backend must be one of {BACKENDS}")
    return Recipe(
        directory=path.parent, name=package["name"], version=package["version"],
        sdist_sha256=package["sdist_sha256"].lower(), backend=build["backend"],
        requires=list(build.get("requires", [])), setup_args=list(build.get("setup_args", [])),
        cross_properties=dict(build.get("cross_properties", {})),
        cflags=list(build.get("cflags", [])), ldflags=list(build.get("ldflags", [])),
        env={k: str(v) for k, v in build.get("env", {}).items()},
        exclude=list(wheel.get("exclude", [])), tests=list(wheel.get("tests", [])))


def available() -> list[str]:
    return sorted(p.parent.name for p in RECIPES.glob("*/recipe.toml"))


def cache_key(recipe: Recipe, abi: Abi, cpython_prefix: pathlib.Path, emcc_version: str) -> str:
    """What a wheel depends on: the recipe and its patches, the builder, the ABI (flags and tag),
    the CPython prefix (its directory name carries wasm/cpython/build.sh's hash) and the compiler."""
    digest = hashlib.sha256()
    files = [recipe.directory / "recipe.toml", *recipe.patches, RECIPES / "abi.toml",
             RECIPES / "build_wheel.py", *sorted(BUILDER.glob("*.py"))]
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    digest.update("\0".join([abi.platform_tag, cpython_prefix.name, emcc_version]).encode())
    return digest.hexdigest()[:12]
