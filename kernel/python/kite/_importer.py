# Serves kite's own modules from the sources the C++ core embeds (`_kite.sources`), because in
# wasm there are no files besides the stdlib zip. Run once by the core before `import kite`.
import sys
from importlib.machinery import ModuleSpec

import _kite


class EmbeddedImporter:
    """A meta path finder and loader for {module: (filename, is_package, source)}."""

    def __init__(self, sources):
        self.sources = sources

    def find_spec(self, name, path=None, target=None):
        entry = self.sources.get(name)
        if entry is None:
            return None
        return ModuleSpec(name, self, origin=entry[0], is_package=entry[1])

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        filename, _, source = self.sources[module.__spec__.name]
        exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)

    def get_source(self, name):
        return self.sources[name][2]

    def is_package(self, name):
        return self.sources[name][1]


# First, so that an unrelated `kite` on sys.path cannot shadow the kernel's helpers.
sys.meta_path.insert(0, EmbeddedImporter(_kite.sources))
