"""What kite.wasm, an Emscripten main module, exports to the side modules it loads (C extensions
such as numpy's): CPython's C API plus the C library functions extensions call.

MAIN_MODULE=1 would keep and export every function of libc, libc++ and CPython (+0.9 MB gzip on
every kernel download); MAIN_MODULE=2 with this list exports only what extensions link against.

  main_module_exports.py list --nm llvm-nm --libpython libpython3.11.a --libc main-module-libc.txt
                              --out exports.rsp       the linker's --export list (-Wl,@exports.rsp)
  main_module_exports.py imports --nm llvm-nm --libpython libpython3.11.a X.so...
                              what side modules import beyond the C API (to grow main-module-libc.txt)
"""
import argparse
import json
import subprocess
import sys


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


def _leb128(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def wasm_imports(path):
    """(module, name) of every import of a wasm binary (the import section, id 2)."""
    data = open(path, "rb").read()
    if data[:4] != b"\0asm":
        raise ValueError(f"{path}: not a wasm module")
    pos = 8
    while pos < len(data):
        section, pos = data[pos], pos + 1
        size, pos = _leb128(data, pos)
        end = pos + size
        if section == 2:
            count, pos = _leb128(data, pos)
            imports = []
            for _ in range(count):
                n, pos = _leb128(data, pos)
                module, pos = data[pos:pos + n].decode(), pos + n
                n, pos = _leb128(data, pos)
                name, pos = data[pos:pos + n].decode(), pos + n
                kind, pos = data[pos], pos + 1
                if kind == 0:        # function: type index
                    _, pos = _leb128(data, pos)
                elif kind == 1:      # table: reftype, limits
                    pos += 1
                    flags, pos = _leb128(data, pos)
                    _, pos = _leb128(data, pos)
                    if flags & 1:
                        _, pos = _leb128(data, pos)
                elif kind == 2:      # memory: limits
                    flags, pos = _leb128(data, pos)
                    _, pos = _leb128(data, pos)
                    if flags & 1:
                        _, pos = _leb128(data, pos)
                elif kind == 3:      # global: valtype, mutability
                    pos += 2
                imports.append((module, name))
            return imports
        pos = end
    return []


# what every side module imports from the dynamic linker itself, not from the main module's code
_LINKER = {"memory", "__indirect_function_table", "__memory_base", "__table_base",
           "__stack_pointer"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["list", "imports"])
    ap.add_argument("--nm", required=True)
    ap.add_argument("--libpython", required=True)
    ap.add_argument("--libc", help="main-module-libc.txt")
    ap.add_argument("--out")
    ap.add_argument("side_modules", nargs="*")
    args = ap.parse_args()
    api = c_api_symbols(args.nm, args.libpython)
    if args.command == "list":
        names = api | listed_symbols(args.libc)
        # a wasm-ld response file: exported from kite.wasm without a JavaScript wrapper each
        # (EXPORTED_FUNCTIONS would add ~150 bytes of JS per name); the dynamic linker finds
        # the main module's exports by itself
        with open(args.out, "w") as f:
            f.write("".join("--export=%s\n" % n for n in sorted(names)))
        print(f"main module exports: {len(api)} C API + {len(names) - len(api)} C library symbols")
        return
    wanted = set()
    for path in args.side_modules:
        for module, name in wasm_imports(path):
            if module in ("env", "GOT.mem", "GOT.func") and name not in api and name not in _LINKER:
                wanted.add(name)
    sys.stdout.write("".join(n + "\n" for n in sorted(wanted)))


if __name__ == "__main__":
    main()
