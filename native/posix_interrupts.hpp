// The native hosts' interrupt source: real POSIX signals, seen through CPython's own handlers.
// A self-pipe registered as CPython's signal wakeup fd lets a SIGINT delivered to any thread
// wake a blocked wait() (time.sleep, input) without polling.
#pragma once

#include <atomic>

#include "host_services.hpp"

namespace kite {

class posix_interrupts : public interrupt_source {
public:
    posix_interrupts();  // creates the pipe; throws std::system_error on failure
    ~posix_interrupts() override;
    posix_interrupts(const posix_interrupts&) = delete;
    posix_interrupts& operator=(const posix_interrupts&) = delete;

    // Registers the pipe with signal.set_wakeup_fd. Call once after the interpreter's
    // configure(), on the main thread (the one that configured). Idempotent. Throws
    // std::runtime_error if Python refuses (not initialised, not the main thread).
    void install();

    // Between mark_busy() and mark_idle(): does nothing, so a signal that arrived after the
    // kernel went busy reaches the cell (the core calls clear() when the cell starts, which can
    // be well after the client saw `status: busy` and interrupted). Otherwise (a host that does
    // not mark): drains the pipe and, when called under the GIL on the main thread, drops a
    // SIGINT that CPython's handler has tripped but Python has not yet handled; re-registers the
    // wakeup fd (user code such as asyncio may have replaced it).
    void clear() override;

    // The kernel goes busy for an execute_request: call on the main thread, with SIGINT blocked
    // in it and without the GIL, *before* `status: busy` is published. Drops every signal that
    // arrived until now (a pending, blocked SIGINT via sigtimedwait; CPython's tripped flag; the
    // pipe), re-registers the wakeup fd, then makes clear() a no-op until mark_idle(). A SIGINT
    // that arrives once this returns is kept for the cell. Takes the GIL (briefly).
    void mark_busy();
    // The cell is over (main thread, SIGINT blocked again): clear() discards again. Drops nothing
    // itself; the next mark_busy() does.
    void mark_idle();
    // poll() on the pipe; true if a signal (or EINTR) woke it before `seconds` passed.
    bool wait(double seconds) override;
    // Always 0: CPython's handlers have already recorded the signal; PyErr_CheckSignals acts on it.
    int take() override { return 0; }

    // For control-channel interrupt_request: SIGINT to this process.
    static void interrupt_main();

    int wakeup_fd() const { return m_write; }

private:
    void drain();
    void discard_python_state();  // drain + CPython's tripped flag + wakeup fd; needs the GIL
    int m_read = -1;
    int m_write = -1;
    bool m_installed = false;
    std::atomic<bool> m_busy{false};
};

}  // namespace kite
