// The servers a host injects into kite's interpreter (xeus's publish/stdin servers, and the
// source of interrupts). The interpreter never knows whether it runs in a browser, Node or natively.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace kite {

using json = nlohmann::json;

// What an input request came back with: a value, or the signal that cut it short.
struct input_result {
    std::string value;
    int signal = 0;  // non-zero: the wait was cut by this signal number; value is meaningless
    bool supported = true;  // false: this host cannot answer input at all (e.g. allow_stdin false)
};

// iopub and stdin, as seen from the interpreter.
class output_channel {
public:
    virtual ~output_channel() = default;
    // msg_type: stream, display_data, update_display_data, execute_result, error, clear_output.
    virtual void publish(const std::string& msg_type, json content) = 0;
    // Blocks until the frontend answers the input_request or a signal arrives.
    virtual input_result input(const std::string& prompt, bool password) = 0;
};

// Where interrupts come from: the shared buffer in wasm, POSIX signals natively.
class interrupt_source {
public:
    virtual ~interrupt_source() = default;
    // Drop a signal that arrived while idle, so it cannot leak into the next cell.
    virtual void clear() = 0;
    // Block up to `seconds` (no busy loop); true if woken early by a signal or other event.
    virtual bool wait(double seconds) = 0;
    // The pending signal number, taken atomically (0 if none). Natively CPython's own handlers
    // see signals, so this returns 0 there.
    virtual int take() = 0;
};

}  // namespace kite
