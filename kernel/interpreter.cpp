// interpreter::handle_request: requests as data (the wasm worker's messages) to the typed API.
#include "interpreter.hpp"

#include <exception>
#include <string>

namespace kite {
namespace {

// A malformed request: becomes an error reply, never a crash.
struct bad_request {
    std::string message;
};

json error_reply(const std::string& ename, const std::string& evalue) {
    return {{"status", "error"}, {"ename", ename}, {"evalue", evalue}, {"traceback", json::array()}};
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
        long long i = v.get<long long>();
        if (i < -2147483647LL || i > 2147483647LL)
            throw bad_request{std::string("field '") + name + "' is out of range"};
        return static_cast<int>(i);
    }
    if (v.is_number_float()) {
        double d = v.get<double>();
        if (d == static_cast<double>(static_cast<long long>(d)) && d > -2147483647.0 && d < 2147483647.0)
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

}  // namespace

json interpreter::handle_request(const std::string& msg_type, const json& content) {
    try {
        if (!content.is_object())
            throw bad_request{"content must be a JSON object, not " + std::string(type_name(content))};
        if (msg_type == "execute_request") {
            std::string code = required_string(content, "code");
            bool silent = optional_bool(content, "silent", false);
            bool store_history = optional_bool(content, "store_history", true);
            json user_expressions = json::object();
            if (const json* v = field(content, "user_expressions"); v && !v->is_null()) {
                if (!v->is_object())
                    throw bad_request{std::string("field 'user_expressions' must be an object, not ") + type_name(*v)};
                for (auto it = v->begin(); it != v->end(); ++it)
                    if (!it.value().is_string())
                        throw bad_request{"user expression '" + it.key() + "' must be a string"};
                user_expressions = *v;
            }
            bool allow_stdin = optional_bool(content, "allow_stdin", true);
            optional_bool(content, "stop_on_error", true);  // validated; queue handling is the host's
            return execute_request(code, silent, store_history, user_expressions, allow_stdin);
        }
        if (msg_type == "complete_request") {
            std::string code = required_string(content, "code");
            int cursor = optional_int(content, "cursor_pos", code_points(code));
            return complete_request(code, cursor);
        }
        if (msg_type == "inspect_request") {
            std::string code = required_string(content, "code");
            int cursor = optional_int(content, "cursor_pos", code_points(code));
            int detail = optional_int(content, "detail_level", 0);
            if (detail != 0 && detail != 1)
                throw bad_request{"field 'detail_level' must be 0 or 1, not " + std::to_string(detail)};
            return inspect_request(code, cursor, detail);
        }
        if (msg_type == "is_complete_request") return is_complete_request(required_string(content, "code"));
        if (msg_type == "kernel_info_request") return kernel_info_request();
        if (msg_type == "history_request") {
            std::string access = required_string(content, "hist_access_type");
            if (access != "tail" && access != "range" && access != "search")
                throw bad_request{"field 'hist_access_type' must be 'tail', 'range' or 'search', not '" + access + "'"};
            optional_bool(content, "output", false);
            optional_bool(content, "raw", true);
            optional_bool(content, "unique", false);
            optional_int(content, "n", 0);
            optional_int(content, "session", 0);
            optional_int(content, "start", 0);
            optional_int(content, "stop", 0);
            if (const json* v = field(content, "pattern"); v && !v->is_null() && !v->is_string())
                throw bad_request{std::string("field 'pattern' must be a string, not ") + type_name(*v)};
            return history_request(content);
        }
        if (msg_type == "comm_info_request") {
            if (const json* v = field(content, "target_name"); v && !v->is_null() && !v->is_string())
                throw bad_request{std::string("field 'target_name' must be a string, not ") + type_name(*v)};
            return comm_info_request(content);
        }
        if (msg_type == "shutdown_request") {
            bool restart = optional_bool(content, "restart", false);
            shutdown_request(restart);
            return {{"status", "ok"}, {"restart", restart}};
        }
        return error_reply("UnknownRequest", "unknown msg_type '" + msg_type + "'");
    } catch (const bad_request& e) {
        return error_reply("MalformedRequest", msg_type + ": " + e.message);
    } catch (const std::exception& e) {
        return error_reply("KernelError", msg_type + ": " + e.what());
    } catch (...) {
        return error_reply("KernelError", msg_type + ": unknown C++ exception");
    }
}

}  // namespace kite
