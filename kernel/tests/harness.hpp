// Test harness: one process-wide kernel (posix_interrupts + kernel_core + python_interpreter over
// a recording transport, with scripted input answers). CTest runs every case in its own process
// (execution counts start at 1 in each); run the binary with --gtest_filter=ONE_CASE.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernel_core.hpp"
#include "posix_interrupts.hpp"
#include "python_interpreter.hpp"

namespace kite::test {

// An iopub publication of the interpreter (status and execute_input left out).
struct published {
    std::string msg_type;
    json content;
};

class recording_transport : public message_transport {
public:
    void send(message msg) override {
        std::lock_guard<std::mutex> lock(mutex);
        if (msg.channel == "iopub" && msg.msg_type() != "status" && msg.msg_type() != "execute_input")
            messages.push_back({msg.msg_type(), msg.content});
        sent.push_back(std::move(msg));
    }
    input_result request_input(message request) override {
        std::lock_guard<std::mutex> lock(mutex);
        prompts.push_back({request.content.value("prompt", ""), request.content.value("password", false)});
        input_requests.push_back(std::move(request));
        if (answers.empty()) return {"", 0, false};
        input_result r = answers.front();
        answers.pop_front();
        return r;
    }
    void log(const std::string& text) override {
        std::lock_guard<std::mutex> lock(mutex);
        logged.push_back(text);
    }
    void clear() {
        std::lock_guard<std::mutex> lock(mutex);
        messages.clear();
        sent.clear();
        input_requests.clear();
    }
    std::mutex mutex;
    std::vector<published> messages;   // the interpreter's publications, in order
    std::vector<message> sent;         // everything the core sent (replies, iopub), in order
    std::vector<message> input_requests;
    std::vector<std::pair<std::string, bool>> prompts;
    std::deque<input_result> answers;
    std::vector<std::string> logged;
};

struct kernel {
    posix_interrupts irq;  // first: blocks SIGINT in the main thread before anything else
    recording_transport out;
    kernel_core core{out, irq};
    python_interpreter interp{core.output(), irq};
};

// The process's kernel, configured on first use (on the main thread, which gtest uses).
kernel& the_kernel();

// ISO 8601 UTC "now", shifted by `offset_us` microseconds (as a client stamps header.date).
std::string iso_date(long long offset_us = 0);
// A request as a client sends it (fresh msg_id, date = now unless given).
message request(const std::string& msg_type, json content, const std::string& channel = "shell",
                const std::string& date = "");
// Clears the records, hands `msg` to the core, returns its reply's content (null if none).
json handle(message msg);
// The reply the core sent for `msg` (by parent msg_id), or a null message type if none.
message reply_to(const message& msg);

// Clears the recorded messages, runs code through the core, returns the execute_reply content.
json run(const std::string& code, bool silent = false, bool store_history = true,
         const json& user_expressions = json::object(), bool allow_stdin = true);
// Recorded publications of one type.
std::vector<json> of_type(const std::string& msg_type);
// All text of stream `name` (stdout/stderr), concatenated.
std::string stream_text(const std::string& name);
// Publications recorded since the last run(), as "type" strings, in order.
std::vector<std::string> types();
std::string joined(const json& traceback);

}  // namespace kite::test
