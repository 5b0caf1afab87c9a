// The Emscripten entry point: two functions exported with embind, called by wasm/js/worker.js.
//   start(configJson) -> replyJson   once, after the stdlib is in MEMFS: initialises CPython
//   handle(msgType, contentJson) -> replyJson   one request (DEVELOPERS.md "Worker messages")
// Replies are JSON text ({"status": "ok" | "error", ...}); a C++ exception becomes an error reply.
// A wasm trap or abort is not caught here: it reaches worker.js, which reports it as fatal.
#include <emscripten/bind.h>

#include <exception>
#include <memory>
#include <string>

#include "python_interpreter.hpp"
#include "wasm_interrupt_source.hpp"
#include "wasm_output_channel.hpp"

#ifndef KITE_WASM_RECURSION_LIMIT
#define KITE_WASM_RECURSION_LIMIT 1000
#endif

namespace {

using kite::json;

kite::wasm::wasm_output_channel g_output;
kite::wasm::wasm_interrupt_source g_interrupts;
std::unique_ptr<kite::python_interpreter> g_interpreter;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string error(const std::string& ename, const std::string& evalue) {
    return dump({{"status", "error"}, {"ename", ename}, {"evalue", evalue}, {"traceback", json::array()}});
}

// config: {"home": "/", "argv": [...], "recursion_limit": N} (all optional)
std::string start(const std::string& config_json) {
    if (g_interpreter) return error("RuntimeError", "kite: Python is already started in this worker");
    try {
        json cfg = json::parse(config_json);
        kite::python_config config;
        config.home = cfg.value("home", std::string("/"));
        config.recursion_limit = cfg.value("recursion_limit", KITE_WASM_RECURSION_LIMIT);
        if (cfg.contains("argv") && cfg["argv"].is_array())
            for (const auto& a : cfg["argv"]) config.argv.push_back(a.get<std::string>());
        auto interp = std::make_unique<kite::python_interpreter>(g_output, g_interrupts, config);
        interp->configure();
        // CPython's own interrupt hook: polls the shared buffer in the eval loop
        kite::wasm::enable_cpython_signal_polling();
        g_interpreter = std::move(interp);
        return dump({{"status", "ok"},
                     {"recursion_limit", config.recursion_limit},
                     {"interruptible", kite::wasm::has_shared_buffer()}});
    } catch (const std::exception& e) {
        return error("StartupError", e.what());
    }
}

std::string handle(const std::string& msg_type, const std::string& content_json) {
    if (!g_interpreter) return error("RuntimeError", "kite: Python is not started (call start first)");
    json content;
    try {
        content = json::parse(content_json);
    } catch (const std::exception& e) {
        return error("MalformedMessage", std::string("the content of ") + msg_type + " is not valid JSON: " + e.what());
    }
    try {
        return dump(g_interpreter->handle_request(msg_type, content));
    } catch (const std::exception& e) {
        return error("InternalError", std::string("kite: ") + msg_type + " failed: " + e.what());
    }
}

}  // namespace

EMSCRIPTEN_BINDINGS(kite) {
    emscripten::function("start", &start);
    emscripten::function("handle", &handle);
}
