// kite::interrupt_source over the shared buffer (wasm/js/buffer-layout.json; the indices reach
// JavaScript side (kite-library.js) as Module.kiteLayout, set by worker.js from the controller's `init`).
// The contract (DEVELOPERS.md "The interrupt contract"): the controller numbers the messages it
// posts (1, 2, 3, ...) and the server counts notify_listener calls the same way; an interrupt is
// written as i32[TARGET] .. i32[TARGET_LAST] = the seqs of the pending execute_requests (and
// comm_msgs) sent before it, then i32[SIGNAL] = 2; the first of them that takes it consumes it.
#pragma once

#include <cstdint>

#include "host_services.hpp"

namespace kite::wasm {

class wasm_interrupt_source final : public interrupt_source {
public:
    // The seq of the message being handled (the server's counter); read by begin_request.
    explicit wasm_interrupt_source(const std::uint32_t& current_seq) : m_seq(current_seq) {}

    // execute_request: drops a pending signal aimed at other messages (one that raced with the
    // end of an earlier cell), keeps one whose range includes this one, and turns CPython's polling of the
    // buffer on. Any other request: polling off, take() gives 0, a pending signal stays in the
    // buffer (it may be aimed at a later execute_request).
    void begin_request(const request_info& request) override;
    // Polling off again.
    void end_request() override;
    // Blocks with Atomics.wait until `seconds` pass or (inside an execute_request) a signal is
    // pending: true only in that case. Outside an execute_request signals do not shorten it.
    // Without a shared buffer: a request the page's relay holds (answered at once on a signal),
    // else a private SharedArrayBuffer if that type exists, else (no isolation and no service
    // worker: the only way left to block a worker) a spin on the clock.
    bool wait(double seconds) override;
    // Atomics.exchange(i32, SIGNAL, 0) inside an execute_request, 0 elsewhere.
    int take() override;
    void flush_streams_after(double seconds) override;
    // An interrupt_request that reached the core: in wasm the controller (main thread) answers
    // interrupt requests, since the worker is busy running the cell it would interrupt.
    bool interrupt(const json& request_header, std::string& reason) override;

    bool in_execute() const { return m_in_execute; }

private:
    const std::uint32_t& m_seq;
    bool m_in_execute = false;
};

// True when the worker was given a shared buffer and its layout (Module.kiteBuffer, kiteLayout).
bool has_shared_buffer();

// True when there is no shared buffer but the page's service-worker relay answered
// (Module.kiteRelay, worker.js): polls, held waits and input() go through it.
bool has_relay();

// Either channel: interrupts, interruptible waits and input() work.
bool can_interrupt();

// Points CPython's Emscripten signal hook (Module.Py_EmscriptenSignalBuffer) at i32[SIGNAL].
// Polling itself is switched per request (begin_request / end_request). Call after Py_Initialize.
void attach_cpython_signal_buffer();

}  // namespace kite::wasm
