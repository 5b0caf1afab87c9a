#include "wasm_interrupt_source.hpp"

#include <emscripten.h>

// Defined in CPython's Python/emscripten_signal.c (declared in the internal header
// Include/internal/pycore_emscripten_signal.h as `extern int Py_EMSCRIPTEN_SIGNAL_HANDLING;`):
// CPython polls Module.Py_EmscriptenSignalBuffer only while it is non-zero.
extern "C" int Py_EMSCRIPTEN_SIGNAL_HANDLING;

namespace {

// Every SharedArrayBuffer use is guarded: without cross-origin isolation the name is not even
// defined, and a ReferenceError would unwind through wasm and CPython frames.
EM_JS(int, kite_js_has_buffer, (), {
    return (typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer) ? 1 : 0;
});

// Drops a signal left from an earlier request (an interrupt that raced with the end of a cell),
// but keeps one the main side already aimed at the request now starting (i32[3] = its id): an
// interrupt sent right after execute_request must not be lost before the cell even runs.
EM_JS(void, kite_js_clear, (), {
    if (typeof SharedArrayBuffer === 'undefined' || !Module.kiteBuffer) return;
    var i32 = Module.kiteBuffer;
    var current = Module.kiteRequestId | 0;
    var v = Atomics.load(i32, 0);
    if (v === 0 || Atomics.load(i32, 3) === current) return;
    // compare-exchange: never clears a value written after our read; if the main side re-aimed
    // the (equal) signal at this request meanwhile, put it back
    if (Atomics.compareExchange(i32, 0, v, 0) === v && Atomics.load(i32, 3) === current) {
        Atomics.compareExchange(i32, 0, 0, v);
    }
});

EM_JS(int, kite_js_take, (), {
    if (typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer) return Atomics.exchange(Module.kiteBuffer, 0, 0);
    return 0;
});

EM_JS(int, kite_js_wait, (double ms), {
    var now = (typeof performance !== 'undefined') ? function() { return performance.now(); } : Date.now;
    var deadline = now() + ms;
    if (typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer) {
        var i32 = Module.kiteBuffer;
        for (;;) {
            if (Atomics.load(i32, 0) !== 0) return 1;
            var left = deadline - now();
            if (left <= 0) return 0;
            Atomics.wait(i32, 0, 0, left);
        }
    }
    // No shared buffer: nobody can interrupt us. Sleep without burning CPU if we can...
    if (typeof SharedArrayBuffer !== 'undefined') {
        if (!Module.kiteSleepCell) Module.kiteSleepCell = new Int32Array(new SharedArrayBuffer(4));
        for (;;) {
            var rest = deadline - now();
            if (rest <= 0) return 0;
            Atomics.wait(Module.kiteSleepCell, 0, 0, rest);
        }
    }
    // ...else (degraded mode: not cross-origin isolated) a blocking wait is impossible in a
    // worker: spin on the clock. Only time.sleep in a non-isolated page gets here.
    while (now() < deadline) {}
    return 0;
});

EM_JS(void, kite_js_enable_signal_buffer, (), {
    if (typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer) {
        // element 0 = the signal number; CPython (kite patch 02) reads and clears it with
        // Atomics.exchange. The same Int32Array as ours: one atomic size on i32[0].
        Module.Py_EmscriptenSignalBuffer = Module.kiteBuffer;
    }
});

}  // namespace

namespace kite::wasm {

void wasm_interrupt_source::clear() { kite_js_clear(); }

bool wasm_interrupt_source::wait(double seconds) {
    double ms = seconds > 0 ? seconds * 1000.0 : 0.0;
    if (ms > 1e15) ms = 1e15;  // "forever" without overflowing the clock arithmetic
    return kite_js_wait(ms) != 0;
}

int wasm_interrupt_source::take() { return kite_js_take(); }

bool has_shared_buffer() { return kite_js_has_buffer() != 0; }

void enable_cpython_signal_polling() {
    if (!has_shared_buffer()) return;
    kite_js_enable_signal_buffer();
    Py_EMSCRIPTEN_SIGNAL_HANDLING = 1;
}

}  // namespace kite::wasm
