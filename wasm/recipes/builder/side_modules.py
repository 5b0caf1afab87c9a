"""What a wheel's extension modules are, read from their WebAssembly: each must be an Emscripten
side module, and together they need a set of symbols from the main module (kite.wasm), which
its export set has to cover."""
from __future__ import annotations

# Imports every side module has, provided by the dynamic linker itself rather than by exports.
_LINKER_PROVIDED = {"memory", "__indirect_function_table", "__stack_pointer", "__memory_base",
                    "__table_base"}


class NotASideModule(Exception):
    pass


def _leb128(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, offset


def _name(data: bytes, offset: int) -> tuple[str, int]:
    length, offset = _leb128(data, offset)
    return data[offset:offset + length].decode(), offset + length


def _sections(data: bytes):
    offset = 8
    while offset < len(data):
        size, start = _leb128(data, offset + 1)
        yield data[offset], start
        offset = start + size


def check(name: str, data: bytes) -> None:
    """A loadable side module starts with the custom section "dylink.0" ("dylink" before LLVM 13);
    Emscripten 3.1.6's -shared without SIDE_MODULE makes a relocatable object instead."""
    if data[:8] != b"\0asm\x01\0\0\0":
        raise NotASideModule(f"{name} is not WebAssembly")
    if data[8] == 0:
        _size, offset = _leb128(data, 9)
        if _name(data, offset)[0] in ("dylink.0", "dylink"):
            return
    raise NotASideModule(f"{name} is WebAssembly but not a side module (no dylink section)")


def symbols(data: bytes) -> tuple[set[str], set[str]]:
    """(imported symbol names, exported names); GOT.mem/GOT.func imports count as symbols."""
    imported, exported = set(), set()
    for section, offset in _sections(data):
        if section == 2:  # imports: module, name, kind, type
            count, offset = _leb128(data, offset)
            for _ in range(count):
                module, offset = _name(data, offset)
                name, offset = _name(data, offset)
                kind = data[offset]
                offset += 1
                if kind == 0:                      # function: type index
                    _, offset = _leb128(data, offset)
                elif kind in (1, 2):               # table: reftype + limits; memory: limits
                    offset += kind == 1
                    flags = data[offset]
                    _, offset = _leb128(data, offset + 1)
                    if flags & 1:
                        _, offset = _leb128(data, offset)
                else:                              # global: valtype, mutability
                    offset += 2
                if module == "env" and name not in _LINKER_PROVIDED or module.startswith("GOT."):
                    imported.add(name)
        elif section == 7:  # exports: name, kind, index
            count, offset = _leb128(data, offset)
            for _ in range(count):
                name, offset = _name(data, offset)
                _, offset = _leb128(data, offset + 1)
                exported.add(name)
    return imported, exported


def main_module_imports(modules: dict[str, bytes]) -> list[str]:
    """The symbols these side modules need that none of them defines."""
    imported, exported = set(), set()
    for data in modules.values():
        module_imports, module_exports = symbols(data)
        imported |= module_imports
        exported |= module_exports
    return sorted(imported - exported)
