// C library functions that extension modules link against but Emscripten 3.1.6's libc lacks.
// kite.wasm, the main module, provides them (exported through src/main-module-libc.txt).

// execinfo's backtrace(): wasm code cannot walk its own stack, so there are no frames. numpy's
// build finds the symbol (a side module links with undefined symbols allowed) and calls it to
// decide whether a temporary array may be reused; 0 frames turns that heuristic off, as on
// platforms without backtrace.
extern "C" int backtrace(void** buffer, int size) {
    (void)buffer;
    (void)size;
    return 0;
}
