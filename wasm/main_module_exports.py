"""What kite.wasm, an Emscripten main module, exports to the side modules it loads (C extensions
such as numpy's): CPython's C API plus the C library functions extensions call.

MAIN_MODULE=1 would keep and export every function of libc, libc++ and CPython (+0.9 MB gzip on
every kernel download); MAIN_MODULE=2 with this list exports only what extensions link against.

  main_module_exports.py --nm llvm-nm --libpython libpython3.11.a --libc main-module-libc.txt
                         --out exports.rsp       the linker's --export list (-Wl,@exports.rsp)

What a wheel's side modules need from kite.wasm is listed by the recipe builder
(build/wheels/<name>-<version>-main-module-imports.txt); tests/test_wasm_wheels.py checks that
kite.wasm provides all of it.
"""
import argparse
import subprocess


def c_api_symbols(nm, libpython):
    """Global functions and data libpython defines under the C API's prefixes (Py*, _Py*):
    extensions, Cython's output included, use the underscored ones too."""
    out = subprocess.run([nm, "--defined-only", "-g", libpython], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBR" and parts[2].startswith(("Py", "_Py")):
            names.add(parts[2])
    return names


def listed_symbols(path):
    """One C symbol per line; '#' starts a comment."""
    names = set()
    with open(path) as f:
        for line in f:
            name = line.split("#", 1)[0].strip()
            if name:
                names.add(name)
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nm", required=True)
    ap.add_argument("--libpython", required=True)
    ap.add_argument("--libc", required=True, help="main-module-libc.txt")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    api = c_api_symbols(args.nm, args.libpython)
    names = api | listed_symbols(args.libc)
    # a wasm-ld response file: exported from kite.wasm without a JavaScript wrapper each
    # (EXPORTED_FUNCTIONS would add ~150 bytes of JS per name); the dynamic linker finds
    # the main module's exports by itself
    with open(args.out, "w") as f:
        f.write("".join("--export=%s\n" % n for n in sorted(names)))
    print(f"main module exports: {len(api)} C API + {len(names) - len(api)} C library symbols")


if __name__ == "__main__":
    main()
