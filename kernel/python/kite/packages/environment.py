"""The environment a resolution is for: marker values, the wheel tags that can load, the Python
version Requires-Python is checked against. `WASM` is kite's WebAssembly build (browser and
Node); `current()` is the running interpreter (in kite's wasm build that is WASM again)."""

import sys

from ._packaging import Tag, Version, markers

# The platform tag of wheels built for kite's wasm ABI (wasm/recipes builds them): CPython 3.11
# from wasm/cpython/build.sh, Emscripten 3.1.6, wasm32, WASM_BIGINT, no pthreads, extensions as
# side modules of kite.wasm. Not Pyodide's ABI (another Emscripten, other flags), so its own
# name; the number changes whenever a change there breaks already-built wheels.
KITE_WASM_PLATFORM = "kite_1_wasm32"

# kite's wasm CPython (wasm/cpython/build.sh): 3.11.2, Emscripten 3.1.6.
_WASM_MARKERS = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.2",
    "os_name": "posix",
    "platform_machine": "wasm32",
    "platform_release": "3.1.6",
    "platform_system": "Emscripten",
    "platform_version": "#1",
    "python_full_version": "3.11.2",
    "platform_python_implementation": "CPython",
    "python_version": "3.11",
    "sys_platform": "emscripten",
}


def _kite_wasm_tags(major, minor):
    """Wheels built for kite: cp311-cp311-kite_1_wasm32, then the stable ABI (abi3) down to 3.2."""
    out = [Tag("cp%d%d" % (major, minor), "cp%d%d" % (major, minor), KITE_WASM_PLATFORM)]
    out += [Tag("cp%d%d" % (major, m), "abi3", KITE_WASM_PLATFORM) for m in range(minor, 1, -1)]
    return out


def _pure_tags(major, minor):
    """py3-none-any and the like, most specific first (what packaging.tags.compatible_tags gives
    for the platform 'any')."""
    interpreter = "cp%d%d" % (major, minor)
    out = [Tag(interpreter, "none", "any")]
    out += [Tag("py%d%d" % (major, m), "none", "any") for m in range(minor, -1, -1)]
    out.insert(2, Tag("py%d" % major, "none", "any"))  # before py3x for older minors, as pip
    return out


class Environment:
    """markers: the values markers are evaluated with; tags: loadable wheel tags, best first;
    python_version: what Requires-Python is checked against."""

    def __init__(self, name, marker_values, tags, python_version, provided=None):
        self.name = name
        # {project: what provides it}: requirements of other packages on these are met by kite
        # itself (not installed); asking for one by name installs the real package.
        self.provided = dict(provided or {})
        self.markers = dict(marker_values)
        self.tags = list(tags)
        self._tag_rank = {t: i for i, t in enumerate(self.tags)}
        self.python_version = Version(python_version)

    def tag_rank(self, wheel_tags):
        """The best rank (lower is better) of a wheel's tags, None if none can load."""
        ranks = [self._tag_rank[t] for t in wheel_tags if t in self._tag_rank]
        return min(ranks) if ranks else None

    def evaluate(self, marker, extra=None):
        values = dict(self.markers)
        values["extra"] = extra or ""
        return marker.evaluate(values)

    def __repr__(self):
        return "<Environment %s>" % self.name


# ipywidgets (and others) require `ipython` only for get_ipython() and IPython.display, which
# kite's shell and its IPython stand-in serve; the real IPython is a large download and costs
# more to import than kite's whole start-up.
KITE_PROVIDES = {"ipython": "kite's built-in shell (get_ipython, IPython.display, magics)"}
WASM = Environment("kite-wasm", _WASM_MARKERS, _kite_wasm_tags(3, 11) + _pure_tags(3, 11), "3.11.2",
                   KITE_PROVIDES)


def current():
    """The running interpreter: WASM in kite's wasm build, else the real environment with every
    tag it supports."""
    if sys.platform == "emscripten":
        return WASM
    from ._packaging import tags
    return Environment("native", markers.default_environment(), tags.sys_tags(),
                       "%d.%d.%d" % sys.version_info[:3])
