#include <chrono>
#include <ctime>

#include "harness.hpp"

namespace kite::test {

kernel& the_kernel() {
    static kernel* k = [] {
        auto* k = new kernel();  // never destroyed: CPython lives until the process exits
        k->interp.configure();
        k->irq.install();
        k->core.attach(k->interp);
        return k;
    }();
    return *k;
}

std::string iso_date(long long offset_us) {
    using namespace std::chrono;
    const long long us = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count() + offset_us;
    std::time_t secs = static_cast<std::time_t>(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char text[40];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1000000);
    return text;
}

message request(const std::string& msg_type, json content, const std::string& channel, const std::string& date) {
    static int counter = 0;
    message msg;
    msg.channel = channel;
    msg.header = {{"msg_id", "test-" + std::to_string(++counter)},
                  {"session", "test-session"},
                  {"username", "test"},
                  {"date", date.empty() ? iso_date() : date},
                  {"msg_type", msg_type},
                  {"version", "5.3"}};
    msg.content = std::move(content);
    return msg;
}

message reply_to(const message& msg) {
    kernel& k = the_kernel();
    std::lock_guard<std::mutex> lock(k.out.mutex);
    for (auto& m : k.out.sent)
        if (m.channel != "iopub" && m.parent_header.value("msg_id", "") == msg.header["msg_id"]) return m;
    return message{};
}

json handle(message msg) {
    kernel& k = the_kernel();
    k.out.clear();
    message copy = msg;
    k.core.handle(std::move(msg));
    message r = reply_to(copy);
    return r.channel.empty() ? json() : r.content;
}

json run(const std::string& code, bool silent, bool store_history, const json& user_expressions,
         bool allow_stdin) {
    return handle(request("execute_request", {{"code", code},
                                              {"silent", silent},
                                              {"store_history", store_history},
                                              {"user_expressions", user_expressions},
                                              {"allow_stdin", allow_stdin},
                                              {"stop_on_error", false}}));
}

std::vector<json> of_type(const std::string& msg_type) {
    std::vector<json> found;
    for (auto& m : the_kernel().out.messages)
        if (m.msg_type == msg_type) found.push_back(m.content);
    return found;
}

std::string stream_text(const std::string& name) {
    std::string text;
    for (auto& m : of_type("stream"))
        if (m["name"] == name) text += m["text"].get<std::string>();
    return text;
}

std::vector<std::string> types() {
    std::vector<std::string> t;
    for (auto& m : the_kernel().out.messages) t.push_back(m.msg_type);
    return t;
}

std::string joined(const json& traceback) {
    std::string s;
    for (auto& line : traceback) s += line.get<std::string>() + "\n";
    return s;
}

}  // namespace kite::test

namespace {

// Configure before any test body runs, so that a test's timers (delayed SIGINTs) never race
// the interpreter's start-up.
class configured_kernel : public ::testing::Environment {
public:
    void SetUp() override { kite::test::the_kernel(); }
};

const auto* const registered = ::testing::AddGlobalTestEnvironment(new configured_kernel);

}  // namespace
