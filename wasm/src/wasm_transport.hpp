// kite::message_transport for the wasm worker. Whole messages leave as JS objects
// (Module.kiteDeliverMessage in kite-pre.js -> Module.kiteSend, which worker.js posts to the
// main side); an input_request goes out the same way and the worker then blocks in
// Module.kiteRequestInput (worker.js) on the shared buffer until the reply or a signal.
#pragma once

#include "host_services.hpp"

namespace kite::wasm {

class wasm_transport final : public message_transport {
public:
    void send(message msg) override;
    // Without a shared buffer a worker cannot block for an answer: supported = false.
    input_result request_input(message request) override;
    void log(const std::string& text) override;
};

// The JS object form of a message: {channel, header, parent_header, metadata, content} as JSON
// text (invalid UTF-8 replaced, never a throw).
std::string message_json(const message& msg);

}  // namespace kite::wasm
