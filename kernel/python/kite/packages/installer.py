"""`install()` in kite's wasm build: resolve, download every wheel (verified), then install them
all at once into the kernel's site-packages; and what `%pip list` / `%pip uninstall` need."""

import os
import sys

from . import dist_metadata, environment, resolver, wheel
from ._packaging import Version, canonicalize_name, InvalidVersion
from .index import IndexChain
from .settings import InstallResult, default_index_urls, site_packages


def invalidate_caches():
    """Import caches, and importlib.metadata's directory listings if user code imported it: they
    are keyed by the directory's mtime (1 s resolution in MEMFS), so a listing taken in the same
    second as an install would hide it, and importlib.invalidate_caches() leaves them in 3.11."""
    import importlib
    importlib.invalidate_caches()
    fast_path = getattr(sys.modules.get("importlib.metadata"), "FastPath", None)
    if fast_path is not None and hasattr(fast_path.__new__, "cache_clear"):
        fast_path.__new__.cache_clear()


def installed_distributions(paths=None):
    """{canonical name: InstalledDist} of what sys.path holds (first wins)."""
    return dist_metadata.installed(paths if paths is not None else sys.path, canonicalize_name)


def _version(dist):
    try:
        return Version(dist.version)
    except InvalidVersion:
        return None


def install_wasm(requirements, index_urls=None, upgrade=False, no_deps=False, pre=False, quiet=False):
    site = site_packages()
    dists = installed_distributions()
    installed = {n: v for n, v in ((n, _version(d)) for n, d in dists.items()) if v is not None}

    def installed_requires(name):
        return dists[name].requires or []

    chain = IndexChain(index_urls if index_urls else default_index_urls())
    res = resolver.Resolver(chain, environment.current(), installed, upgrade=upgrade,
                            no_deps=no_deps, pre=pre, installed_requires=installed_requires)
    picks = res.resolve(requirements)
    new = [d for d in picks if not d.installed]
    # every download first: an error or an interrupt here leaves site-packages untouched
    for d in new:
        if d.data is None:
            d.data = resolver.download(d.file)
    replaced = []
    for d in new:  # upgrades: only what this installer's directory holds is replaced
        old_dir = _dist_dir(dists.get(d.name))
        if old_dir is not None and os.path.dirname(old_dir) == site:
            replaced += wheel.record_paths(old_dir)
    extensions = []
    if new:
        extensions = wheel.install_all([(d.file.filename, d.data) for d in new], site, replaced)
    invalidate_caches()
    _preload(extensions)
    kept = [d.name for d in picks if d.installed]
    if not quiet:
        for d in picks:
            if d.installed:
                req = resolver.parse_requirement(d.requires[0])
                print("Requirement already satisfied: %s%s (%s)" % (req.name, req.specifier, d.version))
        for name, by in sorted(res.provided_used.items()):
            print("Requirement %s: provided by %s (`%%pip install %s` installs the real one)"
                  % (name, by, name))
        if new:
            print("Successfully installed " + " ".join("%s-%s" % (_display_name(d), d.version) for d in new))
    return InstallResult([(_display_name(d), str(d.version)) for d in new], kept)


def _preload(extensions):
    """Lets the host load the new extension modules while the kernel is idle (wasm: compiled in
    the background, instantiated between messages), so their first import does not compile."""
    try:
        import _kite
    except ImportError:  # plain CPython (the resolver's tests, a site build): nothing to preload
        return
    for path in extensions:
        _kite.preload_extension(path)


def _dist_dir(dist):
    return os.path.normpath(dist.path) if dist is not None else None


def _display_name(dist):
    if dist.metadata is not None and dist.metadata.get("Name"):
        return dist.metadata.get("Name")
    if dist.file is not None:
        return dist.file.filename.split("-", 1)[0]
    return dist.name


def uninstall_wasm(names, quiet=False):
    from .errors import PackageNotFound
    dists = installed_distributions()
    removed = []
    for name in names:
        d = dists.get(canonicalize_name(name))
        path = _dist_dir(d)
        if d is None or path is None:
            print("WARNING: Skipping %s as it is not installed." % name, file=sys.stderr)
            continue
        if d.installer != wheel.INSTALLER or os.path.dirname(path) != site_packages():
            raise PackageNotFound("%s %s is not in this kernel's %%pip directory (%s): kite only "
                                  "uninstalls what it installed" % (d.name, d.version, path))
        label = "%s-%s" % (d.name, d.version)
        wheel.uninstall(path)
        removed.append(label)
        if not quiet:
            print("  Successfully uninstalled %s" % label)
    invalidate_caches()
    return removed


def list_installed():
    """[(name, version)] sorted by name, as `pip list` shows them."""
    return sorted(((d.name, d.version) for d in installed_distributions().values()),
                  key=lambda p: p[0].lower())
