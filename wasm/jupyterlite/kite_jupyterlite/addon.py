"""`jupyter lite build` add-on: Python packages bundled into a site for kite's `%pip install`.

A site author lists packages in the site's jupyter_lite_config.json:

    {"KiteAddon": {
        "requirements": ["attrs", "six==1.16.0"],   # resolved with their dependencies
        "wheels": ["wheels/mine-1.0-py3-none-any.whl", "https://.../x-1.0-py3-none-any.whl"],
        "index_urls": ["https://pypi.org"],         # where requirements are resolved (build time)
        "allow_pypi": true}}                        # may %pip fall back to PyPI in the browser?

`PipliteAddon.piplite_urls` (the Pyodide kernel's setting: wheels, or folders of wheels) is
read too, as more `wheels`. At build time the requirements are resolved for kite's wasm
environment (pure-Python wheels, Python 3.11, sys_platform emscripten) by kite's own resolver
(kite_jupyterlite/kite_packages, a copy of kernel/python/kite/packages made by build.sh), the
wheels are downloaded (sha256 checked), cached in the lite build cache, and written with a
piplite-format index into `<site>/kite-packages/` (`all.json`). The site's jupyter-lite.json then
names that index in `litePluginSettings["kite-jupyterlite:kernel"]`: `indexUrls` (asked first by
`%pip install`) and `allowPyPI`. Nothing is installed at kernel start: `%pip install NAME` takes
a bundled package from the site, offline.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import re
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import doit.tools
from jupyterlite_core.addons.base import BaseAddon
from jupyterlite_core.constants import JSON_FMT, JUPYTER_CONFIG_DATA, JUPYTERLITE_JSON, UTF8
from traitlets import Bool, List, Unicode

PLUGIN_ID = "kite-jupyterlite:kernel"
OUTPUT_DIR = "kite-packages"
INDEX = "all.json"


class KiteAddon(BaseAddon):
    """Bundles pure-Python wheels for kite's `%pip install` into the site."""

    __all__ = ["post_build"]

    requirements = List(Unicode(), help="PEP 508 requirements resolved (with their "
                        "dependencies) for kite's wasm environment and bundled").tag(config=True)
    wheels = List(Unicode(), help="Wheel files or folders of wheels (paths relative to the lite "
                  "dir, or URLs) bundled as they are").tag(config=True)
    index_urls = List(Unicode(), default_value=["https://pypi.org"], help="Indexes the "
                      "requirements are resolved from at build time (PyPI JSON API bases, PEP 691 "
                      "'.../simple' or piplite 'all.json' URLs)").tag(config=True)
    allow_pypi = Bool(True, help="Whether %pip install in the site may fall back to PyPI for "
                      "what the site does not bundle (false: an offline site)").tag(config=True)

    @property
    def output_packages(self) -> Path:
        return self.manager.output_dir / OUTPUT_DIR

    @property
    def cache(self) -> Path:
        return self.manager.cache_dir / "kite-wheels"

    def _piplite_urls(self) -> list[str]:
        piplite = self.config.get("PipliteAddon", {})
        return list(piplite.get("piplite_urls", []) or [])

    def _settings(self) -> dict:
        return {
            "requirements": list(self.requirements),
            "wheels": [*self.wheels, *self._piplite_urls()],
            "index_urls": list(self.index_urls),
            "allow_pypi": bool(self.allow_pypi),
        }

    def _wanted(self) -> bool:
        s = self._settings()
        return bool(s["requirements"] or s["wheels"] or not s["allow_pypi"])

    def post_build(self, manager):
        if not self._wanted():
            return
        jupyterlite_json = manager.output_dir / JUPYTERLITE_JSON
        index = self.output_packages / INDEX
        yield self.task(
            name="packages",
            doc="resolve, download and index the packages bundled for kite's %pip install",
            uptodate=[doit.tools.config_changed(self._settings())],
            actions=[(self.bundle, [index])],
            targets=[index],
        )
        yield self.task(
            name="patch",
            doc=f"name the bundled index in {JUPYTERLITE_JSON} for the kite kernel",
            file_dep=[index, jupyterlite_json],
            actions=[(self.patch_jupyterlite_json, [jupyterlite_json, index])],
        )

    # ---- the bundle -------------------------------------------------------------------------

    def bundle(self, index: Path) -> None:
        settings = self._settings()
        self.output_packages.mkdir(parents=True, exist_ok=True)
        entries = {}  # filename -> (name, version, sha256, requires_python, import names)
        if settings["requirements"]:
            for name, version, filename, data, requires_python in self._resolve(settings):
                self._write(filename, data)
                entries[filename] = (name, version, hashlib.sha256(data).hexdigest(), requires_python,
                                     _import_names(data))
        for source in settings["wheels"]:
            for wheel in self._local_wheels(source):
                data = wheel.read_bytes()
                name, version, requires_python = _wheel_metadata(data, wheel.name)
                self._write(wheel.name, data)
                entries[wheel.name] = (name, version, hashlib.sha256(data).hexdigest(), requires_python,
                                       _import_names(data))
        index.write_text(json.dumps(_piplite_index(entries), **JSON_FMT), **UTF8)
        listing = ", ".join(sorted(entries)) or "none"
        self.log.info(f"[kite] bundled {len(entries)} wheel(s) into {OUTPUT_DIR}/: {listing}")

    def _resolve(self, settings):
        """(name, version, filename, bytes, requires_python) of every wheel the requirements
        need in kite's wasm environment, from the build cache when already downloaded."""
        from .kite_packages import download, resolve

        dists = resolve(settings["requirements"], index_urls=settings["index_urls"])
        for dist in dists:
            cached = self.cache / dist.filename
            if cached.exists() and hashlib.sha256(cached.read_bytes()).hexdigest() == dist.sha256:
                data = cached.read_bytes()
            else:
                data = download(dist)  # sha256 checked against the index
                self.cache.mkdir(parents=True, exist_ok=True)
                cached.write_bytes(data)
            yield dist.name, str(dist.version), dist.filename, data, dist.file.requires_python

    def _local_wheels(self, source: str) -> list[Path]:
        """The wheels a `wheels` entry names: a file, a folder of wheels, or a URL (cached)."""
        if re.match(r"^https?://", source):
            name = Path(urllib.parse.urlparse(source).path).name
            cached = self.cache / name
            if not cached.exists():
                self.cache.mkdir(parents=True, exist_ok=True)
                with urllib.request.urlopen(source) as response:  # noqa: S310 (the author's URL)
                    cached.write_bytes(response.read())
            return [cached]
        path = (self.manager.lite_dir / source).resolve()
        if path.is_dir():
            return sorted(path.glob("*.whl"))
        if path.suffix == ".whl" and path.exists():
            return [path]
        raise FileNotFoundError(f"KiteAddon.wheels: no wheel at {source} ({path})")

    def _write(self, filename: str, data: bytes) -> None:
        dest = self.output_packages / filename
        if not dest.exists() or dest.read_bytes() != data:
            dest.write_bytes(data)
        self.maybe_timestamp(dest)

    # ---- jupyter-lite.json ------------------------------------------------------------------

    def patch_jupyterlite_json(self, config_path: Path, index: Path) -> None:
        """litePluginSettings["kite-jupyterlite:kernel"]: the bundled index first in indexUrls
        (with its sha256, so browsers never use a stale copy), and allowPyPI."""
        config = json.loads(config_path.read_text(**UTF8))
        data = config.setdefault(JUPYTER_CONFIG_DATA, {})
        plugin = data.setdefault("litePluginSettings", {}).setdefault(PLUGIN_ID, {})
        url = f"./{OUTPUT_DIR}/{INDEX}"
        digest = hashlib.sha256(index.read_bytes()).hexdigest()
        others = [u for u in plugin.get("indexUrls", []) if u.split("?")[0] != url]
        plugin["indexUrls"] = [f"{url}?sha256={digest}", *others]
        plugin["allowPyPI"] = bool(self.allow_pypi)
        config_path.write_text(json.dumps(config, **JSON_FMT), **UTF8)
        self.maybe_timestamp(config_path)


def _wheel_metadata(data: bytes, filename: str) -> tuple[str, str, str | None]:
    """(name, version, Requires-Python) from a wheel's METADATA."""
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if not names:
            raise ValueError(f"{filename}: not a wheel (no .dist-info/METADATA)")
        meta = email.parser.Parser().parsestr(zf.read(names[0]).decode("utf-8"))
    return meta["Name"], meta["Version"], meta.get("Requires-Python")


def _import_names(data: bytes) -> list[str]:
    """The top-level names a wheel makes importable (its top-level packages and modules): a plain
    `import numpy` in kite installs the bundled project that provides `numpy`."""
    import io

    names = set()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for member in zf.namelist():
            parts = member.split("/")
            if parts[0].endswith(".data") and len(parts) > 2 and parts[1] in ("purelib", "platlib"):
                parts = parts[2:]
            elif parts[0].endswith((".data", ".dist-info")):
                continue
            name = parts[0] if len(parts) > 1 else parts[0].split(".", 1)[0]
            if name.isidentifier() and (len(parts) > 1 or parts[0].endswith((".py", ".so"))):
                names.add(name)
    return sorted(names)


def _piplite_index(entries: dict) -> dict:
    """piplite's all.json: {name: {releases: {version: [{filename, url, digests, ...}]}}}, plus
    kite_imports (the wheel's top-level import names; piplite ignores it)."""
    out: dict = {}
    for filename, (name, version, sha256, requires_python, imports) in sorted(entries.items()):
        key = re.sub(r"[-_.]+", "-", name).lower()
        releases = out.setdefault(key, {"releases": {}})["releases"]
        releases.setdefault(version, []).append({
            "filename": filename,
            "url": f"./{filename}",
            "digests": {"sha256": sha256},
            "requires_python": requires_python,
            "packagetype": "bdist_wheel",
            "kite_imports": imports,
        })
    return out
