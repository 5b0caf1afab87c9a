// The servers a host injects into kite's core (xeus's transport, and the source of interrupts).
// The core never knows whether it runs in a browser, Node or natively.
#pragma once

#include <string>

#include "message.hpp"

namespace kite {

// What an input request came back with: a value, or the signal that cut it short.
struct input_result {
    std::string value;
    int signal = 0;  // non-zero: the wait was cut by this signal number; value is meaningless
    bool supported = true;  // false: this host cannot answer input at all
};

// iopub and stdin as the *interpreter* sees them. kernel_core implements it: it adds headers,
// the parent header of the request being handled and buffers, then hands whole messages to the
// host's transport.
class output_channel {
public:
    virtual ~output_channel() = default;
    // msg_type: stream, display_data, update_display_data, execute_result, error, clear_output,
    // comm_open, comm_msg, comm_close.
    virtual void publish(const std::string& msg_type, json content, json metadata = json::object(),
                         std::vector<std::string> buffers = {}) = 0;
    // Blocks until the frontend answers the input_request or a signal arrives.
    virtual input_result input(const std::string& prompt, bool password) = 0;
};

// What the host moves: every message the core produces goes through here.
class message_transport {
public:
    virtual ~message_transport() = default;
    // A reply (shell/control) or an iopub publication. May be called from the thread of a
    // control request while a shell request runs on another: implementations serialise.
    virtual void send(message msg) = 0;
    // Sends `request` (an input_request on stdin) and blocks until the input_reply arrives
    // (value = its content's "value") or a signal cuts the wait (signal != 0).
    virtual input_result request_input(message request) = 0;
    // Diagnostics for the kernel's log (stderr natively and under Node, the console in a browser).
    virtual void log(const std::string& text);
};

// One request as the interrupt source needs to know it (the explicit interrupt contract).
struct request_info {
    bool execute = false;  // execute_request: the only kind an interrupt applies to
    std::string date;      // the client's header.date (ISO 8601), "" if absent
    json header;           // the whole request header
};

// Where interrupts come from: the shared buffer in wasm, POSIX signals natively.
// The core brackets every request it handles with begin_request / end_request.
class interrupt_source {
public:
    virtual ~interrupt_source() = default;
    // A request starts. For an execute_request: drop a signal meant for an earlier request and
    // keep one meant for this one; from now on signals reach Python. For any other request:
    // signals are held back (never delivered to completion, inspection, ...).
    virtual void begin_request(const request_info& request) = 0;
    // The request is over (its reply is about to go out): signals are held back again.
    virtual void end_request() = 0;
    // Block up to `seconds` (no busy loop); true if woken early by a signal or other event.
    virtual bool wait(double seconds) = 0;
    // The pending signal number for the running request, taken atomically (0 if none). Natively
    // CPython's own handlers see signals, so this returns 0 there.
    virtual int take() = 0;
    // An interrupt_request reached the core (natively: on the control thread). Returns false
    // with `reason` set when this source cannot interrupt (the reply then says so).
    virtual bool interrupt(const json& request_header, std::string& reason) {
        (void)request_header;
        reason = "this host interrupts outside the kernel core";
        return false;
    }
};

}  // namespace kite
