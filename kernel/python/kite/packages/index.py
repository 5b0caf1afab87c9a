"""Package index clients. Each answers `files(name)`: the project's distribution files as
`DistFile`s, or None when the index does not know it. Formats (what JupyterLite users have):
- PyPI's JSON API, `<base>/pypi/<name>/json` (served with CORS by pypi.org);
- PEP 691 simple JSON, `<base>/simple/<name>/` with Accept: application/vnd.pypi.simple.v1+json;
- piplite's `all.json`, `{name: {releases: {version: [{filename, url, digests: {sha256},
  requires_python, packagetype}]}}}` (the Pyodide kernel's `pipliteUrls`).
`make_index(url)` picks the client from the URL's shape."""

import json
import urllib.parse

from . import fetch
from ._packaging import (InvalidVersion, InvalidWheelFilename, Version, canonicalize_name,
                         parse_wheel_filename)
from .errors import IndexUnreachable

from .settings import DEFAULT_INDEX  # noqa: F401  (re-exported)

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


class DistFile:
    """One file of a release. For wheels: `tags` (frozenset of packaging Tags); `metadata_url`
    when the index serves its METADATA alone (PEP 658)."""

    def __init__(self, name, filename, url, sha256=None, requires_python=None, yanked=False,
                 metadata_url=None, metadata_sha256=None, index=None):
        self.filename = filename
        self.url = url
        self.sha256 = sha256
        self.requires_python = requires_python or None
        self.yanked = bool(yanked)
        self.metadata_url = metadata_url
        self.metadata_sha256 = metadata_sha256
        self.index = index
        self.is_wheel = filename.endswith(".whl")
        self.tags = frozenset()
        self.version = None
        self.name = canonicalize_name(name)
        try:
            if self.is_wheel:
                _, self.version, _, self.tags = parse_wheel_filename(filename)
            else:
                self.version = _sdist_version(filename)
        except (InvalidWheelFilename, InvalidVersion, ValueError):
            self.version = None

    def __repr__(self):
        return "<DistFile %s>" % self.filename


def _sdist_version(filename):
    for ext in (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar"):
        if filename.endswith(ext):
            return Version(filename[: -len(ext)].rsplit("-", 1)[1])
    return None


def _get_json(url, accept=None):
    """The JSON document at url, or None on 404/410. Other HTTP errors are IndexUnreachable."""
    response = fetch.get(url, {"Accept": accept} if accept else None)
    if response.status in (404, 410):
        return None
    if not response.ok:
        raise IndexUnreachable("%s answered HTTP %d" % (url, response.status))
    try:
        return json.loads(response.body)
    except ValueError:
        raise IndexUnreachable("%s did not answer JSON" % url) from None


class PyPIJsonIndex:
    """`<base>/pypi/<name>/json`."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.url = self.base

    def files(self, name):
        url = "%s/pypi/%s/json" % (self.base, canonicalize_name(name))
        doc = _get_json(url)
        if doc is None:
            return None
        out = []
        for version, entries in (doc.get("releases") or {}).items():
            for e in entries or ():
                out.append(DistFile(name, e["filename"], urllib.parse.urljoin(url, e["url"]),
                                    (e.get("digests") or {}).get("sha256"), e.get("requires_python"),
                                    e.get("yanked", False), index=self.url))
        if not out and doc.get("urls"):  # an index that only lists the latest release
            for e in doc["urls"]:
                out.append(DistFile(name, e["filename"], urllib.parse.urljoin(url, e["url"]),
                                    (e.get("digests") or {}).get("sha256"), e.get("requires_python"),
                                    e.get("yanked", False), index=self.url))
        return out


class SimpleJsonIndex:
    """PEP 691: `<base>/<name>/` (base ends in /simple)."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.url = self.base

    def files(self, name):
        url = "%s/%s/" % (self.base, canonicalize_name(name))
        doc = _get_json(url, SIMPLE_JSON)
        if doc is None:
            return None
        out = []
        for e in doc.get("files") or ():
            file_url = urllib.parse.urljoin(url, e["url"])
            meta = e.get("core-metadata", e.get("dist-info-metadata"))
            out.append(DistFile(name, e["filename"], file_url, (e.get("hashes") or {}).get("sha256"),
                                e.get("requires-python"), bool(e.get("yanked")),
                                file_url + ".metadata" if meta else None,
                                meta.get("sha256") if isinstance(meta, dict) else None,
                                index=self.url))
        return out


class PipliteIndex:
    """piplite's all.json (one document for every project; fetched once)."""

    def __init__(self, url):
        self.url = url
        self._projects = None

    def _load(self):
        if self._projects is None:
            doc = _get_json(self.url)
            if doc is None:
                raise IndexUnreachable("%s answered HTTP 404" % self.url)
            self._projects = {canonicalize_name(k): v for k, v in doc.items()}
        return self._projects

    def imports(self):
        """{import name: project} from the `kite_imports` kite's site add-on writes per file."""
        out = {}
        for key, project in self._load().items():
            for entries in (project.get("releases") or {}).values():
                for e in entries or ():
                    for name in e.get("kite_imports") or ():
                        out.setdefault(name, key)
        return out

    def files(self, name):
        project = self._load().get(canonicalize_name(name))
        if project is None:
            return None
        out = []
        for version, entries in (project.get("releases") or {}).items():
            for e in entries or ():
                out.append(DistFile(name, e["filename"], urllib.parse.urljoin(self.url, e["url"]),
                                    (e.get("digests") or {}).get("sha256"), e.get("requires_python"),
                                    e.get("yanked", False), index=self.url))
        return out


def make_index(url):
    """The client for an index URL: `.../all.json` (any .json) -> piplite, `.../simple` ->
    PEP 691, anything else -> PyPI's JSON API at that base."""
    path = urllib.parse.urlparse(url).path if "://" in url else url
    if path.endswith(".json"):
        return PipliteIndex(url)
    if path.rstrip("/").endswith("/simple"):
        return SimpleJsonIndex(url)
    return PyPIJsonIndex(url)


class IndexChain:
    """Several indexes, asked in order: the first that knows a project serves all of its files
    (as piplite does: a site's bundled index answers for what it has, offline)."""

    def __init__(self, urls):
        self.indexes = [make_index(u) if isinstance(u, str) else u for u in urls]
        self._cache = {}

    def files(self, name):
        key = canonicalize_name(name)
        if key in self._cache:
            return self._cache[key]
        failures = []
        result = None
        for index in self.indexes:
            try:
                result = index.files(key)
            except IndexUnreachable as e:
                failures.append(str(e))
                continue
            if result is not None:
                break
        if result is None and failures:
            raise IndexUnreachable("cannot look up %s: %s" % (name, "; ".join(failures)))
        self._cache[key] = result
        return result
