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
    // The header of the request being handled ({} between requests): ipywidgets' Output widget
    // captures the outputs whose parent has this msg_id.
    virtual json parent_header() const { return json::object(); }
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
    // execute_request or comm_msg (a widget callback): the kinds an interrupt applies to
    bool execute = false;
    std::string date;      // the client's header.date (ISO 8601), "" if absent
    json header;           // the whole request header
};

// Where interrupts come from: the shared buffer in wasm, POSIX signals natively.
// The core brackets every request it handles with begin_request / end_request.
class interrupt_source {
public:
    virtual ~interrupt_source() = default;
    // A request starts. For an execute_request or a comm_msg (request.execute): drop a signal
    // meant for an earlier request and
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
    // Stream text was batched while Python runs: after `seconds`, have the interpreter flush it
    // (call kite::request_stream_flush(), from any thread) even if the code never returns to
    // kite (a loop that printed twice, then computes). A host that cannot: the text waits for
    // the next print, blocking call or the cell's end.
    virtual void flush_streams_after(double seconds) { (void)seconds; }
    // An interrupt_request reached the core (natively: on the control thread). Returns false
    // with `reason` set when this source cannot interrupt (the reply then says so).
    virtual bool interrupt(const json& request_header, std::string& reason) {
        (void)request_header;
        reason = "this host interrupts outside the kernel core";
        return false;
    }
};

// What a fetch came back with: an HTTP answer (status, headers, body), or a signal that cut it
// short (the fetch is abandoned), or a failure before any answer (no network, bad URL).
struct fetch_result {
    int status = 0;
    json headers = json::object();  // lower-case names -> values
    std::string body;
    int signal = 0;     // non-zero: abandoned because this signal is pending
    std::string error;  // non-empty: nothing answered (status is meaningless)
};

// Optional: an HTTP GET done by the host, for hosts where Python has no sockets (wasm). Absent
// (nullptr), Python fetches with urllib. Blocks until the answer, a failure, or a pending signal
// inside an execute_request (then returns with `signal` set, without taking it).
class url_fetcher {
public:
    virtual ~url_fetcher() = default;
    virtual fetch_result fetch(const std::string& url, const json& headers) = 0;
};

// Optional: loads a C extension module (a shared library) ahead of its import where that does
// not block Python (wasm: the worker compiles and instantiates the side module while it waits
// for the next message, so the import finds it ready). Absent, the import loads it as usual.
class extension_preloader {
public:
    virtual ~extension_preloader() = default;
    virtual void preload(const std::string& path) = 0;
};

}  // namespace kite
