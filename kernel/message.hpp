// A whole Jupyter message as the protocol core takes and produces it: the four JSON parts, the
// channel it travels on, and its binary buffers. Hosts only move these (ZeroMQ frames, worker
// messages, xeus messages); what goes in them is decided by the core (kernel_core.hpp).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kite {

using json = nlohmann::json;

struct message {
    std::string channel;  // "shell", "control", "iopub" or "stdin"
    json header = json::object();
    json parent_header = json::object();
    json metadata = json::object();
    json content = json::object();
    std::vector<std::string> buffers;  // raw bytes, in order

    const std::string msg_type() const {
        auto it = header.find("msg_type");
        return (header.is_object() && it != header.end() && it->is_string()) ? it->get<std::string>()
                                                                              : std::string();
    }
};

}  // namespace kite
