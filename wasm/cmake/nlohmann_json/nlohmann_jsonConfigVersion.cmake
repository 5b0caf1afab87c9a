# The version of Debian's nlohmann-json3-dev (see nlohmann_jsonConfig.cmake here).
include("/usr/share/cmake/nlohmann_json/nlohmann_jsonConfigVersion.cmake" OPTIONAL RESULT_VARIABLE _kite_found)
if(NOT _kite_found)
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
