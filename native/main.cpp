// kite-native: the Jupyter kernel process. `kite-native -f <connection_file>`.
// Builds kite's interpreter core over the xeus adapter; all xeus-specific code is in
// xeus_adapter.cpp.
#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "posix_interrupts.hpp"
#include "python_interpreter.hpp"
#include "xeus_adapter.hpp"

namespace {

void usage(const char* argv0) {
    std::cerr << "usage: " << argv0 << " -f <connection_file>\n"
              << "  a Jupyter kernel for Python 3.11 (kite, native); started by a Jupyter client"
              << " through the kite-native kernelspec" << std::endl;
}

// Earlier than main(): runs as soon as the dynamic loader hands over to this executable (before
// its other static initialisers). Only the exec + dynamic-loading window (well under a
// millisecond on an idle machine) remains where SIGINT has its default action.
__attribute__((constructor(101))) void block_sigint_early() { kite::native::block_sigint_before_startup(); }

}  // namespace

int main(int argc, char** argv) {
    // Before anything else (before ZeroMQ or xeus start threads, before CPython installs its
    // handler): no SIGINT may end the process. See xeus_adapter.cpp for when it is let through.
    kite::native::block_sigint_before_startup();

    std::string connection_file;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--sigint-from-launcher") == 0) {
            // kite-native-launcher ignored SIGINT across exec; SIGINT is blocked now, so the
            // default disposition is safe again (and CPython only installs its handler over it).
            std::signal(SIGINT, SIG_DFL);
        } else if ((std::strcmp(argv[i], "-f") == 0 || std::strcmp(argv[i], "--connection-file") == 0) && i + 1 < argc) {
            connection_file = argv[++i];
        } else if (std::strncmp(argv[i], "--connection-file=", 18) == 0) {
            connection_file = argv[i] + 18;
        } else if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
            usage(argv[0]);
            return 0;
        }
    }
    if (connection_file.empty()) {
        usage(argv[0]);
        return 2;
    }

    try {
        kite::posix_interrupts interrupts;
        kite::python_config config;
        config.argv = {argv[0]};

        kite::native::kernel_hooks hooks;
        hooks.make_interpreter = [&](kite::output_channel& output) {
            return std::make_unique<kite::python_interpreter>(output, interrupts, config);
        };
        hooks.after_configure = [&] { interrupts.install(); };
        hooks.interrupt = [] { kite::posix_interrupts::interrupt_main(); };
        // Stale signals are dropped when the kernel goes busy, not when the cell starts: one the
        // client sends after it saw `busy` must stop that cell.
        hooks.before_busy = [&] { interrupts.mark_busy(); };
        hooks.before_idle = [&] { interrupts.mark_idle(); };
        return kite::native::run_kernel(connection_file, std::move(hooks));
    } catch (const std::exception& e) {
        std::cerr << "kite-native: " << e.what() << std::endl;
        return 1;
    }
}
