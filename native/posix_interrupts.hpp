// The native hosts' interrupt source: real POSIX signals, seen through CPython's own handlers.
// A self-pipe registered as CPython's signal wakeup fd lets a SIGINT delivered to any thread
// wake a blocked wait() (time.sleep, input) without polling.
#pragma once

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

    // Drains the pipe and, when called under the GIL on the main thread, drops a SIGINT that
    // CPython's handler has tripped but Python has not yet handled. Re-registers the wakeup fd
    // (user code such as asyncio may have replaced it).
    void clear() override;
    // poll() on the pipe; true if a signal (or EINTR) woke it before `seconds` passed.
    bool wait(double seconds) override;
    // Always 0: CPython's handlers have already recorded the signal; PyErr_CheckSignals acts on it.
    int take() override { return 0; }

    // For control-channel interrupt_request: SIGINT to this process.
    static void interrupt_main();

    int wakeup_fd() const { return m_write; }

private:
    void drain();
    int m_read = -1;
    int m_write = -1;
    bool m_installed = false;
};

}  // namespace kite
