#include "wasm_interrupt_source.hpp"

#include <emscripten.h>

#include "kite_module.hpp"

// Defined in CPython's Python/emscripten_signal.c (declared in the internal header
// Include/internal/pycore_emscripten_signal.h as `extern int Py_EMSCRIPTEN_SIGNAL_HANDLING;`):
// CPython polls Module.Py_EmscriptenSignalBuffer only while it is non-zero.
extern "C" int Py_EMSCRIPTEN_SIGNAL_HANDLING;

namespace {

// Implemented in JavaScript: wasm/src/kite-library.js.
extern "C" int kite_js_has_buffer();
extern "C" int kite_js_has_relay();
extern "C" void kite_js_relay_begin(unsigned seq, int execute);
extern "C" void kite_js_flush_after(double ms);
extern "C" void kite_js_relay_end();
extern "C" void kite_js_begin_execute(unsigned seq);
extern "C" int kite_js_take();
extern "C" int kite_js_wait(double ms, int signals);
extern "C" void kite_js_attach_signal_buffer();

}  // namespace

// What kiteFlushCheck (kite-library.js) calls when batched stream text is due.
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
