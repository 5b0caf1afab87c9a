# Serves kite's own modules from the sources the C++ core embeds (`_kite.sources`), because in
# wasm there are no files besides the stdlib zip. Run once by the core before `import kite`.
# Also runs post-import hooks (`when_imported`): kite patches modules such as asyncio or getpass
# when user code first imports them instead of importing them at start (start time matters).
import sys
from _frozen_importlib import ModuleSpec  # what importlib.machinery exports, without importing it

import _kite


class _HookedLoader:
    """Wraps a module's real loader for one import, then runs the hooks of the module. The module
    keeps the real loader as __loader__ and __spec__.loader."""

    def __init__(self, loader, hooks):
        self.loader = loader
        self.hooks = hooks

    def create_module(self, spec):
        create = getattr(self.loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        module.__loader__ = self.loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        for hook in self.hooks:
            hook(module)


class EmbeddedImporter:
    """A meta path finder and loader for {module: (filename, is_package, source)}, plus the
    post-import hooks of other modules."""

    def __init__(self, sources):
        self.sources = sources
        self.hooks = {}  # module name -> [callable(module)]
        self._finding = set()

    def find_spec(self, name, path=None, target=None):
        entry = self.sources.get(name)
        if entry is not None:
            return ModuleSpec(name, self, origin=entry[0], is_package=entry[1])
        hooks = self.hooks.get(name)
        if not hooks or name in self._finding:
            return None
        # Find the module as the import system would without us, then wrap its loader.
        self._finding.add(name)
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._finding.discard(name)
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _HookedLoader(spec.loader, list(hooks))
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        filename, _, source = self.sources[module.__spec__.name]
        exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)

    def get_source(self, name):
        return self.sources[name][2]

    def is_package(self, name):
        return self.sources[name][1]

    def when_imported(self, name, hook):
        """Call hook(module) once the top-level module `name` has been imported (now, if it is)."""
        self.hooks.setdefault(name, []).append(hook)
        module = sys.modules.get(name)
        if module is not None:
            hook(module)


# First, so that an unrelated `kite` on sys.path cannot shadow the kernel's helpers. Kept as
# `_kite.importer` (this file is run by the core, not imported as a module).
if getattr(_kite, "importer", None) is None:
    _kite.importer = EmbeddedImporter(_kite.sources)
    sys.meta_path.insert(0, _kite.importer)
