// kite-native: the Jupyter kernel process. `kite-native -f <connection_file>`.
// Wires the pieces: the POSIX interrupt source, the protocol core (kernel/kernel_core.hpp), the
// CPython interpreter and the xeus transport (xeus_adapter.hpp; no xeus include here). Also
// ends the process when the one that started it dies.
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include <pthread.h>
#include <unistd.h>

#include "kernel_core.hpp"
#include "posix_interrupts.hpp"
#include "python_interpreter.hpp"
#include "xeus_adapter.hpp"

namespace {

void usage(const char* argv0) {
    std::cerr << "usage: " << argv0 << " -f <connection_file> [--max-message-bytes N]\n"
              << "  a Jupyter kernel for Python 3.11 (kite, native); started by a Jupyter client"
              << " through the kite-native kernelspec\n"
              << "  --max-message-bytes N: refuse larger messages (MessageTooLarge); bytes or with a K/M/G"
              << " suffix, 0 = no limit; default 64M, or $KITE_MAX_MESSAGE_BYTES" << std::endl;
}

// Bytes from "67108864", "64M", "64MiB", "1g" (K/M/G are powers of 1024); false when unreadable.
bool parse_bytes(const std::string& text, std::size_t& out) {
    std::size_t i = 0;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const std::size_t start = i;
    double value = 0;
    bool fraction = false;
    double scale_fraction = 1;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (c >= '0' && c <= '9') {
            if (fraction) {
                scale_fraction /= 10;
                value += (c - '0') * scale_fraction;
            } else {
                value = value * 10 + (c - '0');
            }
        } else if (c == '.' && !fraction) {
            fraction = true;
        } else {
            break;
        }
    }
    if (i == start) return false;
    std::string unit;
    for (; i < text.size(); ++i)
        if (!std::isspace(static_cast<unsigned char>(text[i]))) unit += static_cast<char>(std::tolower(text[i]));
    double scale = 1;
    if (unit == "" || unit == "b") scale = 1;
    else if (unit == "k" || unit == "kb" || unit == "kib") scale = 1024.0;
    else if (unit == "m" || unit == "mb" || unit == "mib") scale = 1024.0 * 1024;
    else if (unit == "g" || unit == "gb" || unit == "gib") scale = 1024.0 * 1024 * 1024;
    else return false;
    const double bytes = value * scale;
    if (bytes > 9.0e18) return false;
    out = static_cast<std::size_t>(bytes);
    return true;
}

void block_sigint() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Earlier than main(): runs as soon as the dynamic loader hands over to this executable (before
// its other static initialisers). Only the exec + dynamic-loading window (well under a
// millisecond on an idle machine) remains where SIGINT has its default action. Every thread
// started later (ZeroMQ, xeus) inherits the blocked mask; posix_interrupts unblocks it in the
// main thread only while a cell runs.
__attribute__((constructor(101))) void block_sigint_early() { block_sigint(); }

// A kernel whose client died (SIGKILL, crash) would otherwise live on with parent 1, as ipykernel
// and kite-node do not: checks once a second that the parent is still the same process and,
// when the client exported JPY_PARENT_PID (jupyter_client does), that this process exists.
void exit_with_parent() {
    const pid_t parent = getppid();
    pid_t client = 0;
    if (const char* env = std::getenv("JPY_PARENT_PID")) client = static_cast<pid_t>(std::atol(env));
    std::thread([parent, client] {
        for (;;) {
            std::this_thread::sleep_for(std::chrono::seconds(1));
            const bool orphaned = getppid() != parent;
            const bool client_gone = client > 1 && kill(client, 0) != 0 && errno == ESRCH;
            if (orphaned || client_gone) {
                std::cerr << "kite-native: the process that started the kernel is gone; exiting"
                          << std::endl;
                // No clean-up: the main thread may be running a cell with the GIL.
                std::_Exit(0);
            }
        }
    }).detach();
}

}  // namespace

int main(int argc, char** argv) {
    block_sigint();  // idempotent; see block_sigint_early

    std::string connection_file;
    const char* limit_text = std::getenv("KITE_MAX_MESSAGE_BYTES");
    if (limit_text && !*limit_text) limit_text = nullptr;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--sigint-from-launcher") == 0) {
            // kite-native-launcher ignored SIGINT across exec; SIGINT is blocked now, so the
            // default disposition is safe again (and CPython only installs its handler over it).
            std::signal(SIGINT, SIG_DFL);
        } else if ((std::strcmp(argv[i], "-f") == 0 || std::strcmp(argv[i], "--connection-file") == 0) && i + 1 < argc) {
            connection_file = argv[++i];
        } else if (std::strcmp(argv[i], "--max-message-bytes") == 0 && i + 1 < argc) {
            limit_text = argv[++i];
        } else if (std::strncmp(argv[i], "--max-message-bytes=", 20) == 0) {
            limit_text = argv[i] + 20;
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
    std::size_t max_message_bytes = kite::native::default_max_message_bytes;
    if (limit_text && !parse_bytes(limit_text, max_message_bytes)) {
        std::cerr << "kite-native: bad message size limit '" << limit_text
                  << "' (KITE_MAX_MESSAGE_BYTES / --max-message-bytes): bytes, e.g. 67108864 or 64M; 0 = no limit"
                  << std::endl;
        return 2;
    }

    try {
        exit_with_parent();
        kite::posix_interrupts interrupts;  // main thread: the one that runs CPython
        kite::native::xeus_transport transport(connection_file, interrupts, max_message_bytes);
        kite::kernel_core core(transport, interrupts);
        kite::python_config config;
        config.argv = {argv[0]};
        kite::python_interpreter interpreter(core.output(), interrupts, config);
        interpreter.configure();
        interrupts.install();
        core.attach(interpreter);
        const int status = transport.serve(core);
        interrupts.stop_flush_timer();  // its thread takes the GIL: not while Python finalizes
        return status;
    } catch (const std::exception& e) {
        std::cerr << "kite-native: " << e.what() << std::endl;
        return 1;
    }
}
