#include "posix_interrupts.hpp"

#include "iso_date.hpp"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cmath>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace kite {
namespace {

sigset_t sigint_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    return set;
}

void set_sigint_blocked(bool blocked) {
    sigset_t set = sigint_set();
    pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &set, nullptr);
}

// signal.set_wakeup_fd(fd) -> the previous fd, or -2 on failure (not the main thread, Python
// not initialised). The C function PySignal_SetWakeupFd is not exported by libpython3.11.so.
int set_wakeup_fd(int fd) {
    if (!Py_IsInitialized()) return -2;
    PyGILState_STATE gil = PyGILState_Ensure();
    int old = -2;
    PyObject* mod = PyImport_ImportModule("signal");
    PyObject* result = mod ? PyObject_CallMethod(mod, "set_wakeup_fd", "i", fd) : nullptr;
    if (result) old = static_cast<int>(PyLong_AsLong(result));
    if (PyErr_Occurred()) PyErr_Clear();
    Py_XDECREF(result);
    Py_XDECREF(mod);
    PyGILState_Release(gil);
    return old;
}

// The no-op signal call_interruptibly's watcher sends to the main thread: its only effect is
// EINTR in the blocking call (installed without SA_RESTART). A real-time signal nobody else uses.
int poke_signal() { return SIGRTMIN + 2; }

// How often the watcher repeats its poke while the wait has not ended.
constexpr int k_poke_interval_ms = 5;

void install_poke_handler() {
    static const bool installed = [] {
        struct sigaction sa {};
        sa.sa_handler = [](int) {};
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;
        return sigaction(poke_signal(), &sa, nullptr) == 0;
    }();
    (void)installed;
}

std::int64_t now_micros() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}


}  // namespace

posix_interrupts::posix_interrupts() : m_main(pthread_self()) {
    set_sigint_blocked(true);
    int fds[2];
    if (pipe(fds) != 0) throw std::system_error(errno, std::generic_category(), "kite: pipe");
    for (int fd : fds) {
        // CPython writes to the wakeup fd from a signal handler: it must never block.
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
    }
    m_read = fds[0];
    m_write = fds[1];
}

posix_interrupts::~posix_interrupts() {
    if (m_installed) {
        int old = set_wakeup_fd(-1);
        if (old >= 0 && old != m_write) set_wakeup_fd(old);  // someone else's fd: leave it
    }
    close(m_read);
    close(m_write);
}

void posix_interrupts::install() {
    if (set_wakeup_fd(m_write) == -2)
        throw std::runtime_error("kite: posix_interrupts::install() needs an initialised Python "
                                 "and must run on the main thread");
    m_installed = true;
}

void posix_interrupts::drain() {
    char buf[256];
    while (read(m_read, buf, sizeof buf) > 0) {
    }
}

bool posix_interrupts::take_tripped() {
    if (!Py_IsInitialized()) return false;
    PyGILState_STATE gil = PyGILState_Ensure();
    // Reads and clears the flag CPython's SIGINT handler sets; its Python-level handler has not
    // run yet. Only meaningful on the main thread (0 elsewhere).
    const bool tripped = PyOS_InterruptOccurred() != 0;
    PyGILState_Release(gil);
    return tripped;
}

void posix_interrupts::begin_request(const request_info& request) {
    // Control requests run on another thread, concurrently with the main thread's request: the
    // main thread's mask and CPython's flags are not theirs to touch.
    if (!main_thread()) return;
    if (!request.execute) {
        // SIGINT stays blocked; a pending one stays pending for the next execute. One that
        // CPython's handler already saw (delivered to a thread a cell started, or just after the
        // last cell's final check) is moved aside so it cannot raise in completion code.
        if (take_tripped()) m_carried = true;
        return;
    }
    // 0. From now on interrupt() knows this cell (and its date) runs: an interrupt_request
    //    dated before it is not raised at all. One that raised SIGINT before this point left it
    //    pending (interrupt() raises under m_mutex), and step 1 collects it.
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_running = true;
        m_running_date = parse_iso_date(request.date);
    }
    // 1. Everything that arrived since the last execute ended: a blocked, pending SIGINT
    //    (consumed without running a handler), CPython's tripped flag, the carried one.
    bool pending = m_carried;
    m_carried = false;
    sigset_t set = sigint_set();
    timespec zero{0, 0};
    while (sigtimedwait(&set, nullptr, &zero) == SIGINT) pending = true;
    if (take_tripped()) pending = true;
    drain();
    if (m_installed) set_wakeup_fd(m_write);  // user code (asyncio, ...) may have replaced it
    // 2. Keep it only if an interrupt_request sent at or after this cell raised it. A widget
    //    message (comm_msg) never takes one that came before it: the user interrupted the cells
    //    queued behind it (JupyterLab's widget manager writes to comms while the kernel is busy),
    //    so it is carried to the next execute_request and judged there by the same rule. One
    //    that arrives while its callback runs stops the callback.
    bool keep = false;
    const bool widget_message = request.header.is_object() && request.header.value("msg_type", "") == "comm_msg";
    if (pending && widget_message) {
        m_carried = true;
        pending = false;
    }
    if (pending) {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_last_interrupt) {
            auto date = parse_iso_date(request.date);
            keep = date ? *m_last_interrupt >= *date : m_interrupts > m_interrupts_at_end;
        }
    }
    // 3. From here on SIGINT reaches CPython's handler directly; a kept one is delivered now.
    set_sigint_blocked(false);
    if (keep) pthread_kill(pthread_self(), SIGINT);
}

void posix_interrupts::end_request() {
    if (!main_thread()) return;
    set_sigint_blocked(true);
    std::lock_guard<std::mutex> lock(m_mutex);
    m_interrupts_at_end = m_interrupts;
    m_running = false;
    m_running_date.reset();
}

bool posix_interrupts::interrupt(const json& request_header, std::string& reason) {
    (void)reason;
    std::optional<std::int64_t> date;
    if (request_header.is_object()) {
        auto it = request_header.find("date");
        if (it != request_header.end() && it->is_string()) date = parse_iso_date(it->get<std::string>());
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    if (date && m_running && m_running_date && *m_running_date > *date) {
        // The running cell was sent after this interrupt (it overtook it across the shell and
        // control sockets); every cell sent before the interrupt has ended, since shell requests
        // run in order. Nothing to interrupt: raising SIGINT would hit the wrong cell.
        std::fprintf(stderr, "kite: dropped an interrupt_request dated before the running cell\n");
        return true;
    }
    m_last_interrupt = date ? *date : now_micros();
    ++m_interrupts;
    // Recorded before the signal exists, so begin_request never sees it without its date; raised
    // under m_mutex, so begin_request either collects it pending (step 1) or, having marked its
    // cell running first, is seen above. Every thread but the main one blocks SIGINT (or is a
    // Python thread a cell started, where CPython's handler only trips its flag), so it reaches
    // the cell or waits, pending.
    kill(getpid(), SIGINT);
    return true;
}

bool posix_interrupts::wait(double seconds) {
    if (!(seconds > 0)) seconds = 0;
    struct pollfd pfd = {m_read, POLLIN, 0};
    int rc;
#ifdef __linux__
    struct timespec ts;
    double whole = std::floor(seconds);
    if (whole > static_cast<double>(INT_MAX)) whole = INT_MAX;  // callers loop on the remainder
    ts.tv_sec = static_cast<time_t>(whole);
    ts.tv_nsec = static_cast<long>((seconds - std::floor(seconds)) * 1e9);
    if (ts.tv_nsec >= 1000000000L) ts.tv_nsec = 999999999L;
    rc = ppoll(&pfd, 1, &ts, nullptr);
#else
    double ms = std::ceil(seconds * 1000.0);
    rc = poll(&pfd, 1, ms > INT_MAX ? INT_MAX : static_cast<int>(ms));
#endif
    if (rc > 0) {
        drain();
        return true;
    }
    return rc < 0 && errno == EINTR;
}

int posix_interrupts::call_interruptibly(const std::function<bool()>& blocking) {
    // Bytes written before now belong to handlers that already ran (or to the flag checked
    // next); only new ones may poke.
    drain();
    if (take_tripped()) return SIGINT;
    install_poke_handler();
    int stop[2];
    if (pipe(stop) != 0) throw std::system_error(errno, std::generic_category(), "kite: pipe");
    const pthread_t target = pthread_self();
    const int wakeup = m_read;
    std::thread watcher([stop, target, wakeup] {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, nullptr);
        // 1. Wait until a handler writes the wakeup pipe (or the wait ends). The pipe is not
        //    drained here (the main thread reads it after EINTR): it stays readable from now on.
        struct pollfd fds[2] = {{wakeup, POLLIN, 0}, {stop[0], POLLIN, 0}};
        for (;;) {
            int rc = poll(fds, 2, -1);
            if (rc < 0 && errno == EINTR) continue;
            if (rc < 0 || fds[1].revents) return;
            if (fds[0].revents) break;
        }
        // 2. Poke, then again every k_poke_interval_ms until the wait is over (a poke can land
        //    just before the wait enters poll and be lost, like the signal itself). Only the
        //    stop pipe is watched from here: polling the (still readable) wakeup pipe would
        //    return at once and send pokes back to back. The poke is a real-time signal, so
        //    each one is queued: a flood of them kept the main thread in its signal handlers
        //    for seconds (issue 14), unable to leave the wait they were meant to end.
        struct pollfd stop_fd = {stop[0], POLLIN, 0};
        for (;;) {
            pthread_kill(target, poke_signal());
            int rc = poll(&stop_fd, 1, k_poke_interval_ms);
            if (rc > 0 || (rc < 0 && errno != EINTR)) return;
        }
    });
    auto finish = [&] {
        char byte = 0;
        while (write(stop[1], &byte, 1) < 0 && errno == EINTR) {
        }
        watcher.join();
        close(stop[0]);
        close(stop[1]);
    };
    bool completed;
    try {
        completed = blocking();
    } catch (...) {
        finish();
        throw;
    }
    finish();
    if (completed) return 0;
    // EINTR: SIGINT if CPython's handler tripped (its Python handler runs when the caller
    // re-raises it); otherwise another signal CPython handled (its number is in the pipe).
    if (take_tripped()) return SIGINT;
    unsigned char buf[64];
    int found = 0;
    ssize_t n;
    while ((n = read(m_read, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n && !found; ++i)
            if (buf[i] != 0 && buf[i] != SIGINT) found = buf[i];
    }
    return found;
}

}  // namespace kite
