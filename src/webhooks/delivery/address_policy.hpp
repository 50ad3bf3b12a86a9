// AddressPolicy: which peer addresses a webhook delivery may connect to (SSRF protection,
// docs/webhooks.md "Where deliveries may go"). By default no loopback, private (RFC 1918, ULA),
// shared (CGNAT), link-local, cloud metadata, unspecified, multicast or reserved address; the
// administrator's [webhooks] allow ranges win over that list. Checked by the delivery engine on
// every connection curl opens, after DNS resolution (CURLOPT_OPENSOCKETFUNCTION), redirects
// included. A value; const methods are thread-safe.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "base/cidr.hpp"

struct sockaddr;

namespace callbridge::webhooks {

class AddressPolicy {
 public:
  explicit AddressPolicy(std::vector<base::Cidr> allow = {}) : allow_(std::move(allow)) {}

  // Why `address` (IPv4 or IPv6 text; IPv4-mapped IPv6 is the IPv4 address) is refused: the name of
  // its blocked range ("loopback", "private", "metadata", ...); nullopt when it may be used. Text that
  // is no address is refused as "not an address". An IPv6 address that carries an IPv4 address for a
  // gateway (NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by that IPv4 address; local-use NAT64
  // (64:ff9b:1::/48, "nat64") and Teredo (2001::/32, "tunnel") are refused unless allowed.
  std::optional<std::string_view> refusal(std::string_view address) const;
  // The same for a socket address curl is about to connect to (AF_INET, AF_INET6; others refused).
  // `text` gets the address as text for messages.
  std::optional<std::string_view> refusal(const sockaddr* sa, std::string* text) const;

  const std::vector<base::Cidr>& allowed() const { return allow_; }

 private:
  bool allowed(std::string_view address) const;                                // in an allow range
  std::optional<std::string_view> refusal_of(std::string_view address) const;  // allow ranges + table

  std::vector<base::Cidr> allow_;
};

}  // namespace callbridge::webhooks
