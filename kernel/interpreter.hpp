// kite's interpreter interface, modelled on xeus::xinterpreter: the language side of the kernel.
// A small public, non-virtual API taking and returning Jupyter *content* dicts, each forwarding to
// a private `_impl` hook. Protocol rules (headers, status, execute_input, counting, stop_on_error,
// reply envelopes, validation) are kernel_core's, never the interpreter's.
#pragma once

#include <string>

#include "host_services.hpp"

namespace kite {

class interpreter {
public:
    // The servers are owned by the host (or kernel_core) and must outlive the interpreter.
    interpreter(output_channel& output, interrupt_source& interrupts)
        : m_output(output), m_interrupts(interrupts) {}
    virtual ~interpreter() = default;
    interpreter(const interpreter&) = delete;
    interpreter& operator=(const interpreter&) = delete;

    void configure() { configure_impl(); }

    // execution_count: the number this cell gets (kernel_core counts; see there).
    json execute_request(int execution_count, const std::string& code, bool silent,
                         bool store_history, const json& user_expressions, bool allow_stdin) {
        return execute_request_impl(execution_count, code, silent, store_history, user_expressions,
                                    allow_stdin);
    }
    json complete_request(const std::string& code, int cursor_pos) {
        return complete_request_impl(code, cursor_pos);
    }
    json inspect_request(const std::string& code, int cursor_pos, int detail_level) {
        return inspect_request_impl(code, cursor_pos, detail_level);
    }
    json is_complete_request(const std::string& code) { return is_complete_request_impl(code); }
    json kernel_info_request() { return kernel_info_request_impl(); }
    json history_request(const json& content) { return history_request_impl(content); }
    // content: {"target_name": str or absent}
    json comm_info_request(const json& content) { return comm_info_request_impl(content); }
    // comm_open / comm_msg / comm_close from the frontend (no reply; errors are logged by the
    // interpreter's comm manager, as ipykernel does).
    void comm_message(const message& msg) { comm_message_impl(msg); }
    void shutdown_request(bool restart) { shutdown_request_impl(restart); }

protected:
    output_channel& output() { return m_output; }
    interrupt_source& interrupts() { return m_interrupts; }

private:
    virtual void configure_impl() = 0;
    virtual json execute_request_impl(int execution_count, const std::string& code, bool silent,
                                      bool store_history, const json& user_expressions,
                                      bool allow_stdin) = 0;
    virtual json complete_request_impl(const std::string& code, int cursor_pos) = 0;
    virtual json inspect_request_impl(const std::string& code, int cursor_pos, int detail_level) = 0;
    virtual json is_complete_request_impl(const std::string& code) = 0;
    virtual json kernel_info_request_impl() = 0;
    virtual json history_request_impl(const json& content) = 0;
    virtual json comm_info_request_impl(const json& content) = 0;
    virtual void comm_message_impl(const message& msg) = 0;
    virtual void shutdown_request_impl(bool restart) = 0;

    output_channel& m_output;
    interrupt_source& m_interrupts;
};

}  // namespace kite
