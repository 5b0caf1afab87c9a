"""A recipe's source: its sdist from PyPI (simple JSON API, sha256 pinned), cached under
$KITE_CACHE/downloads, unpacked and patched."""
from __future__ import annotations

import hashlib
import json
import pathlib
import re
import shutil
import subprocess
import tarfile
import urllib.request
import zipfile

from .recipe import Recipe, RecipeError

INDEX = "https://pypi.org/simple"


def _sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _normalized(name: str) -> str:
    """Project names as sdist file names spell them vary (MarkupSafe, markupsafe, zope.interface)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _find_sdist_url(recipe: Recipe) -> tuple[str, str]:
    request = urllib.request.Request(f"{INDEX}/{recipe.name}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        files = json.load(response)["files"]
    for file in files:
        if file.get("hashes", {}).get("sha256") == recipe.sdist_sha256:
            return file["filename"], file["url"]
    raise RecipeError(f"{recipe.label}: no file with sha256 {recipe.sdist_sha256} on {INDEX}/{recipe.name}/")


def fetch(recipe: Recipe, downloads: pathlib.Path) -> pathlib.Path:
    """The sdist, downloaded once and checked against the recipe's sha256 every time."""
    downloads.mkdir(parents=True, exist_ok=True)
    for cached in downloads.iterdir():
        project, version_found, _ = cached.name.partition(f"-{recipe.version}.")
        if (version_found and _normalized(project) == _normalized(recipe.name)
                and cached.suffix != ".part" and _sha256(cached) == recipe.sdist_sha256):
            return cached
    filename, url = _find_sdist_url(recipe)
    target = downloads / filename
    partial = target.with_name(filename + ".part")
    with urllib.request.urlopen(url, timeout=600) as response, open(partial, "wb") as out:
        shutil.copyfileobj(response, out)
    if _sha256(partial) != recipe.sdist_sha256:
        partial.unlink()
        raise RecipeError(f"{recipe.label}: {url} does not match the pinned sha256")
    partial.rename(target)
    return target


def unpack(sdist: pathlib.Path, destination: pathlib.Path, patches: list[pathlib.Path],
           log: pathlib.Path) -> pathlib.Path:
    """The source tree (the sdist's single top directory) with the recipe's patches applied."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    if sdist.name.endswith(".zip"):
        with zipfile.ZipFile(sdist) as archive:
            archive.extractall(destination)
    else:
        with tarfile.open(sdist) as archive:
            archive.extractall(destination, filter="data")
    (tree,) = destination.iterdir()
    with open(log, "a") as out:
        for patch in patches:
            out.write(f"$ patch -p1 < {patch}\n")
            out.flush()
            subprocess.run(["patch", "-p1", "--forward", "-i", str(patch)], cwd=tree,
                           stdout=out, stderr=subprocess.STDOUT, check=True)
    return tree
