"""kite.packages: `%pip install` for kite. Imported only when used (kernel start-up stays small).

- install(requirements, index_urls=None, *, upgrade=False, no_deps=False, pre=False, quiet=False)
  installs pure-Python wheels into the kernel and prints "Successfully installed a-1.0 b-2.0".
  It works at once and returns an awaitable InstallResult: `await kite.packages.install("x")`
  (top-level await) and a bare call both work. Natively it runs pip (below).
- pip_command(argline): `%pip <argline>`: install [-U] [--no-deps] [--pre] [-q] [-i/--index-url
  URL] [--extra-index-url URL] [-r FILE] NAME[extras]..., list, uninstall [-y] NAME...
  In the native kernel (kite-native) it runs the real pip of the embedded Python's environment
  in a subprocess, as ipykernel's %pip does, streaming its output into the cell.
- resolve(requirements, index_urls=None, environment=None, ...) -> [ResolvedDist]: the resolver
  alone, from plain CPython too (urllib), for kite's wasm environment by default: what the
  JupyterLite build add-on bundles. download(dist) -> the wheel's verified bytes.
Errors: kite.packages.errors (PackageNotFound, NoPureWheel, NoMatchingVersion,
RequiresPythonMismatch, VersionConflict, IndexUnreachable, HashMismatch, InvalidRequirement),
all PackageError.
Indexes (wasm): $KITE_BUNDLED_INDEX_URL first, then $KITE_INDEX_URL / $PIP_INDEX_URL (default
https://pypi.org; `none` for none), then $KITE_EXTRA_INDEX_URL / $PIP_EXTRA_INDEX_URL; the first
index that knows a project serves it. URL shapes: `.../all.json` (piplite), `.../simple`
(PEP 691), anything else (PyPI JSON API base)."""

import sys

from . import errors
from .errors import (HashMismatch, IndexUnreachable, InvalidRequirement, NoMatchingVersion,
                     NoPureWheel, PackageError, PackageNotFound, RequiresPythonMismatch,
                     VersionConflict)
from .settings import InstallResult, default_index_urls


def __getattr__(name):
    # `environment` needs `packaging`, which the native kernel's %pip (plain pip) never loads
    if name == "environment":
        import importlib
        return importlib.import_module(__name__ + ".environment")
    raise AttributeError("module %r has no attribute %r" % (__name__, name))

__all__ = ["install", "pip_command", "resolve", "download", "errors", "environment",
           "PackageError", "PackageNotFound", "NoPureWheel", "NoMatchingVersion",
           "RequiresPythonMismatch", "VersionConflict", "IndexUnreachable", "HashMismatch",
           "InvalidRequirement"]


def _is_wasm():
    return sys.platform == "emscripten"


def _as_list(requirements):
    return [requirements] if isinstance(requirements, str) else list(requirements)


def resolve(requirements, index_urls=None, environment=None, *, installed=None, no_deps=False,
            pre=False):
    """The distributions to install for `requirements` (str or list of PEP 508 strings) into
    `environment` (default: kite's wasm build, environment.WASM), asking `index_urls` (default:
    default_index_urls()). `installed`: {name: version} already present (kept when they satisfy).
    Returns [ResolvedDist] (.name, .version, .filename, .url, .sha256, .file.requires_python,
    .installed, .dependencies, .data = verified wheel bytes if downloaded while resolving)."""
    from . import resolver
    from ._packaging import Version, canonicalize_name
    from .index import IndexChain
    import importlib
    env = environment if environment is not None else importlib.import_module(__name__ + ".environment").WASM
    have = {canonicalize_name(k): Version(str(v)) for k, v in (installed or {}).items()}
    chain = IndexChain(index_urls if index_urls else default_index_urls())
    return resolver.Resolver(chain, env, have, no_deps=no_deps, pre=pre).resolve(_as_list(requirements))


def download(dist):
    """The verified bytes of a ResolvedDist's wheel (downloaded once)."""
    from . import resolver
    if dist.data is None:
        dist.data = resolver.download(dist.file)
    return dist.data


def install(requirements, index_urls=None, *, upgrade=False, no_deps=False, pre=False, quiet=False):
    """Installs requirements (str or list); see the module's doc. Returns an awaitable
    InstallResult."""
    reqs = _as_list(requirements)
    if not _is_wasm():
        from . import native
        args = ["install"] + (["-U"] if upgrade else []) + (["--no-deps"] if no_deps else [])
        args += (["--pre"] if pre else []) + (["-q"] if quiet else [])
        for i, url in enumerate(index_urls or ()):
            args += ["--index-url" if i == 0 else "--extra-index-url", url]
        native.run_pip(args + reqs)
        return InstallResult([], [])
    from .installer import install_wasm
    return install_wasm(reqs, index_urls, upgrade=upgrade, no_deps=no_deps, pre=pre, quiet=quiet)


def pip_command(argline):
    """Runs `%pip <argline>` (see the module's doc)."""
    import shlex
    argv = shlex.split(argline)
    if not _is_wasm():
        from . import native
        native.run_pip(argv)
        return None
    from . import commands
    commands.run(argv)
    return None
