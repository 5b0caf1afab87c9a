#include "wasm_extension_preloader.hpp"

// Implemented in JavaScript: wasm/src/kite-library.js.
extern "C" void kite_js_preload_side_module(const char* path);

namespace kite::wasm {

void wasm_extension_preloader::preload(const std::string& path) { kite_js_preload_side_module(path.c_str()); }

}  // namespace kite::wasm
