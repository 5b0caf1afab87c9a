// The native hosts' interrupt source: real POSIX signals, seen through CPython's own handlers.
// The rule (README.md, "How interrupts work"): SIGINT is blocked in the kernel's main thread
// except between begin_request(execute) and end_request(). A SIGINT that is pending when an
// execute_request begins is kept only if an interrupt_request dated at or after that request's
// header.date is what raised it; otherwise (a raw SIGINT while idle, an interrupt meant for an
// earlier cell) it is dropped. One pending when a comm_msg (a widget message) begins is carried to
// the next execute_request and judged there. A self-pipe registered as CPython's signal wakeup fd lets a SIGINT
// handled on any thread wake a blocked wait() (time.sleep, input) without polling.
#pragma once

#include "flush_timer.hpp"
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include <pthread.h>

#include "host_services.hpp"

namespace kite {

class posix_interrupts : public interrupt_source {
public:
    // Creates the pipe and blocks SIGINT in the calling thread, which becomes "the main thread":
    // the one that runs CPython and calls begin_request/end_request. Construct it before any
    // other thread starts, so they all inherit the blocked mask. Throws std::system_error.
    posix_interrupts();
    ~posix_interrupts() override;
    posix_interrupts(const posix_interrupts&) = delete;
    posix_interrupts& operator=(const posix_interrupts&) = delete;

    // Registers the pipe with signal.set_wakeup_fd. Call once after the interpreter's
    // configure(), on the main thread. Throws std::runtime_error if Python refuses.
    void install();

    // Main thread, without the GIL. Execute: collects what is pending (a blocked SIGINT, CPython's
    // tripped flag, the pipe), keeps it if the last interrupt_request is dated >= request.date,
    // then unblocks SIGINT (a kept one is delivered to CPython's handler right then). Any other
    // request: only moves a tripped flag out of CPython's way, so it cannot raise there; SIGINT
    // stays blocked. Calls from another thread (control requests) do nothing.
    void begin_request(const request_info& request) override;
    // Main thread: blocks SIGINT again. Other threads: nothing.
    void end_request() override;
    // poll() on the pipe; true if a signal (or EINTR) woke it before `seconds` passed.
    bool wait(double seconds) override;
    // Always 0: CPython's handlers have already recorded the signal; PyErr_CheckSignals acts on it.
    int take() override { return 0; }
    // An interrupt_request (control thread): remembers its header.date and sends SIGINT to the
    // process, except when the cell running now is dated after it (the client sent that cell
    // after the interrupt; every cell sent before it has ended, shell requests run in order):
    // then it is dropped (logged on stderr). Never fails.
    bool interrupt(const json& request_header, std::string& reason) override;

    // For a host's blocking wait that cannot watch the wakeup pipe itself (ZeroMQ's recv on the
    // stdin socket, inside xeus). Main thread, without the GIL. `blocking` returns false when its
    // wait failed with EINTR. Returns 0 when it completed, else the number of the signal that cut
    // it short, for input_result::signal. It is not called at all when a SIGINT is already
    // waiting for Python's handler; while it runs, a watcher thread pokes the main thread with a
    // no-op signal once CPython's handler has written the pipe (on any thread), then every 5 ms
    // until the wait is over, so a SIGINT handled just before the wait started, or on another
    // thread, still ends it.
    int call_interruptibly(const std::function<bool()>& blocking);

    // Batched stream text: flushed by a pending call after `seconds` (flush_timer's thread).
    void flush_streams_after(double seconds) override { m_flush_timer.arm(seconds); }
    // Before the interpreter finalizes (the timer's thread takes the GIL).
    void stop_flush_timer() { m_flush_timer.stop(); }

private:
    void drain();
    bool main_thread() const { return pthread_equal(pthread_self(), m_main) != 0; }
    // Takes the GIL: clears CPython's tripped SIGINT flag (true if it was set).
    static bool take_tripped();
    int m_read = -1;
    int m_write = -1;
    bool m_installed = false;
    pthread_t m_main;
    bool m_carried = false;  // a tripped SIGINT moved aside between requests (main thread only)
    std::mutex m_mutex;      // guards the five below (control thread vs main thread)
    std::optional<std::int64_t> m_last_interrupt;  // date of the last interrupt_request
    std::uint64_t m_interrupts = 0;                // interrupt_requests seen so far
    std::uint64_t m_interrupts_at_end = 0;         // ... when the last request ended
    // An execute_request is between begin_request and end_request; its header.date (nullopt:
    // none or unreadable). interrupt() never raises SIGINT into a cell dated after it.
    bool m_running = false;
    std::optional<std::int64_t> m_running_date;
    flush_timer m_flush_timer;
};

}  // namespace kite
