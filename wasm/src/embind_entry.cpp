// The Emscripten entry point, xeus-lite style (the names @jupyterlite/xeus uses for xeus kernels):
//   const kernel = new Module.xkernel(config?)   config: {home, argv, recursion_limit} (all
//                                                 optional) or an argv array; starts CPython
//   kernel.start() -> JSON text                   publishes status "starting"; {"status": "ok",
//                                                 "recursion_limit", "interruptible"} or an error
//   kernel.get_server().notify_listener(msg)      one whole Jupyter message (a plain JS object
//                                                 {channel, header, parent_header, metadata,
//                                                 content, buffers}), handled synchronously by
//                                                 kite::kernel_core
// Everything the core produces leaves through wasm_transport (Module.kiteSend). The server
// counts notify_listener calls (1, 2, 3, ...: the controller numbers the messages it posts the
// same way; wasm_interrupt_source aims interrupts with it). A C++ exception never leaves here: a
// malformed message becomes an error reply from the core or a log line. A wasm trap or abort is
// not caught: it reaches worker.js, which reports it as fatal.
#include <emscripten.h>
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>

#include "kernel_core.hpp"
#include "python_interpreter.hpp"
#include "wasm_interrupt_source.hpp"
#include "wasm_transport.hpp"
#include "wasm_extension_preloader.hpp"
#include "wasm_url_fetcher.hpp"

#ifndef KITE_WASM_RECURSION_LIMIT
#define KITE_WASM_RECURSION_LIMIT 1000
#endif

namespace {

using emscripten::val;
using kite::json;

// Implemented in JavaScript: wasm/src/kite-library.js.
extern "C" void kite_js_note_sequence(unsigned seq);

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Everything one worker runs. CPython is initialised once per process: one of these at most.
struct wasm_kernel {
    std::uint32_t seq = 0;  // notify_listener calls so far = the seq of the current message
    kite::wasm::wasm_transport transport;
    kite::wasm::wasm_interrupt_source interrupts{seq};
    kite::wasm::wasm_url_fetcher fetcher{interrupts};
    kite::wasm::wasm_extension_preloader preloader;
    kite::kernel_core core{transport, interrupts};
    kite::python_config config;
    std::unique_ptr<kite::python_interpreter> interpreter;
    std::string error;  // why Python did not start ("" = it did)
    bool started = false;
};

std::unique_ptr<wasm_kernel> g_kernel;

class xserver {
public:
    explicit xserver(wasm_kernel& k) : m_kernel(k) {}

    void notify_listener(val msg) {
        wasm_kernel& k = m_kernel;
        ++k.seq;  // every call counts, a malformed message too: the controller counted it
        kite_js_note_sequence(k.seq);
        try {
            k.core.handle(decode(msg));
        } catch (const std::exception& e) {
            k.transport.log(std::string("kite: a message could not be handled: ") + e.what());
        } catch (...) {
            k.transport.log("kite: a message could not be handled (unknown C++ exception)");
        }
    }

    unsigned message_count() const { return m_kernel.seq; }

private:
    // The JS object -> kite::message. A part that cannot be read becomes JSON null (the core
    // then answers "malformed", or drops a message without a usable header, with a log line).
    kite::message decode(const val& msg) {
        kite::message m;
        val enc = val::module_property("kiteEncodeMessage")(msg);
        m.channel = enc["channel"].as<std::string>();
        std::string problems;
        val errors = enc["errors"];
        for (unsigned i = 0, n = errors["length"].as<unsigned>(); i < n; ++i)
            problems += (problems.empty() ? "" : "; ") + errors[i].as<std::string>();
        auto part = [&](const char* name, json& out) {
            std::string text = enc[name].as<std::string>();
            out = json::parse(text, nullptr, /*allow_exceptions=*/false);
            if (out.is_discarded()) {
                problems += (problems.empty() ? "the " : "; the ") + std::string(name) + " is not valid JSON";
                out = nullptr;
            }
        };
        part("header", m.header);
        part("parent_header", m.parent_header);
        part("metadata", m.metadata);
        part("content", m.content);
        val buffers = enc["buffers"];
        const unsigned nbuf = buffers["length"].as<unsigned>();
        m.buffers.reserve(nbuf);
        for (unsigned i = 0; i < nbuf; ++i) {
            val b = buffers[i];
            std::string bytes(b["length"].as<size_t>(), '\0');
            if (!bytes.empty()) {
                val(emscripten::typed_memory_view(bytes.size(), reinterpret_cast<unsigned char*>(bytes.data())))
                    .call<void>("set", b);
            }
            m.buffers.push_back(std::move(bytes));
        }
        if (!problems.empty()) {
            std::string type = m.header.is_object() ? m.header.value("msg_type", std::string("message"))
                                                    : std::string("message");
            m_kernel.transport.log("kite: malformed " + type + " (seq " + std::to_string(m_kernel.seq) +
                                   "): " + problems);
        }
        return m;
    }

    wasm_kernel& m_kernel;
};

class xkernel {
public:
    xkernel() : xkernel(val::undefined()) {}

    // config: {home, argv, recursion_limit} (each optional), or an argv array (xeus-lite's call).
    explicit xkernel(val config) {
        if (g_kernel) {
            m_error = "Python is already started in this worker (one xkernel per worker)";
            return;
        }
        g_kernel = std::make_unique<wasm_kernel>();
        wasm_kernel& k = *g_kernel;
        m_kernel = &k;
        try {
            json cfg = json::object();
            if (config.isArray()) {
                cfg["argv"] = json::parse(val::global("JSON").call<std::string>("stringify", config));
            } else if (!config.isUndefined() && !config.isNull()) {
                std::string text = val::global("JSON").call<std::string>("stringify", config);
                cfg = json::parse(text);
                if (!cfg.is_object()) throw std::runtime_error("the xkernel config is not an object");
            }
            k.config.fetcher = &k.fetcher;
            k.config.preloader = &k.preloader;
            k.config.home = cfg.value("home", std::string("/"));
            k.config.recursion_limit = cfg.value("recursion_limit", KITE_WASM_RECURSION_LIMIT);
            if (cfg.contains("argv") && cfg["argv"].is_array())
                for (const auto& a : cfg["argv"]) k.config.argv.push_back(a.is_string() ? a.get<std::string>() : a.dump());
            auto interp = std::make_unique<kite::python_interpreter>(k.core.output(), k.interrupts, k.config);
            interp->configure();
            // CPython's own interrupt hook reads i32[SIGNAL]; it polls only inside execute requests
            kite::wasm::attach_cpython_signal_buffer();
            k.core.attach(*interp);
            k.interpreter = std::move(interp);
        } catch (const std::exception& e) {
            k.error = e.what();
        } catch (...) {
            k.error = "unknown C++ exception while starting Python";
        }
        m_server = std::make_unique<xserver>(k);
    }

    xserver* get_server() { return m_server.get(); }

    // Publishes status "starting" (once). Returns JSON text: {"status": "ok", "recursion_limit",
    // "interruptible", "kernel_info"} or {"status": "error", "ename", "evalue"}. kernel_info is the
    // content of a kernel_info_reply: the controller answers kernel_info_request on control with
    // it while the worker runs a cell (a control request must not wait for the shell).
    std::string start() {
        if (!m_kernel) return dump({{"status", "error"}, {"ename", "RuntimeError"}, {"evalue", m_error}});
        wasm_kernel& k = *m_kernel;
        if (!k.error.empty() || !k.interpreter)
            return dump({{"status", "error"}, {"ename", "StartupError"}, {"evalue", k.error}});
        try {
            if (!k.started) {
                k.started = true;
                k.transport.send(k.core.starting_message());
            }
        } catch (const std::exception& e) {
            return dump({{"status", "error"}, {"ename", "StartupError"}, {"evalue", e.what()}});
        }
        json info = k.interpreter->kernel_info_request();
        if (!info.is_object()) info = json::object();
        info["status"] = "ok";
        info["protocol_version"] = "5.3";
        return dump({{"status", "ok"},
                     {"recursion_limit", k.config.recursion_limit},
                     {"interruptible", kite::wasm::can_interrupt()},
                     {"kernel_info", info}});
    }

private:
    wasm_kernel* m_kernel = nullptr;
    std::unique_ptr<xserver> m_server;
    std::string m_error;
};

}  // namespace

EMSCRIPTEN_BINDINGS(kite) {
    using namespace emscripten;
    class_<xserver>("xserver")
        .function("notify_listener", &xserver::notify_listener)
        .function("message_count", &xserver::message_count);
    class_<xkernel>("xkernel")
        .constructor<>()
        .constructor<val>()
        .function("get_server", &xkernel::get_server, allow_raw_pointers())
        .function("start", &xkernel::start);
}
