// Writing JSON text by hand where a DOM would cost too much (events, journal lines, errors):
// one string escaper shared by every part that renders JSON. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace callbridge::base {

// Appends `s` as a quoted JSON string: `"` and `\` escaped, control characters as \n, \r, \t or
// \u00XX. Bytes >= 0x80 pass through (callers hold UTF-8).
void append_json_string(std::string& out, std::string_view s);

}  // namespace callbridge::base
