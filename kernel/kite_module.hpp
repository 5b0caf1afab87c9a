// `_kite`: the built-in extension module through which kite's Python helpers reach the host's
// servers (publish, input), wait without the GIL (time.sleep) and receive injected signals.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "host_services.hpp"

namespace kite {

// Makes a signal act in Python: `signal`, or if 0 the one `interrupts.take()` returns, is handed
// to CPython (PyErr_SetInterruptEx), then PyErr_CheckSignals() runs its handler. Returns -1 with
// a Python exception set when the handler raised (KeyboardInterrupt by default), else 0 (no
// signal, SIG_IGN, or a handler that returned). Call with the GIL on the main thread.
int raise_pending_signal(interrupt_source& interrupts, int signal = 0);

// Schedules a flush of batched stream text at CPython's next eval-breaker check (Py_AddPendingCall:
// any thread, no GIL needed). What interrupt_source::flush_streams_after calls when its time is up.
void request_stream_flush();

namespace detail {

// The servers the module's functions use; nullptr detaches them (calls then raise RuntimeError).
void set_module_host(output_channel* output, interrupt_source* interrupts);
// The host's fetcher (`_kite.fetch`); nullptr: none (Python uses urllib).
void set_url_fetcher(url_fetcher* fetcher);
void set_extension_preloader(extension_preloader* preloader);
// Calls the flush hook the Python side registered (publishes buffered stream text). -1 on error.
int flush_streams();
// For PyImport_AppendInittab("_kite", ...).
PyObject* init_kite_module();

}  // namespace detail
}  // namespace kite
