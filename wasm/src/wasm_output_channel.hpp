// kite::output_channel for the wasm worker: iopub messages go to worker.js (Module.kitePublish,
// which posts {type:'publish'}); input() posts {type:'input_request'} and blocks the worker with
// Atomics.wait on the shared buffer until the main thread writes the reply or a signal.
#pragma once

#include "host_services.hpp"

namespace kite::wasm {

class wasm_output_channel final : public output_channel {
public:
    void publish(const std::string& msg_type, json content) override;
    // The reply is read from the shared buffer: UTF-8 at byte 16, length in i32[2], i32[1] == 2.
    // A signal (i32[0] != 0) cuts the wait short: it is taken and returned in `signal`.
    // Without a shared buffer a worker cannot block for an answer: supported = false.
    input_result input(const std::string& prompt, bool password) override;
};

}  // namespace kite::wasm
