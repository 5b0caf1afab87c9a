#include "wasm_transport.hpp"

#include <emscripten.h>
#include <emscripten/val.h>

#include <string>

#include "wasm_interrupt_source.hpp"

namespace {

using emscripten::val;

// Implemented in JavaScript: wasm/src/kite-library.js.
extern "C" void kite_js_log(const char* text);
extern "C" int kite_js_stdin_without_signals();

// The buffers as Uint8Array views of wasm memory (copied by kiteDeliverMessage before anything
// can grow the memory).
val buffer_views(const std::vector<std::string>& buffers) {
    val views = val::array();
    for (const auto& b : buffers) {
        views.call<void>("push", val(emscripten::typed_memory_view(
                                     b.size(), reinterpret_cast<const unsigned char*>(b.data()))));
    }
    return views;
}

}  // namespace

namespace kite::wasm {

std::string message_json(const message& msg) {
    json j = {{"channel", msg.channel},
              {"header", msg.header},
              {"parent_header", msg.parent_header},
              {"metadata", msg.metadata},
              {"content", msg.content}};
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void wasm_transport::send(message msg) {
    const std::string text = message_json(msg);
    val::module_property("kiteDeliverMessage")(val(text), buffer_views(msg.buffers));
}

input_result wasm_transport::request_input(message request) {
    input_result result;
    if (!can_interrupt() && !kite_js_stdin_without_signals()) {  // no buffer, no relay: no way to block
        result.supported = false;
        return result;
    }
    // kite-pre.js -> Module.kiteRequestInput (worker.js): posts the message, then waits on the
    // buffer. A string is the reply's value, a negative number the signal that cut the wait,
    // anything else: no input possible.
    val answer = val::module_property("kiteAskInput")(val(message_json(request)));
    if (answer.isString()) {
        result.value = answer.as<std::string>();
    } else if (answer.isNumber() && answer.as<double>() < 0) {
        result.signal = -answer.as<int>();
    } else {
        result.supported = false;
    }
    return result;
}

void wasm_transport::log(const std::string& text) { kite_js_log(text.c_str()); }

}  // namespace kite::wasm
