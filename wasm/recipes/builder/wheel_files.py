"""Turn the backend's wheel into kite's artifacts: the served wheel (kite's platform tag, excluded
and test files left out, RECORD rewritten), a tests archive, and the list of symbols its extension
modules (all checked to be side modules) need from kite's main module."""
from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import pathlib
import tarfile
import zipfile

from . import side_modules
from .recipe import Abi, Recipe

# Fixed timestamps make the artifacts' bytes depend only on their contents.
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_TAR_MTIME = 1577836800


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def _matches(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def _retag(wheel_text: str, tags: list[str]) -> str:
    lines = [line for line in wheel_text.splitlines() if not line.startswith("Tag:")]
    return "\n".join(lines + [f"Tag: {tag}" for tag in tags]) + "\n"


def repack(raw_wheel: pathlib.Path, recipe: Recipe, abi: Abi, out_dir: pathlib.Path) -> dict:
    """Write the served wheel and the tests archive into out_dir; return what went where."""
    with zipfile.ZipFile(raw_wheel) as archive:
        files = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    # name-version-python-abi-platform.whl: keep the python and abi tags the backend chose
    stem = raw_wheel.name.removesuffix(".whl").split("-")
    distribution, version, python_tags, abi_tag = stem[0], stem[1], stem[-3], stem[-2]
    tags = [f"{py}-{abi_tag}-{abi.platform_tag}" for py in python_tags.split(".")]
    dist_info = f"{distribution}-{version}.dist-info"
    wheel_name = f"{distribution}-{version}-{python_tags}-{abi_tag}-{abi.platform_tag}.whl"

    served, tests, dropped = {}, {}, []
    for path, data in sorted(files.items()):
        if path.endswith(".so"):
            side_modules.check(path, data)
        if path in (f"{dist_info}/RECORD", f"{dist_info}/WHEEL"):
            continue
        if path.startswith(dist_info + "/"):
            served[path] = data
        elif _matches(path, recipe.tests):
            tests[path] = data
        elif _matches(path, recipe.exclude):
            dropped.append(path)
        else:
            served[path] = data
    if not any(p.endswith(".so") for p in files):
        raise side_modules.NotASideModule(f"{recipe.label}: the wheel has no extension module; "
                                          "PyPI's own pure-Python wheel needs no recipe")
    served[f"{dist_info}/WHEEL"] = _retag(files[f"{dist_info}/WHEEL"].decode(), tags).encode()
    record = "".join(f"{p},{_record_hash(d)},{len(d)}\n" for p, d in served.items())
    served[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()

    out_dir.mkdir(parents=True, exist_ok=True)
    wheel_path = out_dir / wheel_name
    with zipfile.ZipFile(wheel_path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path, data in served.items():  # RECORD last, as the wheel spec recommends
            info = zipfile.ZipInfo(path, _ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    tests_path = None
    if tests:
        tests_path = out_dir / f"{recipe.name}-tests-{recipe.version}.tar.gz"
        with tarfile.open(tests_path, "w:gz", compresslevel=9) as archive:
            for path, data in tests.items():
                info = tarfile.TarInfo(path)
                info.size, info.mtime, info.mode = len(data), _TAR_MTIME, 0o644
                archive.addfile(info, io.BytesIO(data))
    # tests included: their helper modules load into the same main module
    imports_path = out_dir / f"{recipe.name}-{recipe.version}-main-module-imports.txt"
    imports = side_modules.main_module_imports({p: d for p, d in files.items() if p.endswith(".so")})
    imports_path.write_text("".join(f"{symbol}\n" for symbol in imports))
    return {"wheel": wheel_path, "tests": tests_path, "imports": imports, "served": served,
            "tests_files": sorted(tests), "dropped": dropped}
