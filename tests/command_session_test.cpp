// Recorded command sessions, end to end: real Asterisk 22 captures are replayed through the same
// AmiProtocol the live link runs, the AmiCallTracker builds the call model from them, and the
// REST routes issue commands through CallControlService and AmiCommands. What goes out must be
// byte for byte what the capturing client sent (ami.sent), and the PBX's recorded response must
// complete the command.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "capabilities/calls/command_routes.hpp"
#include "core/call_control.hpp"
#include "core/dialing_plan.hpp"
#include "drivers/ami/ami_commands.hpp"

namespace callbridge {
namespace {

namespace ami = drivers::ami;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string fixture(std::string_view scenario, std::string_view file) {
  return slurp(std::string(CALLBRIDGE_FIXTURES_DIR) + "/" + std::string(scenario) + "/" + std::string(file));
}

std::string sent_action(std::string_view scenario, std::string_view name) {
  std::string sent = fixture(scenario, "ami.sent");
  auto at = sent.find("Action: " + std::string(name) + "\r\n");
  if (at == std::string::npos) return "<missing " + std::string(name) + ">";
  return sent.substr(at, sent.find("\r\n\r\n", at) + 4 - at);
}

base::Timestamp at(int ms) { return base::from_micros(1'795'000'000'000'000 + ms * 1000LL); }

struct AnnaResolver final : api::PrincipalResolver {
  std::expected<api::Principal, api::AuthFailure> resolve(const api::HttpRequest&, bool) override {
    api::Principal p{.tenant = base::TenantId("default")};
    p.user = "anna";
    p.devices = {"100"};
    return p;
  }
};

// The lab of the captures: +49 30 555-1xx, extensions of three digits, no outside-line code.
core::DialingPlan lab_plan() {
  core::DialingPlanOptions o;
  o.country_code = "49";
  o.area_code = "30";
  o.base_number = "555";
  o.extension_lengths = {3};
  return *core::DialingPlan::create(o);
}

struct CommandSession {
  ami::AmiCallTracker tracker{ami::TrackerOptions{.tenant = "default"}, ami::TrackerOutputs{}};
  ami::AmiProtocol protocol{config(), tracker};
  ami::AmiCommands commands{ami::AmiCommandsOptions{}, tracker,
                            [this](ami::AmiAction a, ami::ActionCallback cb, std::optional<std::chrono::milliseconds> t) {
                              return protocol.submit(std::move(a), std::move(cb), at(10), t);
                            },
                            [this] { return protocol.up(); }};
  core::DialingPlan plan = lab_plan();
  core::CallControlService service{core::CallControlOptions{.tenant = "default"}, tracker.model(), commands, &plan};
  boost::asio::io_context io;
  api::HttpServer server{io, api::HttpServerOptions{}};
  AnnaResolver resolver;
  base::SystemClock clock;
  std::shared_ptr<core::CommandLog> command_log = std::make_shared<core::CommandLog>(core::CommandLogOptions{}, clock);
  std::string log;
  std::size_t pos = 0;
  std::string sent;

  explicit CommandSession(std::string_view scenario) : log(fixture(scenario, "ami.log")) {
    capabilities::calls::add_command_routes(server, {.auth = &resolver,
                                                     .service_for = [this](const std::string&) { return &service; },
                                                     .max_body_bytes = 64 * 1024,
                                                     .log_for = [this](const std::string&) { return command_log; }});
    protocol.begin(at(0));
  }
  static ami::AmiProtocolConfig config() {
    ami::AmiProtocolConfig c;
    c.username = "cti";
    c.secret = "cti-secret";
    c.resync_actions = {};
    return c;
  }
  void feed(std::size_t to) {
    ASSERT_TRUE(protocol.on_bytes(std::string_view(log).substr(pos, to - pos), at(5)));
    pos = to;
    sent += protocol.take_output();
  }
  // Up to the message that answers `action_id`.
  void feed_until_response(std::string_view action_id) {
    auto id_at = log.find("ActionID: " + std::string(action_id) + "\r\n", pos);
    ASSERT_NE(id_at, std::string::npos);
    feed(log.rfind("\r\n\r\n", id_at) + 4);
  }
  void feed_rest() { feed(log.size()); }
  api::HttpResponse post(std::string path, std::string body) {
    api::HttpRequest r;
    r.method = "POST";
    r.target = r.path = std::move(path);
    r.body = std::move(body);
    return server.dispatch(r);
  }
  std::string call_of(std::string_view device, model::ConnectionState state) const {
    for (const auto& [id, c] : tracker.model().calls())
      for (const auto& conn : c.connections)
        if (conn.device == device && conn.state == state) return id;
    return "";
  }
};

boost::json::object obj(const api::HttpResponse& r) { return boost::json::parse(r.body).as_object(); }

TEST(CommandSession, ClickToDialSendsTheCapturedOriginate) {
  CommandSession s("click_to_dial_originate");
  s.feed_until_response("c2d-0001");
  EXPECT_EQ(s.sent, sent_action("click_to_dial_originate", "Login"));
  auto r = s.post("/api/v1/calls", R"({"to": "tel:+49-89-123456"})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(obj(r).at("request_id").as_string(), "c2d-0001");
  EXPECT_EQ(obj(r).at("status").as_string(), "submitted");  // Asterisk's response is still to come
  EXPECT_EQ(s.protocol.take_output(), sent_action("click_to_dial_originate", "Originate"));
  EXPECT_EQ(s.protocol.pending_actions(), 1u);
  s.feed_rest();
  EXPECT_EQ(s.protocol.pending_actions(), 0u);  // "Originate successfully queued" answered it
}

TEST(CommandSession, BlindTransferSendsTheCapturedBlindTransfer) {
  CommandSession s("blind_transfer_ami");
  s.feed_until_response("bxfer-0001");
  std::string call = s.call_of("100", model::ConnectionState::connected);
  ASSERT_FALSE(call.empty());
  // Not offered for this call: hold needs remote hold support of the phone.
  auto r = s.post("/api/v1/calls/" + call + "/hold", "");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(obj(r).at("type").as_string(), "/problems/action-not-allowed");
  EXPECT_FALSE(s.protocol.has_output());
  r = s.post("/api/v1/calls/" + call + "/transfer", R"({"to": "+4930555101"})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(obj(r).at("call_id").as_string(), call);
  EXPECT_EQ(s.protocol.take_output(), sent_action("blind_transfer_ami", "BlindTransfer"));
  s.feed_rest();
  EXPECT_EQ(s.protocol.pending_actions(), 0u);
  EXPECT_TRUE(s.tracker.model().calls().empty());
}

TEST(CommandSession, ConsultSendsTheCapturedAtxfer) {
  CommandSession s("attended_transfer");
  s.feed_until_response("atxfer-0001");
  std::string call = s.call_of("100", model::ConnectionState::connected);
  ASSERT_FALSE(call.empty());
  auto r = s.post("/api/v1/calls/" + call + "/consult", R"({"to": "102"})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(s.protocol.take_output(), sent_action("attended_transfer", "Atxfer"));
  s.feed_rest();
  EXPECT_EQ(s.protocol.pending_actions(), 0u);
}

TEST(CommandSession, LinkDownIs503AndBadNumbersAre400) {
  CommandSession s("blind_transfer_ami");
  s.feed_until_response("bxfer-0001");
  std::string call = s.call_of("100", model::ConnectionState::connected);
  auto r = s.post("/api/v1/calls/" + call + "/transfer", R"({"to": "ten-one"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(obj(r).at("type").as_string(), "/problems/invalid-number");
  s.protocol.end(at(6), base::Error::io("connection reset"));
  r = s.post("/api/v1/calls/" + call + "/transfer", R"({"to": "101"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(obj(r).at("type").as_string(), "/problems/pbx-unavailable");
  r = s.post("/api/v1/calls", R"({"to": "089123456"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_FALSE(s.protocol.has_output());
}

}  // namespace
}  // namespace callbridge
