"""The resolver: requirements -> the wheels to install, for a target Environment.

Breadth-first and without backtracking (as pip's pre-2020 resolver, but a conflict is an error,
never a silent break): for each project the best wheel that loads in the environment (tags), fits
Requires-Python and every version constraint seen so far; an installed distribution that
satisfies the constraints is kept (unless upgrading what was asked for). Dependencies come from
each wheel's METADATA (PEP 658 metadata file when the index offers one, else the wheel itself),
with markers evaluated for the target environment and the requested extras."""

import collections
import hashlib
import zipfile
import io

from . import dist_metadata, fetch
from ._packaging import (InvalidRequirement as _InvalidRequirement, Requirement, SpecifierSet,
                         canonicalize_name, specifiers)
from .environment import KITE_WASM_PLATFORM
from .errors import (HashMismatch, IndexUnreachable, InvalidRequirement, NoMatchingVersion,
                     NoPureWheel, PackageNotFound, RequiresPythonMismatch, VersionConflict)


class ResolvedDist:
    """One project of a resolution. `installed`: kept as already installed (no file); else
    `file` is the index's DistFile (filename, url, sha256, requires_python, index) and `data`
    the wheel's verified bytes if they were downloaded while resolving (None otherwise: call
    `download(dist)`). `requires`: the Requirement strings that pulled it in."""

    def __init__(self, name, version, file=None, installed=False):
        self.name = name
        self.version = version
        self.file = file
        self.installed = installed
        self.data = None
        self.extras = set()
        self.requires = []
        self.dependencies = []  # canonical names it depends on (markers applied)
        self.metadata = None  # dist_metadata.Metadata of its METADATA

    @property
    def filename(self):
        return self.file.filename if self.file else None

    @property
    def url(self):
        return self.file.url if self.file else None

    @property
    def sha256(self):
        return self.file.sha256 if self.file else None

    def __repr__(self):
        return "<ResolvedDist %s %s%s>" % (self.name, self.version, " (installed)" if self.installed else "")


def parse_requirement(text):
    if isinstance(text, Requirement):
        return text
    try:
        return Requirement(text)
    except _InvalidRequirement as e:
        raise InvalidRequirement("invalid requirement %r: %s" % (text, e)) from None


def _verify(data, expected, what, index):
    if not expected:
        return
    got = hashlib.sha256(data).hexdigest()
    if got != expected.lower():
        raise HashMismatch(
            "%s: its sha256 is %s but %s lists %s: the file is corrupt or was altered; nothing was "
            "installed" % (what, got, index or "the index", expected))


def download(file):
    """The verified bytes of a DistFile (IndexUnreachable, HashMismatch)."""
    response = fetch.get(file.url)
    if not response.ok:
        raise IndexUnreachable("cannot download %s from %s: HTTP %d" % (file.filename, file.url, response.status))
    _verify(response.body, file.sha256, file.filename, file.index)
    return response.body


def parse_metadata(text):
    return dist_metadata.Metadata(text)


def wheel_metadata(data, filename):
    """The METADATA of a wheel's bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = [n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if not names:
            raise NoPureWheel("%s has no .dist-info/METADATA: not a valid wheel" % filename)
        return parse_metadata(z.read(names[0]).decode("utf-8", "replace"))


def _fits_python(file, env):
    if not file.requires_python:
        return True
    try:
        return SpecifierSet(file.requires_python).contains(env.python_version, prereleases=True)
    except specifiers.InvalidSpecifier:
        return True


def _describe(spec):
    return str(spec) if str(spec) else "any version"


def select_file(name, files, spec, env, pre=False):
    """The best DistFile of `files` for the spec and environment, or the error saying why none
    fits: NoMatchingVersion, NoPureWheel, RequiresPythonMismatch."""
    files = [f for f in files if f.version is not None]
    if not files:
        raise NoMatchingVersion("%s has no releases on the index" % name)
    matching = [f for f in files if spec.contains(f.version, prereleases=pre or None)]
    if not matching:  # only pre-releases match: allowed, as pip does
        matching = [f for f in files if spec.contains(f.version, prereleases=True)]
    pinned = any(s.operator in ("==", "===") for s in spec)
    if not pinned and any(not f.yanked for f in matching):
        matching = [f for f in matching if not f.yanked]
    if not matching:
        versions = sorted({f.version for f in files}, reverse=True)
        shown = ", ".join(str(v) for v in versions[:8]) + (", ..." if len(versions) > 8 else "")
        raise NoMatchingVersion("no release of %s matches %s (available: %s)" % (name, _describe(spec), shown))
    loadable = [f for f in matching if f.is_wheel and env.tag_rank(f.tags) is not None]
    if not loadable:
        newest = max(f.version for f in matching)
        binary = [f for f in matching if f.is_wheel and f.version == newest] or [f for f in matching if f.is_wheel]
        binary.sort(key=lambda f: "cp311" not in f.filename)  # the example closest to kite first
        if binary:
            detail = "only binary wheels for other platforms (e.g. %s)" % binary[0].filename
        else:
            detail = "no wheel, only a source distribution (%s)" % matching[0].filename
        raise NoPureWheel(
            "%s %s has %s: kite installs pure-Python wheels and wheels built for kite (platform "
            "%s, made by a recipe in kite's wasm/recipes)" % (name, newest, detail, KITE_WASM_PLATFORM))
    fitting = [f for f in loadable if _fits_python(f, env)]
    if not fitting:
        newest = max(loadable, key=lambda f: f.version)
        raise RequiresPythonMismatch(
            "%s %s requires Python %s, but kite runs Python %s (no release of %s matching %s "
            "supports it)" % (name, newest.version, newest.requires_python, env.python_version,
                              name, _describe(spec)))
    return max(fitting, key=lambda f: (f.version, -env.tag_rank(f.tags)))


class Resolver:
    def __init__(self, indexes, env, installed=None, upgrade=False, no_deps=False, pre=False,
                 installed_requires=None):
        self.indexes = indexes
        self.env = env
        self.installed = dict(installed or {})  # canonical name -> Version
        self.provided_used = {}  # dependencies met by kite itself (env.provided) -> by what
        self.installed_requires = installed_requires or (lambda name: [])
        self.upgrade = upgrade
        self.no_deps = no_deps
        self.pre = pre

    def _metadata(self, dist):
        f = dist.file
        if f.metadata_url:
            try:
                response = fetch.get(f.metadata_url)
            except IndexUnreachable:
                response = None
            if response is not None and response.ok:
                _verify(response.body, f.metadata_sha256, f.filename + ".metadata", f.index)
                return parse_metadata(response.body.decode("utf-8", "replace"))
        dist.data = download(f)
        return wheel_metadata(dist.data, f.filename)

    def _dependencies(self, dist, extras):
        """Requirements of dist for `extras` (None: the base ones), markers evaluated."""
        if dist.installed:
            texts = self.installed_requires(dist.name)
        else:
            if dist.metadata is None:
                dist.metadata = self._metadata(dist)
            texts = dist.metadata.get_all("Requires-Dist") or []
        out = []
        for text in texts:
            req = parse_requirement(text)
            if req.marker is None:
                if extras is None:
                    out.append(req)
                continue
            if extras is None:
                if self.env.evaluate(req.marker, ""):
                    out.append(req)
            elif any(self.env.evaluate(req.marker, e) for e in extras) and not self.env.evaluate(req.marker, ""):
                out.append(req)
        return out

    def resolve(self, requirements):
        top = [parse_requirement(r) for r in requirements]
        chosen = collections.OrderedDict()  # canonical name -> ResolvedDist
        constraints = collections.defaultdict(list)  # name -> [(SpecifierSet, who)]
        queue = collections.deque((r, None) for r in top)
        asked = {canonicalize_name(r.name) for r in top}
        while queue:
            req, parent = queue.popleft()
            if parent is None and req.marker is not None and not self.env.evaluate(req.marker, ""):
                continue
            name = canonicalize_name(req.name)
            if parent is not None and name in self.env.provided and name not in self.installed:
                if name not in self.provided_used:
                    self.provided_used[name] = self.env.provided[name]
                continue
            who = "you asked for" if parent is None else "%s %s requires" % (parent.name, parent.version)
            constraints[name].append((req.specifier, "%s %s%s" % (who, req.name, req.specifier)))
            extras = {canonicalize_name(e) for e in req.extras}
            dist = chosen.get(name)
            if dist is not None:
                if not req.specifier.contains(dist.version, prereleases=True):
                    raise VersionConflict(
                        "conflicting requirements for %s: %s (%s %s was chosen)"
                        % (name, "; ".join(w for _, w in constraints[name]), name, dist.version)
                        + (" (installed; run %%pip install -U %s to change it)" % name if dist.installed else ""))
                dist.requires.append(str(req))
                new = extras - dist.extras
                if new and not self.no_deps:
                    dist.extras |= new
                    self._queue_deps(dist, new, queue)
                continue
            spec = SpecifierSet()
            for s, _ in constraints[name]:
                spec &= s
            version = self.installed.get(name)
            keep = version is not None and spec.contains(version, prereleases=True) and not (self.upgrade and name in asked)
            if keep:
                dist = ResolvedDist(name, version, installed=True)
            else:
                files = self.indexes.files(name)
                if files is None:
                    raise PackageNotFound(
                        "no package named %r on %s" % (req.name, ", ".join(i.url for i in self.indexes.indexes)))
                try:
                    f = select_file(req.name, files, spec, self.env, self.pre)
                except NoMatchingVersion:
                    if len(constraints[name]) > 1 and all(
                            any(s.contains(x.version, prereleases=True) for x in files if x.version)
                            for s, _ in constraints[name]):
                        raise VersionConflict("conflicting requirements for %s: %s (no release satisfies all)"
                                              % (name, "; ".join(w for _, w in constraints[name]))) from None
                    raise
                dist = ResolvedDist(name, f.version, file=f)
            dist.requires.append(str(req))
            dist.extras = set(extras)
            chosen[name] = dist
            if not self.no_deps:
                self._queue_deps(dist, None, queue)
                if extras:
                    self._queue_deps(dist, extras, queue)
        return list(chosen.values())

    def _queue_deps(self, dist, extras, queue):
        if extras is not None and not dist.installed and dist.metadata is not None:
            provided = {canonicalize_name(e) for e in dist.metadata.get_all("Provides-Extra") or []}
            missing = sorted(set(extras) - provided)
            if missing:
                import sys
                print("WARNING: %s %s does not provide the extra%s %s" % (
                    dist.name, dist.version, "s" if len(missing) > 1 else "", ", ".join(missing)), file=sys.stderr)
        for req in self._dependencies(dist, extras):
            dist.dependencies.append(canonicalize_name(req.name))
            queue.append((req, dist))
