// kite::python_interpreter: the interpreter interface implemented over an embedded CPython 3.11.
// One per process (CPython is initialised once, by configure(), and never finalised).
#pragma once

#include <string>
#include <vector>

#include "host_services.hpp"
#include "interpreter.hpp"

namespace kite {

struct python_config {
    std::string home;                // PYTHONHOME; empty = default (natively: the linked CPython's)
    int recursion_limit = 0;         // 0 = keep CPython's default
    std::vector<std::string> argv;   // sys.argv; empty = [""]
    bool use_environment = false;    // honour PYTHON* environment variables (PYTHONPATH, ...)
    url_fetcher* fetcher = nullptr;  // the host's HTTP GET for `_kite.fetch` (wasm); none: urllib
    extension_preloader* preloader = nullptr;  // `_kite.preload_extension` (wasm); none: no-op
};

class python_interpreter : public interpreter {
public:
    python_interpreter(output_channel& output, interrupt_source& interrupts,
                       python_config config = {});
    ~python_interpreter() override;

private:
    void configure_impl() override;
    json execute_request_impl(int execution_count, const std::string& code, bool silent,
                              bool store_history, const json& user_expressions,
                              bool allow_stdin) override;
    json complete_request_impl(const std::string& code, int cursor_pos) override;
    json inspect_request_impl(const std::string& code, int cursor_pos, int detail_level) override;
    json is_complete_request_impl(const std::string& code) override;
    json kernel_info_request_impl() override;
    json history_request_impl(const json& content) override;
    json comm_info_request_impl(const json& content) override;
    void comm_message_impl(const message& msg) override;
    void shutdown_request_impl(bool restart) override;

    // Calls kite.kernel.<function>(*args) under the GIL; a Python exception becomes an error
    // reply content instead of escaping.
    json call_kernel(const char* function, const json& args);

    python_config m_config;
    bool m_configured = false;
};

}  // namespace kite
