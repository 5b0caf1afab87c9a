// kernel_core: the protocol rules (status, execute_input, counts, stop_on_error, replies to every
// request), seen through a recording message_transport.
#include "harness.hpp"

using namespace kite;
using namespace kite::test;

namespace {

std::vector<message> sent() {
    std::lock_guard<std::mutex> lock(the_kernel().out.mutex);
    return the_kernel().out.sent;
}

std::vector<message> iopub_of_type(const std::string& msg_type) {
    std::vector<message> found;
    for (auto& m : sent())
        if (m.channel == "iopub" && m.msg_type() == msg_type) found.push_back(m);
    return found;
}

std::string describe(const std::vector<message>& msgs) {
    std::string s;
    for (auto& m : msgs) s += m.channel + ":" + m.msg_type() + " ";
    return s;
}

message execute(const std::string& code, json extra = json::object(), const std::string& date = "") {
    json content = {{"code", code}};
    for (auto it = extra.begin(); it != extra.end(); ++it) content[it.key()] = it.value();
    return request("execute_request", content, "shell", date);
}

}  // namespace

TEST(Core, StatusBusyIdleAroundEveryRequestWithParent) {
    message req = request("kernel_info_request", json::object());
    handle(req);
    auto msgs = sent();
    ASSERT_EQ(msgs.size(), 3u) << describe(msgs);
    EXPECT_EQ(msgs[0].channel, "iopub");
    EXPECT_EQ(msgs[0].msg_type(), "status");
    EXPECT_EQ(msgs[0].content["execution_state"], "busy");
    EXPECT_EQ(msgs[1].channel, "shell");
    EXPECT_EQ(msgs[1].msg_type(), "kernel_info_reply");
    EXPECT_EQ(msgs[1].content["status"], "ok");
    EXPECT_EQ(msgs[2].msg_type(), "status");
    EXPECT_EQ(msgs[2].content["execution_state"], "idle");
    for (auto& m : msgs) {
        EXPECT_EQ(m.parent_header, req.header) << m.msg_type();
        EXPECT_TRUE(m.header["msg_id"].is_string());
        EXPECT_EQ(m.header["session"], the_kernel().core.session());
    }

    message cell = execute("print('x')\n1");
    handle(cell);
    msgs = sent();
    ASSERT_GE(msgs.size(), 6u) << describe(msgs);
    EXPECT_EQ(msgs.front().content["execution_state"], "busy");
    EXPECT_EQ(msgs.back().content["execution_state"], "idle");
    EXPECT_EQ(msgs[msgs.size() - 2].msg_type(), "execute_reply");
    for (auto& m : msgs) EXPECT_EQ(m.parent_header["msg_id"], cell.header["msg_id"]) << m.msg_type();
}

TEST(Core, ExecuteInputAndCounts) {
    handle(execute("1"));
    auto inputs = iopub_of_type("execute_input");
    ASSERT_EQ(inputs.size(), 1u);
    EXPECT_EQ(inputs[0].content["execution_count"], 1);
    EXPECT_EQ(inputs[0].content["code"], "1");

    // silent: no execute_input, no count
    json r = handle(execute("2", {{"silent", true}}));
    EXPECT_TRUE(iopub_of_type("execute_input").empty());
    EXPECT_EQ(r["execution_count"], 1);

    // store_history false: announces the next number but does not take it
    r = handle(execute("3", {{"store_history", false}}));
    inputs = iopub_of_type("execute_input");
    ASSERT_EQ(inputs.size(), 1u);
    EXPECT_EQ(inputs[0].content["execution_count"], 2);
    EXPECT_EQ(r["execution_count"], 1);
    ASSERT_EQ(iopub_of_type("execute_result").size(), 1u);
    EXPECT_EQ(iopub_of_type("execute_result")[0].content["execution_count"], 1);  // as ipykernel

    r = handle(execute("4"));
    EXPECT_EQ(iopub_of_type("execute_input")[0].content["execution_count"], 2);
    EXPECT_EQ(r["execution_count"], 2);
    auto results = iopub_of_type("execute_result");
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].content["execution_count"], 2);
}

TEST(Core, StopOnErrorAbortsRequestsSentBeforeTheError) {
    const std::string before = iso_date();  // a request the client sent before the failure
    json r = handle(execute("1/0"));
    EXPECT_EQ(r["status"], "error");
    r = handle(execute("aborted_ran = True", json::object(), before));
    EXPECT_EQ(r["status"], "aborted") << r.dump();
    EXPECT_TRUE(iopub_of_type("execute_input").empty());
    // sent after the failure: runs
    r = handle(execute("'aborted_ran' in globals()"));
    EXPECT_EQ(r["status"], "ok") << r.dump();
    EXPECT_EQ(iopub_of_type("execute_result")[0].content["data"]["text/plain"], "False");
    // stop_on_error false: an error does not abort what follows
    const std::string before2 = iso_date();
    handle(execute("1/0", {{"stop_on_error", false}}));
    EXPECT_EQ(handle(execute("2", json::object(), before2))["status"], "ok");
}

TEST(Core, UnknownRequestGetsAnErrorReply) {
    message req = request("frobnicate_request", {{"anything", 1}});
    json r = handle(req);
    ASSERT_TRUE(r.is_object());
    EXPECT_EQ(reply_to(req).msg_type(), "frobnicate_reply");
    EXPECT_EQ(r["status"], "error");
    EXPECT_EQ(r["ename"], "UnknownMessageType");
    EXPECT_NE(r["evalue"].get<std::string>().find("frobnicate_request"), std::string::npos) << r.dump();
    // A type without a reply form is logged, not answered.
    EXPECT_TRUE(handle(request("frobnicate", json::object())).is_null());
}

TEST(Core, CommInfoReply) {
    message req = request("comm_info_request", json::object());
    json r = handle(req);
    EXPECT_EQ(reply_to(req).msg_type(), "comm_info_reply");
    EXPECT_EQ(r["status"], "ok");
    EXPECT_TRUE(r["comms"].is_object());
    r = handle(request("comm_info_request", {{"target_name", 5}}));
    EXPECT_EQ(r["ename"], "MalformedRequest");
}

TEST(Core, MalformedContentGetsAnErrorReply) {
    message req = request("execute_request", {{"code", 5}});
    json r = handle(req);
    EXPECT_EQ(reply_to(req).msg_type(), "execute_reply");
    EXPECT_EQ(r["status"], "error");
    EXPECT_EQ(r["ename"], "MalformedRequest");
    auto msgs = sent();
    ASSERT_FALSE(msgs.empty());
    EXPECT_EQ(msgs.back().content["execution_state"], "idle");  // still idle afterwards
    r = handle(request("inspect_request", {{"code", "x"}, {"cursor_pos", "1"}}));
    EXPECT_EQ(r["ename"], "MalformedRequest");
    r = handle(request("is_complete_request", {{"code", nullptr}}));
    EXPECT_EQ(r["ename"], "MalformedRequest");
    EXPECT_EQ(run("1 + 1")["status"], "ok");
}

TEST(Core, NonObjectHeadersAreNeverEchoed) {
    message bad = request("kernel_info_request", json::object());
    bad.header = json::array({1, 2});
    handle(bad);
    EXPECT_TRUE(sent().empty()) << describe(sent());
    message odd_parent = request("kernel_info_request", json::object());
    odd_parent.parent_header = json::array({"x"});
    odd_parent.metadata = "meta";
    handle(odd_parent);
    for (auto& m : sent()) {
        EXPECT_TRUE(m.parent_header.is_object());
        EXPECT_TRUE(m.metadata.is_object());
    }
}

TEST(Core, ControlKernelInfoAndShutdown) {
    message info = request("kernel_info_request", json::object(), "control");
    handle(info);
    EXPECT_EQ(reply_to(info).channel, "control");
    EXPECT_FALSE(the_kernel().core.shutdown_requested());
    message bye = request("shutdown_request", {{"restart", false}}, "control");
    json r = handle(bye);
    EXPECT_EQ(r, json({{"status", "ok"}, {"restart", false}}));
    EXPECT_TRUE(the_kernel().core.shutdown_requested());
}
