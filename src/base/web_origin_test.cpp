#include "base/web_origin.hpp"

#include <gtest/gtest.h>

namespace callbridge::base {
namespace {

TEST(WebOrigin, NormalisesSchemeHostAndDefaultPorts) {
  EXPECT_EQ(normalize_origin("HTTPS://CRM.Example.com:443").value(), "https://crm.example.com");
  EXPECT_EQ(normalize_origin("http://crm.example.com:80").value(), "http://crm.example.com");
  EXPECT_EQ(normalize_origin("http://crm.example.com:443").value(), "http://crm.example.com:443");
  EXPECT_EQ(normalize_origin("http://127.0.0.1:08080").value(), "http://127.0.0.1:8080");
  EXPECT_EQ(normalize_origin("https://[::1]:8443").value(), "https://[::1]:8443");
  EXPECT_EQ(normalize_origin("http://[FD00::1]").value(), "http://[fd00::1]");
}

TEST(WebOrigin, WhatIsNoOriginIsRefusedWithTheReason) {
  for (const char* bad : {"", "null", "crm.example.com", "ftp://crm.example.com", "https://crm.example.com/",
                          "https://crm.example.com/app", "https://user@crm.example.com", "https://crm.example.com:",
                          "https://crm.example.com:0", "https://crm.example.com:65536", "https://", "https://[::1",
                          "https://[zz::1]", "https://a b", "https://crm.example.com?x=1"}) {
    auto o = normalize_origin(bad);
    EXPECT_FALSE(o) << bad << " -> " << o.value_or("");
    if (!o) {
      EXPECT_FALSE(o.error().empty());
    }
  }
  EXPECT_EQ(normalize_origin("https://crm.example.com/").error(),
            "an origin has no path, query, user or trailing slash (scheme://host[:port])");
}

}  // namespace
}  // namespace callbridge::base
