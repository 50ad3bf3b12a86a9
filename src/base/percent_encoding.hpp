// Percent-decoding of URL parts (RFC 3986 section 2.1), shared by the HTTP API (paths, query
// strings, form bodies), its static file server and the relay's WebSocket query. Lenient, as
// browsers are: a '%' not followed by two hex digits stays as it is. Header-only: a few lines,
// used on the request path of both servers.
#pragma once

#include <string>
#include <string_view>

namespace callbridge::base {

// 0..15 for a hex digit (either case), -1 otherwise.
constexpr int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Where a '+' stands for a space: in application/x-www-form-urlencoded text (query strings, form
// bodies), not in a path segment.
enum class PlusIs { plus, space };

inline std::string percent_decode(std::string_view s, PlusIs plus) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const int hi = s[i] == '%' && i + 2 < s.size() ? hex_digit_value(s[i + 1]) : -1;
    const int lo = hi >= 0 ? hex_digit_value(s[i + 2]) : -1;
    if (lo >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+' && plus == PlusIs::space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace callbridge::base
