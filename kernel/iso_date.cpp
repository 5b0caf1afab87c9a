// ISO 8601 header dates as numbers: how the core and the hosts compare the client's dates.
#include "iso_date.hpp"

#include <cctype>

namespace kite {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

std::optional<std::int64_t> parse_iso_date(const std::string& iso) {
    const char* p = iso.c_str();
    auto digits = [&p](int count, int& out) {
        out = 0;
        for (int i = 0; i < count; ++i) {
            if (!std::isdigit(static_cast<unsigned char>(p[i]))) return false;
            out = out * 10 + (p[i] - '0');
        }
        p += count;
        return true;
    };
    auto expect = [&p](char c) {
        if (*p != c) return false;
        ++p;
        return true;
    };
    int year, month, day, hour, minute, second = 0;
    if (!digits(4, year) || !expect('-') || !digits(2, month) || !expect('-') || !digits(2, day))
        return std::nullopt;
    if (*p != 'T' && *p != 't' && *p != ' ') return std::nullopt;
    ++p;
    if (!digits(2, hour) || !expect(':') || !digits(2, minute)) return std::nullopt;
    if (*p == ':' && (++p, !digits(2, second))) return std::nullopt;
    std::int64_t micros = 0;
    if (*p == '.' || *p == ',') {
        ++p;
        int n = 0;
        for (; std::isdigit(static_cast<unsigned char>(*p)); ++p) {
            if (n < 6) {
                micros = micros * 10 + (*p - '0');
                ++n;
            }
        }
        if (n == 0) return std::nullopt;
        for (; n < 6; ++n) micros *= 10;
    }
    int offset_minutes = 0;
    if (*p == 'Z' || *p == 'z') {
        ++p;
    } else if (*p == '+' || *p == '-') {
        const int sign = *p == '-' ? -1 : 1;
        ++p;
        int oh, om = 0;
        if (!digits(2, oh)) return std::nullopt;
        if (*p == ':') ++p;
        if (*p && !digits(2, om)) return std::nullopt;
        offset_minutes = sign * (oh * 60 + om);
    }
    if (*p != '\0') return std::nullopt;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return std::nullopt;
    const std::int64_t seconds = days_from_civil(year, static_cast<unsigned>(month),
                                                 static_cast<unsigned>(day)) * 86400 +
                                 hour * 3600 + minute * 60 + second - offset_minutes * 60;
    return seconds * 1000000 + micros;
}

}  // namespace kite
