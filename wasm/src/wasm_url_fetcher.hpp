// kite::url_fetcher in wasm: `_kite.fetch` goes to the worker's Module.kiteFetch (wasm/js/fetch.js),
// which blocks this thread until the answer and, inside an execute_request, gives up as soon as
// a signal is pending in the interrupt buffer.
#pragma once

#include "host_services.hpp"
#include "wasm_interrupt_source.hpp"

namespace kite::wasm {

class wasm_url_fetcher final : public url_fetcher {
public:
    explicit wasm_url_fetcher(const wasm_interrupt_source& interrupts) : m_interrupts(interrupts) {}
    fetch_result fetch(const std::string& url, const json& headers) override;

private:
    const wasm_interrupt_source& m_interrupts;
};

}  // namespace kite::wasm
