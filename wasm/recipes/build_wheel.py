#!/usr/bin/env python3
"""Build kite wasm wheels from PyPI sdists with kite's toolchain, one per recipe
(wasm/recipes/<name>/recipe.toml; wasm/recipes/README.md), cached by recipe hash.

    python3 wasm/recipes/build_wheel.py numpy --out build/wheels
    python3 wasm/recipes/build_wheel.py --all --out build/wheels

Artifacts go to $KITE_CACHE/wasm-wheels/<name>-<version>-<hash>/ (with logs/ and build-info.json)
and are copied to --out: <name>-<version>-cp311-cp311-<platform tag>.whl, when the recipe lists
test files <name>-tests-<version>.tar.gz, and <name>-<version>-main-module-imports.txt (the
symbols its side modules need kite.wasm to export).
"""
from __future__ import annotations

import argparse
import fcntl
import gzip
import json
import os
import pathlib
import shutil
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from builder import backends, recipe as recipes, side_modules, sources, toolchain, wheel_files  # noqa: E402
from builder.progress import CommandFailed, run, say  # noqa: E402


def _wait_lock(path: pathlib.Path, label: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = open(path, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        say(f"{label}: another build holds {path.name}; waiting")
        fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def _durations(milestones: dict[str, float]) -> dict[str, float]:
    """Seconds spent in each phase, from the offsets at which the backend's milestones appeared."""
    marks = sorted(milestones.items(), key=lambda item: item[1])
    return {name: round(end - start, 1) for (name, start), (_, end) in zip(marks, marks[1:])}


def _sizes(artifacts: dict) -> dict:
    shared = {p: d for p, d in artifacts["served"].items() if p.endswith(".so")}
    return {"wheel_bytes": artifacts["wheel"].stat().st_size,
            "wheel_gzip_bytes": len(gzip.compress(artifacts["wheel"].read_bytes(), 9)),
            "extension_modules": len(shared),
            "extension_modules_bytes": sum(len(d) for d in shared.values()),
            "extension_modules_gzip_bytes": sum(len(gzip.compress(d, 9)) for d in shared.values()),
            "tests_files": len(artifacts["tests_files"]),
            "tests_bytes": artifacts["tests"].stat().st_size if artifacts["tests"] else 0}


def build(name: str, jobs: int, keep_work: bool) -> pathlib.Path:
    """The cache directory holding this recipe's artifacts, built if missing."""
    abi = recipes.load_abi()
    recipe = recipes.load(name)
    prefix = toolchain.cpython_prefix()
    if not (prefix / ".kite-stamp").exists():
        raise SystemExit(f"no wasm CPython at {prefix}: run `make cpython` first")
    emcc = toolchain.emcc_version(abi.cc)
    key = recipes.cache_key(recipe, abi, prefix, emcc)
    cache = toolchain.cache_root()
    stem = f"{recipe.name}-{recipe.version}-{key}"
    dest = cache / "wasm-wheels" / stem
    if (dest / ".kite-stamp").exists():
        say(f"{recipe.label}: cached ({dest})")
        return dest
    lock = _wait_lock(cache / "wasm-wheels" / f".{stem}.lock", recipe.label)
    with lock:
        if (dest / ".kite-stamp").exists():
            return dest
        shutil.rmtree(dest, ignore_errors=True)
        logs = dest / "logs"
        logs.mkdir(parents=True)
        work = cache / "work-wasm-wheels" / stem
        work.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()

        say(f"{recipe.label}: fetching the sdist")
        sdist = sources.fetch(recipe, cache / "downloads")
        venv = toolchain.build_venv(recipe.requires, abi, logs / "venv.log")
        say(f"{recipe.label}: unpacking {sdist.name}"
            + (f" and applying {len(recipe.patches)} patch(es)" if recipe.patches else ""))
        tree = sources.unpack(sdist, work / "src", recipe.patches, logs / "build.log")
        toolchain.write_sysconfig(prefix, work / "sysconfig")
        settings, env = backends.prepare(recipe, abi, venv, work, jobs,
                                         toolchain.cross_env(venv, work / "sysconfig", abi))
        raw = work / "dist"
        shutil.rmtree(raw, ignore_errors=True)
        raw.mkdir()
        say(f"{recipe.label}: building with {recipe.backend} (log {logs / 'build.log'})")
        steps = run([str(venv / "bin/python"), "-c", backends.PEP517_BUILD, str(raw), json.dumps(settings)],
                    logs / "build.log", label=recipe.label, cwd=tree, env=env,
                    milestones=backends.MILESTONES[recipe.backend])
        (raw_wheel,) = raw.glob("*.whl")
        say(f"{recipe.label}: tagging {abi.platform_tag}, checking side modules, splitting tests")
        artifacts = wheel_files.repack(raw_wheel, recipe, abi, dest)
        info = {"recipe": recipe.name, "version": recipe.version, "key": key,
                "cpython_prefix": str(prefix), "emcc": emcc, "platform_tag": abi.platform_tag,
                "wheel": artifacts["wheel"].name,
                "tests": artifacts["tests"].name if artifacts["tests"] else None,
                "seconds": {"total": round(time.monotonic() - started, 1), **_durations(steps)},
                "dropped_files": len(artifacts["dropped"]),
                "main_module_imports": len(artifacts["imports"]), **_sizes(artifacts)}
        (dest / "build-info.json").write_text(json.dumps(info, indent=2) + "\n")
        (dest / ".kite-stamp").write_text(key + "\n")
        if not keep_work:
            shutil.rmtree(work)
        mb = 1 / 1e6
        say(f"{recipe.label}: {info['wheel']} {info['wheel_bytes'] * mb:.2f} MB, extension modules "
            f"{info['extension_modules_gzip_bytes'] * mb:.2f} MB gzip, "
            f"{info['seconds']['total']:.0f} s ("
            + ", ".join(f"{k} {v:.0f} s" for k, v in info["seconds"].items() if k != "total") + ")")
    return dest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="recipe names (directories of wasm/recipes)")
    parser.add_argument("--all", action="store_true", help="every recipe")
    parser.add_argument("--out", type=pathlib.Path, help="copy the artifacts here")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("KITE_JOBS", "2")))
    parser.add_argument("--keep-work", action="store_true", help="keep the source and build trees")
    args = parser.parse_args()
    names = recipes.available() if args.all else args.names
    if not names:
        parser.error("name a recipe or pass --all")
    try:
        for name in names:
            dest = build(name, args.jobs, args.keep_work)
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                for artifact in [*dest.glob("*.whl"), *dest.glob("*.tar.gz"), *dest.glob("*.txt")]:
                    shutil.copy2(artifact, args.out / artifact.name)
    except (recipes.RecipeError, CommandFailed, side_modules.NotASideModule) as error:
        say(f"FAILED: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
