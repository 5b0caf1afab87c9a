// kite::extension_preloader in wasm: the side module is compiled and instantiated
// asynchronously by the worker (kite-library.js), ready when Python's import dlopens it.
#pragma once

#include "host_services.hpp"

namespace kite::wasm {

class wasm_extension_preloader final : public extension_preloader {
public:
    void preload(const std::string& path) override;
};

}  // namespace kite::wasm
