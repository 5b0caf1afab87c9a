#include "wasm_url_fetcher.hpp"

#include <emscripten/val.h>

namespace kite::wasm {

// Module.kiteFetch(url, headersJson, watchSignals) -> {status, headers, body: Uint8Array} |
// {signal} | {error}; it never throws (a JS exception must not unwind through wasm frames).
fetch_result wasm_url_fetcher::fetch(const std::string& url, const json& headers) {
    using emscripten::val;
    fetch_result out;
    val fetch = val::module_property("kiteFetch");
    if (fetch.isUndefined() || fetch.isNull()) {
        out.error = "this host gives the kernel no way to fetch URLs (Module.kiteFetch is missing)";
        return out;
    }
    val r = fetch(url, headers.dump(), m_interrupts.in_execute());
    if (!r["error"].isUndefined()) {
        out.error = r["error"].as<std::string>();
        return out;
    }
    if (!r["signal"].isUndefined()) {
        out.signal = r["signal"].as<int>();
        return out;
    }
    out.status = r["status"].as<int>();
    out.headers = json::parse(r["headersJson"].as<std::string>(), nullptr, false);
    if (out.headers.is_discarded()) out.headers = json::object();
    val body = r["body"];
    out.body.resize(body["length"].as<size_t>());
    if (!out.body.empty()) {
        val(emscripten::typed_memory_view(out.body.size(), reinterpret_cast<unsigned char*>(out.body.data())))
            .call<void>("set", body);
    }
    return out;
}

}  // namespace kite::wasm
