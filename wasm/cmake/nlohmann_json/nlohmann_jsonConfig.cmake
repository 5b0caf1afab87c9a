# nlohmann_json for the Emscripten build: a config package that find_package(nlohmann_json)
# uses when configured with -Dnlohmann_json_DIR=<repo>/wasm/cmake/nlohmann_json.
# Debian's nlohmann-json3-dev is header-only but lives in /usr/include, which must never be on an
# emcc include path (glibc's headers would shadow Emscripten's libc); its own config package is
# also invisible to Emscripten's toolchain (CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY). So stage just
# the nlohmann/ headers under the build tree and expose the usual imported target.
set(_kite_nlohmann_src "/usr/include/nlohmann")
if(NOT EXISTS "${_kite_nlohmann_src}/json.hpp")
  set(nlohmann_json_FOUND FALSE)
  set(nlohmann_json_NOT_FOUND_MESSAGE "${_kite_nlohmann_src}/json.hpp missing: apt-get install nlohmann-json3-dev")
  return()
endif()
set(_kite_nlohmann_stage "${CMAKE_BINARY_DIR}/third_party/nlohmann-include")
if(NOT EXISTS "${_kite_nlohmann_stage}/nlohmann/json.hpp")
  file(MAKE_DIRECTORY "${_kite_nlohmann_stage}")
  file(COPY "${_kite_nlohmann_src}" DESTINATION "${_kite_nlohmann_stage}")
endif()
if(NOT TARGET nlohmann_json::nlohmann_json)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_kite_nlohmann_stage}")
endif()
set(nlohmann_json_FOUND TRUE)
