// Jupyter header dates (ISO 8601) as microseconds since the Unix epoch, so that the core
// (stop_on_error) and the hosts (interrupt aiming) compare the client's dates the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kite {

// Fractional seconds (to the microsecond), 'Z', +hh:mm / -hh:mm, or no zone (= UTC); 'T' or a
// space between date and time. nullopt if the text is not such a date.
std::optional<std::int64_t> parse_iso_date(const std::string& iso);

}  // namespace kite
