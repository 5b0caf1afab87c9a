// kite's interpreter: a small, xeus-like public interface over embedded CPython.
// Public methods take and return Jupyter *content* dicts (no headers); each forwards to a
// private `_impl` hook, as xeus::xinterpreter does, so a xeus or xeus-lite host is a thin adapter.
#pragma once

#include <memory>
#include <string>

#include "host_services.hpp"

namespace kite {

class interpreter {
public:
    // The servers are owned by the host and must outlive the interpreter.
    interpreter(output_channel& output, interrupt_source& interrupts);
    ~interpreter();
    interpreter(const interpreter&) = delete;
    interpreter& operator=(const interpreter&) = delete;

    // Starts CPython (with signal handlers installed) and the Python-side helpers.
    void configure();

    json execute_request(const std::string& code, bool silent, bool store_history,
                         const json& user_expressions, bool allow_stdin);
    json complete_request(const std::string& code, int cursor_pos);
    json inspect_request(const std::string& code, int cursor_pos, int detail_level);
    json is_complete_request(const std::string& code);
    json kernel_info_request();
    json history_request(const json& content);
    json comm_info_request(const json& content);
    void shutdown_request(bool restart);

    // Dispatches a request by msg_type (the hosts that pass messages as data use this);
    // unknown types give an error reply content naming the type.
    json handle_request(const std::string& msg_type, const json& content);

    int execution_count() const;

private:
    struct impl;
    std::unique_ptr<impl> m_impl;
};

}  // namespace kite
