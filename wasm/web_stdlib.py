"""Repack the wasm CPython's stdlib zip for the web bundle (build/wasm/dist/kite-stdlib.zip).

Usage: PYTHON web_stdlib.py IN_ZIP OUT_ZIP [--vendor]

- With --vendor (PYTHON must be a 3.11 with the pinned `packaging`: the repo's .venv), adds
  `packaging` as `_kite_vendor.packaging` (.pyc + its licence files) for kite.packages, the
  installer: a private name, so a user's own `packaging` install is never shadowed. Nothing
  imports it until %pip runs.

- Leaves out packages this wasm build cannot run (their C extensions are not built, or they need
  processes), so the browser does not download them.
- Stores entries uncompressed: the web server compresses the whole archive (gzip/brotli), which
  beats per-file deflate (cross-file redundancy), and zipimport then reads without inflating.
"""
import os
import sys
import zipfile

# package or module -> why it cannot work in kite's wasm build
UNUSABLE = {
    "multiprocessing": "no processes in a wasm worker",
    "ctypes": "_ctypes is not built for wasm",
    "sqlite3": "_sqlite3 is not built for wasm",
    "curses": "_curses is not built for wasm",
    "msilib": "Windows only",
    "_pydecimal": "the C _decimal is built; this pure-Python fallback is never imported",
}


def unusable(name):
    top = name.split("/", 1)[0]
    return top in UNUSABLE or top.rsplit(".", 1)[0] in UNUSABLE


# Vendored pure-Python libraries: name -> pinned version (requirements-dev.txt pins the same),
# and the parts left out because kite.packages never imports them (SPDX tables, lock files,
# metadata models: ~2/3 of the library's bytes).
VENDOR = {"packaging": "26.4"}
VENDOR_UNUSED = {"packaging": {"licenses", "pylock.py", "metadata.py", "dependency_groups.py",
                               "direct_url.py", "ranges.py"}}
VENDOR_PREFIX = "_kite_vendor"
DATE = (1980, 1, 1, 0, 0, 0)


def _pyc(source, display_name):
    import importlib.util
    import marshal
    # optimize=2 drops docstrings (a third of the download); packaging never reads its own
    code = compile(source, display_name, "exec", dont_inherit=True, optimize=2)
    return (importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little") + (315532800).to_bytes(4, "little")
            + (len(source) & 0xFFFFFFFF).to_bytes(4, "little") + marshal.dumps(code))


def vendored_entries():
    """[(zip name, bytes)] of the VENDOR libraries, compiled by this (3.11) interpreter."""
    import importlib
    import importlib.metadata
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"--vendor needs Python 3.11 (the .pyc must match the wasm CPython), not {sys.version}")
    out = [(VENDOR_PREFIX + "/__init__.pyc", _pyc(b"", "<" + VENDOR_PREFIX + ">"))]
    for name, pinned in VENDOR.items():
        version = importlib.metadata.version(name)
        if version != pinned:
            sys.exit(f"vendoring {name}: {sys.executable} has {version}, the pin is {pinned} "
                     f"(pip install {name}=={pinned}; requirements-dev.txt)")
        root = os.path.dirname(importlib.import_module(name).__file__)
        unused = VENDOR_UNUSED.get(name, set())
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and d not in unused)
            for f in sorted(files):
                rel = os.path.relpath(os.path.join(folder, f), root).replace(os.sep, "/")
                if f.endswith(".py") and rel not in unused:
                    with open(os.path.join(folder, f), "rb") as fh:
                        src = fh.read()
                    zname = f"{VENDOR_PREFIX}/{name}/{rel[:-3]}.pyc"
                    out.append((zname, _pyc(src, f"/lib/python311.zip/{zname[:-1]}")))
        dist = importlib.metadata.distribution(name)
        for f in dist.files or ():
            if ".dist-info/" in str(f) and os.path.basename(str(f)).startswith(("LICENSE", "COPYING")):
                out.append((f"{VENDOR_PREFIX}/{name}/{os.path.basename(str(f))}", f.read_binary()))
    return out


def main():
    src, out = sys.argv[1:3]
    vendor = "--vendor" in sys.argv[3:]
    kept = dropped = 0
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out + ".tmp", "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            if unusable(info.filename):
                dropped += 1
                continue
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.external_attr = info.external_attr
            zout.writestr(copy, zin.read(info), zipfile.ZIP_STORED)
            kept += 1
        if vendor:
            for name, data in vendored_entries():
                info = zipfile.ZipInfo(name, DATE)
                info.external_attr = 0o644 << 16
                zout.writestr(info, data, zipfile.ZIP_STORED)
                kept += 1
    os.replace(out + ".tmp", out)
    print(f"kite-stdlib.zip: {kept} files kept, {dropped} left out ({', '.join(sorted(UNUSABLE))})")


if __name__ == "__main__":
    main()
