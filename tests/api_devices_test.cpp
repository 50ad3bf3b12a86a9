// AnyDevice over REST (support/rest_fixture: real identity and audit stores): a user's devices and
// active device under /api/v1/me/devices and, for the tenant's admins, /api/v1/users/{user}/devices;
// numbers made E.164 by the tenant's dialing plan and checked against its policy (422 with the
// reason), names checked (400), unknown devices 404, the per-user bound (409), tenants apart, the
// registry call control reads, the event to the user's streams and the audit records.
// ctest label `anydevice`.
#include <gtest/gtest.h>

#include <set>

#include "core/any_device.hpp"
#include "support/rest_fixture.hpp"

namespace callbridge::api {
namespace {

namespace json = boost::json;
using testsupport::kA;
using testsupport::kB;

class ApiDevices : public testsupport::RestFixture {
 protected:
  void add_capabilities(capabilities::CapabilityContext&) override {}
  void extend_deps(RestDeps& d) override {
    // A German tenant's plan as the daemon's to_e164 would apply it: "0170..." -> "+49170...".
    d.to_e164 = [](const base::TenantId&, std::string_view raw) -> std::optional<std::string> {
      std::string digits;
      for (char c : raw)
        if ((c >= '0' && c <= '9') || (c == '+' && digits.empty())) digits += c;
        else if (c != ' ' && c != '-' && c != '/') return std::nullopt;
      if (digits.starts_with("+")) return digits;
      if (digits.starts_with("00")) return "+" + digits.substr(2);
      if (digits.starts_with("0")) return "+49" + digits.substr(1);
      return std::nullopt;  // an extension
    };
    d.active_devices = &active_;
    d.any_device = [this](const base::TenantId& t) -> std::shared_ptr<const core::AnyDeviceSettings> {
      if (t.str() != kA.name) return nullptr;
      return settings_;
    };
    d.publish_to_user = [this](const base::TenantId& t, const std::string& user, std::string_view type,
                               std::string_view tail) {
      events_.push_back(t.str() + " " + user + " " + std::string(type) + std::string(tail));
    };
  }
  std::vector<ports::StoredAuditRecord> audit_of(const testsupport::Tenant& t, const std::string& kind) {
    EXPECT_TRUE(audit_->flush());
    ports::AuditQuery q;
    q.tenant = base::TenantId(t.name);
    q.kind = kind;
    auto r = audit_->query(q);
    EXPECT_TRUE(r) << r.error().to_string();
    return r ? *r : std::vector<ports::StoredAuditRecord>{};
  }
  static json::object body(const HttpResponse& r) { return json::parse(r.body).as_object(); }
  static std::string detail(const HttpResponse& r) { return std::string(json::parse(r.body).at("detail").as_string()); }

  core::ActiveDevices active_;
  std::shared_ptr<core::AnyDeviceSettings> settings_ = [] {
    auto s = std::make_shared<core::AnyDeviceSettings>();
    s->policy.allow = {"+4915*", "+4916*", "+4917*", "+4930*"};
    s->policy.deny = {"+49900*"};
    s->policy.max_devices = 2;
    s->tenant_default = {{"100", "+491709999999"}};
    return s;
  }();
  std::vector<std::string> events_;
};

TEST_F(ApiDevices, AddSelectAndRemoveOwnDevices) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto get = call("GET", "/api/v1/me/devices", anna);
  ASSERT_EQ(get.status, 200) << get.body;
  auto g = body(get);
  EXPECT_EQ(g.at("active").as_string(), "100");
  EXPECT_FALSE(g.at("chosen").as_bool());
  EXPECT_EQ(g.at("max_external").as_int64(), 2);
  ASSERT_EQ(g.at("devices").as_array().size(), 1u);
  EXPECT_EQ(g.at("devices").as_array()[0].at("kind").as_string(), "desk");
  EXPECT_EQ(g.at("devices").as_array()[0].at("rings_first").as_string(), "+491709999999");  // the tenant default

  auto add = call("PUT", "/api/v1/me/devices/mobile", anna, R"({"number":"0170 123 4567"})");
  ASSERT_EQ(add.status, 201) << add.body;
  auto a = body(add);
  ASSERT_EQ(a.at("devices").as_array().size(), 2u);
  auto mobile = a.at("devices").as_array()[1].as_object();
  EXPECT_EQ(mobile.at("name").as_string(), "mobile");
  EXPECT_EQ(mobile.at("kind").as_string(), "external");
  EXPECT_EQ(mobile.at("number").as_string(), "+491701234567");
  EXPECT_TRUE(mobile.at("allowed").as_bool());
  EXPECT_FALSE(active_.get(base::TenantId(kA.name), "anna"));  // added, not chosen

  auto use = call("PUT", "/api/v1/me/devices/active", anna, R"({"device":"mobile"})");
  ASSERT_EQ(use.status, 200) << use.body;
  EXPECT_EQ(body(use).at("active").as_string(), "mobile");
  EXPECT_TRUE(body(use).at("chosen").as_bool());
  EXPECT_EQ(body(use).at("updated_by").as_string(), "anna");
  EXPECT_FALSE(body(use).at("devices").as_array()[0].as_object().contains("rings_first"));
  EXPECT_EQ(active_.get(base::TenantId(kA.name), "anna"), (core::ActiveDevice{"mobile", "+491701234567"}));

  // A new number for the active device reaches call control at once.
  ASSERT_EQ(call("PUT", "/api/v1/me/devices/mobile", anna, R"({"number":"+49 151 2345678"})").status, 200);
  EXPECT_EQ(active_.get(base::TenantId(kA.name), "anna")->number, "+491512345678");

  ASSERT_EQ(call("PUT", "/api/v1/me/devices/active", anna, R"({"device":"100"})").status, 200);
  EXPECT_EQ(active_.get(base::TenantId(kA.name), "anna"), (core::ActiveDevice{"100", ""}));
  ASSERT_EQ(call("PUT", "/api/v1/me/devices/active", anna, R"({"device":"mobile"})").status, 200);

  // Removing the active device: back to the default.
  auto del = call("DELETE", "/api/v1/me/devices/mobile", anna);
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(body(del).at("active").as_string(), "100");
  EXPECT_FALSE(body(del).at("chosen").as_bool());
  EXPECT_FALSE(active_.get(base::TenantId(kA.name), "anna"));

  // Every change went to anna's streams, naming her (the webhooks' anydevice.changed, b01b9c0), with the
  // state after it.
  ASSERT_EQ(events_.size(), 6u);
  EXPECT_TRUE(events_[0].starts_with("ta anna user_devices,\"user\":\"anna\",\"change\":\"added\",\"devices\":{")) << events_[0];
  EXPECT_TRUE(events_[1].starts_with("ta anna user_devices,\"user\":\"anna\",\"change\":\"active\"")) << events_[1];
  EXPECT_NE(events_[1].find("\"active\":\"mobile\""), std::string::npos) << events_[1];
  EXPECT_TRUE(events_[2].starts_with("ta anna user_devices,\"user\":\"anna\",\"change\":\"renumbered\"")) << events_[2];
  EXPECT_TRUE(events_[5].starts_with("ta anna user_devices,\"user\":\"anna\",\"change\":\"removed\"")) << events_[5];

  auto records = audit_of(kA, "anydevice");
  ASSERT_EQ(records.size(), 6u);
  std::multiset<std::string> actions;
  for (const auto& r : records) {
    actions.insert(r.record.action);
    EXPECT_EQ(r.record.outcome, "ok");
    EXPECT_EQ(r.record.target, "user:anna");
  }
  EXPECT_EQ(actions, (std::multiset<std::string>{"anydevice.put", "anydevice.put", "anydevice.select", "anydevice.select",
                                                 "anydevice.select", "anydevice.remove"}));
}

// Private (the user's own phone, the default) or company device: stored, shown, kept when a
// later PUT leaves it out, changed alone without a number, and handed to call control's registry
// (the journal's device.private follows it).
TEST_F(ApiDevices, PrivateOrCompanyDevices) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto own = call("PUT", "/api/v1/me/devices/mobile", anna, R"({"number":"0170 1234567"})");
  ASSERT_EQ(own.status, 201) << own.body;
  EXPECT_TRUE(body(own).at("devices").as_array()[1].at("private").as_bool());  // new: private
  auto work = call("PUT", "/api/v1/me/devices/work", anna, R"({"number":"0171 7654321","private":false})");
  ASSERT_EQ(work.status, 201) << work.body;
  auto w = body(work).at("devices").as_array()[2].as_object();
  EXPECT_EQ(w.at("name").as_string(), "work");
  EXPECT_FALSE(w.at("private").as_bool());
  EXPECT_FALSE(body(work).at("devices").as_array()[0].as_object().contains("private"));  // desk: no flag
  ASSERT_EQ(call("PUT", "/api/v1/me/devices/active", anna, R"({"device":"work"})").status, 200);
  EXPECT_EQ(active_.get(base::TenantId(kA.name), "anna"), (core::ActiveDevice{"work", "+491717654321", false}));
  EXPECT_EQ(active_.device_of_number(base::TenantId(kA.name), "+491717654321"),
            (core::ActiveDevice{"work", "+491717654321", false}));
  // A new number without "private": still the company's.
  ASSERT_EQ(call("PUT", "/api/v1/me/devices/work", anna, R"({"number":"0171 7654322"})").status, 200);
  EXPECT_EQ(active_.get(base::TenantId(kA.name), "anna"), (core::ActiveDevice{"work", "+491717654322", false}));
  // Only the flag: the number stays, the change is "reclassified".
  auto flip = call("PUT", "/api/v1/me/devices/work", anna, R"({"private":true})");
  ASSERT_EQ(flip.status, 200) << flip.body;
  EXPECT_TRUE(body(flip).at("devices").as_array()[2].at("private").as_bool());
  EXPECT_EQ(active_.get(base::TenantId(kA.name), "anna"), (core::ActiveDevice{"work", "+491717654322", true}));
  ASSERT_FALSE(events_.empty());
  EXPECT_TRUE(events_.back().starts_with("ta anna user_devices,\"user\":\"anna\",\"change\":\"reclassified\""))
      << events_.back();
  // Bad input: not a bool; a new device needs its number.
  auto bad = call("PUT", "/api/v1/me/devices/work", anna, R"({"private":"no"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(detail(bad).find("private: expected true"), std::string::npos) << bad.body;
  auto nonumber = call("PUT", "/api/v1/me/devices/car", anna, R"({"private":false})");
  EXPECT_EQ(nonumber.status, 400);
  EXPECT_NE(detail(nonumber).find("number: required"), std::string::npos) << nonumber.body;
  // Stored: a fresh GET says the same.
  auto g = body(call("GET", "/api/v1/me/devices", anna));
  EXPECT_TRUE(g.at("devices").as_array()[1].at("private").as_bool());   // mobile
  EXPECT_TRUE(g.at("devices").as_array()[2].at("private").as_bool());   // work, flipped
  auto records = audit_of(kA, "anydevice");
  bool saw_private_detail = false;
  for (const auto& r : records)
    if (r.record.action == "anydevice.put" && r.record.details_json.find("\"private\":false") != std::string::npos)
      saw_private_detail = true;
  EXPECT_TRUE(saw_private_detail);
}

TEST_F(ApiDevices, BadInputIsRefusedWithTheReason) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  // Names.
  for (const std::string& bad : std::vector<std::string>{"Mobile", "1mobile", "my%20phone", std::string(33, 'a')}) {
    auto r = call("PUT", "/api/v1/me/devices/" + bad, anna, R"({"number":"01701234567"})");
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(ptype(r), "/problems/invalid-device-name") << bad;
  }
  EXPECT_EQ(call("PUT", "/api/v1/me/devices/mobile/x", anna, R"({"number":"01701234567"})").status, 404);
  // Numbers: not a phone number, an extension, the policy's deny and allow lists.
  auto r = call("PUT", "/api/v1/me/devices/mobile", anna, R"({"number":"call me"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(ptype(r), "/problems/invalid-number");
  EXPECT_EQ(call("PUT", "/api/v1/me/devices/mobile", anna, R"({"number":"101"})").status, 422);
  r = call("PUT", "/api/v1/me/devices/premium", anna, R"({"number":"0900 123456"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(ptype(r), "/problems/device-not-allowed");
  EXPECT_NE(detail(r).find("+49900123456 matches the tenant's deny pattern +49900*"), std::string::npos) << detail(r);
  r = call("PUT", "/api/v1/me/devices/abroad", anna, R"({"number":"+1 212 555 0100"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(detail(r).find("not among the numbers the tenant allows"), std::string::npos) << detail(r);
  // Bodies.
  EXPECT_EQ(call("PUT", "/api/v1/me/devices/mobile", anna, R"({"number":5})").status, 400);
  EXPECT_EQ(call("PUT", "/api/v1/me/devices/mobile", anna, R"({})").status, 400);
  EXPECT_EQ(call("PUT", "/api/v1/me/devices/mobile", anna, R"({"number":"0170","x":1})").status, 400);
  EXPECT_EQ(call("PUT", "/api/v1/me/devices/mobile", anna, R"(not json)").status, 400);
  EXPECT_EQ(call("PUT", "/api/v1/me/devices/active", anna, R"({"device":7})").status, 400);
  EXPECT_EQ(call("PUT", "/api/v1/me/devices/active", anna, R"({})").status, 400);
  EXPECT_EQ(call("PUT", "/api/v1/me/devices/mobile", anna, std::string(5000, ' ')).status, 413);
  // An extension's name is not an external device's.
  EXPECT_EQ(call("PUT", "/api/v1/me/devices/100", anna, R"({"number":"01701234567"})").status, 400);
  // Unknown devices.
  r = call("PUT", "/api/v1/me/devices/active", anna, R"({"device":"car"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ptype(r), "/problems/device-not-found");
  EXPECT_NE(detail(r).find("anna's devices: 100"), std::string::npos) << detail(r);
  EXPECT_EQ(call("DELETE", "/api/v1/me/devices/car", anna).status, 404);
  EXPECT_EQ(call("DELETE", "/api/v1/me/devices/100", anna).status, 409);
  // The bound.
  ASSERT_EQ(call("PUT", "/api/v1/me/devices/mobile", anna, R"({"number":"01701234567"})").status, 201);
  ASSERT_EQ(call("PUT", "/api/v1/me/devices/home", anna, R"({"number":"030 1234567"})").status, 201);
  r = call("PUT", "/api/v1/me/devices/car", anna, R"({"number":"01609876543"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ptype(r), "/problems/too-many-devices");
  EXPECT_NE(detail(r).find("at most 2"), std::string::npos);
  // A device the policy no longer allows shows why and cannot be chosen.
  settings_->policy.allow = {"+4930*"};
  auto g = body(call("GET", "/api/v1/me/devices", anna));
  auto mobile = g.at("devices").as_array()[2].as_object();
  EXPECT_EQ(mobile.at("name").as_string(), "mobile");
  EXPECT_FALSE(mobile.at("allowed").as_bool());
  EXPECT_NE(std::string(mobile.at("reason").as_string()).find("not among"), std::string::npos);
  r = call("PUT", "/api/v1/me/devices/active", anna, R"({"device":"mobile"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(ptype(r), "/problems/device-not-allowed");
  EXPECT_FALSE(active_.get(base::TenantId(kA.name), "anna"));
  // Nothing refused was stored or announced; refusals are audited as failed.
  EXPECT_EQ(events_.size(), 2u);
  auto failed = audit_of(kA, "anydevice");
  EXPECT_GT(failed.size(), 10u);
}

TEST_F(ApiDevices, AdminsSeeAndSetTheirTenantsUsersDevices) {
  auto admin = add_user(kA, "root", "admin", {});
  auto ben = add_user(kA, "ben", "user", {"101"});
  auto other_admin = add_user(kB, "root", "admin", {});
  add_user(kB, "ben", "user", {"101"});
  ASSERT_EQ(call("PUT", "/api/v1/users/ben/devices/mobile", admin, R"({"number":"0170 1234567"})").status, 201);
  auto use = call("PUT", "/api/v1/users/ben/devices/active", admin, R"({"device":"mobile"})");
  ASSERT_EQ(use.status, 200) << use.body;
  EXPECT_EQ(body(use).at("updated_by").as_string(), "root");
  EXPECT_EQ(active_.get(base::TenantId(kA.name), "ben")->number, "+491701234567");
  // Ben sees what the admin set; the event went to ben.
  EXPECT_EQ(body(call("GET", "/api/v1/me/devices", ben)).at("active").as_string(), "mobile");
  ASSERT_FALSE(events_.empty());
  EXPECT_TRUE(events_.back().starts_with("ta ben user_devices,")) << events_.back();
  auto g = call("GET", "/api/v1/users/ben/devices", admin);
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(body(g).at("user").as_string(), "ben");
  // Other tenants and plain users: nothing.
  auto other = call("GET", "/api/v1/users/ben/devices", other_admin);
  ASSERT_EQ(other.status, 200);  // their own ben
  EXPECT_TRUE(body(other).at("chosen").as_bool() == false);
  EXPECT_EQ(body(other).at("devices").as_array().size(), 1u);
  EXPECT_EQ(call("PUT", "/api/v1/users/ben/devices/active", ben, R"({"device":"101"})").status, 403);
  EXPECT_EQ(call("GET", "/api/v1/users/ben/devices", ben).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/users/nobody/devices", admin).status, 404);
  EXPECT_EQ(call("PUT", "/api/v1/users/nobody/devices/active", admin, R"({"device":"101"})").status, 404);
  ASSERT_EQ(call("DELETE", "/api/v1/users/ben/devices/mobile", admin).status, 200);
  EXPECT_FALSE(active_.get(base::TenantId(kA.name), "ben"));
  // Removing a user forgets their choice.
  ASSERT_EQ(call("PUT", "/api/v1/users/ben/devices/active", admin, R"({"device":"101"})").status, 200);
  ASSERT_EQ(call("DELETE", "/api/v1/users/ben", admin).status, 204);
  EXPECT_FALSE(active_.get(base::TenantId(kA.name), "ben"));
  auto records = audit_of(kA, "anydevice");
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.front().record.actor, "root");
  EXPECT_EQ(records.front().record.target, "user:ben");
}

}  // namespace
}  // namespace callbridge::api
