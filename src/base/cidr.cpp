#include "base/cidr.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <optional>

namespace callbridge::base {

namespace {

// IPv4 or IPv6 text -> 16 bytes (IPv4 mapped into ::ffff:0:0/96); `v4` says which it was.
std::optional<std::array<std::uint8_t, 16>> to_bytes(std::string_view text, bool* v4 = nullptr) {
  if (text.empty() || text.size() > 63) return std::nullopt;
  std::string s(text.substr(0, text.find('%')));  // a link-local zone is not part of the address
  std::array<std::uint8_t, 16> out{};
  in_addr a4{};
  if (::inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &a4, 4);
    if (v4) *v4 = true;
    return out;
  }
  in6_addr a6{};
  if (::inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    std::memcpy(out.data(), &a6, 16);
    if (v4) *v4 = false;
    return out;
  }
  return std::nullopt;
}

bool same_prefix(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b, int bits) {
  int i = 0;
  for (; bits >= 8; bits -= 8, ++i)
    if (a[i] != b[i]) return false;
  if (bits == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - bits));
  return (a[i] & mask) == (b[i] & mask);
}

}  // namespace

Result<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  const auto addr = text.substr(0, slash);
  if (addr.find('%') != std::string_view::npos)
    return fail(Error::invalid_argument("\"" + std::string(text) + "\" is not an address range: no zone (%) in a range"));
  bool v4 = false;
  auto bytes = to_bytes(addr, &v4);
  if (!bytes)
    return fail(Error::invalid_argument("\"" + std::string(text) +
                                        "\" is not an address range (expected e.g. \"10.0.0.0/8\", \"fd00::/8\" "
                                        "or one address)"));
  const int max = v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    const auto p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoi(std::string(p)) > max)
      return fail(Error::invalid_argument("\"" + std::string(text) + "\": the prefix length must be 0.." +
                                          std::to_string(max)));
    prefix = std::stoi(std::string(p));
  }
  Cidr c;
  c.net_ = *bytes;
  c.prefix_ = v4 ? 96 + prefix : prefix;
  c.text_ = std::string(text);
  // Host bits set beyond the prefix: most likely a typo ("10.0.0.1/8" meant a host or /32).
  std::array<std::uint8_t, 16> masked{};
  for (int bit = 0; bit < c.prefix_; ++bit) masked[bit / 8] |= c.net_[bit / 8] & (0x80 >> (bit % 8));
  if (masked != c.net_)
    return fail(Error::invalid_argument("\"" + std::string(text) + "\": address bits are set beyond the /" +
                                        std::to_string(prefix) + " prefix"));
  return c;
}

bool Cidr::contains(std::string_view address) const {
  auto a = to_bytes(address);
  return a && same_prefix(*a, net_, prefix_);
}

}  // namespace callbridge::base
