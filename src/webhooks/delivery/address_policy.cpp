#include "webhooks/delivery/address_policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

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

}  // namespace

std::optional<std::string_view> AddressPolicy::refusal(std::string_view address) const {
  // An address no range can hold is not one: refuse it rather than let it through unmatched.
  static const base::Cidr any = *base::Cidr::parse("::/0");  // IPv4 too, as IPv4-mapped
  if (!any.contains(address)) return "not an address";
  for (const auto& a : allow_)
    if (a.contains(address)) return std::nullopt;
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
