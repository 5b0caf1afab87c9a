// kite-native's transport over xeus 2.4.1 (Debian's xeus-dev). Everything specific to xeus is in
// this file. xeus is used only as a ZeroMQ server (xeus::make_xserver_shell_main: shell and stdin
// on the main thread, control on its own thread, heartbeat and iopub forwarding on theirs);
// xeus's kernel, interpreter, history and comm manager are not used: kite::kernel_core answers
// every message. This file
//  - converts xeus::xmessage <-> kite::message (identities are kept per in-flight request, so a
//    reply goes back to the socket identity of the request named by its parent_header.msg_id);
//  - publishes iopub messages (a mutex serialises the shell's pub socket: Python threads may print
//    while the main thread publishes; the control thread publishes on the control's own socket);
//  - sends input_request on stdin and waits for the reply (xeus blocks in recv; a SIGINT ends the
//    wait through posix_interrupts::call_interruptibly);
//  - stops the server once the core has answered a shutdown_request;
//  - replaces xeus::xzmq_serializer::deserialize so that a multipart message with missing frames
//    is rejected before xeus 2.4.1 reads past its end (libzmq aborts otherwise), and a message
//    over the size limit is answered (MessageTooLarge) from its header without parsing the rest,
//    as is a signed request with a JSON frame nested too deep (measured before any parsing) or a
//    parent_header, metadata or content frame that is not valid JSON (MalformedMessage);
//  - replaces zmq_msg_send so that no signal can cut an input_request's multipart send short.
// SIGINT is blocked in every thread xeus and ZeroMQ create (they inherit the main thread's mask,
// see main.cpp and posix_interrupts); xeus's shell loop waits in zmq_poll on the main thread and
// does not survive the EINTR a handled signal would cause there.
#include "xeus_adapter.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <dlfcn.h>
#include <pthread.h>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "iso_date.hpp"

#include "xeus/xeus_context.hpp"
#include "xeus/xguid.hpp"
#include "xeus/xkernel_configuration.hpp"
#include "xeus/xmiddleware.hpp"
#include "xeus/xserver.hpp"
#include "xeus/xserver_shell_main.hpp"
#include "xeus/xzmq_serializer.hpp"

namespace nl = nlohmann;

namespace kite::native {
namespace {

// The frame that wakes the control loop so that it sees the stop request (see stop_serving).
// Recognised by the deserialize replacement below; harmless from anyone else.
const char k_wake_frame[] = "kite-native:wake-control";

// True on xeus's control thread while it handles a message.
thread_local bool t_on_control = false;

// True on the main thread while xeus sends an input_request (request_input): the zmq_msg_send
// replacement at the end of this file then holds back every asynchronous signal for each frame.
// SIGINT is unblocked in a cell, and posix_interrupts' watcher may already poke (a handler ran
// just before the send): EINTR in the frame k > 0 of a multipart send would leave frames 0..k-1
// queued in the ROUTER socket, and the next stdin message would be sent glued to them (garbled
// for the client). Held, the signal is handled between frames; the recv that follows sees the
// handler's byte in the wakeup pipe (the watcher pokes it) and ends with EINTR.
thread_local bool t_hold_signals_in_send = false;

struct signals_held_in_send {
    signals_held_in_send() { t_hold_signals_in_send = true; }
    ~signals_held_in_send() { t_hold_signals_in_send = false; }
    signals_held_in_send(const signals_held_in_send&) = delete;
    signals_held_in_send& operator=(const signals_held_in_send&) = delete;
};

// The message size limit (bytes; 0 = none), read by the deserialize replacement.
std::atomic<std::size_t> g_max_message_bytes{default_max_message_bytes};

// Set by the deserialize replacement when it refused a message (it returns the header alone):
// over the size limit (MessageTooLarge), or a frame nested too deep or not valid JSON
// (MalformedMessage); read by the listener that xeus calls next on the same thread with that
// message, which answers it (refuse) or, on stdin, drops it.
struct refused_message {
    std::string msg_id;
    std::string ename;   // MessageTooLarge, MalformedMessage
    std::string evalue;  // what was wrong, for the client
    std::string what;    // the same, short, for the kernel's log
};
thread_local std::optional<refused_message> t_refused;

// The deepest nesting of JSON arrays and objects a message frame may have. nlohmann's recursive
// code (dump, destruction) and xeus's parse overflow the main thread's stack on ~100,000 levels
// (SIGSEGV); Python's json and kite-node (wire.js) reject deep nesting too. Same limit in
// kite-node: keep both equal (DEVELOPERS.md, "The message size limit").
constexpr std::size_t k_max_json_depth = 256;

std::string format_bytes(std::size_t n) {
    char text[64];
    if (n >= (1u << 30)) std::snprintf(text, sizeof text, "%.1f GiB", n / double(1u << 30));
    else if (n >= (1u << 20)) std::snprintf(text, sizeof text, "%.1f MiB", n / double(1u << 20));
    else if (n >= (1u << 10)) std::snprintf(text, sizeof text, "%.1f KiB", n / double(1u << 10));
    else std::snprintf(text, sizeof text, "%zu bytes", n);
    return text;
}

std::string string_field(const json& object, const char* key) {
    if (!object.is_object()) return std::string();
    auto it = object.find(key);
    return (it != object.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

// SIGINT blocked in this thread for the scope. Sends from the main thread happen while a cell
// runs with SIGINT unblocked; a handler running inside libzmq's send can make it fail with EINTR
// (cppzmq throws), losing the message. Held back, the signal is delivered when the scope ends.
class sigint_held {
public:
    sigint_held() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, &m_old);
    }
    ~sigint_held() { pthread_sigmask(SIG_SETMASK, &m_old, nullptr); }
    sigint_held(const sigint_held&) = delete;
    sigint_held& operator=(const sigint_held&) = delete;
private:
    sigset_t m_old;
};

xeus::buffer_sequence to_xeus_buffers(std::vector<std::string> buffers) {
    xeus::buffer_sequence out;
    out.reserve(buffers.size());
    for (auto& b : buffers) out.emplace_back(b.begin(), b.end());
    return out;
}

}  // namespace

struct xeus_transport::impl {
    explicit impl(kite::posix_interrupts& i) : interrupts(i) {}

    kite::posix_interrupts& interrupts;
    xeus::xconfiguration config;
    std::unique_ptr<xeus::xcontext_impl<zmq::context_t>> context;
    std::unique_ptr<xeus::xserver> server;
    kite::kernel_core* core = nullptr;

    // ZeroMQ sockets are not thread-safe: the shell's pub socket is used by the main thread and
    // by Python threads that print; the control thread has its own.
    std::mutex shell_send_mutex;
    std::mutex control_send_mutex;

    std::mutex routes_mutex;
    // Identities of the requests being handled, by channel and header.msg_id.
    std::map<std::pair<bool, std::string>, xeus::xmessage::guid_list> routes;

    std::atomic<bool> stopping{false};
    const std::string session = std::string(xeus::new_xguid().c_str());  // of messages built here
    std::optional<kite::message> stdin_reply;  // set by the stdin listener inside send_stdin

    // xmessage -> kite::message; nullopt (logged) when the header is not a JSON object: there is
    // nothing to answer to, and nothing of it may be echoed.
    std::optional<kite::message> to_kite(xeus::xmessage& msg, const char* channel) {
        if (!msg.header().is_object()) {
            log(std::string("dropped a ") + channel + " message whose header is not a JSON object");
            return std::nullopt;
        }
        kite::message m;
        m.channel = channel;
        m.header = msg.header();
        if (msg.parent_header().is_object()) m.parent_header = msg.parent_header();
        if (msg.metadata().is_object()) m.metadata = msg.metadata();
        m.content = msg.content();  // the core validates it (MalformedRequest)
        for (auto& b : std::move(msg).buffers()) m.buffers.emplace_back(b.begin(), b.end());
        return m;
    }

    std::string route_key(const json& header) {
        auto it = header.find("msg_id");
        if (it == header.end()) return std::string();
        return it->is_string() ? it->get<std::string>() : it->dump();
    }

    void handle(xeus::xmessage msg, bool control) {
        if (msg.header() == json(k_wake_frame)) return;  // see stop_serving
        const char* channel = control ? "control" : "shell";
        if (auto refused = std::exchange(t_refused, std::nullopt)) {
            if (string_field(msg.header(), "msg_id") == refused->msg_id) {
                refuse(msg, control, *refused);
                return;
            }
        }
        auto m = to_kite(msg, channel);
        if (!m) return;
        const auto key = std::make_pair(control, route_key(m->header));
        {
            std::lock_guard<std::mutex> lock(routes_mutex);
            routes[key] = msg.identities();
        }
        try {
            core->handle(std::move(*m));
        } catch (const std::exception& e) {
            log(std::string("handling a ") + channel + " message failed: " + e.what());
        }
        {
            std::lock_guard<std::mutex> lock(routes_mutex);
            routes.erase(key);
        }
        if (core->shutdown_requested()) stop_serving(control);
    }

    void on_stdin(xeus::xmessage msg) {
        if (auto refused = std::exchange(t_refused, std::nullopt)) {
            // an input_reply over the limit or malformed: not read; request_input asks again
            log("dropped a " + string_field(msg.header(), "msg_type") + " on stdin: " + refused->what);
            stdin_reply.reset();
            return;
        }
        stdin_reply = to_kite(msg, "stdin");
    }

    // A message built here (the refusal of an over-limit message), with `parent` as parent.
    kite::message made(const char* channel, const std::string& msg_type, json content, const json& parent) {
        kite::message m;
        m.channel = channel;
        m.header = {{"msg_id", std::string(xeus::new_xguid().c_str())}, {"session", session},
                    {"username", "kite"}, {"date", xeus::iso8601_now()},
                    {"msg_type", msg_type}, {"version", "5.3"}};
        m.parent_header = parent;
        m.content = std::move(content);
        return m;
    }

    // A message refused by the deserialize replacement, of which only the header was read
    // (over the size limit: MessageTooLarge; a frame nested too deep or not valid JSON:
    // MalformedMessage): a request gets an error reply (an execute_request also an iopub error,
    // shown in the cell); other messages (comm_msg, ...) have no reply in the protocol: the error
    // goes to iopub stderr. Between status busy and idle, as the core does. The core and Python
    // never see it.
    void refuse(xeus::xmessage& msg, bool control, const refused_message& refused) {
        const json& request = msg.header();
        const std::string type = string_field(request, "msg_type");
        const std::string& ename = refused.ename;
        const std::string& evalue = refused.evalue;
        log(type + " on " + (control ? "control" : "shell") + ": " + refused.what + ": not processed");
        const auto key = std::make_pair(control, route_key(request));
        {
            std::lock_guard<std::mutex> lock(routes_mutex);
            routes[key] = msg.identities();
        }
        send(made("iopub", "status", {{"execution_state", "busy"}}, request));
        const std::string suffix = "_request";
        const bool is_request = type.size() >= suffix.size() &&  // "_request" gets "_reply", as in the core
                                type.compare(type.size() - suffix.size(), suffix.size(), suffix) == 0;
        const json traceback = json::array({ename + ": " + evalue});
        if (is_request) {
            json content = {{"status", "error"}, {"ename", ename}, {"evalue", evalue},
                            {"traceback", traceback}};
            if (type == "execute_request") {
                send(made("iopub", "error", {{"ename", ename}, {"evalue", evalue}, {"traceback", traceback}},
                          request));
                content["execution_count"] = nullptr;
            }
            const std::string reply = type.substr(0, type.size() - suffix.size()) + "_reply";
            send(made(control ? "control" : "shell", reply, std::move(content), request));
        } else {
            send(made("iopub", "stream", {{"name", "stderr"}, {"text", ename + ": " + evalue + "\n"}}, request));
        }
        send(made("iopub", "status", {{"execution_state", "idle"}}, request));
        std::lock_guard<std::mutex> lock(routes_mutex);
        routes.erase(key);
    }

    // After the shutdown_reply: xeus's control loop ends after the message it is handling once
    // stop() was called; then it stops the shell loop, and the main thread calls exit(0). For a
    // shutdown_request that came on shell, the control loop is blocked in recv: wake it.
    void stop_serving(bool from_control) {
        if (stopping.exchange(true)) return;
        server->stop();
        if (from_control) return;
        try {
            zmq::socket_t wake(context->m_context, zmq::socket_type::dealer);
            wake.set(zmq::sockopt::linger, 1000);
            wake.connect(xeus::get_end_point(config.m_transport, config.m_ip, config.m_control_port));
            wake.send(zmq::buffer(k_wake_frame, sizeof k_wake_frame - 1), zmq::send_flags::none);
        } catch (const std::exception& e) {
            log(std::string("cannot stop the control loop: ") + e.what());
        }
    }

    // The identities of the request a reply (or input_request) answers.
    std::optional<xeus::xmessage::guid_list> find_route(bool control, const json& parent_header) {
        std::lock_guard<std::mutex> lock(routes_mutex);
        auto it = routes.find(std::make_pair(control, route_key(parent_header)));
        if (it == routes.end()) return std::nullopt;
        return it->second;
    }

    void send(kite::message msg) {
        if (msg.channel == "iopub") {
            publish(std::move(msg));
            return;
        }
        if (msg.channel != "shell" && msg.channel != "control") {
            log("cannot send a " + msg.msg_type() + " on channel '" + msg.channel + "'");
            return;
        }
        const bool control = msg.channel == "control";
        auto ids = find_route(control, msg.parent_header);
        if (!ids) {
            log("dropped " + msg.msg_type() + ": no request in flight with msg_id " +
                route_key(msg.parent_header));
            return;
        }
        xeus::xmessage x(*ids, std::move(msg.header), std::move(msg.parent_header),
                         std::move(msg.metadata), std::move(msg.content),
                         to_xeus_buffers(std::move(msg.buffers)));
        // A reply goes out on the socket its request came in on: that socket's own thread.
        const sigint_held held;
        if (control) {
            std::lock_guard<std::mutex> lock(control_send_mutex);
            server->send_control(std::move(x));
        } else {
            std::lock_guard<std::mutex> lock(shell_send_mutex);
            server->send_shell(std::move(x));
        }
    }

    void publish(kite::message msg) {
        // The topic is informational for clients (they subscribe to everything); xeus and
        // ipykernel use "<prefix>.<kernel id>.<msg_type>".
        const std::string topic = "kernel." + string_field(msg.header, "session") + "." + msg.msg_type();
        xeus::xpub_message x(topic, std::move(msg.header), std::move(msg.parent_header),
                             std::move(msg.metadata), std::move(msg.content),
                             to_xeus_buffers(std::move(msg.buffers)));
        const sigint_held held;
        if (t_on_control) {
            std::lock_guard<std::mutex> lock(control_send_mutex);
            server->publish(std::move(x), xeus::channel::CONTROL);
        } else {
            std::lock_guard<std::mutex> lock(shell_send_mutex);
            server->publish(std::move(x), xeus::channel::SHELL);
        }
    }

    static bool stale(const kite::message& reply, const std::string& request_id, const kite::message& request) {
        const std::string answered = string_field(reply.parent_header, "msg_id");
        if (!answered.empty()) return answered != request_id;
        const auto sent = kite::parse_iso_date(string_field(reply.header, "date"));
        const auto cell = kite::parse_iso_date(string_field(request.parent_header, "date"));
        return sent && cell && *sent < *cell;
    }

    kite::input_result request_input(const kite::message& request) {
        kite::input_result result;
        auto ids = find_route(false, request.parent_header);
        if (!ids) {
            result.supported = false;  // no shell request to ask on behalf of
            return result;
        }
        // xeus 2.4.1 sends, then blocks in recv on the stdin socket and hands the one message it
        // receives to the stdin listener (synchronously, on this thread). It gives no way to read
        // again without sending (ipykernel drains the socket first): a reply for an earlier
        // request that a signal cut short, answered late, makes us ask again, under a new msg_id
        // (clients reject a message whose signature they have seen). Such a reply names another
        // request as its parent, or, without a parent (jupyter_client's KernelClient.input sends
        // none), is dated before the execute_request this input belongs to (both dates are the
        // client's clock).
        json header = request.header;
        const std::string first_id = string_field(header, "msg_id");
        for (int attempt = 0; attempt < 8; ++attempt) {
            if (attempt > 0) header["msg_id"] = first_id + "-" + std::to_string(attempt);
            const std::string request_id = string_field(header, "msg_id");
            stdin_reply.reset();
            bool eintr = false;
            int signal = 0;
            try {
                signal = interrupts.call_interruptibly([&] {
                    xeus::xmessage x(*ids, header, request.parent_header,
                                     request.metadata, request.content,
                                     to_xeus_buffers(request.buffers));
                    try {
                        const signals_held_in_send held;
                        server->send_stdin(std::move(x));
                        return true;
                    } catch (const zmq::error_t& e) {
                        if (e.num() != EINTR) throw;
                        eintr = true;
                        return false;
                    }
                });
            } catch (const std::exception& e) {
                log(std::string("input_request failed: ") + e.what());
                result.supported = false;
                return result;
            }
            if (signal) {
                result.signal = signal;
                return result;
            }
            if (eintr) continue;  // woken by a signal no Python handler saw: ask again
            if (!stdin_reply) {
                log("an unreadable stdin message ended the wait for input; asking again");
                continue;
            }
            if (stdin_reply->msg_type() != "input_reply" || stale(*stdin_reply, request_id, request)) {
                log("ignored a stale " + stdin_reply->msg_type() + " (not for input_request " +
                    request_id + "); asking again");
                continue;
            }
            result.value = string_field(stdin_reply->content, "value");
            return result;
        }
        log("no usable input_reply after 8 requests; answering with an empty string");
        return result;
    }

    static void log(const std::string& text) { std::cerr << "kite-native: " << text << std::endl; }
};

xeus_transport::xeus_transport(const std::string& connection_file, kite::posix_interrupts& interrupts,
                               std::size_t max_message_bytes)
    : m(std::make_unique<impl>(interrupts)) {
    g_max_message_bytes = max_message_bytes;
    try {
        m->config = xeus::load_configuration(connection_file);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot read connection file " + connection_file + ": " + e.what());
    }
    m->context = xeus::make_context<zmq::context_t>();
    // Invalid UTF-8 in a string the core produces is replaced rather than failing the send.
    m->server = xeus::make_xserver_shell_main(*m->context, m->config, nl::json::error_handler_t::replace);
    m->server->register_shell_listener([this](xeus::xmessage msg) { m->handle(std::move(msg), false); });
    m->server->register_control_listener([this](xeus::xmessage msg) {
        t_on_control = true;
        m->handle(std::move(msg), true);
    });
    m->server->register_stdin_listener([this](xeus::xmessage msg) { m->on_stdin(std::move(msg)); });
    // xeus's control messenger (debugger plumbing) is not used.
    m->server->register_internal_listener([](nl::json) { return nl::json::object(); });
}

xeus_transport::~xeus_transport() = default;

void xeus_transport::send(kite::message msg) { m->send(std::move(msg)); }

kite::input_result xeus_transport::request_input(kite::message request) { return m->request_input(request); }

void xeus_transport::log(const std::string& text) { impl::log(text); }

int xeus_transport::serve(kite::kernel_core& core) {
    m->core = &core;
    kite::message start = core.starting_message();
    const std::string topic = "kernel." + string_field(start.header, "session") + ".status";
    xeus::xpub_message x(topic, std::move(start.header), std::move(start.parent_header),
                         std::move(start.metadata), std::move(start.content),
                         to_xeus_buffers(std::move(start.buffers)));
    m->server->start(std::move(x));  // xeus 2.4.1 calls exit(0) when the shell loop stops
    return 0;
}

// ---- malformed multipart messages ------------------------------------------------------------

namespace {

// xeus 2.4.1 reads a request as [identities...] <IDS|MSG> signature header parent metadata content
// [buffers...] and pops those five frames without checking that they exist: a message with
// fewer frames after the delimiter makes it move from past the end of a std::deque, and libzmq
// aborts (`Assertion failed: check () (src/msg.cpp:394)`). Its shell, control and stdin loops
// catch std::exception from the parse (bad JSON, bad signature, no delimiter: logged, message
// dropped), so rejecting such a message with an exception is enough to keep serving.
const char k_delimiter[] = "<IDS|MSG>";

// The index of the <IDS|MSG> delimiter, after checking that the five frames after it exist.
std::size_t check_frames(const zmq::multipart_t& wire_msg) {
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
            return i;
        }
    }
    throw std::runtime_error("kite-native: dropped a malformed message: no <IDS|MSG> delimiter among its " +
                             std::to_string(n) + " frame(s)");
}

// An over-limit message is answered from its header alone; a header frame larger than this is
// not parsed (no real header comes close).
constexpr std::size_t k_max_header_frame = 64 * 1024;

// The deepest nesting of arrays and objects in a JSON text, without recursion: brackets outside
// strings are counted (whatever else is wrong with the text). Stops at the first level past
// `limit` (returns it).
std::size_t json_depth(const zmq::message_t& frame, std::size_t limit) {
    const char* p = static_cast<const char*>(frame.data());
    const std::size_t n = frame.size();
    std::size_t depth = 0, deepest = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const char c = p[i];
        if (c == '"') {
            // a string: it ends at the next quote not escaped by an odd run of backslashes
            for (;;) {
                const void* q = std::memchr(p + i + 1, '"', n - i - 1);
                if (!q) return deepest;  // unterminated: the parser says so
                const std::size_t j = static_cast<const char*>(q) - p;
                std::size_t k = j;
                while (k > i + 1 && p[k - 1] == '\\') --k;
                i = j;
                if ((j - k) % 2 == 0) break;
            }
        } else if (c == '[' || c == '{') {
            if (++depth > deepest && (deepest = depth) > limit) return deepest;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

// Whether the four JSON frames after the delimiter `d` are signed with the connection's key.
bool signed_ok(const zmq::multipart_t& wire_msg, std::size_t d, const xeus::xauthentication& auth) {
    auto raw = [&](std::size_t i) {
        return xeus::xraw_buffer(static_cast<const unsigned char*>(wire_msg[i].data()), wire_msg[i].size());
    };
    return auth.verify(raw(d + 1), raw(d + 2), raw(d + 3), raw(d + 4), raw(d + 5));
}

// The header of a message that is refused, to route the answer: a JSON object with msg_id and
// msg_type, or a discarded value (then the message is dropped). Over the size limit, a header
// frame over k_max_header_frame is not read at all (no real header comes close; within the
// limit, xeus would have parsed it anyway). A header nested too deep keeps
// only its top-level fields that are not arrays or objects (kite-node's shallowHeader): the deep
// value is never built (nlohmann's parser and its callback parser iterate, they do not recurse)
// nor echoed as a parent_header.
json readable_header(const zmq::multipart_t& wire_msg, std::size_t d, bool over_limit = false) {
    const zmq::message_t& frame = wire_msg[d + 2];
    if (over_limit && frame.size() > k_max_header_frame) return json(json::value_t::discarded);
    const char* text = static_cast<const char*>(frame.data());
    json::parser_callback_t shallow = nullptr;
    if (json_depth(frame, k_max_json_depth) > k_max_json_depth) {
        shallow = [](int depth, json::parse_event_t event, json&) {
            return depth == 0 || (event != json::parse_event_t::object_start &&
                                  event != json::parse_event_t::array_start);
        };
    }
    json header = json::parse(text, text + frame.size(), shallow, false);
    if (!header.is_object() || string_field(header, "msg_id").empty() || string_field(header, "msg_type").empty())
        return json(json::value_t::discarded);
    // the callback parser leaves a discarded placeholder under the key of a dropped value
    for (auto it = header.begin(); it != header.end();) it = it->is_discarded() ? header.erase(it) : std::next(it);
    return header;
}

// The message handed to xeus for a refused one: the identities and the header alone, marked in
// t_refused for the listener. The frames are released at once.
xeus::xmessage refused(zmq::multipart_t& wire_msg, std::size_t d, json header, refused_message why) {
    xeus::xmessage::guid_list ids;
    for (std::size_t i = 0; i < d; ++i) ids.emplace_back(static_cast<const char*>(wire_msg[i].data()), wire_msg[i].size());
    wire_msg.clear();  // free the frames now
    why.msg_id = string_field(header, "msg_id");
    t_refused = std::move(why);
    return xeus::xmessage(ids, std::move(header), json::object(), json::object(), json::object(), {});
}

const char* const k_frame_names[] = {"header", "parent_header", "metadata", "content"};

// A message over the size limit (`d`: its delimiter): checks the signature (an unsigned message
// is dropped as xeus would), reads only the header and returns a message made of the identities
// and that header, marked in t_refused (MessageTooLarge) for the listener; nullopt when within
// the limit. libzmq has received the whole message by now: xeus 2.4.1 gives no access to its
// sockets, so ZMQ_MAXMSGSIZE cannot be set.
std::optional<xeus::xmessage> refuse_if_too_large(zmq::multipart_t& wire_msg, std::size_t d,
                                                  const xeus::xauthentication& auth) {
    const std::size_t limit = g_max_message_bytes.load();
    if (limit == 0) return std::nullopt;
    std::size_t bytes = 0;
    for (std::size_t i = d + 2; i < wire_msg.size(); ++i) bytes += wire_msg[i].size();
    if (bytes <= limit) return std::nullopt;
    const std::string what = "kite-native: dropped a message of " + std::to_string(bytes) +
                             " bytes (over the message size limit of " + std::to_string(limit) + ")";
    if (!signed_ok(wire_msg, d, auth)) throw std::runtime_error(what + " with an invalid signature");
    json header = readable_header(wire_msg, d, true);
    if (header.is_discarded()) throw std::runtime_error(what + " whose header cannot be read");
    const std::string type = string_field(header, "msg_type");
    std::string evalue =
        "the " + type + " message is " + format_bytes(bytes) + " (" + std::to_string(bytes) +
        " bytes), over the kernel's limit of " + format_bytes(limit) + " (" + std::to_string(limit) +
        " bytes) per message, and was not processed. Send less data per message, or raise the limit: "
        "set KITE_MAX_MESSAGE_BYTES (bytes, e.g. 256M; 0 = no limit) in the environment of the kernel "
        "(kernelspec \"env\") or pass --max-message-bytes to kite-native";
    std::string log = std::to_string(bytes) + " bytes, over the message size limit (" + std::to_string(limit) + ")";
    return refused(wire_msg, d, std::move(header), {"", "MessageTooLarge", std::move(evalue), std::move(log)});
}

// A message with a JSON frame nested deeper than k_max_json_depth, measured before anything
// parses it: nlohmann's recursive code would overflow the stack (SIGSEGV). Unsigned, or without
// a readable header: dropped (an exception, logged by xeus). Otherwise a MalformedMessage
// refusal (a deep header: answered with its shallow fields as parent, never echoed whole);
// nullopt when every frame is within the limit.
std::optional<xeus::xmessage> refuse_if_too_deep(zmq::multipart_t& wire_msg, std::size_t d,
                                                 const xeus::xauthentication& auth) {
    int deep = -1;
    for (int f = 0; f < 4 && deep < 0; ++f)
        if (json_depth(wire_msg[d + 2 + f], k_max_json_depth) > k_max_json_depth) deep = f;
    if (deep < 0) return std::nullopt;
    // kite-node's words (wasm/node/wire.js, tooDeepText)
    const std::string what = std::string("the ") + k_frame_names[deep] + " frame nests deeper than " +
                             std::to_string(k_max_json_depth) + " levels of arrays/objects (the kernel's limit)";
    if (!signed_ok(wire_msg, d, auth))
        throw std::runtime_error("kite-native: dropped a message with an invalid signature (" + what + ")");
    json header = readable_header(wire_msg, d);
    if (header.is_discarded()) throw std::runtime_error("kite-native: dropped a message whose header cannot be read (" + what + ")");
    std::string evalue = "malformed " + string_field(header, "msg_type") + ": " + what;
    return refused(wire_msg, d, std::move(header), {"", "MalformedMessage", std::move(evalue), what});
}

// xeus 2.4.1 drops a message whose parent_header, metadata or content frame is not valid JSON
// (it throws while popping the frames): called with a copy of the frames after it threw, this
// says which frame it was, as a MalformedMessage refusal, when the message is signed and its
// header readable; nullopt otherwise (xeus's exception then stands: the message is dropped).
std::optional<xeus::xmessage> refuse_if_invalid(zmq::multipart_t& wire_msg, std::size_t d,
                                                const xeus::xauthentication& auth) {
    if (!signed_ok(wire_msg, d, auth)) return std::nullopt;
    json header = readable_header(wire_msg, d);
    if (header.is_discarded()) return std::nullopt;
    for (int f = 1; f < 4; ++f) {
        const zmq::message_t& frame = wire_msg[d + 2 + f];
        const char* text = static_cast<const char*>(frame.data());
        if (json::accept(text, text + frame.size())) continue;
        std::string error = "unreadable";
        try {
            const json parsed = json::parse(text, text + frame.size());
        } catch (const json::exception& e) {
            error = e.what();
        }
        const std::string what = std::string("the ") + k_frame_names[f] + " frame is not valid JSON";
        std::string evalue = "malformed " + string_field(header, "msg_type") + ": " + what + " (" + error + ")";
        return refused(wire_msg, d, std::move(header), {"", "MalformedMessage", std::move(evalue), what});
    }
    return std::nullopt;
}

// Another reference to each frame (zmq_msg_copy shares the data of all but tiny frames).
zmq::multipart_t shared_copy(zmq::multipart_t& wire_msg) {
    zmq::multipart_t copy;
    for (std::size_t i = 0; i < wire_msg.size(); ++i) {
        zmq::message_t frame;
        frame.copy(wire_msg[i]);
        copy.add(std::move(frame));
    }
    return copy;
}

bool is_wake(const zmq::multipart_t& wire_msg) {
    const std::size_t len = sizeof k_wake_frame - 1;
    if (wire_msg.size() != 2) return false;  // ROUTER: [identity, frame]
    const zmq::message_t& f = wire_msg[1];
    return f.size() == len && std::memcmp(f.data(), k_wake_frame, len) == 0;
}

using deserialize_fn = xeus::xmessage (*)(zmq::multipart_t&, const xeus::xauthentication&);

deserialize_fn xeus_deserialize() {
    // libxeus's own definition, which this executable's (exported: ENABLE_EXPORTS) preempts.
    static deserialize_fn fn = reinterpret_cast<deserialize_fn>(
        dlsym(RTLD_NEXT, "_ZN4xeus15xzmq_serializer11deserializeERN3zmq11multipart_tERKNS_15xauthenticationE"));
    return fn;
}

}  // namespace
}  // namespace kite::native

// Preempts libxeus's xzmq_serializer::deserialize (libxeus calls it through its PLT, from
// xserver_zmq_split::deserialize, for the shell, control and stdin sockets): validates the
// frames, then hands over to xeus's parser. The wake frame becomes a message whose header is that
// string, which the listeners drop without a word.
xeus::xmessage xeus::xzmq_serializer::deserialize(zmq::multipart_t& wire_msg, const xeus::xauthentication& auth) {
    if (kite::native::is_wake(wire_msg))
        return xeus::xmessage({}, nl::json(kite::native::k_wake_frame), nl::json::object(), nl::json::object(), nl::json::object(), {});
    const std::size_t delimiter = kite::native::check_frames(wire_msg);
    kite::native::t_refused.reset();
    if (auto refused = kite::native::refuse_if_too_large(wire_msg, delimiter, auth)) return std::move(*refused);
    if (auto refused = kite::native::refuse_if_too_deep(wire_msg, delimiter, auth)) return std::move(*refused);
    auto fn = kite::native::xeus_deserialize();
    if (!fn) throw std::runtime_error("kite-native: libxeus's xzmq_serializer::deserialize not found");
    // xeus pops the frames as it reads them: a second reference to each (nothing big is copied)
    // says afterwards which frame was not valid JSON, so that a signed request still gets a reply.
    zmq::multipart_t kept = kite::native::shared_copy(wire_msg);
    try {
        return fn(wire_msg, auth);
    } catch (const std::exception&) {
        if (auto refused = kite::native::refuse_if_invalid(kept, delimiter, auth)) return std::move(*refused);
        throw;
    }
}

// Preempts libzmq's zmq_msg_send (libxeus calls it through its PLT; this executable exports its
// symbols): forwards every call, holding back asynchronous signals for the frame when the
// calling thread is sending an input_request (t_hold_signals_in_send, see there). Every other
// caller (xeus's other sockets, pyzmq in a cell) gets libzmq's function unchanged.
extern "C" __attribute__((visibility("default")))
int zmq_msg_send(zmq_msg_t* msg, void* socket, int flags) {
    using send_fn = int (*)(zmq_msg_t*, void*, int);
    static const send_fn real = reinterpret_cast<send_fn>(dlsym(RTLD_NEXT, "zmq_msg_send"));
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    if (!kite::native::t_hold_signals_in_send) return real(msg, socket, flags);
    sigset_t hold, old;
    sigfillset(&hold);
    for (int sync : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT}) sigdelset(&hold, sync);
    pthread_sigmask(SIG_BLOCK, &hold, &old);
    const int rc = real(msg, socket, flags);
    const int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = saved;
    return rc;
}
