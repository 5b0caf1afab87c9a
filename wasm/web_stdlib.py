"""Repack the wasm CPython's stdlib zip for the web bundle (build/wasm/dist/kite-stdlib.zip).

Usage: python3 web_stdlib.py IN_ZIP OUT_ZIP

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


def main():
    src, out = sys.argv[1:3]
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
    os.replace(out + ".tmp", out)
    print(f"kite-stdlib.zip: {kept} files kept, {dropped} left out ({', '.join(sorted(UNUSABLE))})")


if __name__ == "__main__":
    main()
