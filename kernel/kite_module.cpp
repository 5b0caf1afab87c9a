#include "kite_module.hpp"

#include <chrono>
#include <csignal>
#include <cmath>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "py_json.hpp"

namespace kite {

int raise_pending_signal(interrupt_source& interrupts, int signal) {
    int sig = signal ? signal : interrupts.take();
    if (sig) PyErr_SetInterruptEx(sig);
    return PyErr_CheckSignals();
}

namespace detail {
namespace {

output_channel* g_output = nullptr;
interrupt_source* g_interrupts = nullptr;
url_fetcher* g_fetcher = nullptr;
extension_preloader* g_preloader = nullptr;
PyObject* g_flush_hook = nullptr;  // strong reference

bool host_attached() {
    if (g_output && g_interrupts) return true;
    PyErr_SetString(PyExc_RuntimeError, "kite: no host is attached to the interpreter");
    return false;
}

// The bytes of each buffer-protocol object in `seq` (bytes, bytearray, memoryview, arrays).
bool buffers_from_python(PyObject* seq, std::vector<std::string>& out) {
    if (seq == nullptr || seq == Py_None) return true;
    py::ref items(PySequence_Fast(seq, "buffers must be a list of bytes-like objects"));
    if (!items) return false;
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(items.get());
    for (Py_ssize_t i = 0; i < n; ++i) {
        Py_buffer view;
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(items.get(), i), &view, PyBUF_CONTIG_RO) < 0) return false;
        out.emplace_back(static_cast<const char*>(view.buf), static_cast<size_t>(view.len));
        PyBuffer_Release(&view);
    }
    return true;
}

// publish(msg_type: str, content, metadata=None, buffers=None) -> None
PyObject* kite_publish(PyObject*, PyObject* args, PyObject* kwargs) {
    static const char* keywords[] = {"msg_type", "content", "metadata", "buffers", nullptr};
    const char* msg_type;
    PyObject* content;
    PyObject* metadata = Py_None;
    PyObject* buffers = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sO|OO:publish", const_cast<char**>(keywords), &msg_type,
                                     &content, &metadata, &buffers))
        return nullptr;
    if (!host_attached()) return nullptr;
    std::vector<std::string> bytes;
    if (!buffers_from_python(buffers, bytes)) return nullptr;
    try {
        g_output->publish(msg_type, py::from_python(content),
                          metadata == Py_None ? json::object() : py::from_python(metadata), std::move(bytes));
    } catch (const std::bad_alloc&) {
        return PyErr_NoMemory();  // e.g. print() of a huge string: as ipykernel, a MemoryError
    } catch (const std::exception& e) {
        PyErr_Format(PyExc_RuntimeError, "kite: publish failed: %s", e.what());
        return nullptr;
    }
    Py_RETURN_NONE;
}

// check_signals() -> None: delivers a signal that is pending for the running cell (a signal that
// arrived during the cell's last C call, which the eval loop's periodic check never reached).
PyObject* kite_check_signals(PyObject*, PyObject*) {
    if (!host_attached()) return nullptr;
    if (raise_pending_signal(*g_interrupts) < 0) return nullptr;
    Py_RETURN_NONE;
}

// input(prompt: str, password: bool) -> str, or None when the host cannot answer input.
// A signal that cuts the request short is raised; if its handler returns, we ask again.
PyObject* kite_input(PyObject*, PyObject* args) {
    const char* prompt;
    Py_ssize_t prompt_len;
    int password;
    if (!PyArg_ParseTuple(args, "s#p:input", &prompt, &prompt_len, &password)) return nullptr;
    if (!host_attached()) return nullptr;
    const std::string text(prompt, static_cast<size_t>(prompt_len));
    for (;;) {
        input_result result;
        std::string failure;
        Py_BEGIN_ALLOW_THREADS
        try {
            result = g_output->input(text, password != 0);
        } catch (const std::exception& e) {
            failure = e.what();
            if (failure.empty()) failure = "unknown error";
        }
        Py_END_ALLOW_THREADS
        if (!failure.empty()) {
            PyErr_Format(PyExc_RuntimeError, "kite: input failed: %s", failure.c_str());
            return nullptr;
        }
        if (!result.supported) Py_RETURN_NONE;
        if (result.signal) {
            if (raise_pending_signal(*g_interrupts, result.signal) < 0) return nullptr;
            continue;
        }
        std::string& value = result.value;
        if (!value.empty() && value.back() == '\n') value.pop_back();
        if (!value.empty() && value.back() == '\r') value.pop_back();
        return py::to_python(value);
    }
}

// Validates the duration exactly like CPython's time.sleep (same exception types and messages).
bool sleep_seconds(PyObject* arg, double& secs) {
    if (PyFloat_Check(arg)) {
        secs = PyFloat_AsDouble(arg);
        if (std::isnan(secs)) {
            PyErr_SetString(PyExc_ValueError, "Invalid value NaN (not a number)");
            return false;
        }
    } else {
        py::ref index(PyNumber_Index(arg));  // TypeError "'str' object cannot be interpreted..."
        if (!index) return false;
        secs = PyLong_AsDouble(index.get());
        if (secs == -1.0 && PyErr_Occurred()) secs = HUGE_VAL, PyErr_Clear();
    }
    if (std::fabs(secs) > 9.2e9) {  // _PyTime_t holds nanoseconds in 64 bits
        PyErr_SetString(PyExc_OverflowError, "timestamp too large to convert to C _PyTime_t");
        return false;
    }
    if (secs < 0) {
        PyErr_SetString(PyExc_ValueError, "sleep length must be non-negative");
        return false;
    }
    return true;
}

// Waits up to `arg` seconds on the host's interrupt source without busy-waiting; a signal that
// wakes it is handed to CPython. Returns 1 if a signal's handler ran and returned, 0 when the
// time passed, -1 with a Python error (bad argument, or a handler raised). With
// `stop_on_signal` false, a handler that returns does not shorten the wait (PEP 475).
int interruptible_wait(PyObject* arg, bool stop_on_signal) {
    double secs;
    if (!sleep_seconds(arg, secs)) return -1;
    if (!host_attached()) return -1;
    if (flush_streams() < 0) return -1;
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                             std::chrono::duration<double>(secs));
    for (;;) {
        double remaining = std::chrono::duration<double>(deadline - clock::now()).count();
        if (remaining <= 0) return 0;
        bool woken = false;
        std::string failure;
        Py_BEGIN_ALLOW_THREADS
        try {
            woken = g_interrupts->wait(remaining);
        } catch (const std::exception& e) {
            failure = e.what();
            if (failure.empty()) failure = "unknown error";
        }
        Py_END_ALLOW_THREADS
        if (!failure.empty()) {
            PyErr_Format(PyExc_RuntimeError, "kite: wait failed: %s", failure.c_str());
            return -1;
        }
        if (woken) {
            if (raise_pending_signal(*g_interrupts) < 0) return -1;
            if (stop_on_signal) return 1;
        }
    }
}

// sleep(secs): time.sleep that wakes on interrupts instead of busy-waiting.
PyObject* kite_sleep(PyObject*, PyObject* arg) {
    if (interruptible_wait(arg, /*stop_on_signal=*/false) < 0) return nullptr;
    Py_RETURN_NONE;
}

// wait(seconds) -> bool: like sleep, but returns True as soon as a signal's handler has run and
// returned (False when the time passed). What kite's asyncio selector waits with on wasm: a
// handler that schedules a callback (asyncio.Runner's SIGINT handler cancels the main task)
// must wake the loop, as the self-pipe does natively. A handler that raises ends the wait.
PyObject* kite_wait(PyObject*, PyObject* arg) {
    int r = interruptible_wait(arg, /*stop_on_signal=*/true);
    if (r < 0) return nullptr;
    return PyBool_FromLong(r);
}

// preload_extension(path) -> bool: hands an extension module file to the host to load before
// its import (wasm: side modules are compiled while the worker is idle). False: nothing to do.
PyObject* kite_preload_extension(PyObject*, PyObject* args) {
    const char* path = nullptr;
    if (!PyArg_ParseTuple(args, "s:preload_extension", &path)) return nullptr;
    if (!g_preloader) Py_RETURN_FALSE;
    g_preloader->preload(path);
    Py_RETURN_TRUE;
}

// has_fetch() -> bool: whether the host fetches (wasm); if not, Python uses urllib.
PyObject* kite_has_fetch(PyObject*, PyObject*) { return PyBool_FromLong(g_fetcher != nullptr); }

// fetch(url, headers=None) -> (status, headers: dict, body: bytes): an HTTP GET by the host.
// OSError when nothing answered. A signal pending during the fetch abandons it and is handed to
// CPython as in sleep (KeyboardInterrupt by default); if its handler returns, the fetch starts
// again (PEP 475).
PyObject* kite_fetch(PyObject*, PyObject* args, PyObject* kwargs) {
    static const char* keywords[] = {"url", "headers", nullptr};
    const char* url;
    PyObject* headers = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|O:fetch", const_cast<char**>(keywords), &url, &headers))
        return nullptr;
    if (!g_fetcher) {
        PyErr_SetString(PyExc_NotImplementedError, "kite: this host does not fetch (use urllib)");
        return nullptr;
    }
    if (!host_attached()) return nullptr;
    json request_headers = headers == Py_None ? json::object() : py::from_python(headers);
    if (PyErr_Occurred()) return nullptr;
    if (flush_streams() < 0) return nullptr;
    const std::string target(url);
    for (;;) {
        fetch_result result;
        std::string failure;
        Py_BEGIN_ALLOW_THREADS
        try {
            result = g_fetcher->fetch(target, request_headers);
        } catch (const std::exception& e) {
            failure = e.what();
            if (failure.empty()) failure = "unknown error";
        }
        Py_END_ALLOW_THREADS
        if (!failure.empty()) result.error = failure;
        if (result.signal) {
            if (raise_pending_signal(*g_interrupts) < 0) return nullptr;
            continue;
        }
        // without a shared buffer the fetch could not watch for signals: deliver one now
        if (raise_pending_signal(*g_interrupts) < 0) return nullptr;
        if (!result.error.empty()) {
            PyErr_Format(PyExc_OSError, "%s", result.error.c_str());
            return nullptr;
        }
        py::ref response_headers(py::to_python(result.headers));
        if (!response_headers) return nullptr;
        py::ref body(PyBytes_FromStringAndSize(result.body.data(), static_cast<Py_ssize_t>(result.body.size())));
        if (!body) return nullptr;
        return Py_BuildValue("(iOO)", result.status, response_headers.get(), body.get());
    }
}

// flush_later(seconds): batched stream text goes out after `seconds` even while Python computes
// (the host's timer, interrupt_source::flush_streams_after).
PyObject* kite_flush_later(PyObject*, PyObject* arg) {
    const double seconds = PyFloat_AsDouble(arg);
    if (seconds == -1.0 && PyErr_Occurred()) return nullptr;
    if (g_interrupts) g_interrupts->flush_streams_after(seconds);
    Py_RETURN_NONE;
}

// parent_header() -> dict: the header of the request being handled ({} between requests).
PyObject* kite_parent_header(PyObject*, PyObject*) {
    if (!host_attached()) return nullptr;
    return py::to_python(g_output->parent_header());
}

// set_flush_hook(callable or None): what sleep (and the C++ core) call to flush streams.
PyObject* kite_set_flush_hook(PyObject*, PyObject* hook) {
    if (hook != Py_None && !PyCallable_Check(hook)) {
        PyErr_SetString(PyExc_TypeError, "flush hook must be callable or None");
        return nullptr;
    }
    Py_XSETREF(g_flush_hook, hook == Py_None ? nullptr : Py_NewRef(hook));
    Py_RETURN_NONE;
}

// unraisablehook(unraisable): kite's sys.unraisablehook. A KeyboardInterrupt raised where CPython
// cannot propagate it (a finalizer or weakref callback: importlib's module-lock cleanup when an
// interrupt lands during an import) is printed as "ignored" and the cell runs on. Trip SIGINT
// again so it reaches the cell's own code. In C on purpose: Python code run after the trip,
// inside this hook, would raise it right here.
PyObject* kite_unraisablehook(PyObject*, PyObject* unraisable) {
    py::ref exc_type(PyObject_GetAttrString(unraisable, "exc_type"));
    if (!exc_type) return nullptr;
    if (exc_type.get() == PyExc_KeyboardInterrupt) {
        if (PyErr_SetInterruptEx(SIGINT) < 0) return nullptr;
        Py_RETURN_NONE;
    }
    PyObject* fallback = PySys_GetObject("__unraisablehook__");  // borrowed
    if (!fallback) Py_RETURN_NONE;
    return PyObject_CallOneArg(fallback, unraisable);
}

PyMethodDef methods[] = {
    {"publish", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(kite_publish)), METH_VARARGS | METH_KEYWORDS,
     "publish(msg_type, content, metadata=None, buffers=None): send an iopub message."},
    {"flush_later", kite_flush_later, METH_O,
     "flush_later(seconds): publish batched stream text after `seconds`, even during computation."},
    {"parent_header", kite_parent_header, METH_NOARGS,
     "parent_header() -> dict: the header of the request being handled."},
    {"check_signals", kite_check_signals, METH_NOARGS,
     "check_signals(): deliver a signal pending for the running cell."},
    {"input", kite_input, METH_VARARGS,
     "input(prompt, password) -> str, or None if the host cannot answer input requests."},
    {"sleep", kite_sleep, METH_O, "sleep(seconds): interruptible time.sleep."},
    {"wait", kite_wait, METH_O,
     "wait(seconds) -> bool: interruptible wait; True early once a signal handler has run."},
    {"unraisablehook", kite_unraisablehook, METH_O,
     "unraisablehook(unraisable): sys.unraisablehook that re-delivers swallowed interrupts."},
    {"fetch", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(kite_fetch)), METH_VARARGS | METH_KEYWORDS,
     "fetch(url, headers=None) -> (status, headers, body): an HTTP GET by the host (wasm)."},
    {"preload_extension", kite_preload_extension, METH_VARARGS,
     "preload_extension(path) -> bool: let the host load an extension module before its import."},
    {"has_fetch", kite_has_fetch, METH_NOARGS, "has_fetch() -> bool: whether the host fetches."},
    {"set_flush_hook", kite_set_flush_hook, METH_O,
     "set_flush_hook(callable): called to flush buffered streams before blocking."},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_kite",
                          "Hooks of the kite kernel's C++ core (internal).", -1, methods,
                          nullptr, nullptr, nullptr, nullptr};

}  // namespace

void set_module_host(output_channel* output, interrupt_source* interrupts) {
    g_output = output;
    g_interrupts = interrupts;
}

void set_url_fetcher(url_fetcher* fetcher) { g_fetcher = fetcher; }

void set_extension_preloader(extension_preloader* preloader) { g_preloader = preloader; }

int flush_streams() {
    if (!g_flush_hook) return 0;
    py::ref hook(Py_NewRef(g_flush_hook));  // the hook may replace itself
    py::ref result(PyObject_CallNoArgs(hook.get()));
    return result ? 0 : -1;
}

PyObject* init_kite_module() { return PyModule_Create(&module_def); }

}  // namespace detail

namespace {
int pending_stream_flush(void*) {
    if (detail::flush_streams() < 0) {
        // An interrupt (a signal handler ran during the flush) belongs to the user's code: -1
        // raises it there. A failure of the flush itself is not the user's error.
        if (!PyErr_ExceptionMatches(PyExc_Exception)) return -1;
        PyErr_Clear();
    }
    return 0;
}
}  // namespace

void request_stream_flush() { Py_AddPendingCall(pending_stream_flush, nullptr); }
}  // namespace kite
