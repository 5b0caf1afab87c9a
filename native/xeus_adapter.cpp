// The xeus 2.4.1 host of kite's interpreter. Everything specific to xeus is in this file:
//  - adapter:            xeus::xinterpreter -> kite::interpreter (requests), and
//                        kite::output_channel -> xeus publish/stdin (the core's servers);
//  - history_forwarder:  xeus::xhistory_manager -> kite::interpreter::history_request;
//  - interrupting_server: an xeus::xserver decorator around xeus's split ZeroMQ server
//                        (shell on the main thread, control on its own thread) that
//                        * turns an interrupt_request on the control channel into SIGINT,
//                        * puts the core's execution count into execute_input/execute_reply
//                          (xeus 2.4.1 keeps its own private counter and overwrites both),
//                        * serialises iopub sends (Python threads may print concurrently),
//                        * calls hooks.before_busy/before_idle around each execute_request
//                          (where stale signals are dropped, see below);
//  - a replacement of xeus::xzmq_serializer::deserialize that rejects malformed multipart
//    messages before xeus 2.4.1 parses them (it reads past the last frame otherwise).
// No kernel logic here: every request is answered by the core.
//
// Signals (see README.md): xeus's shell loop blocks in zmq_poll on the main thread, and xeus
// 2.4.1 lets the EINTR a signal handler causes there escape as zmq::error_t out of
// xkernel::start(), which kills the process. So SIGINT stays blocked in the main thread except
// while the core executes a cell, and is blocked for good in every xeus/ZeroMQ thread (they
// inherit the mask). Within a cell CPython's own handler runs: KeyboardInterrupt or the user's
// signal.signal handler; an input_request blocked on the stdin socket fails with EINTR, which
// the adapter reports to the core as an input cut by SIGINT.
// A SIGINT sent while idle stays pending and is dropped by hooks.before_busy, which runs on the
// main thread just before `status: busy` is published for an execute_request: a client can only
// interrupt "this" cell after it saw that busy, so whatever arrives after the hook (pending while
// the main thread still blocks SIGINT, then delivered when the cell unblocks it) reaches the
// cell. The core's own clear() at the cell's start is a no-op in that state (posix_interrupts).
#include "xeus_adapter.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <dlfcn.h>
#include <pthread.h>

#include <zmq.hpp>

#include "xeus/xeus_context.hpp"
#include "xeus/xhistory_manager.hpp"
#include "xeus/xinterpreter.hpp"
#include "xeus/xkernel.hpp"
#include "xeus/xkernel_configuration.hpp"
#include "xeus/xserver.hpp"
#include "xeus/xserver_shell_main.hpp"
#include "xeus/xzmq_serializer.hpp"

namespace nl = nlohmann;

namespace kite::native {
namespace {

// ---- SIGINT mask of the main thread -------------------------------------------------------

sigset_t sigint_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    return set;
}

void set_sigint_blocked(bool blocked) {
    sigset_t set = sigint_set();
    pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &set, nullptr);
}

// ---- the pieces shared by the interpreter adapter and the server decorator -------------------

// The server builder xeus takes is a plain function pointer, so the decorator finds the adapter's
// state through this process-wide bridge (one kernel per process).
struct bridge {
    std::function<void()> interrupt;
    std::function<void()> before_busy;
    std::function<void()> before_idle;
    pthread_t main_thread{};  // where the shell loop runs (run_kernel's caller)
    // execute_input published by xeus with xeus's count, held until the adapter knows the core's.
    std::mutex held_mutex;
    std::optional<xeus::xpub_message> held_execute_input;
    // The core's count for the execute_reply being sent, if the core gave one.
    std::optional<int> reply_count;
    class interrupting_server* server = nullptr;
};

bridge& the_bridge() {
    static bridge b;
    return b;
}

std::string msg_type_of(const xeus::xmessage_base& msg) {
    const nl::json& header = msg.header();
    auto it = header.find("msg_type");
    return (it != header.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

// ---- the server decorator -------------------------------------------------------------------

class interrupting_server final : public xeus::xserver {
public:
    explicit interrupting_server(std::unique_ptr<xeus::xserver> inner) : m_inner(std::move(inner)) {
        m_inner->register_shell_listener([this](xeus::xmessage msg) { notify_shell_listener(std::move(msg)); });
        m_inner->register_control_listener([this](xeus::xmessage msg) {
            // xeus 2.4.1 answers interrupt_request itself (empty interrupt_reply) but never tells
            // the interpreter: raise SIGINT first, then let xeus reply.
            if (msg_type_of(msg) == "interrupt_request" && the_bridge().interrupt) {
                the_bridge().interrupt();
            }
            notify_control_listener(std::move(msg));
        });
        m_inner->register_stdin_listener([this](xeus::xmessage msg) { notify_stdin_listener(std::move(msg)); });
        m_inner->register_internal_listener([this](nl::json msg) { return notify_internal_listener(std::move(msg)); });
    }

    // Publishes the held execute_input with the core's count (main thread, before the cell runs).
    void release_execute_input(std::optional<int> count) {
        std::optional<xeus::xpub_message> held;
        {
            std::lock_guard<std::mutex> lock(the_bridge().held_mutex);
            held.swap(the_bridge().held_execute_input);
        }
        if (!held) return;
        nl::json content = held->content();
        if (count) content["execution_count"] = *count;
        std::string topic = held->topic();
        nl::json header = held->header(), parent = held->parent_header(), metadata = held->metadata();
        xeus::xpub_message msg(topic, std::move(header), std::move(parent), std::move(metadata),
                               std::move(content), std::move(*held).buffers());
        publish_now(std::move(msg), xeus::channel::SHELL);
    }

private:
    void publish_now(xeus::xpub_message msg, xeus::channel c) {
        std::lock_guard<std::mutex> lock(m_publish_mutex);
        m_inner->publish(std::move(msg), c);
    }

    xeus::xcontrol_messenger& get_control_messenger_impl() override { return m_inner->get_control_messenger(); }

    void send_shell_impl(xeus::xmessage msg) override {
        auto& reply_count = the_bridge().reply_count;
        if (reply_count && msg_type_of(msg) == "execute_reply") {
            nl::json content = msg.content();
            content["execution_count"] = *reply_count;
            reply_count.reset();
            nl::json header = msg.header(), parent = msg.parent_header(), metadata = msg.metadata();
            auto ids = msg.identities();
            msg = xeus::xmessage(ids, std::move(header), std::move(parent), std::move(metadata),
                                 std::move(content), std::move(msg).buffers());
        }
        m_inner->send_shell(std::move(msg));
    }
    void send_control_impl(xeus::xmessage msg) override { m_inner->send_control(std::move(msg)); }
    void send_stdin_impl(xeus::xmessage msg) override {
        // xeus 2.4.1 writes the input_request flag as "pwd"; the protocol (and every frontend)
        // reads "password".
        if (msg_type_of(msg) == "input_request" && msg.content().contains("pwd")) {
            nl::json content = msg.content();
            content["password"] = content["pwd"];
            content.erase("pwd");
            nl::json header = msg.header(), parent = msg.parent_header(), metadata = msg.metadata();
            auto ids = msg.identities();
            msg = xeus::xmessage(ids, std::move(header), std::move(parent), std::move(metadata),
                                 std::move(content), std::move(msg).buffers());
        }
        m_inner->send_stdin(std::move(msg));
    }

    void publish_impl(xeus::xpub_message msg, xeus::channel c) override {
        if (c == xeus::channel::SHELL) {
            const std::string type = msg_type_of(msg);
            if (type == "execute_input") {
                std::lock_guard<std::mutex> lock(the_bridge().held_mutex);
                the_bridge().held_execute_input = std::move(msg);
                return;
            }
            if (type == "status") announce_status(msg);
        }
        publish_now(std::move(msg), c);
    }

    // xeus 2.4.1 publishes `status: busy` (then `idle`) for a shell request from the shell loop,
    // on the main thread, with the request as parent. Called before that status goes out and
    // without any of our locks held (before_busy takes the GIL; a Python thread holding the GIL
    // may be waiting for the publish mutex).
    static void announce_status(const xeus::xpub_message& msg) {
        auto& b = the_bridge();
        if (!pthread_equal(pthread_self(), b.main_thread)) return;
        const nl::json& parent = msg.parent_header();
        auto pt = parent.find("msg_type");
        if (pt == parent.end() || !pt->is_string() || pt->get<std::string>() != "execute_request") return;
        auto st = msg.content().find("execution_state");
        if (st == msg.content().end() || !st->is_string()) return;
        const std::string state = st->get<std::string>();
        try {
            if (state == "busy" && b.before_busy) b.before_busy();
            if (state == "idle" && b.before_idle) b.before_idle();
        } catch (const std::exception& e) {
            std::cerr << "kite-native: " << state << " hook failed: " << e.what() << std::endl;
        }
    }

    void start_impl(xeus::xpub_message msg) override { m_inner->start(std::move(msg)); }
    void abort_queue_impl(const listener& l, long polling_interval) override { m_inner->abort_queue(l, polling_interval); }
    void stop_impl() override { m_inner->stop(); }
    void update_config_impl(xeus::xconfiguration& config) const override { m_inner->update_config(config); }

    std::unique_ptr<xeus::xserver> m_inner;
    std::mutex m_publish_mutex;
};

std::unique_ptr<xeus::xserver> make_interrupting_server(xeus::xcontext& context, const xeus::xconfiguration& config,
                                                        nl::json::error_handler_t eh) {
    // Shell (and stdin) on the main thread, where CPython runs and handles signals; control on
    // its own thread, so an interrupt_request is read while a cell runs.
    auto server = std::make_unique<interrupting_server>(xeus::make_xserver_shell_main(context, config, eh));
    the_bridge().server = server.get();
    return server;
}

// ---- the interpreter adapter ----------------------------------------------------------------

class adapter final : public xeus::xinterpreter, public kite::output_channel {
public:
    explicit adapter(kernel_hooks hooks) : m_hooks(std::move(hooks)) {}

    kite::interpreter& core() { return *m_core; }

    // kite::output_channel ---------------------------------------------------------------------
    void publish(const std::string& msg_type, json content) override {
        try {
            if (msg_type == "stream") {
                publish_stream(content.value("name", "stdout"), content.value("text", ""));
            } else if (msg_type == "display_data") {
                display_data(value_or_object(content, "data"), value_or_object(content, "metadata"),
                             value_or_object(content, "transient"));
            } else if (msg_type == "update_display_data") {
                update_display_data(value_or_object(content, "data"), value_or_object(content, "metadata"),
                                    value_or_object(content, "transient"));
            } else if (msg_type == "execute_result") {
                publish_execution_result(content.value("execution_count", 0), value_or_object(content, "data"),
                                         value_or_object(content, "metadata"));
            } else if (msg_type == "error") {
                publish_execution_error(content.value("ename", ""), content.value("evalue", ""),
                                        content.value("traceback", std::vector<std::string>{}));
            } else if (msg_type == "clear_output") {
                clear_output(content.value("wait", false));
            } else {
                std::cerr << "kite-native: xeus 2.4.1 cannot publish '" << msg_type << "'" << std::endl;
            }
        } catch (const std::exception& e) {
            std::cerr << "kite-native: publish " << msg_type << " failed: " << e.what() << std::endl;
        }
    }

    kite::input_result input(const std::string& prompt, bool password) override {
        kite::input_result result;
        if (!m_allow_stdin) {
            result.supported = false;
            return result;
        }
        register_input_handler([&result](const std::string& value) { result.value = value; });
        try {
            // Sends input_request on stdin and blocks in recv on the stdin socket (xeus's shell
            // thread, which is the main thread) until the reply arrives. A signal handled by
            // CPython makes that recv fail with EINTR, which cppzmq throws.
            input_request(prompt, password);
        } catch (const zmq::error_t& e) {
            if (e.num() == EINTR) {
                result.signal = SIGINT;
            } else {
                std::cerr << "kite-native: input_request failed: " << e.what() << std::endl;
                result.supported = false;
            }
        } catch (const std::exception& e) {
            std::cerr << "kite-native: input_request failed: " << e.what() << std::endl;
            result.supported = false;
        }
        register_input_handler(nullptr);
        return result;
    }

private:
    static json value_or_object(const json& content, const char* key) {
        auto it = content.find(key);
        return (it != content.end() && !it->is_null()) ? *it : json::object();
    }

    // xeus::xinterpreter -----------------------------------------------------------------------
    void configure_impl() override {
        m_core = m_hooks.make_interpreter(*this);
        m_core->configure();
        if (m_hooks.after_configure) m_hooks.after_configure();
        // kernel_info is static; xeus may also ask for it on the control thread (2.4.1 routes
        // every known request on both channels), where the core must not be called.
        m_kernel_info = m_core->kernel_info_request();
    }

    nl::json execute_request_impl(int /*xeus_count*/, const std::string& code, bool silent, bool store_history,
                                  nl::json user_expressions, bool allow_stdin) override {
        // xeus already published execute_input with its own counter; the server decorator held
        // it back. The core counts like IPython: only stored executions advance the count.
        if (!silent) {
            auto server = the_bridge().server;
            if (server) server->release_execute_input(m_core_count + (store_history ? 1 : 0));
        }
        m_allow_stdin = allow_stdin;
        // No discard here: stale signals were dropped before `busy` went out (hooks.before_busy);
        // a SIGINT pending now was sent for this cell and is delivered as soon as it is unblocked.
        set_sigint_blocked(false);
        json reply;
        try {
            reply = m_core->execute_request(code, silent, store_history, user_expressions, allow_stdin);
        } catch (...) {
            set_sigint_blocked(true);
            throw;
        }
        set_sigint_blocked(true);
        m_allow_stdin = false;
        auto it = reply.find("execution_count");
        if (it != reply.end() && it->is_number_integer()) {
            m_core_count = it->get<int>();
            the_bridge().reply_count = m_core_count;
        }
        return reply;
    }

    nl::json complete_request_impl(const std::string& code, int cursor_pos) override {
        return m_core->complete_request(code, cursor_pos);
    }
    nl::json inspect_request_impl(const std::string& code, int cursor_pos, int detail_level) override {
        return m_core->inspect_request(code, cursor_pos, detail_level);
    }
    nl::json is_complete_request_impl(const std::string& code) override { return m_core->is_complete_request(code); }
    nl::json kernel_info_request_impl() override { return m_kernel_info; }

    void shutdown_request_impl() override {
        // Called on xeus's control thread. xeus then stops the server and ends the process with
        // exit(0) from the main thread; the core's shutdown runs there (atexit), on the thread
        // that owns CPython. xeus 2.4.1 does not pass the restart flag to the interpreter.
        s_shutdown_core = m_core.get();
        static bool registered = false;
        if (!registered) {
            registered = true;
            std::atexit([] {
                if (s_shutdown_core) s_shutdown_core->shutdown_request(false);
            });
        }
    }

    kernel_hooks m_hooks;
    std::unique_ptr<kite::interpreter> m_core;
    json m_kernel_info;
    int m_core_count = 0;
    bool m_allow_stdin = false;
    static kite::interpreter* s_shutdown_core;
};

kite::interpreter* adapter::s_shutdown_core = nullptr;

// history_request -> the core (xeus 2.4.1 answers it from an xhistory_manager).
class history_forwarder final : public xeus::xhistory_manager {
public:
    explicit history_forwarder(adapter& a) : m_adapter(a) {}

private:
    void configure_impl() override {}
    void store_inputs_impl(int, int, const std::string&, const std::string&) override {}
    nl::json get_tail_impl(int n, bool raw, bool output) const override {
        return ask({{"hist_access_type", "tail"}, {"n", n}, {"raw", raw}, {"output", output}});
    }
    nl::json get_range_impl(int session, int start, int stop, bool raw, bool output) const override {
        return ask({{"hist_access_type", "range"}, {"session", session}, {"start", start}, {"stop", stop},
                    {"raw", raw}, {"output", output}});
    }
    nl::json search_impl(const std::string& pattern, bool raw, bool output, int n, bool unique) const override {
        return ask({{"hist_access_type", "search"}, {"pattern", pattern}, {"raw", raw}, {"output", output},
                    {"n", n}, {"unique", unique}});
    }
    nl::json ask(const nl::json& content) const { return m_adapter.core().history_request(content); }

    adapter& m_adapter;
};

// ---- malformed multipart messages ------------------------------------------------------------

// xeus 2.4.1 reads a request as [identities...] <IDS|MSG> signature header parent metadata content
// [buffers...] and pops those five frames without checking that they exist: a message with
// fewer frames after the delimiter makes it move from past the end of a std::deque, and libzmq
// aborts (`Assertion failed: check () (src/msg.cpp:394)`). Its shell, control and stdin loops
// catch std::exception from the parse (bad JSON, bad signature, no delimiter: logged, message
// dropped), so rejecting such a message with an exception is enough to keep serving.
const char k_delimiter[] = "<IDS|MSG>";

void check_frames(const zmq::multipart_t& wire_msg) {
    const std::size_t n = wire_msg.size();
    const std::size_t dlen = sizeof k_delimiter - 1;
    for (std::size_t i = 0; i < n; ++i) {
        const zmq::message_t& f = wire_msg[i];
        if (f.size() == dlen && std::memcmp(f.data(), k_delimiter, dlen) == 0) {
            const std::size_t after = n - i - 1;
            if (after < 5)
                throw std::runtime_error("kite-native: dropped a malformed message: " + std::to_string(after) +
                                         " frame(s) after <IDS|MSG>, need 5 (signature, header, parent_header, "
                                         "metadata, content)");
            return;
        }
    }
    throw std::runtime_error("kite-native: dropped a malformed message: no <IDS|MSG> delimiter among its " +
                             std::to_string(n) + " frame(s)");
}

using deserialize_fn = xeus::xmessage (*)(zmq::multipart_t&, const xeus::xauthentication&);

deserialize_fn xeus_deserialize() {
    // libxeus's own definition, which this executable's (exported: ENABLE_EXPORTS) preempts.
    static deserialize_fn fn = reinterpret_cast<deserialize_fn>(
        dlsym(RTLD_NEXT, "_ZN4xeus15xzmq_serializer11deserializeERN3zmq11multipart_tERKNS_15xauthenticationE"));
    return fn;
}

}  // namespace

void block_sigint_before_startup() { set_sigint_blocked(true); }

int run_kernel(const std::string& connection_file, kernel_hooks hooks) {
    set_sigint_blocked(true);  // idempotent; see block_sigint_before_startup
    the_bridge().interrupt = hooks.interrupt;
    the_bridge().before_busy = hooks.before_busy;
    the_bridge().before_idle = hooks.before_idle;
    the_bridge().main_thread = pthread_self();

    xeus::xconfiguration config;
    try {
        config = xeus::load_configuration(connection_file);
    } catch (const std::exception& e) {
        std::cerr << "kite-native: cannot read connection file " << connection_file << ": " << e.what() << std::endl;
        return 2;
    }

    auto context = xeus::make_context<zmq::context_t>();
    auto interp = std::make_unique<adapter>(std::move(hooks));
    auto history = std::make_unique<history_forwarder>(*interp);
    // The xkernel constructor calls configure() (CPython starts there) before any xeus thread.
    xeus::xkernel kernel(config, xeus::get_user_name(), std::move(context), std::move(interp),
                         make_interrupting_server, std::move(history));
    kernel.start();  // xeus 2.4.1 calls exit(0) when the shell loop stops
    return 0;
}

}  // namespace kite::native

// Preempts libxeus's xzmq_serializer::deserialize (libxeus calls it through its PLT, from
// xserver_zmq_split::deserialize, for the shell, control and stdin sockets): validates the
// frames, then hands over to xeus's parser.
xeus::xmessage xeus::xzmq_serializer::deserialize(zmq::multipart_t& wire_msg, const xeus::xauthentication& auth) {
    kite::native::check_frames(wire_msg);
    auto fn = kite::native::xeus_deserialize();
    if (!fn) throw std::runtime_error("kite-native: libxeus's xzmq_serializer::deserialize not found");
    return fn(wire_msg, auth);
}
