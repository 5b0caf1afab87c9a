// complete, inspect, is_complete, kernel_info, history, comm_info and handle_request.
#include "harness.hpp"

using namespace kite;
using namespace kite::test;

namespace {

json complete(const std::string& code, int cursor = -1) {
    if (cursor < 0) cursor = static_cast<int>(code.size());
    return the_kernel().interp.complete_request(code, cursor);
}

bool has(const json& matches, const std::string& m) {
    for (auto& x : matches)
        if (x == m) return true;
    return false;
}

}  // namespace

TEST(Complete, Names) {
    run("my_variable = 1\nmy_function = len");
    json r = complete("x = my_");
    EXPECT_EQ(r["status"], "ok");
    EXPECT_EQ(r["matches"], json({"my_function", "my_variable"}));
    EXPECT_EQ(r["cursor_start"], 4);
    EXPECT_EQ(r["cursor_end"], 7);
    EXPECT_EQ(r["metadata"], json::object());
    EXPECT_TRUE(has(complete("pri")["matches"], "print"));
    EXPECT_TRUE(has(complete("whi")["matches"], "while"));
    EXPECT_FALSE(has(complete("_")["matches"], "print"));
}

TEST(Complete, Attributes) {
    run("import os\nclass A:\n    alpha = 1\n    @property\n    def beta(self):\n        raise SystemExit('called')\n    def _private(self): pass\na = A()");
    json r = complete("os.pa");
    EXPECT_TRUE(has(r["matches"], "path")) << r.dump();
    EXPECT_TRUE(has(r["matches"], "pardir"));
    EXPECT_EQ(r["cursor_start"], 3);
    r = complete("a.");
    EXPECT_EQ(r["matches"], json({"alpha", "beta"})) << r.dump();
    EXPECT_TRUE(has(complete("a._")["matches"], "_private"));
    EXPECT_TRUE(has(complete("os.path.jo")["matches"], "join"));
    EXPECT_TRUE(complete("f().")["matches"].empty());  // never calls functions
    EXPECT_TRUE(complete("undefined_thing.x")["matches"].empty());
}

TEST(Complete, DictKeys) {
    run("d = {'apple': 1, 'apricot': 2, 'banana': 3, 4: 'x'}");
    json r = complete("d['ap");
    EXPECT_EQ(r["matches"], json({"apple'", "apricot'"}));
    EXPECT_EQ(r["cursor_start"], 3);
    r = complete("d[\"b");
    EXPECT_EQ(r["matches"], json({"banana\""}));
    r = complete("d['ap']", 5);
    EXPECT_EQ(r["matches"], json({"apple", "apricot"}));
}

TEST(Complete, Imports) {
    json r = complete("import o");
    EXPECT_TRUE(has(r["matches"], "os")) << r.dump();
    EXPECT_EQ(r["cursor_start"], 7);
    EXPECT_TRUE(has(complete("import sy")["matches"], "sys"));  // builtin module
    EXPECT_TRUE(has(complete("from col")["matches"], "collections"));
    r = complete("from os import pa");
    EXPECT_TRUE(has(r["matches"], "path"));
    EXPECT_EQ(r["cursor_start"], 15);
    EXPECT_TRUE(has(complete("from collections import Ord")["matches"], "OrderedDict"));
    r = complete("from email.mi");
    EXPECT_TRUE(has(r["matches"], "email.mime")) << r.dump();
    EXPECT_EQ(r["cursor_start"], 5);
    EXPECT_TRUE(has(complete("import xml.do")["matches"], "xml.dom"));
}

TEST(Complete, UnicodeCursor) {
    run("données = 1\ndonnées2 = 2");
    // "é" is one code point; the cursor is in code points.
    std::string code = "x = 'é'; donn";
    json r = complete(code, 13);
    EXPECT_EQ(r["matches"], json({"données", "données2"})) << r.dump();
    EXPECT_EQ(r["cursor_start"], 9);
    EXPECT_EQ(r["cursor_end"], 13);
}

TEST(Inspect, FunctionSignatureAndDoc) {
    run("def greet(name, punctuation='!'):\n    '''Say hello.'''\n    return 'hi ' + name");
    json r = the_kernel().interp.inspect_request("greet", 3, 0);
    EXPECT_EQ(r["status"], "ok");
    EXPECT_EQ(r["found"], true);
    std::string text = r["data"]["text/plain"];
    EXPECT_NE(text.find("greet(name, punctuation='!')"), std::string::npos) << text;
    EXPECT_NE(text.find("Say hello."), std::string::npos) << text;
    r = the_kernel().interp.inspect_request("greet", 5, 1);
    text = r["data"]["text/plain"];
    EXPECT_NE(text.find("return 'hi ' + name"), std::string::npos) << text;
    // Inside a call: the called function.
    r = the_kernel().interp.inspect_request("greet(", 6, 0);
    EXPECT_EQ(r["found"], true);
    run("import os");
    r = the_kernel().interp.inspect_request("x = 1\nos.path.join", 18, 0);
    EXPECT_EQ(r["found"], true);
    EXPECT_NE(r["data"]["text/plain"].get<std::string>().find("join("), std::string::npos);
    r = the_kernel().interp.inspect_request("nothing_here", 5, 0);
    EXPECT_EQ(r["found"], false);
    EXPECT_EQ(r["data"], json::object());
}

TEST(IsComplete, Cases) {
    auto check = [](const std::string& code) { return the_kernel().interp.is_complete_request(code); };
    EXPECT_EQ(check("print('hi')"), json({{"status", "complete"}}));
    EXPECT_EQ(check(""), json({{"status", "complete"}}));
    EXPECT_EQ(check("x = ("), json({{"status", "incomplete"}, {"indent", ""}}));
    EXPECT_EQ(check("def f():"), json({{"status", "incomplete"}, {"indent", "    "}}));
    EXPECT_EQ(check("for i in x:\n    if i:"), json({{"status", "incomplete"}, {"indent", "        "}}));
    EXPECT_EQ(check("if x:\n    y = 1"), json({{"status", "incomplete"}, {"indent", "    "}}));
    EXPECT_EQ(check("if x:\n    y = 1\n"), json({{"status", "complete"}}));
    EXPECT_EQ(check("x = 1 2"), json({{"status", "invalid"}}));
    EXPECT_EQ(check("1 + 2 +* 3"), json({{"status", "invalid"}}));
    EXPECT_EQ(check("a = 1 +"), json({{"status", "invalid"}}));
    EXPECT_EQ(check("x = '''abc"), json({{"status", "incomplete"}, {"indent", ""}}));
    EXPECT_EQ(check("f(1))"), json({{"status", "invalid"}}));
}

TEST(KernelInfo, Content) {
    json r = the_kernel().interp.kernel_info_request();
    EXPECT_EQ(r["status"], "ok");
    EXPECT_EQ(r["protocol_version"], "5.3");
    EXPECT_EQ(r["implementation"], "kite");
    EXPECT_EQ(r["implementation_version"], "0.1.0");
    EXPECT_EQ(r["language_info"]["name"], "python");
    EXPECT_EQ(r["language_info"]["version"].get<std::string>().substr(0, 5), "3.11.");
    EXPECT_EQ(r["language_info"]["codemirror_mode"], json({{"name", "ipython"}, {"version", 3}}));
    EXPECT_EQ(r["language_info"]["pygments_lexer"], "ipython3");
    EXPECT_NE(r["banner"].get<std::string>().find("kite"), std::string::npos);
    EXPECT_EQ(r["debugger"], false);
    EXPECT_TRUE(r["help_links"].is_array());
}

TEST(History, TailRangeSearch) {
    run("a = 1");
    run("a + 1");
    run("print(a)");
    run("a + 1");
    run("hidden = 1", true);
    auto& k = the_kernel().interp;
    json r = k.history_request({{"hist_access_type", "tail"}, {"n", 2}});
    EXPECT_EQ(r["status"], "ok");
    EXPECT_EQ(r["history"], json::parse(R"J([[1, 3, "print(a)"], [1, 4, "a + 1"]])J"));
    r = k.history_request({{"hist_access_type", "tail"}, {"n", 2}, {"output", true}});
    EXPECT_EQ(r["history"], json::parse(R"J([[1, 3, ["print(a)", null]], [1, 4, ["a + 1", "2"]]])J"));
    r = k.history_request({{"hist_access_type", "range"}, {"session", 0}, {"start", 2}, {"stop", 4}});
    EXPECT_EQ(r["history"], json::parse(R"J([[1, 2, "a + 1"], [1, 3, "print(a)"]])J"));
    r = k.history_request({{"hist_access_type", "range"}, {"session", 5}, {"start", 1}, {"stop", 4}});
    EXPECT_EQ(r["history"], json::array());
    r = k.history_request({{"hist_access_type", "search"}, {"pattern", "a ?*"}});
    EXPECT_EQ(r["history"], json::parse(R"J([[1, 1, "a = 1"], [1, 2, "a + 1"], [1, 4, "a + 1"]])J"));
    r = k.history_request({{"hist_access_type", "search"}, {"pattern", "a*"}, {"unique", true}});
    EXPECT_EQ(r["history"], json::parse(R"J([[1, 1, "a = 1"], [1, 4, "a + 1"]])J"));
    r = k.history_request({{"hist_access_type", "search"}, {"pattern", "*"}, {"n", 1}});
    EXPECT_EQ(r["history"], json::parse(R"J([[1, 4, "a + 1"]])J"));
}

TEST(CommInfo, Empty) {
    EXPECT_EQ(the_kernel().interp.comm_info_request(json::object()),
              json({{"status", "ok"}, {"comms", json::object()}}));
}

TEST(CoreDispatch, EveryRequestType) {
    json r = handle(request("execute_request", {{"code", "6 * 7"}, {"silent", false}}));
    EXPECT_EQ(r["status"], "ok");
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "42");
    EXPECT_EQ(handle(request("kernel_info_request", json::object()))["implementation"], "kite");
    EXPECT_EQ(handle(request("complete_request", {{"code", "pri"}, {"cursor_pos", 3}}))["cursor_start"], 0);
    EXPECT_EQ(handle(request("complete_request", {{"code", "pri"}}))["cursor_end"], 3);
    EXPECT_EQ(handle(request("inspect_request", {{"code", "len"}, {"cursor_pos", 3}, {"detail_level", 0}}))["found"], true);
    EXPECT_EQ(handle(request("is_complete_request", {{"code", "x = ("}}))["status"], "incomplete");
    EXPECT_EQ(handle(request("history_request", {{"hist_access_type", "tail"}, {"n", 1}, {"output", false}, {"raw", true}}))["history"].size(), 1u);
    EXPECT_EQ(handle(request("comm_info_request", json::object()))["comms"], json::object());
}

TEST(CoreDispatch, Malformed) {
    auto expect_error = [&](const std::string& type, const json& content, const std::string& needle) {
        json r = handle(request(type, content));
        ASSERT_TRUE(r.is_object()) << type << " " << content.dump() << ": no reply";
        EXPECT_EQ(r["status"], "error") << type << " " << content.dump();
        EXPECT_EQ(r["ename"], "MalformedRequest") << r.dump();
        EXPECT_NE(r["evalue"].get<std::string>().find(needle), std::string::npos) << r.dump();
    };
    expect_error("execute_request", json::object(), "'code'");
    expect_error("execute_request", {{"code", 5}}, "'code' must be a string");
    expect_error("execute_request", {{"code", "1"}, {"silent", "no"}}, "'silent' must be a boolean");
    expect_error("execute_request", {{"code", "1"}, {"user_expressions", json::array()}}, "user_expressions");
    expect_error("execute_request", {{"code", "1"}, {"user_expressions", {{"a", 1}}}}, "'a'");
    expect_error("execute_request", json::array(), "must be a JSON object");
    expect_error("execute_request", nullptr, "must be a JSON object");
    expect_error("complete_request", {{"code", "x"}, {"cursor_pos", "3"}}, "'cursor_pos' must be an integer");
    expect_error("inspect_request", {{"cursor_pos", 1}}, "'code'");
    expect_error("inspect_request", {{"code", "x"}, {"cursor_pos", 1}, {"detail_level", 7}}, "detail_level");
    expect_error("is_complete_request", {{"code", nullptr}}, "'code'");
    expect_error("history_request", json::object(), "hist_access_type");
    expect_error("history_request", {{"hist_access_type", "everything"}}, "hist_access_type");
    expect_error("history_request", {{"hist_access_type", "tail"}, {"n", "ten"}}, "'n'");
    // The kernel still works afterwards.
    EXPECT_EQ(run("1")["status"], "ok");
}

TEST(Configure, SecondInterpreterRefused) {
    the_kernel();
    posix_interrupts irq;
    recording_transport out;
    kernel_core core(out, irq);
    python_interpreter second(core.output(), irq);
    EXPECT_THROW(second.configure(), std::logic_error);
    // Requests to an unconfigured interpreter give error replies, not crashes.
    json r = second.kernel_info_request();
    EXPECT_EQ(r["status"], "error");
    EXPECT_EQ(run("1")["status"], "ok");
}
