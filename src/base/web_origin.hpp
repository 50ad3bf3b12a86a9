// Web origins (RFC 6454: scheme://host[:port]) as text: the one normalisation used for the
// [server] allowed_origins configuration (app/config) and the Origin check of cookie requests
// (api/origin_check). A pure function; any thread.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace callbridge::base {

// "HTTPS://Example.COM:443" -> "https://example.com": scheme http or https, a host (name, IPv4 or
// [IPv6]), an optional port (dropped when it is the scheme's default), nothing else (no path,
// query, user info or trailing slash). The error says what is wrong.
std::expected<std::string, std::string> normalize_origin(std::string_view text);

}  // namespace callbridge::base
