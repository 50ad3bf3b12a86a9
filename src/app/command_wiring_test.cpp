// app/command_wiring over tenant runtimes built from a configuration (app/tenant_setup): each
// tenant's call control goes through its own driver with its dialing plan and call control config,
// as the calls capability's command routes reach it (api::RestDeps::call_control, command_log).
#include "app/command_wiring.hpp"

#include <map>
#include <memory>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "app/tenant_setup.hpp"
#include "capabilities/calls/command_routes.hpp"
#include "core/tenant_runtime.hpp"

namespace callbridge::app {
namespace {

struct Resolver final : api::PrincipalResolver {
  std::expected<api::Principal, api::AuthFailure> resolve(const api::HttpRequest&, bool) override {
    api::Principal p{.tenant = base::TenantId("acme")};
    p.user = "anna";
    p.devices = {"100", "101"};
    return p;
  }
};

struct RecordingCommands final : ports::PbxCommands {
  std::vector<ports::MakeCallRequest> calls;
  bool hold_answers = false;  // make_call's answer waits in `pending` (the PBX answers later)
  std::vector<ports::CommandDone> pending;
  bool available() const override { return true; }
  void make_call(const ports::MakeCallRequest& r, ports::CommandDone d) override {
    calls.push_back(r);
    if (hold_answers) pending.push_back(std::move(d));
    else d({});
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

struct NoStore final : ports::JournalStore {
  void append(model::JournalEntry) override {}
  base::Status flush() override { return {}; }
  base::Result<std::vector<ports::StoredEntry>> query(const ports::JournalQuery&) override {
    return std::vector<ports::StoredEntry>{};
  }
  base::Status set_note(const std::string&, std::int64_t, const std::string&) override { return {}; }
  base::Result<std::size_t> purge_before(base::Timestamp) override { return std::size_t{0}; }
};

// The runtimes App::create builds from a configuration (tenant_setups), minus the drivers.
struct Tenants {
  boost::asio::io_context io;
  base::SystemClock clock;
  core::EventHub hub;
  NoStore store;
  core::JournalPolicy policy{core::JournalPolicyConfig{}};
  std::map<base::TenantId, std::unique_ptr<core::TenantRuntime>> runtimes;

  explicit Tenants(const Config& config) {
    for (const auto& setup : tenant_setups(config)) {
      auto plan = setup_dialing_plan(setup);
      EXPECT_TRUE(plan) << plan.error().message();
      core::TenantServices s;
      s.hub = &hub;
      s.journal = &store;
      s.policy = &policy;
      s.clock = &clock;
      s.post = [this](std::function<void()> f) { boost::asio::post(io, std::move(f)); };
      s.post_after = [](std::chrono::milliseconds, std::function<void()>) {};
      s.on_command = command_publisher(hub);
      runtimes.emplace(setup.id, std::make_unique<core::TenantRuntime>(
                                     core::TenantSpec{.id = setup.id, .plan = plan ? *plan : nullptr,
                                                      .call_control = call_control_options(setup)},
                                     std::move(s)));
    }
  }
  core::TenantRuntime* runtime_for(const base::TenantId& t) {
    auto it = runtimes.find(t);
    return it == runtimes.end() ? nullptr : it->second.get();
  }
};

// The command routes as register_calls (capabilities/calls) adds them for callbridged, with the
// call control and command logs wire_call_control gives the API, and the test's resolver.
void serve_commands(api::HttpServer& server, api::PrincipalResolver& resolver, Tenants& tenants) {
  api::RestDeps d;
  wire_call_control(d, [&tenants](const base::TenantId& t) { return tenants.runtime_for(t); });
  capabilities::calls::add_command_routes(
      server, {.auth = &resolver, .service_for = d.call_control, .log_for = d.command_log});
}

api::HttpResponse post(api::HttpServer& s, std::string body, std::string path = "/api/v1/calls") {
  api::HttpRequest r;
  r.method = "POST";
  r.target = r.path = std::move(path);
  r.body = std::move(body);
  return s.dispatch(r);
}

api::HttpResponse get(api::HttpServer& s, std::string path) {
  api::HttpRequest r;
  r.method = "GET";
  r.target = r.path = std::move(path);
  return s.dispatch(r);
}

struct Collect final : core::EventSubscriber {
  std::vector<std::string> got;
  void on_message(const core::HubMessage& m) override { got.push_back(*m.frame); }
};

TEST(CommandWiring, TenantServiceUsesItsDriverDialingPlanAndCallControlConfig) {
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
  Tenants tenants(*config);
  ASSERT_TRUE(tenants.runtimes.contains("acme"));
  ASSERT_TRUE(tenants.runtimes.contains("default"));
  auto other = std::make_unique<FakeLink>("default");
  auto acme = std::make_unique<FakeLink>("acme");
  FakeLink& o = *other;
  FakeLink& a = *acme;
  ASSERT_TRUE(tenants.runtimes.at("default")->add_driver(std::move(other)));
  ASSERT_TRUE(tenants.runtimes.at("acme")->add_driver(std::move(acme)));
  api::HttpServer server(tenants.io, {});
  Resolver resolver;
  serve_commands(server, resolver, tenants);
  auto r = post(server, R"({"to": "+4989123456"})");
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_EQ(a.cmds.calls.size(), 1u);
  EXPECT_TRUE(o.cmds.calls.empty());
  EXPECT_EQ(a.cmds.calls[0].dial_string, "089123456");  // the tenant's dialing plan
  EXPECT_EQ(a.cmds.calls[0].caller_id_number, "089123456");
  r = post(server, R"({"to": "+4989123456", "from": "101"})");
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_EQ(a.cmds.calls.size(), 2u);
  ASSERT_TRUE(a.cmds.calls[1].first_leg_dial_string);
  EXPECT_EQ(*a.cmds.calls[1].first_leg_dial_string, "01701234567");
  EXPECT_EQ(a.cmds.calls[1].caller_id_number, "+4930555100");
}

TEST(CommandWiring, NoDriverForTheTenantIs503) {
  auto config = parse_config("", "test");
  ASSERT_TRUE(config);
  Tenants tenants(*config);
  ASSERT_TRUE(tenants.runtimes.at("default")->add_driver(std::make_unique<FakeLink>("default")));
  api::HttpServer server(tenants.io, {});
  Resolver resolver;  // a principal of tenant acme, which has no runtime
  serve_commands(server, resolver, tenants);
  EXPECT_EQ(post(server, R"({"to": "+4989123456"})").status, 503);
}

// The command routes keep no log: each 202 names a command in the tenant runtime's log, whose
// changes reach the issuing user's event stream; a removed tenant's commands go with its runtime.
TEST(CommandWiring, CommandsLiveInTheTenantRuntimesLog) {
  auto config = parse_config(R"toml(
[tenant.acme.dialing]
country_code = "49"
area_code = "30"
base_number = "555"
extension_length = 3
)toml", "test");
  ASSERT_TRUE(config) << config.error().to_string();
  Tenants tenants(*config);
  auto link = std::make_unique<FakeLink>("acme");
  FakeLink& a = *link;
  a.cmds.hold_answers = true;
  ASSERT_TRUE(tenants.runtimes.at("acme")->add_driver(std::move(link)));
  ASSERT_TRUE(tenants.runtimes.at("default")->add_driver(std::make_unique<FakeLink>("default")));
  api::HttpServer server(tenants.io, {});
  Resolver resolver;  // anna of acme, devices 100 and 101
  serve_commands(server, resolver, tenants);
  Collect events;
  core::EventFilter own{.scope = core::EventScope::own, .own = {"100"}, .team = {}, .user = "anna"};
  tenants.hub.subscribe(base::TenantId("acme"), own, std::nullopt, &events);

  auto r = post(server, R"({"to": "+4989123456"})");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id(boost::json::parse(r.body).at("command_id").as_string());
  core::CommandLog& acme_log = tenants.runtimes.at("acme")->commands();
  EXPECT_EQ(acme_log.size(base::TenantId("acme")), 1u);
  ASSERT_NE(acme_log.find(base::TenantId("acme"), id), nullptr);
  EXPECT_EQ(tenants.runtimes.at("default")->commands().size(base::TenantId("acme")), 0u);
  EXPECT_EQ(get(server, "/api/v1/commands/" + id).status, 200);

  // The PBX refuses: the runtime's log publishes the change to the issuing user.
  ASSERT_EQ(a.cmds.pending.size(), 1u);
  a.cmds.pending[0](base::fail(base::Error::conflict("Originate: Originate failed")));
  ASSERT_EQ(events.got.size(), 1u) << "the command event";
  auto ev = boost::json::parse(events.got[0]).as_object();
  EXPECT_EQ(ev.at("type").as_string(), "command");
  EXPECT_EQ(ev.at("command").at("id").as_string(), id);
  EXPECT_EQ(ev.at("command").at("state").as_string(), "failed");
  EXPECT_EQ(acme_log.find(base::TenantId("acme"), id)->state, core::CommandState::failed);

  // Removed: its commands are gone with it (404), new ones 503; a late answer finds nothing.
  ASSERT_EQ(post(server, R"({"to": "+4989123457"})").status, 202);
  ASSERT_EQ(a.cmds.pending.size(), 2u);
  auto late = std::move(a.cmds.pending[1]);
  std::weak_ptr<core::CommandLog> log = tenants.runtimes.at("acme")->shared_commands();
  tenants.runtimes.erase(base::TenantId("acme"));
  EXPECT_TRUE(log.expired());
  EXPECT_EQ(get(server, "/api/v1/commands/" + id).status, 404);
  EXPECT_EQ(post(server, R"({"to": "+4989123456"})").status, 503);
  late(base::Status{});
  EXPECT_EQ(events.got.size(), 1u);
}

}  // namespace
}  // namespace callbridge::app
