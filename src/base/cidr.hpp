// Cidr: an IPv4 or IPv6 address range ("10.0.0.0/8", "fd00::/8", or one address, "192.0.2.7"),
// as written in the configuration ([server] metrics_allow) and matched against a peer address.
// Parsed once at config load (app/config); contains() is called by api/rest_ops on the io thread.
// A value; no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace callbridge::base {

class Cidr {
 public:
  // "ADDRESS" or "ADDRESS/PREFIX" (IPv4 dotted quad or IPv6 text, prefix 0..32 or 0..128). Host
  // bits beyond the prefix are refused ("10.0.0.1/8"), so a typo does not silently widen a range.
  static Result<Cidr> parse(std::string_view text);
  // Whether `address` (a peer address as the HTTP server reports it: "127.0.0.1", "::1",
  // "::ffff:127.0.0.1", possibly with a "%zone") is in the range. IPv4 and IPv4-mapped IPv6
  // addresses are the same address. False for text that is no address.
  bool contains(std::string_view address) const;
  const std::string& text() const { return text_; }
  friend bool operator==(const Cidr&, const Cidr&) = default;

 private:
  std::array<std::uint8_t, 16> net_{};  // IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d)
  int prefix_ = 128;                    // over the 128 bits (IPv4 /n is 96 + n)
  std::string text_;                    // as written
};

}  // namespace callbridge::base
