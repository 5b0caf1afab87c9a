// kite::interrupt_source over the shared interrupt buffer (DEVELOPERS.md): i32[0] is the pending
// signal number, written by the main thread (controller.js) and woken with Atomics.notify(i32, 0).
#pragma once

#include "host_services.hpp"

namespace kite::wasm {

class wasm_interrupt_source final : public interrupt_source {
public:
    // clear: Atomics.store(i32, 0, 0)
    void clear() override;
    // wait: Atomics.wait on i32[0] until a signal is pending or `seconds` pass; true only when a
    // signal is pending (a stray notify, e.g. a late input reply, does not shorten a sleep).
    // Without a shared buffer (no cross-origin isolation) nothing can interrupt: it sleeps with
    // Atomics.wait on a private SharedArrayBuffer if that type exists, else (degraded mode, the
    // only way left to block a worker) it spins on the clock, and returns false.
    bool wait(double seconds) override;
    // take: Atomics.exchange(i32, 0, 0)
    int take() override;
};

// True when the worker was given a shared buffer (Module.kiteBuffer).
bool has_shared_buffer();

// Points CPython's Emscripten signal hook (Module.Py_EmscriptenSignalBuffer) at the shared
// buffer and turns its polling on; no-op without a buffer. Call after Py_Initialize.
void enable_cpython_signal_polling();

}  // namespace kite::wasm
