// Device (extension) names as the PBX dials them: the one rule the identity store, the config
// loader, the REST call-control bodies and the CLI check names against before a name can reach an
// AMI action (`Channel: PJSIP/<device>`). Header-only, pure; any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace callbridge::base {

inline constexpr std::size_t kMaxDeviceName = 32;

// What the rule allows, for error messages.
inline constexpr std::string_view kDeviceNameRule =
    "1 to 32 letters, digits or * # + - _ (no '/', '.', spaces or control characters)";

// True for a name an Asterisk dialplan can dial as an extension and a channel technology can take as
// its resource: letters, digits and * # + - _, at most 32. Rejected: '/' (a second technology
// prefix: "PJSIP/101" became "PJSIP/PJSIP/101"), '.' ("../x", "a.b": path-like and a dialplan
// wildcard), '@' and ',' (context/argument separators), whitespace and control characters.
constexpr bool is_device_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxDeviceName) return false;
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*' ||
                    c == '#' || c == '+' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace callbridge::base
