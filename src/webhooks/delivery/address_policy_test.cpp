// AddressPolicy: every default-denied range refuses its addresses by name (IPv4-mapped IPv6 as
// IPv4), public addresses pass, the administrator's allow ranges win, and text that is no address
// is refused.
#include "webhooks/delivery/address_policy.hpp"

#include <gtest/gtest.h>

namespace callbridge::webhooks {
namespace {

TEST(AddressPolicy, RefusesEveryBlockedRangeByName) {
  const AddressPolicy p;
  const std::pair<const char*, const char*> cases[] = {
      {"127.0.0.1", "loopback"},        {"127.255.0.9", "loopback"},     {"::1", "loopback"},
      {"::ffff:127.0.0.1", "loopback"}, {"10.1.2.3", "private"},         {"172.16.0.1", "private"},
      {"172.31.255.254", "private"},    {"192.168.1.1", "private"},      {"fc00::1", "private"},
      {"fd12:3456::1", "private"},      {"100.64.0.1", "shared"},        {"100.127.255.1", "shared"},
      {"169.254.169.254", "metadata"},  {"fd00:ec2::254", "metadata"},   {"169.254.1.1", "link-local"},
      {"fe80::1", "link-local"},        {"0.0.0.0", "unspecified"},      {"::", "unspecified"},
      {"224.0.0.1", "multicast"},       {"239.1.2.3", "multicast"},      {"ff02::1", "multicast"},
      {"255.255.255.255", "reserved"},  {"::ffff:10.0.0.1", "private"},  {"fe80::1%eth0", "link-local"},
  };
  for (const auto& [addr, why] : cases) {
    auto r = p.refusal(addr);
    ASSERT_TRUE(r.has_value()) << addr;
    EXPECT_EQ(*r, why) << addr;
  }
}

TEST(AddressPolicy, PublicAddressesPass) {
  const AddressPolicy p;
  for (const char* a : {"93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "11.0.0.1"})
    EXPECT_FALSE(p.refusal(a).has_value()) << a;
}

TEST(AddressPolicy, AllowedRangesWinAndOnlyThoseRanges) {
  const AddressPolicy p({*base::Cidr::parse("127.0.0.1"), *base::Cidr::parse("10.20.0.0/16")});
  EXPECT_FALSE(p.refusal("127.0.0.1").has_value());
  EXPECT_FALSE(p.refusal("::ffff:127.0.0.1").has_value());
  EXPECT_FALSE(p.refusal("10.20.3.4").has_value());
  EXPECT_EQ(p.refusal("127.0.0.2"), "loopback");
  EXPECT_EQ(p.refusal("10.21.0.1"), "private");
  EXPECT_EQ(p.refusal("::1"), "loopback");
}

TEST(AddressPolicy, Ipv6ThatCarriesAnIpv4AddressIsJudgedByIt) {
  const AddressPolicy p;
  // NAT64 (64:ff9b::/96, the IPv4 address in the last 32 bits) and 6to4 (2002::/16, bits 16-47).
  EXPECT_EQ(p.refusal("64:ff9b::a00:1"), "private");          // 10.0.0.1
  EXPECT_EQ(p.refusal("64:ff9b::7f00:1"), "loopback");        // 127.0.0.1
  EXPECT_EQ(p.refusal("64:ff9b::a9fe:a9fe"), "metadata");     // 169.254.169.254
  EXPECT_EQ(p.refusal("64:ff9b::192.168.0.1"), "private");    // the dotted form of the same
  EXPECT_EQ(p.refusal("2002:c0a8:101::1"), "private");        // 192.168.1.1
  EXPECT_EQ(p.refusal("2002:a9fe:a9fe::"), "metadata");
  EXPECT_FALSE(p.refusal("64:ff9b::808:808").has_value());    // 8.8.8.8
  EXPECT_FALSE(p.refusal("2002:808:808::1").has_value());
  // Prefixes whose mapping the network decides.
  EXPECT_EQ(p.refusal("64:ff9b:1::a00:1"), "nat64");
  EXPECT_EQ(p.refusal("2001:0:4136:e378::1"), "tunnel");
  EXPECT_FALSE(p.refusal("2001:4860:4860::8888").has_value());  // a public 2001: address is no tunnel
  // The administrator's IPv4 ranges hold for the NAT64 form too; an allowed IPv6 range wins.
  const AddressPolicy allowing({*base::Cidr::parse("10.20.0.0/16"), *base::Cidr::parse("64:ff9b:1::/48")});
  EXPECT_FALSE(allowing.refusal("64:ff9b::a14:1").has_value());  // 10.20.0.1
  EXPECT_EQ(allowing.refusal("64:ff9b::a15:1"), "private");      // 10.21.0.1
  EXPECT_FALSE(allowing.refusal("64:ff9b:1::a00:1").has_value());
}

TEST(AddressPolicy, TextThatIsNoAddressIsRefused) {
  const AddressPolicy p;
  for (const char* a : {"", "localhost", "1.2.3", "999.1.1.1", "::g"}) EXPECT_EQ(p.refusal(a), "not an address") << a;
}

}  // namespace
}  // namespace callbridge::webhooks
