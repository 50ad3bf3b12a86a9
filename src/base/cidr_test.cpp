#include "base/cidr.hpp"

#include <gtest/gtest.h>

namespace callbridge::base {
namespace {

TEST(Cidr, MatchesIpv4AndIpv6RangesAndMappedAddresses) {
  auto lan = Cidr::parse("10.1.0.0/16");
  ASSERT_TRUE(lan) << lan.error().message();
  EXPECT_TRUE(lan->contains("10.1.2.3"));
  EXPECT_TRUE(lan->contains("::ffff:10.1.200.1"));  // the same address seen on a dual-stack socket
  EXPECT_FALSE(lan->contains("10.2.0.1"));
  EXPECT_FALSE(lan->contains("not an address"));
  EXPECT_FALSE(lan->contains(""));

  auto host = Cidr::parse("127.0.0.1");  // one address = /32
  ASSERT_TRUE(host);
  EXPECT_TRUE(host->contains("127.0.0.1"));
  EXPECT_FALSE(host->contains("127.0.0.2"));
  EXPECT_FALSE(host->contains("::1"));

  auto v6 = Cidr::parse("fd00::/8");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains("fd12:3456::1"));
  EXPECT_TRUE(v6->contains("fd12::1%eth0"));
  EXPECT_FALSE(v6->contains("fe80::1"));
  EXPECT_FALSE(v6->contains("10.0.0.1"));

  auto loop6 = Cidr::parse("::1/128");
  ASSERT_TRUE(loop6);
  EXPECT_TRUE(loop6->contains("::1"));
  EXPECT_FALSE(loop6->contains("127.0.0.1"));

  auto any4 = Cidr::parse("0.0.0.0/0");
  ASSERT_TRUE(any4);
  EXPECT_TRUE(any4->contains("203.0.113.9"));
  EXPECT_FALSE(any4->contains("2001:db8::1"));  // every IPv4 address, not every address

  auto odd = Cidr::parse("192.168.1.128/25");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains("192.168.1.200"));
  EXPECT_FALSE(odd->contains("192.168.1.127"));
  EXPECT_EQ(odd->text(), "192.168.1.128/25");
}

TEST(Cidr, BadRangesAreRefusedWithTheirText) {
  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0/8",
                          "localhost", "10.0.0.1/8", "fe80::1%eth0", "fd00::1/8", " 10.0.0.0/8"}) {
    auto c = Cidr::parse(bad);
    EXPECT_FALSE(c) << bad;
    if (!c) EXPECT_NE(c.error().message().find(std::string("\"") + bad + "\""), std::string::npos) << c.error().message();
  }
}

}  // namespace
}  // namespace callbridge::base
