// The forwarding capability alone (its routes on the API's own) over a fake ports::PbxFeatures:
// DND, forwarding and follow-me set for all of a user's extensions; destinations are extensions
// of the tenant or external numbers the AnyDevice policy allows (422 otherwise); a PBX without
// callbridge's dialplan answers 503 features-unavailable with the reason; admins act for users of
// their tenant (?user=), others only for themselves; every change is audited.
#include <gtest/gtest.h>

#include <map>

#include "capabilities/forwarding/forwarding_routes.hpp"
#include "core/any_device.hpp"
#include "support/rest_fixture.hpp"

namespace callbridge::capabilities::forwarding {
namespace {

namespace json = boost::json;
using api::testsupport::kA;
using api::testsupport::kB;
using ports::LineFeatures;

// The PBX side: what set_line stored, per line; ready() as the test says.
class FakeFeatures final : public ports::PbxFeatures {
 public:
  base::Status ready() const override {
    if (missing_) return base::fail(base::Error::unavailable("the PBX lacks callbridge's dialplan (contrib/asterisk/callbridge.conf; docs/dialplan.md)"));
    return {};
  }
  LineFeatures line(std::string_view l) const override {
    auto it = lines_.find(std::string(l));
    return it == lines_.end() ? LineFeatures{} : it->second;
  }
  void set_line(const std::string& l, const LineFeatures& f, ports::CommandDone done) override {
    ++writes_;
    if (refuse_) return done(base::fail(base::Error::conflict("Failed to update entry")));
    lines_[l] = f;
    done(base::Status{});
  }
  bool missing_ = false;
  bool refuse_ = false;
  int writes_ = 0;
  std::map<std::string, LineFeatures> lines_;
};

class ForwardingRoutes : public api::testsupport::RestFixture {
 protected:
  void add_capabilities(CapabilityContext& c) override { register_forwarding(c); }
  void extend_deps(api::RestDeps& d) override {
    d.line_features = [this](const base::TenantId& t) -> ports::PbxFeatures* {
      return t.str() == kA.name ? &pbx_ : nullptr;  // tenant B has no PBX
    };
    d.to_e164 = [](const base::TenantId&, std::string_view raw) -> std::optional<std::string> {
      std::string s(raw);
      std::erase(s, ' ');
      if (s.starts_with("+")) return s;
      if (s.starts_with("0") && !s.starts_with("00")) return "+49" + s.substr(1);
      return std::nullopt;
    };
    d.any_device = [](const base::TenantId&) {
      auto s = std::make_shared<core::AnyDeviceSettings>();
      s->policy.allow = {"+4915*", "+4916*", "+4917*", "+4989*"};
      s->policy.deny = {"+49900*"};
      return std::shared_ptr<const core::AnyDeviceSettings>(s);
    };
  }
  void expect_problem(const api::HttpResponse& r, int status, const std::string& type) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(ptype(r), "/problems/" + type) << r.body;
  }
  FakeFeatures pbx_;
};

TEST_F(ForwardingRoutes, DndForAllOfTheUsersExtensions) {
  auto two = add_user(kA, "two", "user", {"101", "104"});
  auto r = call("GET", "/api/v1/me/dnd", two);
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = json::parse(r.body).as_object();
  EXPECT_EQ(o.at("dnd").as_bool(), false);
  EXPECT_EQ(o.at("available").as_bool(), true);
  EXPECT_TRUE(o.at("reason").is_null());
  EXPECT_EQ(o.at("lines").as_array().size(), 2u);
  r = call("PUT", "/api/v1/me/dnd", two, R"({"dnd":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("dnd").as_bool(), true);
  EXPECT_TRUE(pbx_.lines_["101"].dnd);
  EXPECT_TRUE(pbx_.lines_["104"].dnd);
  r = call("PUT", "/api/v1/me/dnd", two, R"({"dnd":false})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(pbx_.lines_["101"].dnd);
  ASSERT_TRUE(audit_->flush());
  auto recs = audit_->query({.tenant = base::TenantId(kA.name)});
  ASSERT_TRUE(recs);
  int sets = 0;
  for (const auto& rec : *recs)
    if (rec.record.action == "dnd.set" && rec.record.target == "user:two" && rec.record.outcome == "ok") ++sets;
  EXPECT_EQ(sets, 2);
}

TEST_F(ForwardingRoutes, ForwardingToExtensionsAndAllowedNumbers) {
  add_user(kA, "clara", "user", {"102"});
  auto ben = add_user(kA, "ben", "user", {"101"});
  auto r = call("PUT", "/api/v1/me/forwarding", ben,
                R"({"unconditional":"102","busy":"0170 1234567","no_answer":"+4989123456","no_answer_seconds":12})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto f = json::parse(r.body).at("forwarding").as_object();
  EXPECT_EQ(f.at("unconditional").as_string(), "102");
  EXPECT_EQ(f.at("busy").as_string(), "+491701234567");
  EXPECT_EQ(f.at("no_answer").as_string(), "+4989123456");
  EXPECT_EQ(f.at("no_answer_seconds").as_int64(), 12);
  EXPECT_EQ(pbx_.lines_["101"].unconditional, "102");
  // Only what the request names changes; null turns one off.
  r = call("PUT", "/api/v1/me/forwarding", ben, R"({"unconditional":null})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(pbx_.lines_["101"].unconditional);
  EXPECT_EQ(pbx_.lines_["101"].busy, "+491701234567");
  r = call("DELETE", "/api/v1/me/forwarding", ben);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(pbx_.lines_["101"], LineFeatures{});
}

TEST_F(ForwardingRoutes, BadDestinationsAreRefusedBeforeThePbx) {
  auto ben = add_user(kA, "ben", "user", {"101"});
  add_user(kB, "other", "user", {"102"});  // another tenant's extension is no extension here
  auto put = [&](const std::string& body) { return call("PUT", "/api/v1/me/forwarding", ben, body); };
  expect_problem(put(R"({"unconditional":"0900 123456"})"), 422, "destination-not-allowed");
  expect_problem(put(R"({"unconditional":"0044 20 7946 0000"})"), 422, "invalid-destination");
  expect_problem(put(R"({"unconditional":"102"})"), 422, "invalid-destination");
  expect_problem(put(R"({"busy":"101"})"), 422, "invalid-destination");  // itself
  expect_problem(put(R"({"unconditional":5})"), 400, "bad-request");
  expect_problem(put(R"({"no_answer_seconds":1})"), 400, "bad-request");
  expect_problem(put(R"({"forward":"102"})"), 400, "bad-request");
  expect_problem(put(R"({})"), 400, "bad-request");
  expect_problem(put("not json"), 400, "invalid-json");
  expect_problem(call("PUT", "/api/v1/me/dnd", ben, R"({"dnd":"yes"})"), 400, "bad-request");
  EXPECT_EQ(pbx_.writes_, 0);
  // The refusals are audited with the reason.
  ASSERT_TRUE(audit_->flush());
  auto recs = audit_->query({.tenant = base::TenantId(kA.name)});
  ASSERT_TRUE(recs);
  bool seen = false;
  for (const auto& rec : *recs)
    seen |= rec.record.action == "forwarding.set" && rec.record.outcome == "failed" &&
            rec.record.details_json.find("deny pattern +49900*") != std::string::npos;
  EXPECT_TRUE(seen);
}

TEST_F(ForwardingRoutes, WithoutTheDialplanItIsUnavailableNotPretended) {
  auto ben = add_user(kA, "ben", "user", {"101"});
  pbx_.missing_ = true;
  auto r = call("GET", "/api/v1/me/forwarding", ben);
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = json::parse(r.body).as_object();
  EXPECT_FALSE(o.at("available").as_bool());
  EXPECT_NE(std::string(o.at("reason").as_string()).find("contrib/asterisk/callbridge.conf"), std::string::npos);
  r = call("PUT", "/api/v1/me/dnd", ben, R"({"dnd":true})");
  expect_problem(r, 503, "features-unavailable");
  EXPECT_NE(r.body.find("the PBX lacks callbridge's dialplan"), std::string::npos) << r.body;
  EXPECT_EQ(pbx_.writes_, 0);
  // A tenant without a PBX link.
  auto bea = add_user(kB, "bea", "user", {"201"});
  expect_problem(call("PUT", "/api/v1/me/dnd", bea, R"({"dnd":true})"), 503, "features-unavailable");
  // The PBX refuses a write: 409 with its words.
  pbx_.missing_ = false;
  pbx_.refuse_ = true;
  r = call("PUT", "/api/v1/me/dnd", ben, R"({"dnd":true})");
  expect_problem(r, 409, "pbx-refused");
  // No extension: nothing to forward.
  pbx_.refuse_ = false;
  auto none = add_user(kA, "none", "user", {});
  expect_problem(call("PUT", "/api/v1/me/dnd", none, R"({"dnd":true})"), 409, "no-extension");
}

TEST_F(ForwardingRoutes, AdminsActForUsersOfTheirTenantOnly) {
  auto ben = add_user(kA, "ben", "user", {"101"});
  add_user(kA, "clara", "user", {"102"});
  auto admin = add_user(kA, "root", "admin", {});
  auto r = call("PUT", "/api/v1/me/dnd?user=clara", admin, R"({"dnd":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("user").as_string(), "clara");
  EXPECT_TRUE(pbx_.lines_["102"].dnd);
  expect_problem(call("PUT", "/api/v1/me/dnd?user=clara", ben, R"({"dnd":false})"), 403, "forbidden");
  EXPECT_TRUE(pbx_.lines_["102"].dnd);
  auto admin_b = add_user(kB, "root", "admin", {});
  EXPECT_EQ(call("GET", "/api/v1/me/dnd?user=clara", admin_b).status, 404);
  expect_problem(call("GET", "/api/v1/me/dnd?who=clara", admin), 400, "bad-request");
  EXPECT_EQ(call("GET", "/api/v1/me/dnd").status, 401);
}

TEST_F(ForwardingRoutes, FollowMeRingsTheActiveExternalDevice) {
  auto dan = add_user(kA, "dan", "user", {"103"});
  auto r = call("PUT", "/api/v1/me/follow-me", dan, R"({"enabled":true})");
  expect_problem(r, 409, "no-external-device");
  ASSERT_TRUE(ids_->put_external_device(base::TenantId(kA.name), "dan",
                                        {"mobile", "+491701234567", clock_.now()}, 5));
  ASSERT_TRUE(ids_->set_active_device(base::TenantId(kA.name), "dan", "mobile", clock_.now(), "dan"));
  r = call("PUT", "/api/v1/me/follow-me", dan, R"({"enabled":true,"mode":"sequential","desk_seconds":10})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto fm = json::parse(r.body).at("follow_me").as_object();
  EXPECT_TRUE(fm.at("enabled").as_bool());
  EXPECT_EQ(fm.at("number").as_string(), "+491701234567");
  EXPECT_EQ(fm.at("mode").as_string(), "sequential");
  EXPECT_EQ(pbx_.lines_["103"].desk_seconds, 10);
  expect_problem(call("PUT", "/api/v1/me/follow-me", dan, R"({"enabled":true,"mode":"random"})"), 400, "bad-request");
  r = call("DELETE", "/api/v1/me/follow-me", dan);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(pbx_.lines_["103"].follow_me);
}

}  // namespace
}  // namespace callbridge::capabilities::forwarding
