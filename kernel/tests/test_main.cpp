#include "harness.hpp"

namespace kite::test {

kernel& the_kernel() {
    static kernel* k = [] {
        auto* k = new kernel();  // never destroyed: CPython lives until the process exits
        k->interp.configure();
        k->irq.install();
        return k;
    }();
    return *k;
}

json run(const std::string& code, bool silent, bool store_history, const json& user_expressions,
         bool allow_stdin) {
    kernel& k = the_kernel();
    k.out.messages.clear();
    return k.interp.execute_request(code, silent, store_history, user_expressions, allow_stdin);
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
