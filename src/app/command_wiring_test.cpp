// app/command_wiring: per-tenant services over ports::PbxDriver::commands() with the tenant's config.
#include "app/command_wiring.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace callbridge::app {
namespace {

struct Resolver final : api::PrincipalResolver {
  std::expected<api::Principal, api::AuthFailure> resolve(const api::HttpRequest&, bool) override {
    api::Principal p{.tenant = base::TenantId("acme")};
    p.devices = {"100", "101"};
    return p;
  }
};

struct RecordingCommands final : ports::PbxCommands {
  std::vector<ports::MakeCallRequest> calls;
  bool available() const override { return true; }
  void make_call(const ports::MakeCallRequest& r, ports::CommandDone d) override {
    calls.push_back(r);
    d({});
  }
  void answer(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void hangup(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void hold(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void retrieve(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void consult(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void alternate(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void transfer(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void complete_transfer(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void conference(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void redirect(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
};

struct FakeLink final : ports::PbxDriver {
  std::string name_ = "pbx";
  base::TenantId tenant_;
  RecordingCommands cmds;
  model::CallModel model;
  explicit FakeLink(base::TenantId tenant) : tenant_(tenant), model(tenant) {}
  const std::string& name() const override { return name_; }
  void start() override {}
  void stop(std::function<void()> done) override { done(); }
  ports::PbxDriverStatus status() const override { return {}; }
  const base::TenantId& tenant() const override { return tenant_; }
  ports::PbxCommands* commands() override { return &cmds; }
  const model::CallModel& call_model() const override { return model; }
};

api::HttpResponse post(api::HttpServer& s, std::string body) {
  api::HttpRequest r;
  r.method = "POST";
  r.target = r.path = "/api/v1/calls";
  r.body = std::move(body);
  return s.dispatch(r);
}

TEST(CommandWiring, TenantServiceUsesItsLinkDialingPlanAndCallControlConfig) {
  auto config = parse_config(R"toml(
[tenant.acme.dialing]
country_code = "49"
area_code = "30"
base_number = "555"
extension_length = 3
[tenant.acme.call_control]
office_number = "+4930555100"
any_device = { "101" = "0170 1234567" }
)toml", "test");
  ASSERT_TRUE(config) << config.error().to_string();
  boost::asio::io_context io;
  api::HttpServer server(io, {});
  Resolver resolver;
  FakeLink other("default"), acme("acme");
  auto w = wire_command_routes(server, resolver, *config, [&] { return std::vector<ports::PbxDriver*>{&other, &acme}; });
  ASSERT_TRUE(w) << w.error().to_string();
  auto r = post(server, R"({"to": "+4989123456"})");
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_EQ(acme.cmds.calls.size(), 1u);
  EXPECT_TRUE(other.cmds.calls.empty());
  EXPECT_EQ(acme.cmds.calls[0].dial_string, "089123456");  // the tenant's dialing plan
  EXPECT_EQ(acme.cmds.calls[0].caller_id_number, "089123456");
  r = post(server, R"({"to": "+4989123456", "from": "101"})");
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_EQ(acme.cmds.calls.size(), 2u);
  ASSERT_TRUE(acme.cmds.calls[1].first_leg_dial_string);
  EXPECT_EQ(*acme.cmds.calls[1].first_leg_dial_string, "01701234567");
  EXPECT_EQ(acme.cmds.calls[1].caller_id_number, "+4930555100");
}

TEST(CommandWiring, NoLinkForTheTenantIs503) {
  auto config = parse_config("", "test");
  ASSERT_TRUE(config);
  boost::asio::io_context io;
  api::HttpServer server(io, {});
  Resolver resolver;
  FakeLink other("default");
  auto w = wire_command_routes(server, resolver, *config, [&] { return std::vector<ports::PbxDriver*>{&other}; });
  ASSERT_TRUE(w);
  EXPECT_EQ(post(server, R"({"to": "+4989123456"})").status, 503);
}

}  // namespace
}  // namespace callbridge::app
