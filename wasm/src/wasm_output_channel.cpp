#include "wasm_output_channel.hpp"

#include <emscripten.h>

#include <string>

namespace {

EM_JS(void, kite_js_publish, (const char* msg_type, const char* content_json), {
    Module.kitePublish(UTF8ToString(msg_type), UTF8ToString(content_json));
});

EM_JS(int, kite_js_input_available, (), {
    return (typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer) ? 1 : 0;
});

// Posts the input_request and blocks. Returns the reply's byte length (>= 0), or -signal.
EM_JS(int, kite_js_input_wait, (const char* prompt, int password), {
    var i32 = Module.kiteBuffer;
    Atomics.store(i32, 1, 1);  // stdin state: the worker waits for input
    Module.kiteInputRequest(UTF8ToString(prompt), password !== 0);
    for (;;) {
        if (Atomics.load(i32, 1) === 2) return Atomics.load(i32, 2);
        if (Atomics.load(i32, 0) !== 0) {
            var sig = Atomics.exchange(i32, 0, 0);
            if (sig !== 0) {
                Atomics.store(i32, 1, 0);
                return -sig;
            }
        }
        // Every wake-up (signal or reply) notifies i32[0]. A signal changes i32[0] itself, so
        // it cannot be missed; a reply changes i32[1], and could land between the check above
        // and this wait (a lost wake-up): hence the bounded wait.
        Atomics.wait(i32, 0, 0, 20);
    }
});

// Copies the reply (bytes 16 .. 16 + n) into wasm memory and resets the stdin state.
EM_JS(void, kite_js_input_copy, (char* dst, int n), {
    var i32 = Module.kiteBuffer;
    HEAPU8.set(new Uint8Array(i32.buffer, 16, n), dst);
    Atomics.store(i32, 1, 0);
});

}  // namespace

namespace kite::wasm {

void wasm_output_channel::publish(const std::string& msg_type, json content) {
    // invalid UTF-8 from Python (surrogates...) is replaced, never a throw
    const std::string text = content.dump(-1, ' ', false, json::error_handler_t::replace);
    kite_js_publish(msg_type.c_str(), text.c_str());
}

input_result wasm_output_channel::input(const std::string& prompt, bool password) {
    input_result result;
    if (!kite_js_input_available()) {
        result.supported = false;
        return result;
    }
    const int n = kite_js_input_wait(prompt.c_str(), password ? 1 : 0);
    if (n < 0) {
        result.signal = -n;
        return result;
    }
    result.value.resize(static_cast<size_t>(n));
    kite_js_input_copy(result.value.data(), n);
    return result;
}

}  // namespace kite::wasm
