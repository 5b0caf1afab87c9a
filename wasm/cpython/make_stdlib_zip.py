"""Make kite-stdlib.zip: the pure-Python stdlib as .pyc only (deflated).

Usage: BUILD_PYTHON -I make_stdlib_zip.py LIBDIR SYSCONFIGDATA_PY OUT_ZIP

Run it with the native build python of the same CPython version as the wasm
build, so the .pyc magic number matches. The embedder writes the zip to
/lib/python311.zip (PYTHONHOME=/), which CPython puts on sys.path by default.
The entries are sorted and dated 1980-01-01, so the zip is reproducible.
"""
import importlib.util
import marshal
import os
import sys
import zipfile

# Whole directories (at any depth) and top-level modules left out: tests, GUI,
# packaging/installer tools that cannot work in a browser kernel.
EXCLUDED_DIRS = {"test", "tests", "idle_test", "__pycache__", "site-packages",
                 "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3",
                 "distutils", "venv"}
EXCLUDED_TOP = {"turtle.py"}
# pydoc_data is kept: help('keywords'), help('topics') need it (~0.2 MB zipped).
DATE = (1980, 1, 1, 0, 0, 0)
MTIME = 315532800  # 1980-01-01, recorded in the timestamp-based pyc headers


def pyc_bytes(source_path, display_name):
    with open(source_path, "rb") as f:
        source = f.read()
    code = compile(source, display_name, "exec", dont_inherit=True, optimize=0)
    data = bytearray(importlib.util.MAGIC_NUMBER)
    data += (0).to_bytes(4, "little")  # flags: timestamp-based
    data += MTIME.to_bytes(4, "little")
    data += (len(source) & 0xFFFFFFFF).to_bytes(4, "little")

    data += marshal.dumps(code)
    return bytes(data)


def main():
    libdir, sysconfigdata, out = sys.argv[1:4]
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"needs the 3.11 build python, not {sys.version}")
    files = []
    for root, dirs, names in os.walk(libdir):
        rel_root = os.path.relpath(root, libdir)
        dirs[:] = sorted(d for d in dirs if d not in EXCLUDED_DIRS
                         and not d.startswith("config-3."))
        for name in names:
            if not name.endswith(".py"):
                continue
            rel = os.path.normpath(os.path.join(rel_root, name))
            if rel in EXCLUDED_TOP:
                continue
            files.append((rel, os.path.join(root, name)))
    files.append((os.path.basename(sysconfigdata), sysconfigdata))
    files.sort()
    tmp = out + ".tmp"
    total_src = 0
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for rel, path in files:
            total_src += os.path.getsize(path)
            data = pyc_bytes(path, "/lib/python3.11/" + rel.replace(os.sep, "/"))
            info = zipfile.ZipInfo(rel.replace(os.sep, "/")[:-3] + ".pyc", DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    os.replace(tmp, out)
    print(f"{out}: {len(files)} modules, {total_src} bytes of source -> "
          f"{os.path.getsize(out)} bytes zipped")


if __name__ == "__main__":
    main()
