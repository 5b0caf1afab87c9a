"""A plain `import numpy` on a JupyterLite site that bundles numpy: the site's index says which
import names its wheels provide (`kite_imports`, written by kite's `jupyter lite build` add-on),
and the first import of such a name installs the project, as `%pip install` would, then imports
it (one line on stdout says so). Only top-level names, only projects of the site's own index
(never PyPI), once per name; everything else is an ordinary ImportError. Installed in the wasm
build when the page passes $KITE_BUNDLED_INDEX_URL; costs nothing until an import fails."""

import os
import sys


class BundledImportFinder:
    """Last on sys.meta_path: asked only for names nothing else could find."""

    def __init__(self, index_urls):
        self.index_urls = list(index_urls)
        self._imports = None
        self._tried = set()
        self._busy = False

    def _import_map(self):
        """{import name: project} of the bundled indexes (fetched once, when first needed). An
        index that cannot be read leaves imports failing as they would anyway (one warning)."""
        if self._imports is None:
            self._imports = {}
            try:
                from .index import PipliteIndex
                for url in self.index_urls:
                    if url.split("?", 1)[0].endswith(".json"):
                        for name, project in PipliteIndex(url).imports().items():
                            self._imports.setdefault(name, project)
            except Exception as e:
                print("kite: cannot read the site's package index (%s): %s" % (" ".join(self.index_urls), e),
                      file=sys.stderr)
        return self._imports

    def find_spec(self, fullname, path=None, target=None):
        # re-entered while it reads the index or installs (those import modules, and some probe
        # optional ones, e.g. subprocess's `import msvcrt`): those imports are not ours
        if path is not None or fullname in self._tried or self._busy:
            return None
        self._busy = True
        try:
            return self._install_and_find(fullname)
        finally:
            self._busy = False

    def _install_and_find(self, fullname):
        project = self._import_map().get(fullname)
        self._tried.add(fullname)
        if project is None:
            return None
        from . import install
        print("kite: installing %s from this site's packages (first `import %s`)" % (project, fullname))
        try:
            result = install([project], quiet=True)
        except BaseException:
            self._tried.discard(fullname)  # interrupted or failed: the next import tries again
            raise
        if result.installed:
            print("kite: installed " + ", ".join("%s %s" % p for p in result.installed))
        import importlib.machinery
        return importlib.machinery.PathFinder.find_spec(fullname)

    def invalidate_caches(self):
        pass


def install_finder():
    """Appends the finder when the page named bundled indexes (JupyterLite site)."""
    urls = os.environ.get("KITE_BUNDLED_INDEX_URL", "").split()
    if urls and not any(isinstance(f, BundledImportFinder) for f in sys.meta_path):
        sys.meta_path.append(BundledImportFinder(urls))
