#include "wasm_interrupt_source.hpp"

#include <emscripten.h>

#include "kite_module.hpp"

// Defined in CPython's Python/emscripten_signal.c (declared in the internal header
// Include/internal/pycore_emscripten_signal.h as `extern int Py_EMSCRIPTEN_SIGNAL_HANDLING;`):
// CPython polls Module.Py_EmscriptenSignalBuffer only while it is non-zero.
extern "C" int Py_EMSCRIPTEN_SIGNAL_HANDLING;

namespace {

// Every SharedArrayBuffer use is guarded: without cross-origin isolation the name is not even
// defined, and a ReferenceError would unwind through wasm and CPython frames.
EM_JS(int, kite_js_has_buffer, (), {
    return (typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer && Module.kiteLayout) ? 1 : 0;
});

// Without a shared buffer: the page's service-worker relay (worker.js, Module.kiteRelay), which
// keeps the pending signal and its target on the page and answers polls and held waits.
EM_JS(int, kite_js_has_relay, (), {
    return (Module.kiteRelay && Module.kiteRelay.ok) ? 1 : 0;
});

EM_JS(void, kite_js_relay_begin, (unsigned seq, int execute), {
    if (Module.kiteRelay) Module.kiteRelay.begin(seq | 0, !!execute);
});

EM_JS(void, kite_js_flush_after, (double ms), {
    var due = performance.now() + ms;
    if (!Module.kiteFlushDue || due < Module.kiteFlushDue) Module.kiteFlushDue = due;
});

EM_JS(void, kite_js_relay_end, (), {
    if (Module.kiteRelay) Module.kiteRelay.end();
});

// Drops a signal aimed at another message (an interrupt that raced with the end of an earlier
// cell), but keeps one the main side already aimed at the execute_request now starting
// (i32[TARGET] == seq): an interrupt sent right after execute_request is never lost.
EM_JS(void, kite_js_begin_execute, (unsigned seq), {
    if (typeof SharedArrayBuffer === 'undefined' || !Module.kiteBuffer || !Module.kiteLayout) return;
    var i32 = Module.kiteBuffer;
    var L = Module.kiteLayout;
    seq = seq | 0;
    var v = Atomics.load(i32, L.SIGNAL);
    if (v === 0 || Atomics.load(i32, L.TARGET) === seq) return;
    // compare-exchange: never clears a value written after our read; if the main side re-aimed
    // an (equal) signal at this message meanwhile, put it back
    if (Atomics.compareExchange(i32, L.SIGNAL, v, 0) === v && Atomics.load(i32, L.TARGET) === seq) {
        Atomics.compareExchange(i32, L.SIGNAL, 0, v);
    }
});

EM_JS(int, kite_js_take, (), {
    if (typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer && Module.kiteLayout) {
        return Atomics.exchange(Module.kiteBuffer, Module.kiteLayout.SIGNAL, 0);
    }
    if (Module.kiteRelay && Module.kiteRelay.ok) return Module.kiteRelay.take();
    return 0;
});

// signals != 0: return early (1) when a signal is pending. Otherwise only the time counts.
EM_JS(int, kite_js_wait, (double ms, int signals), {
    var now = (typeof performance !== 'undefined') ? function() { return performance.now(); } : Date.now;
    var deadline = now() + ms;
    if (signals && typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer && Module.kiteLayout) {
        var i32 = Module.kiteBuffer;
        var at = Module.kiteLayout.SIGNAL;
        for (;;) {
            if (Atomics.load(i32, at) !== 0) return 1;
            var left = deadline - now();
            if (left <= 0) return 0;
            Atomics.wait(i32, at, 0, left);
        }
    }
    // No shared buffer: a request the page holds until the time is up (or a signal, if asked).
    if (Module.kiteRelay && Module.kiteRelay.ok) return Module.kiteRelay.wait(ms, signals);
    // Nothing may cut this wait short: sleep without burning CPU if we can...
    if (typeof SharedArrayBuffer !== 'undefined') {
        if (!Module.kiteSleepCell) Module.kiteSleepCell = new Int32Array(new SharedArrayBuffer(4));
        for (;;) {
            var rest = deadline - now();
            if (rest <= 0) return 0;
            Atomics.wait(Module.kiteSleepCell, 0, 0, rest);
        }
    }
    // ...else (degraded mode: not cross-origin isolated and no service worker) a blocking wait
    // is impossible in a worker: spin on the clock.
    while (now() < deadline) {}
    return 0;
});

EM_JS(void, kite_js_attach_signal_buffer, (), {
    // Batched stream text (flush_streams_after): CPython's periodic signal check reads
    // Module.Py_EmscriptenSignalBuffer, so its accessor also asks for the flush once it is due
    // (a pending call: the text goes out at the next eval-breaker check).
    Module.kiteFlushDue = 0;
    Module.kiteFlushCheck = function () {
        if (Module.kiteFlushDue && performance.now() >= Module.kiteFlushDue) {
            Module.kiteFlushDue = 0;
            Module._kite_request_stream_flush();
        }
    };
    if (typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer && Module.kiteLayout) {
        // CPython (kite patch 02) reads and clears element 0 with Atomics.exchange: a one-element
        // Int32Array view at i32[SIGNAL], the same atomic size as ours.
        var i32 = Module.kiteBuffer;
        var view = new Int32Array(i32.buffer, i32.byteOffset + 4 * Module.kiteLayout.SIGNAL, 1);
        Object.defineProperty(Module, 'Py_EmscriptenSignalBuffer', {
            configurable: true,
            enumerable: false,
            get: function () {
                if (Module.kiteFlushDue) Module.kiteFlushCheck();
                return view;
            },
            set: function () {},
        });
    } else if (Module.kiteRelay && Module.kiteRelay.ok) {
        // kite patch 02 reads element 0 and writes 0 when the buffer is not shared: the relay's
        // accessor returns a private cell and polls the page (rate-limited) while a cell runs
        Module.kiteRelay.attach(Module);
    }
});

}  // namespace

// What kiteFlushCheck (above) calls when batched stream text is due.
extern "C" EMSCRIPTEN_KEEPALIVE void kite_request_stream_flush() { kite::request_stream_flush(); }

namespace kite::wasm {

bool has_shared_buffer() { return kite_js_has_buffer() != 0; }

bool has_relay() { return kite_js_has_relay() != 0; }

bool can_interrupt() { return has_shared_buffer() || has_relay(); }

void attach_cpython_signal_buffer() { kite_js_attach_signal_buffer(); }

void wasm_interrupt_source::begin_request(const request_info& request) {
    m_in_execute = request.execute;
    if (has_relay()) {
        // the page drops a signal aimed at an earlier message when the worker asks with this seq
        kite_js_relay_begin(m_seq, request.execute ? 1 : 0);
        Py_EMSCRIPTEN_SIGNAL_HANDLING = request.execute ? 1 : 0;
        return;
    }
    if (!request.execute) {
        Py_EMSCRIPTEN_SIGNAL_HANDLING = 0;
        return;
    }
    if (!has_shared_buffer()) return;
    kite_js_begin_execute(m_seq);
    Py_EMSCRIPTEN_SIGNAL_HANDLING = 1;
}

void wasm_interrupt_source::end_request() {
    m_in_execute = false;
    Py_EMSCRIPTEN_SIGNAL_HANDLING = 0;
    kite_js_relay_end();
}

bool wasm_interrupt_source::wait(double seconds) {
    double ms = seconds > 0 ? seconds * 1000.0 : 0.0;
    if (ms > 1e15) ms = 1e15;  // "forever" without overflowing the clock arithmetic
    return kite_js_wait(ms, m_in_execute ? 1 : 0) != 0;
}

void wasm_interrupt_source::flush_streams_after(double seconds) {
    kite_js_flush_after(seconds > 0 ? seconds * 1000.0 : 0.0);
}

int wasm_interrupt_source::take() { return m_in_execute ? kite_js_take() : 0; }

bool wasm_interrupt_source::interrupt(const json& request_header, std::string& reason) {
    (void)request_header;
    reason = "in the wasm kernel interrupt_request is answered by the controller (main thread), "
             "which writes the signal into the shared buffer";
    return false;
}

}  // namespace kite::wasm
