// The devices capability alone (its routes on the API's own): GET /api/v1/devices lists the
// registries of the caller's tenant only, to admins only; DELETE /api/v1/devices/{id} removes a
// device of the caller's tenant (audited) and answers 404 for another tenant's; and its DeviceList.
#include <gtest/gtest.h>

#include "capabilities/devices/devices_routes.hpp"
#include "capabilities/devices/devices_service.hpp"
#include "support/rest_fixture.hpp"

namespace callbridge::capabilities::devices {
namespace {

namespace json = boost::json;
using api::testsupport::kA;
using api::testsupport::kB;

class DeviceRoutes : public api::testsupport::RestFixture {
 protected:
  void add_capabilities(CapabilityContext& c) override { register_devices(c); }
  void extend_deps(api::RestDeps& d) override {
    d.for_each_device_registry = [this](const base::TenantId& t, const std::function<void(const model::DeviceRegistry&)>& f) {
      if (auto it = registries_.find(t.str()); it != registries_.end())
        for (const auto& r : it->second) f(r);
    };
    d.forget_device = [this](const base::TenantId& t, std::string_view id) {
      auto it = registries_.find(t.str());
      if (it == registries_.end()) return false;
      for (auto& r : it->second)
        if (const auto* dev = r.find_id(id)) return r.erase(std::string(dev->endpoint));
      return false;
    };
  }
  void SetUp() override {
    registries_["ta"].emplace_back("pbx-a2");
    registries_["ta"].emplace_back("pbx-a1");
    registries_["tb"].emplace_back("pbx-b");
    auto& yealink = registries_["ta"][1].upsert("100");
    yealink.extension = "100";
    yealink.sip_user = "100";
    yealink.contacts.push_back({"sip:100@10.0.0.5:5062", "10.0.0.5:5062", "Yealink SIP-T46S 66.86.0.15", "Reachable",
                                base::Timestamp(std::chrono::seconds(1795386347)), true});
    model::DeviceRegistry::refresh_agent(yealink);
    yealink.status = model::DeviceStatus::ringing;
    yealink.last_call_id = "ta-call-1";
    yealink.last_seen = base::Timestamp(std::chrono::seconds(1795382747));
    registries_["ta"][0].upsert("trunk").contacts.push_back({"sip:127.0.0.1:5070", "127.0.0.1:5070", "", "NonQualified", std::nullopt, false});
    registries_["ta"][1].upsert("101").extension = "101";
    registries_["tb"][0].upsert("200").extension = "200";
    RestFixture::SetUp();
  }
  std::map<std::string, std::vector<model::DeviceRegistry>> registries_;
};

TEST_F(DeviceRoutes, AdminsListTheirTenantsDevicesWithModelFirmwareAndRegistration) {
  auto admin = add_user(kA, "root", "admin", {});
  auto r = call("GET", "/api/v1/devices", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  auto devs = json::parse(r.body).at("devices").as_array();
  ASSERT_EQ(devs.size(), 3u) << r.body;  // tenant B's 200 is not listed
  EXPECT_EQ(devs[0].at("id").as_string(), "pbx-a1:100");  // by pbx, then endpoint
  EXPECT_EQ(devs[1].at("id").as_string(), "pbx-a1:101");
  EXPECT_EQ(devs[2].at("id").as_string(), "pbx-a2:trunk");
  const auto& d = devs[0].as_object();
  EXPECT_EQ(d.at("extension").as_string(), "100");
  EXPECT_EQ(d.at("sip_user").as_string(), "100");
  EXPECT_EQ(d.at("vendor").as_string(), "Yealink");
  EXPECT_EQ(d.at("model").as_string(), "SIP-T46S");
  EXPECT_EQ(d.at("firmware").as_string(), "66.86.0.15");
  EXPECT_EQ(d.at("user_agent").as_string(), "Yealink SIP-T46S 66.86.0.15");
  EXPECT_EQ(d.at("registration").as_string(), "registered");
  EXPECT_EQ(d.at("address").as_string(), "10.0.0.5:5062");
  EXPECT_EQ(d.at("status").as_string(), "ringing");
  EXPECT_EQ(d.at("last_call_id").as_string(), "ta-call-1");
  EXPECT_EQ(d.at("last_seen").as_string(), "2026-11-22T21:25:47.000Z");
  EXPECT_EQ(d.at("contacts").at(0).at("expires").as_string(), "2026-11-22T22:25:47.000Z");
  EXPECT_TRUE(d.at("contacts").at(0).at("dynamic").as_bool());
  const auto& idle = devs[1].as_object();
  EXPECT_EQ(idle.at("registration").as_string(), "unregistered");
  EXPECT_EQ(idle.at("status").as_string(), "unknown");
  EXPECT_TRUE(idle.at("last_call_id").is_null());
  EXPECT_TRUE(idle.at("last_seen").is_null());
  EXPECT_EQ(devs[2].at("registration").as_string(), "static");
  EXPECT_EQ(devs[2].at("extension").as_string(), "");
  EXPECT_EQ(call("GET", "/api/v1/devices?x=1", admin).status, 400);
}

TEST_F(DeviceRoutes, OnlyAdminsMaySeeOrRemoveDevices) {
  auto sup = add_user(kA, "sup", "supervisor", {});
  auto user = add_user(kA, "anna", "user", {"100"});
  EXPECT_EQ(call("GET", "/api/v1/devices").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/devices", sup).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/devices", user).status, 403);
  EXPECT_EQ(call("DELETE", "/api/v1/devices/pbx-a1:100", user).status, 403);
  EXPECT_NE(registries_["ta"][1].find("100"), nullptr);
}

TEST_F(DeviceRoutes, DeleteRemovesOwnTenantsDeviceAndAuditsIt) {
  auto admin = add_user(kA, "root", "admin", {});
  auto admin_b = add_user(kB, "root", "admin", {});
  // Another tenant's device is answered like one that does not exist, and stays.
  auto foreign = call("DELETE", "/api/v1/devices/pbx-a1:100", admin_b);
  EXPECT_EQ(foreign.status, 404);
  EXPECT_EQ(ptype(foreign), "/problems/not-found");
  EXPECT_NE(registries_["ta"][1].find("100"), nullptr);

  EXPECT_EQ(call("DELETE", "/api/v1/devices/pbx-a1%3A100", admin).status, 204);
  EXPECT_EQ(registries_["ta"][1].find("100"), nullptr);
  EXPECT_EQ(call("DELETE", "/api/v1/devices/pbx-a1:100", admin).status, 404);
  EXPECT_EQ(call("DELETE", "/api/v1/devices/pbx-a1:101/x", admin).status, 404);
  EXPECT_EQ(call("DELETE", "/api/v1/devices/" + std::string(400, 'x'), admin).status, 400);
  auto list = json::parse(call("GET", "/api/v1/devices", admin).body).at("devices").as_array();
  EXPECT_EQ(list.size(), 2u);

  ASSERT_TRUE(audit_->flush());
  auto recs = audit_->query({.tenant = base::TenantId(kA.name)});
  ASSERT_TRUE(recs);
  int deletes = 0;
  for (const auto& rec : *recs)
    if (rec.record.action == "device.delete" && rec.record.target == "device:pbx-a1:100") ++deletes;
  EXPECT_EQ(deletes, 2);  // the removal and the 404 after it
}

TEST(DeviceList, SortsByPbxThenEndpoint) {
  model::DeviceRegistry a("b"), b("a");
  a.upsert("9");
  b.upsert("10");
  b.upsert("1");
  DeviceList l;
  l.add(a);
  l.add(b);
  EXPECT_EQ(l.size(), 3u);
  auto v = json::parse(l.json()).at("devices").as_array();
  EXPECT_EQ(v[0].at("id").as_string(), "a:1");
  EXPECT_EQ(v[1].at("id").as_string(), "a:10");
  EXPECT_EQ(v[2].at("id").as_string(), "b:9");
}

}  // namespace
}  // namespace callbridge::capabilities::devices
