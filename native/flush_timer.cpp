#include "flush_timer.hpp"

#include <csignal>
#include <pthread.h>

#include "kite_module.hpp"

namespace kite {

flush_timer::flush_timer() {
    // SIGINT stays blocked here (it belongs to the main thread), whatever the creator's mask
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m_thread = std::thread([this] { run(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

flush_timer::~flush_timer() { stop(); }

void flush_timer::stop() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
    }
    m_changed.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

void flush_timer::arm(double seconds) {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(seconds > 0 ? seconds : 0));
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_armed && m_deadline <= deadline) return;
        m_armed = true;
        m_deadline = deadline;
    }
    m_changed.notify_all();
}

void flush_timer::run() {
    std::unique_lock<std::mutex> lock(m_mutex);
    while (!m_stop) {
        if (!m_armed) {
            m_changed.wait(lock);
            continue;
        }
        if (m_changed.wait_until(lock, m_deadline) == std::cv_status::timeout && m_armed &&
            std::chrono::steady_clock::now() >= m_deadline) {
            m_armed = false;
            lock.unlock();
            request_stream_flush();
            // CPython 3.11 computes its eval breaker for a pending call in the *calling* thread,
            // where it says "cannot handle pending calls": nothing wakes the main thread. Asking
            // for the GIL does (a drop request), and the main thread runs pending calls first.
            PyGILState_STATE gil = PyGILState_Ensure();
            PyGILState_Release(gil);
            lock.lock();
        }
    }
}

}  // namespace kite
