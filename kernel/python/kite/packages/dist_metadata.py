"""Core metadata (the METADATA of a wheel or of an installed .dist-info) and the installed
distributions of a set of directories, read directly: email.parser and importlib.metadata would
add ~150 ms of imports to a %pip in wasm, and importlib.metadata's directory cache (keyed by the
directory's mtime, 1 s resolution in MEMFS) can hide what was installed a moment ago."""

import os


class Metadata:
    """The header fields of core metadata (RFC 822 style; a continuation line starts with
    whitespace; the body after the first blank line is the description and ignored)."""

    def __init__(self, text):
        self._fields = []
        for line in text.splitlines():
            if not line.strip():
                break
            if line[0] in " \t" and self._fields:
                key, value = self._fields[-1]
                self._fields[-1] = (key, value + "\n" + line.strip())
            elif ":" in line:
                key, value = line.split(":", 1)
                self._fields.append((key.strip().lower(), value.strip()))

    def get(self, key, default=None):
        key = key.lower()
        return next((v for k, v in self._fields if k == key), default)

    def get_all(self, key):
        key = key.lower()
        return [v for k, v in self._fields if k == key] or None

    __getitem__ = get


class InstalledDist:
    """A .dist-info directory: name, version, requires (Requires-Dist strings), installer."""

    def __init__(self, path, metadata):
        self.path = path
        self.metadata = metadata
        self.name = metadata.get("Name") or os.path.basename(path).split("-", 1)[0]
        self.version = metadata.get("Version") or os.path.basename(path)[:-len(".dist-info")].rsplit("-", 1)[-1]
        self.requires = metadata.get_all("Requires-Dist") or []

    @property
    def installer(self):
        try:
            with open(os.path.join(self.path, "INSTALLER"), encoding="utf-8") as f:
                return f.read().strip()
        except OSError:
            return ""


def installed(paths, canonicalize):
    """{canonical name: InstalledDist} of the .dist-info directories in `paths` (first wins)."""
    out = {}
    for folder in paths:
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:  # not a directory (the stdlib zip) or gone
            continue
        for name in names:
            if not name.endswith(".dist-info"):
                continue
            path = os.path.join(folder, name)
            try:
                with open(os.path.join(path, "METADATA"), encoding="utf-8", errors="replace") as f:
                    dist = InstalledDist(path, Metadata(f.read()))
            except OSError:
                continue
            out.setdefault(canonicalize(dist.name), dist)
    return out
