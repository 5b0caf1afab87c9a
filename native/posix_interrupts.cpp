#include "posix_interrupts.hpp"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

namespace kite {
namespace {

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

}  // namespace

posix_interrupts::posix_interrupts() {
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

void posix_interrupts::discard_python_state() {
    drain();
    if (m_installed) set_wakeup_fd(m_write);
    // Clears CPython's tripped SIGINT flag without running a handler; only valid with the GIL
    // on the main thread (it returns 0 elsewhere).
    if (Py_IsInitialized() && PyGILState_Check()) PyOS_InterruptOccurred();
}

void posix_interrupts::clear() {
    // Marked busy: everything stale was dropped when the kernel went busy; what is pending now
    // arrived after that and belongs to this cell.
    if (m_busy.load()) return;
    discard_python_state();
}

void posix_interrupts::mark_busy() {
    // 1. A SIGINT sent while idle is pending (blocked in the main thread and in every xeus/ZeroMQ
    //    thread): consume it without running a handler.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    timespec zero{0, 0};
    while (sigtimedwait(&set, nullptr, &zero) == SIGINT) {
    }
    // 2. One that CPython's handler already saw (at the very end of the previous cell, or on a
    //    Python thread started by a cell, which inherited an unblocked mask): its tripped flag
    //    and its wakeup byte.
    if (Py_IsInitialized()) {
        PyGILState_STATE gil = PyGILState_Ensure();
        discard_python_state();
        PyGILState_Release(gil);
    }
    // 3. From here on, signals are kept: clear() at the cell's start must not drop them.
    m_busy.store(true);
}

void posix_interrupts::mark_idle() { m_busy.store(false); }

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

void posix_interrupts::interrupt_main() { kill(getpid(), SIGINT); }

}  // namespace kite
