// The xeus host of kite's interpreter: everything that depends on xeus (Debian's xeus-dev 2.4.1)
// lives behind this header, in xeus_adapter.cpp. main.cpp and the core never include xeus.
// README.md in this directory says what a port to xeus >= 3 (xeus-zmq, conda's xeus 6) changes.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "host_services.hpp"
#include "interpreter.hpp"

namespace kite::native {

struct kernel_hooks {
    // Builds the core over the adapter's output channel. Called once, on the main thread,
    // while xeus configures the kernel; CPython must be started by `configure()`, not here.
    std::function<std::unique_ptr<kite::interpreter>(kite::output_channel&)> make_interpreter;
    // Called on the main thread right after the core's configure() (CPython is up):
    // the place to register the interrupt source's wake-up fd.
    std::function<void()> after_configure;
    // Raises SIGINT in the kernel process (an interrupt_request on the control channel).
    // Called from xeus's control thread.
    std::function<void()> interrupt;
    // The kernel goes busy for an execute_request: called on the main thread, with SIGINT
    // blocked, right before xeus publishes `status: busy` for it. Signals that arrived earlier
    // (while idle) must be dropped here; later ones must reach the cell.
    std::function<void()> before_busy;
    // The execute_request is over: called on the main thread, with SIGINT blocked again, right
    // before xeus publishes `status: idle` for it.
    std::function<void()> before_idle;
};

// Call first thing in main(), before any thread exists: blocks SIGINT in the calling (main)
// thread, so every thread xeus and ZeroMQ create later inherits a mask with SIGINT blocked and a
// SIGINT that arrives before CPython is up stays pending (hooks.before_busy discards it).
void block_sigint_before_startup();

// Loads the connection file, builds the xeus kernel around the core and serves until a
// shutdown_request. xeus 2.4.1 ends the process itself (exit(0)) when the shell loop stops,
// so this normally does not return; its return value is an exit status for failures.
int run_kernel(const std::string& connection_file, kernel_hooks hooks);

}  // namespace kite::native
