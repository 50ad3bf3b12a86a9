#include "webhooks/delivery/address_policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <string>

namespace callbridge::webhooks {

namespace {

struct Blocked {
  const char* range;
  std::string_view name;
};

// First match names the refusal, so the specific ranges (metadata) come before the ranges holding
// them (link-local, ULA). IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match the IPv4 rows
// (base::Cidr treats them as the same address).
constexpr Blocked kBlocked[] = {
    {"169.254.169.254/32", "metadata"},  // AWS, GCP, Azure, OpenStack instance metadata
    {"fd00:ec2::254/128", "metadata"},   // AWS instance metadata over IPv6
    {"100.100.100.200/32", "metadata"},  // Alibaba Cloud
    {"0.0.0.0/8", "unspecified"},        // "this network"; 0.0.0.0 reaches the local host on Linux
    {"::/128", "unspecified"},
    {"127.0.0.0/8", "loopback"},
    {"::1/128", "loopback"},
    {"10.0.0.0/8", "private"},  // RFC 1918
    {"172.16.0.0/12", "private"},
    {"192.168.0.0/16", "private"},
    {"fc00::/7", "private"},        // unique local addresses (RFC 4193)
    {"100.64.0.0/10", "shared"},    // carrier-grade NAT (RFC 6598)
    {"169.254.0.0/16", "link-local"},
    {"fe80::/10", "link-local"},
    {"224.0.0.0/4", "multicast"},
    {"ff00::/8", "multicast"},
    {"192.0.0.0/24", "reserved"},   // IETF protocol assignments (RFC 6890)
    {"198.18.0.0/15", "reserved"},  // benchmarking (RFC 2544)
    {"240.0.0.0/4", "reserved"},    // future use and 255.255.255.255 (broadcast)
};

const std::vector<std::pair<base::Cidr, std::string_view>>& blocked() {
  static const auto table = [] {
    std::vector<std::pair<base::Cidr, std::string_view>> t;
    for (const auto& b : kBlocked) t.emplace_back(*base::Cidr::parse(b.range), b.name);
    return t;
  }();
  return table;
}

// IPv6 prefixes that carry an IPv4 address a gateway on the path connects to: the well-known NAT64
// prefix (RFC 6052: the last 32 bits) and 6to4 (RFC 3056: bits 16-47). Such an address is judged
// by the IPv4 address it carries, so 64:ff9b::a00:1 is refused as "private" like 10.0.0.1.
struct Embedding {
  const char* range;
  int offset;  // byte offset of the IPv4 address in the 16 bytes
};
constexpr Embedding kEmbedding[] = {{"64:ff9b::/96", 12}, {"2002::/16", 2}};

// Prefixes whose mapping the host's network decides, so no fixed rule tells where they lead:
// local-use NAT64 (RFC 8215) and Teredo (RFC 4380). Refused unless allowed.
constexpr Blocked kTunnels[] = {
    {"64:ff9b:1::/48", "nat64"},
    {"2001::/32", "tunnel"},
};

const std::vector<std::pair<base::Cidr, int>>& embeddings() {
  static const auto table = [] {
    std::vector<std::pair<base::Cidr, int>> t;
    for (const auto& e : kEmbedding) t.emplace_back(*base::Cidr::parse(e.range), e.offset);
    return t;
  }();
  return table;
}

const std::vector<std::pair<base::Cidr, std::string_view>>& tunnels() {
  static const auto table = [] {
    std::vector<std::pair<base::Cidr, std::string_view>> t;
    for (const auto& b : kTunnels) t.emplace_back(*base::Cidr::parse(b.range), b.name);
    return t;
  }();
  return table;
}

std::optional<std::array<unsigned char, 16>> ipv6_bytes(std::string_view address) {
  if (address.find(':') == std::string_view::npos) return std::nullopt;
  const auto zone = address.find('%');
  const std::string text(address.substr(0, zone));
  std::array<unsigned char, 16> b{};
  if (::inet_pton(AF_INET6, text.c_str(), b.data()) != 1) return std::nullopt;
  return b;
}

}  // namespace

std::optional<std::string_view> AddressPolicy::refusal(std::string_view address) const {
  if (auto r = refusal_of(address); r || allowed(address)) return r;
  // An address the table lets through may still lead to a private IPv4 address through a gateway.
  const auto bytes = ipv6_bytes(address);
  if (!bytes) return std::nullopt;
  for (const auto& [range, offset] : embeddings()) {
    if (!range.contains(address)) continue;
    std::array<char, INET_ADDRSTRLEN> v4{};
    if (!::inet_ntop(AF_INET, bytes->data() + offset, v4.data(), v4.size())) return "not an address";
    return refusal_of(v4.data());
  }
  for (const auto& [range, name] : tunnels())
    if (range.contains(address)) return name;
  return std::nullopt;
}

bool AddressPolicy::allowed(std::string_view address) const {
  return std::any_of(allow_.begin(), allow_.end(), [&](const base::Cidr& a) { return a.contains(address); });
}

std::optional<std::string_view> AddressPolicy::refusal_of(std::string_view address) const {
  // An address no range can hold is not one: refuse it rather than let it through unmatched.
  static const base::Cidr any = *base::Cidr::parse("::/0");  // IPv4 too, as IPv4-mapped
  if (!any.contains(address)) return "not an address";
  if (allowed(address)) return std::nullopt;
  for (const auto& [range, name] : blocked())
    if (range.contains(address)) return name;
  return std::nullopt;
}

std::optional<std::string_view> AddressPolicy::refusal(const sockaddr* sa, std::string* text) const {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  const char* ok = nullptr;
  if (sa && sa->sa_family == AF_INET)
    ok = ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf.data(), buf.size());
  else if (sa && sa->sa_family == AF_INET6)
    ok = ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf.data(), buf.size());
  if (!ok) {
    if (text) *text = "(not an IP address)";
    return "not an IP address";
  }
  if (text) *text = buf.data();
  return refusal(std::string_view(buf.data()));
}

}  // namespace callbridge::webhooks
