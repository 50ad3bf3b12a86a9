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
  // is no address is refused as "not an address".
  std::optional<std::string_view> refusal(std::string_view address) const;
  // The same for a socket address curl is about to connect to (AF_INET, AF_INET6; others refused).
  // `text` gets the address as text for messages.
  std::optional<std::string_view> refusal(const sockaddr* sa, std::string* text) const;

  const std::vector<base::Cidr>& allowed() const { return allow_; }

 private:
  std::vector<base::Cidr> allow_;
};

}  // namespace callbridge::webhooks
