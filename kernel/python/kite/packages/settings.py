"""What kite.packages needs without `packaging`: where %pip installs and which indexes it asks
(both from environment variables of the wasm process), and install()'s result."""

import os
import sys

DEFAULT_INDEX = "https://pypi.org"
_DEFAULT_SITE = "/lib/python3.11/site-packages"


def site_packages():
    """Where %pip installs in the wasm build: $KITE_SITE_PACKAGES (kite-node: a directory on
    disk), else a per-kernel directory in memory. Put on sys.path."""
    path = os.path.normpath(os.environ.get("KITE_SITE_PACKAGES") or _DEFAULT_SITE)
    os.makedirs(path, exist_ok=True)
    if path not in sys.path:
        sys.path.append(path)
    return path


def default_index_urls():
    """The indexes %pip asks, in order: $KITE_BUNDLED_INDEX_URL (the site's bundled index,
    space-separated URLs), then $KITE_INDEX_URL or $PIP_INDEX_URL (default https://pypi.org;
    `none` = no main index: an offline site), then $KITE_EXTRA_INDEX_URL / $PIP_EXTRA_INDEX_URL."""
    env = os.environ
    urls = env.get("KITE_BUNDLED_INDEX_URL", "").split()
    main = env.get("KITE_INDEX_URL") or env.get("PIP_INDEX_URL") or DEFAULT_INDEX
    if main.strip().lower() != "none":
        urls += main.split()
    urls += (env.get("KITE_EXTRA_INDEX_URL", "") + " " + env.get("PIP_EXTRA_INDEX_URL", "")).split()
    return urls


class InstallResult:
    """What install() did: `installed` [(name, version)], `kept` the names already satisfied.
    Awaitable (the work is done when install() returns), so `await install(...)` and a bare
    `install(...)` both work."""

    def __init__(self, installed, kept):
        self.installed = installed
        self.kept = kept

    def __await__(self):
        return self
        yield  # a generator: makes __await__ return an iterator that finishes at once

    def __repr__(self):
        return "<InstallResult installed=%s>" % (" ".join("%s-%s" % p for p in self.installed) or "nothing")
