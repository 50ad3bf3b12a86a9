// CSTA device identifiers as clients write them: plain numbers ("101", "+4930555101", with '*'
// and '#') and the OpenScape style "N<+4930555101>;noa=nk" (a one-letter kind, the number in angle
// brackets, ";key=value" parameters), also "tel:" URIs. Parsing only: which tenant extension or
// E.164 number an id means is the dialing plan's job (the CSTA server), not this codec's.
// Free functions on views; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace callbridge::protocols::csta {

struct DeviceId {
  std::string_view number;  // "+4930555101", "101" (views into the parsed text)
  char kind = 0;            // 'N' of "N<...>"; 0 for a plain id or tel: URI
  std::string_view params;  // "noa=nk;..." without the leading ';' ("" if none)
  // The value of parameter `key` ("" when absent).
  std::string_view param(std::string_view key) const;
  bool e164() const { return !number.empty() && number.front() == '+'; }
};

// Error (Errc::invalid_argument): empty, an unclosed '<', characters outside 0-9 * # + (a '+' only
// first), a number longer than 32 characters.
base::Result<DeviceId> parse_device_id(std::string_view text);
// The result holds views into `text`: a temporary string would leave them dangling.
base::Result<DeviceId> parse_device_id(std::string&& text) = delete;
inline base::Result<DeviceId> parse_device_id(const char* text) { return parse_device_id(std::string_view(text)); }

enum class DeviceIdStyle : std::uint8_t { plain, openscape };
// "101" / "+4930555101" (plain), "N<+4930555101>" (openscape; with ";noa=..." if `noa` is given).
std::string format_device_id(std::string_view number, DeviceIdStyle style, std::string_view noa = {});

}  // namespace callbridge::protocols::csta
