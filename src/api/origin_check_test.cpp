#include "api/origin_check.hpp"

#include <gtest/gtest.h>

#include "api/http_server.hpp"

namespace callbridge::api {
namespace {

HttpRequest request(std::string method, std::string host, std::string origin, bool secure = false) {
  HttpRequest r;
  r.method = std::move(method);
  r.secure = secure;
  if (!host.empty()) r.headers.emplace_back("host", std::move(host));
  if (!origin.empty()) r.headers.emplace_back("origin", std::move(origin));
  return r;
}

TEST(OriginCheck, StateChangesAndWebSocketUpgradesAreChecked) {
  EXPECT_FALSE(origin_checked(request("GET", "h", "")));
  EXPECT_FALSE(origin_checked(request("HEAD", "h", "")));
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE"}) EXPECT_TRUE(origin_checked(request(m, "h", ""))) << m;
  auto ws = request("GET", "h", "");
  ws.headers.emplace_back("upgrade", "WebSocket");
  EXPECT_TRUE(origin_checked(ws));
}

TEST(OriginCheck, OwnOriginFromHostAndTlsOrAnAllowedOnePasses) {
  const OriginPolicy none;
  EXPECT_FALSE(origin_rejection(request("POST", "cti.example.com:8080", "http://cti.example.com:8080"), none));
  EXPECT_FALSE(origin_rejection(request("POST", "CTI.example.com", "http://cti.example.com:80"), none));
  EXPECT_FALSE(origin_rejection(request("POST", "cti.example.com", "https://cti.example.com", true), none));
  EXPECT_FALSE(origin_rejection(request("POST", "[::1]:8080", "http://[::1]:8080"), none));
  // The scheme is the connection's: a plain request from an https page is another origin.
  EXPECT_TRUE(origin_rejection(request("POST", "cti.example.com", "https://cti.example.com"), none));
  EXPECT_TRUE(origin_rejection(request("POST", "cti.example.com", "http://cti.example.com", true), none));
  EXPECT_TRUE(origin_rejection(request("POST", "cti.example.com:8080", "http://cti.example.com:8081"), none));
  const OriginPolicy crm{{"https://crm.example.com"}};
  EXPECT_FALSE(origin_rejection(request("POST", "cti.example.com", "https://crm.example.com:443"), crm));
  EXPECT_TRUE(origin_rejection(request("POST", "cti.example.com", "https://evil.example.com"), crm));
}

TEST(OriginCheck, RejectionsNameTheOrigin) {
  auto why = origin_rejection(request("POST", "cti.example.com", "https://evil.example"), {});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("origin https://evil.example may not use"), std::string::npos) << *why;
  why = origin_rejection(request("POST", "cti.example.com", ""), {});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("must carry an Origin header"), std::string::npos) << *why;
  why = origin_rejection(request("POST", "cti.example.com", "null"), {});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("origin null may not"), std::string::npos) << *why;
  why = origin_rejection(request("POST", "", "http://cti.example.com"), {});  // no Host: nothing is own
  EXPECT_TRUE(why);
  why = origin_rejection(request("POST", "h", "http://a\x01\xff"), {});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("origin http://a?? may not"), std::string::npos) << *why;
}

}  // namespace
}  // namespace callbridge::api
