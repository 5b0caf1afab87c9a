// kite::kernel_core: the Jupyter protocol rules, once for every host (see kernel_core.hpp).
#include "kernel_core.hpp"

#include "iso_date.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <iostream>
#include <algorithm>
#include <random>

namespace kite {

void message_transport::log(const std::string& text) { std::cerr << "[kite] " << text << std::endl; }

namespace {

constexpr const char* k_protocol_version = "5.3";

// A malformed request: becomes an error reply, never a crash.
struct bad_request {
    std::string message;
};

std::string new_id() {
    static std::mt19937_64 rng{std::random_device{}() ^
                               static_cast<unsigned long long>(
                                   std::chrono::high_resolution_clock::now().time_since_epoch().count())};
    static std::mutex m;
    std::lock_guard<std::mutex> lock(m);
    unsigned long long a = rng(), b = rng();
    char text[40];
    // RFC 4122 version 4 layout
    std::snprintf(text, sizeof text, "%08llx-%04llx-4%03llx-%04llx-%012llx", a >> 32, (a >> 16) & 0xffff,
                  a & 0xfff, ((b >> 48) & 0x3fff) | 0x8000, b & 0xffffffffffffULL);
    return text;
}

std::string iso_now() {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto us = duration_cast<microseconds>(now.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char text[40];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us % 1000000));
    return text;
}

json error_content(const std::string& ename, const std::string& evalue) {
    return {{"status", "error"}, {"ename", ename}, {"evalue", evalue}, {"traceback", json::array({ename + ": " + evalue})}};
}

const char* type_name(const json& v) { return v.type_name(); }

const json* field(const json& content, const char* name) {
    auto it = content.find(name);
    return it == content.end() ? nullptr : &*it;
}

std::string required_string(const json& content, const char* name) {
    const json* v = field(content, name);
    if (!v) throw bad_request{std::string("missing field '") + name + "' (string)"};
    if (!v->is_string())
        throw bad_request{std::string("field '") + name + "' must be a string, not " + type_name(*v)};
    return v->get<std::string>();
}

bool optional_bool(const json& content, const char* name, bool fallback) {
    const json* v = field(content, name);
    if (!v || v->is_null()) return fallback;
    if (!v->is_boolean())
        throw bad_request{std::string("field '") + name + "' must be a boolean, not " + type_name(*v)};
    return v->get<bool>();
}

int integer(const json& v, const char* name) {
    if (v.is_number_integer() || v.is_number_unsigned()) {
        long long i = v.is_number_unsigned() ? static_cast<long long>(std::min<unsigned long long>(v.get<unsigned long long>(), 1ULL << 40))
                                             : v.get<long long>();
        if (i < -2147483647LL || i > 2147483647LL)
            throw bad_request{std::string("field '") + name + "' is out of range"};
        return static_cast<int>(i);
    }
    if (v.is_number_float()) {
        double d = v.get<double>();
        if (d > -2147483647.0 && d < 2147483647.0 && d == static_cast<double>(static_cast<long long>(d)))
            return static_cast<int>(d);
    }
    throw bad_request{std::string("field '") + name + "' must be an integer, not " + type_name(v)};
}

int optional_int(const json& content, const char* name, int fallback) {
    const json* v = field(content, name);
    if (!v || v->is_null()) return fallback;
    return integer(*v, name);
}

// Length of UTF-8 text in code points: the protocol's cursor unit.
int code_points(const std::string& s) {
    int n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

std::string header_date(const json& header) {
    auto it = header.find("date");
    return (it != header.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

bool is_reply_free(const std::string& type) {
    return type == "comm_open" || type == "comm_msg" || type == "comm_close";
}

std::string reply_type_of(const std::string& type) {
    const std::string suffix = "_request";
    if (type.size() >= suffix.size() && type.compare(type.size() - suffix.size(), suffix.size(), suffix) == 0)
        return type.substr(0, type.size() - suffix.size()) + "_reply";
    return {};
}

json object_or_empty(const json& v) { return v.is_object() ? v : json::object(); }

}  // namespace

kernel_core::kernel_core(message_transport& transport, interrupt_source& interrupts)
    : m_transport(transport), m_interrupts(interrupts), m_session(new_id()) {}

void kernel_core::attach(interpreter& interp) {
    m_interpreter = &interp;
    json info = interp.kernel_info_request();
    if (!info.is_object()) info = json::object();
    info["status"] = "ok";
    info["protocol_version"] = k_protocol_version;
    m_kernel_info = std::move(info);
}

message kernel_core::make_message(const std::string& channel, const std::string& msg_type, json content,
                                  const json& parent_header, json metadata,
                                  std::vector<std::string> buffers) const {
    message msg;
    msg.channel = channel;
    msg.header = {{"msg_id", new_id()}, {"session", m_session},        {"username", "kite"},
                  {"date", iso_now()},  {"msg_type", msg_type},        {"version", k_protocol_version}};
    msg.parent_header = object_or_empty(parent_header);
    msg.metadata = object_or_empty(metadata);
    msg.content = std::move(content);
    msg.buffers = std::move(buffers);
    return msg;
}

message kernel_core::starting_message() {
    return make_message("iopub", "status", {{"execution_state", "starting"}}, json::object());
}

void kernel_core::status(const json& parent, const char* state) {
    m_transport.send(make_message("iopub", "status", {{"execution_state", state}}, parent));
}

void kernel_core::reply(const message& request, const std::string& reply_type, json content) {
    json metadata = json::object();
    if (content.is_object() && content.contains("status")) metadata["status"] = content["status"];
    m_transport.send(make_message(request.channel, reply_type, std::move(content), request.header, std::move(metadata)));
}

void kernel_core::handle(message msg) {
    if (!msg.header.is_object()) {
        m_transport.log("dropped a message whose header is not a JSON object");
        return;
    }
    // Never echo a non-object parent header or metadata back to clients.
    msg.parent_header = object_or_empty(msg.parent_header);
    msg.metadata = object_or_empty(msg.metadata);
    const std::string type = msg.msg_type();
    if (type.empty()) {
        m_transport.log("dropped a message without a msg_type");
        return;
    }
    if (msg.channel == "stdin") {
        m_transport.log("ignored " + type + " on stdin: no input request is waiting");
        return;
    }
    if (msg.channel == "control") {
        handle_control(msg);
        return;
    }
    std::lock_guard<std::mutex> lock(m_shell_mutex);
    handle_shell(msg);
}

void kernel_core::handle_control(const message& msg) {
    const std::string type = msg.msg_type();
    // These never wait for a running cell: the point of the control channel.
    if (type == "interrupt_request" || type == "kernel_info_request" || type == "shutdown_request") {
        status(msg.header, "busy");
        if (type == "interrupt_request") {
            std::string reason;
            if (m_interrupts.interrupt(msg.header, reason))
                reply(msg, "interrupt_reply", {{"status", "ok"}});
            else
                reply(msg, "interrupt_reply", error_content("InterruptUnavailable", reason));
        } else if (type == "kernel_info_request") {
            reply(msg, "kernel_info_reply", m_kernel_info);
        } else {
            bool restart = false;
            if (msg.content.is_object()) {
                auto it = msg.content.find("restart");
                restart = it != msg.content.end() && it->is_boolean() && it->get<bool>();
            }
            // Python's shutdown hooks run only if no cell holds the interpreter.
            std::unique_lock<std::mutex> shell(m_shell_mutex, std::try_to_lock);
            if (shell.owns_lock() && m_interpreter) {
                try {
                    m_interpreter->shutdown_request(restart);
                } catch (const std::exception& e) {
                    m_transport.log(std::string("shutdown hooks failed: ") + e.what());
                }
            }
            json content = {{"status", "ok"}, {"restart", restart}};
            reply(msg, "shutdown_reply", content);
            m_transport.send(make_message("iopub", "shutdown_reply", content, msg.header));
            m_restart = restart;
            m_shutdown = true;
        }
        status(msg.header, "idle");
        return;
    }
    static const char* const shell_types[] = {"execute_request", "complete_request", "inspect_request",
                                              "is_complete_request", "history_request", "comm_info_request"};
    for (const char* shell_type : shell_types) {
        if (type == shell_type) {  // needs the interpreter: waits for a running cell
            std::lock_guard<std::mutex> lock(m_shell_mutex);
            handle_shell(msg);
            return;
        }
    }
    // Anything else (debug_request, usage_request, ...) is answered here at once, so the control
    // channel never stops reading (an interrupt_request may follow it).
    status(msg.header, "busy");
    std::string reply_type = reply_type_of(type);
    if (reply_type.empty()) {
        m_transport.log("ignored a message of unknown type '" + type + "' on control");
    } else {
        m_transport.log("unknown request type '" + type + "' on control");
        reply(msg, reply_type, error_content("UnknownMessageType", "kite does not handle " + type + " messages"));
    }
    status(msg.header, "idle");
}

bool kernel_core::should_abort(const message& msg) const {
    if (m_abort_before.empty()) return false;
    const auto sent = parse_iso_date(header_date(msg.header));
    const auto failed = parse_iso_date(m_abort_before);
    return sent && failed && *sent <= *failed;
}

void kernel_core::handle_shell(const message& msg) {
    const std::string type = msg.msg_type();
    {
        std::lock_guard<std::mutex> lock(m_parent_mutex);
        m_parent = msg.header;
    }
    request_info info;
    // Widget callbacks run under comm_msg: Interrupt stops them like a cell.
    info.execute = type == "execute_request" || type == "comm_msg";
    info.date = header_date(msg.header);
    info.header = msg.header;
    // Before `busy` goes out: a client may interrupt as soon as it sees busy, and natively a
    // SIGINT that arrives before begin_request is taken for an idle one and dropped.
    m_interrupts.begin_request(info);
    status(msg.header, "busy");
    bool has_reply = true;
    json content;
    try {
        if (!msg.content.is_object())
            throw bad_request{"content must be a JSON object, not " + std::string(type_name(msg.content))};
        content = dispatch(msg, type, has_reply);
    } catch (const bad_request& e) {
        has_reply = !is_reply_free(type);
        content = error_content("MalformedRequest", type + ": " + e.message);
        if (!has_reply) m_transport.log("malformed " + type + ": " + e.message);
    } catch (const std::exception& e) {
        content = error_content("KernelError", type + ": " + e.what());
        m_transport.log("error while handling " + type + ": " + e.what());
    } catch (...) {
        content = error_content("KernelError", type + ": unknown C++ exception");
    }
    m_interrupts.end_request();
    if (has_reply) {
        std::string reply_type = reply_type_of(type);
        if (!reply_type.empty()) reply(msg, reply_type, std::move(content));
    }
    status(msg.header, "idle");
    std::lock_guard<std::mutex> lock(m_parent_mutex);
    m_parent = json::object();
}

json kernel_core::dispatch(const message& msg, const std::string& type, bool& has_reply) {
    const json& c = msg.content;
    if (type == "execute_request") return execute(msg);
    if (!m_interpreter) return error_content("KernelNotReady", "the interpreter is not attached yet");
    if (type == "complete_request") {
        std::string code = required_string(c, "code");
        return m_interpreter->complete_request(code, optional_int(c, "cursor_pos", code_points(code)));
    }
    if (type == "inspect_request") {
        std::string code = required_string(c, "code");
        int cursor = optional_int(c, "cursor_pos", code_points(code));
        int detail = optional_int(c, "detail_level", 0);
        if (detail != 0 && detail != 1)
            throw bad_request{"field 'detail_level' must be 0 or 1, not " + std::to_string(detail)};
        return m_interpreter->inspect_request(code, cursor, detail);
    }
    if (type == "is_complete_request") return m_interpreter->is_complete_request(required_string(c, "code"));
    if (type == "kernel_info_request") return m_kernel_info;
    if (type == "history_request") {
        std::string access = required_string(c, "hist_access_type");
        if (access != "tail" && access != "range" && access != "search")
            throw bad_request{"field 'hist_access_type' must be 'tail', 'range' or 'search', not '" + access + "'"};
        for (const char* name : {"output", "raw", "unique"}) optional_bool(c, name, false);
        for (const char* name : {"n", "session", "start", "stop"}) optional_int(c, name, 0);
        if (const json* v = field(c, "pattern"); v && !v->is_null() && !v->is_string())
            throw bad_request{std::string("field 'pattern' must be a string, not ") + type_name(*v)};
        return m_interpreter->history_request(c);
    }
    if (type == "comm_info_request") {
        if (const json* v = field(c, "target_name"); v && !v->is_null() && !v->is_string())
            throw bad_request{std::string("field 'target_name' must be a string, not ") + type_name(*v)};
        return m_interpreter->comm_info_request(c);
    }
    if (is_reply_free(type)) {
        has_reply = false;
        required_string(c, "comm_id");
        if (type == "comm_open") required_string(c, "target_name");
        if (const json* v = field(c, "data"); v && !v->is_null() && !v->is_object())
            throw bad_request{std::string("field 'data' must be an object, not ") + type_name(*v)};
        m_interpreter->comm_message(msg);
        return json::object();
    }
    if (type == "shutdown_request" || type == "interrupt_request") {
        // Sent on shell by some clients: answer as on control (without re-taking the shell lock).
        bool restart = optional_bool(c, "restart", false);
        if (type == "interrupt_request") return {{"status", "ok"}};  // nothing runs: we are it
        m_interpreter->shutdown_request(restart);
        json content = {{"status", "ok"}, {"restart", restart}};
        m_transport.send(make_message("iopub", "shutdown_reply", content, msg.header));
        m_restart = restart;
        m_shutdown = true;
        return content;
    }
    if (reply_type_of(type).empty()) {
        has_reply = false;
        m_transport.log("ignored a message of unknown type '" + type + "' on " + msg.channel);
        return json::object();
    }
    m_transport.log("unknown request type '" + type + "' on " + msg.channel);
    return error_content("UnknownMessageType", "kite does not handle " + type + " messages");
}

json kernel_core::execute(const message& msg) {
    const json& c = msg.content;
    std::string code = required_string(c, "code");
    bool silent = optional_bool(c, "silent", false);
    bool store_history = optional_bool(c, "store_history", true) && !silent;
    json user_expressions = json::object();
    if (const json* v = field(c, "user_expressions"); v && !v->is_null()) {
        if (!v->is_object())
            throw bad_request{std::string("field 'user_expressions' must be an object, not ") + type_name(*v)};
        for (auto it = v->begin(); it != v->end(); ++it)
            if (!it.value().is_string()) throw bad_request{"user expression '" + it.key() + "' must be a string"};
        user_expressions = *v;
    }
    bool allow_stdin = optional_bool(c, "allow_stdin", true);
    bool stop_on_error = optional_bool(c, "stop_on_error", true);

    if (should_abort(msg)) return {{"status", "aborted"}, {"execution_count", nullptr}};
    if (!m_interpreter) return error_content("KernelNotReady", "the interpreter is not attached yet");

    // ipykernel's counting: a non-silent cell announces the next number; only a cell that
    // stores history takes it.
    const int next = m_execution_count + 1;
    if (!silent)
        m_transport.send(make_message("iopub", "execute_input", {{"code", code}, {"execution_count", next}}, msg.header));
    if (store_history) m_execution_count = next;
    m_allow_stdin = allow_stdin;
    json reply = m_interpreter->execute_request(store_history ? next : m_execution_count, code, silent, store_history,
                                                user_expressions, allow_stdin);
    m_allow_stdin = false;
    if (!reply.is_object()) reply = error_content("KernelError", "the interpreter gave no reply");
    reply["execution_count"] = m_execution_count;
    if (reply.value("status", "") == "error" && stop_on_error) m_abort_before = iso_now();
    return reply;
}

void kernel_core::publisher::publish(const std::string& msg_type, json content, json metadata,
                                     std::vector<std::string> buffers) {
    json parent;
    {
        std::lock_guard<std::mutex> lock(m_core.m_parent_mutex);
        parent = m_core.m_parent;
    }
    m_core.m_transport.send(
        m_core.make_message("iopub", msg_type, std::move(content), parent, std::move(metadata), std::move(buffers)));
}

json kernel_core::publisher::parent_header() const {
    std::lock_guard<std::mutex> lock(m_core.m_parent_mutex);
    return m_core.m_parent;
}

input_result kernel_core::publisher::input(const std::string& prompt, bool password) {
    if (!m_core.m_allow_stdin) {
        input_result r;
        r.supported = false;
        return r;
    }
    json parent;
    {
        std::lock_guard<std::mutex> lock(m_core.m_parent_mutex);
        parent = m_core.m_parent;
    }
    return m_core.m_transport.request_input(
        m_core.make_message("stdin", "input_request", {{"prompt", prompt}, {"password", password}}, parent));
}

}  // namespace kite
