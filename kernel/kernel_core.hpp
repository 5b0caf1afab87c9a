// kite's protocol core, modelled on xeus's kernel core: it takes whole Jupyter messages and
// produces whole messages. Every rule of the protocol lives here, once, for every host:
//  - status busy/idle around every request, with the request as parent;
//  - execute_input and execution counting (ipykernel's: a non-silent cell announces the next
//    number; only store_history cells take it);
//  - stop_on_error: after an error reply, execute requests the client sent before that moment
//    are answered "aborted" without running;
//  - reply envelopes for every request type, validation of content (MalformedRequest errors),
//    unknown *_request types answered with an error, other unknown types logged;
//  - comms (comm_open/msg/close in, comm_* publications out, with buffers) and comm_info;
//  - a request context: every message published while a request runs carries its header as
//    parent_header;
//  - the interrupt contract: interrupt_source::begin_request / end_request around each request.
// Hosts (the wasm worker, xeus natively) are transport: they deliver messages to handle() and
// send what comes out of message_transport::send().
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "host_services.hpp"
#include "interpreter.hpp"

namespace kite {

class kernel_core {
public:
    // transport and interrupts are the host's and must outlive the core.
    kernel_core(message_transport& transport, interrupt_source& interrupts);
    kernel_core(const kernel_core&) = delete;
    kernel_core& operator=(const kernel_core&) = delete;

    // What the interpreter publishes through (construct the interpreter with it).
    output_channel& output() { return m_output; }
    // The interpreter that answers requests; configure() it first. Caches kernel_info.
    void attach(interpreter& interp);

    // One message from a client (shell, control or stdin channel), handled synchronously.
    // Shell messages must come one at a time; control messages may come from another thread
    // while a shell request runs (kernel_info, interrupt and shutdown never wait for it).
    void handle(message msg);

    // The status message a host publishes once when it starts ("starting", no parent).
    message starting_message();
    // Builds a message with a fresh header (msg_id, session, date, ...).
    message make_message(const std::string& channel, const std::string& msg_type, json content,
                         const json& parent_header, json metadata = json::object(),
                         std::vector<std::string> buffers = {}) const;

    // True once a shutdown_request was answered: the host stops serving.
    bool shutdown_requested() const { return m_shutdown.load(); }
    bool restart_requested() const { return m_restart.load(); }
    int execution_count() const { return m_execution_count; }
    // The kernel_info_reply content (status, protocol_version included); set by attach().
    const json& kernel_info() const { return m_kernel_info; }
    const std::string& session() const { return m_session; }

private:
    class publisher final : public output_channel {
    public:
        explicit publisher(kernel_core& core) : m_core(core) {}
        void publish(const std::string& msg_type, json content, json metadata,
                     std::vector<std::string> buffers) override;
        input_result input(const std::string& prompt, bool password) override;
        json parent_header() const override;
    private:
        kernel_core& m_core;
    };

    void handle_shell(const message& msg);
    void handle_control(const message& msg);
    json dispatch(const message& msg, const std::string& type, bool& has_reply);
    json execute(const message& msg);
    void reply(const message& request, const std::string& reply_type, json content);
    void status(const json& parent, const char* state);
    bool should_abort(const message& msg) const;

    message_transport& m_transport;
    interrupt_source& m_interrupts;
    publisher m_output{*this};
    interpreter* m_interpreter = nullptr;
    json m_kernel_info;
    std::string m_session;
    int m_execution_count = 0;
    std::string m_abort_before;  // ISO date of the last stop_on_error failure ("" = none)
    std::mutex m_shell_mutex;    // one shell (or non-trivial control) request at a time
    std::mutex m_parent_mutex;
    json m_parent = json::object();  // header of the shell request being handled
    bool m_allow_stdin = false;
    std::atomic<bool> m_shutdown{false};
    std::atomic<bool> m_restart{false};
};

}  // namespace kite
