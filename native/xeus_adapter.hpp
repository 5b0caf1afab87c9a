// The ZeroMQ transport of kite-native: xeus (Debian's xeus-dev 2.4.1) used only as a server
// (sockets, framing, HMAC signatures, heartbeat). Every message goes to kite::kernel_core; every
// message the core produces comes back through message_transport. Everything xeus-specific lives
// in xeus_adapter.cpp; main.cpp and the core never include xeus.
// README.md in this directory says what a port to xeus >= 3 (xeus-zmq, conda's xeus 6) changes.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "host_services.hpp"
#include "kernel_core.hpp"
#include "posix_interrupts.hpp"

namespace kite::native {

// The largest message (header + parent_header + metadata + content + buffers, in bytes) passed to
// the core; a larger one is answered with an error `MessageTooLarge` from its header alone (the
// rest is never parsed). The same default as kite-node; 0 = no limit.
constexpr std::size_t default_max_message_bytes = 64u * 1024u * 1024u;

class xeus_transport final : public kite::message_transport {
public:
    // Reads the connection file and binds the sockets (no thread starts yet). Throws
    // std::runtime_error when the file cannot be read or a port cannot be bound. `interrupts`
    // makes the stdin wait end on SIGINT (posix_interrupts::call_interruptibly).
    // `max_message_bytes`: the message size limit (0 = none).
    xeus_transport(const std::string& connection_file, kite::posix_interrupts& interrupts,
                   std::size_t max_message_bytes = default_max_message_bytes);
    ~xeus_transport() override;
    xeus_transport(const xeus_transport&) = delete;
    xeus_transport& operator=(const xeus_transport&) = delete;

    // Replies go to the client that sent the request (by parent_header.msg_id), iopub is
    // published; safe from any thread.
    void send(kite::message msg) override;
    // Main thread, inside an execute request: sends the input_request and blocks until the
    // input_reply, or until a signal (SIGINT during the wait always ends it).
    kite::input_result request_input(kite::message request) override;
    void log(const std::string& text) override;

    // Publishes core.starting_message() and serves: shell (and stdin) on the calling (main)
    // thread, control on its own thread, until the core has answered a shutdown_request. xeus
    // 2.4.1 then ends the process (exit(0)), so this does not return on success.
    int serve(kite::kernel_core& core);

private:
    struct impl;
    std::unique_ptr<impl> m;
};

}  // namespace kite::native
