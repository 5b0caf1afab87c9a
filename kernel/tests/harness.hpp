// Test harness: one configured python_interpreter per test process, a recording output channel
// with scripted input answers, and the POSIX interrupt source. CTest runs every case in its own
// process (execution counts start at 1 in each); run the binary with --gtest_filter=ONE_CASE.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "posix_interrupts.hpp"
#include "python_interpreter.hpp"

namespace kite::test {

struct message {
    std::string msg_type;
    json content;
};

class recording_output : public output_channel {
public:
    void publish(const std::string& msg_type, json content) override {
        messages.push_back({msg_type, std::move(content)});
    }
    input_result input(const std::string& prompt, bool password) override {
        prompts.push_back({prompt, password});
        if (answers.empty()) return {"", 0, false};
        input_result r = answers.front();
        answers.pop_front();
        return r;
    }
    std::vector<message> messages;
    std::vector<std::pair<std::string, bool>> prompts;
    std::deque<input_result> answers;
};

struct kernel {
    recording_output out;
    posix_interrupts irq;
    python_interpreter interp{out, irq};
};

// The process's kernel, configured on first use (on the main thread, which gtest uses).
kernel& the_kernel();

// Clears the recorded messages, runs code, returns the reply.
json run(const std::string& code, bool silent = false, bool store_history = true,
         const json& user_expressions = json::object(), bool allow_stdin = true);
// Recorded messages of one type.
std::vector<json> of_type(const std::string& msg_type);
// All text of stream `name` (stdout/stderr), concatenated.
std::string stream_text(const std::string& name);
// Messages recorded since the last run(), as "type" strings, in order.
std::vector<std::string> types();
std::string joined(const json& traceback);

}  // namespace kite::test
