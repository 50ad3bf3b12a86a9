#include "api/rest_commands.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

namespace callbridge::api {
namespace {

using model::CallEventType;
using model::ConnectionState;

// "Bearer anna" is user anna with extension 100; anything else is 401.
struct TestResolver final : PrincipalResolver {
  std::expected<Principal, AuthFailure> resolve(const HttpRequest& req, bool) override {
    if (req.header("authorization") == "Bearer anna") {
      Principal p;
      p.user = "anna";
      p.devices = {"100"};
      return p;
    }
    return std::unexpected(AuthFailure{401, "missing or invalid token"});
  }
};

// Completes commands later (like AMI) unless `immediate`.
struct FakePbx final : ports::PbxCommands {
  bool up = true;
  bool immediate = true;
  base::Status result;
  std::vector<std::string> log;
  std::vector<ports::CommandDone> pending;
  bool available() const override { return up; }
  void finish(std::string s, ports::CommandDone done) {
    log.push_back(std::move(s));
    if (immediate) done(result);
    else pending.push_back(std::move(done));
  }
  void make_call(const ports::MakeCallRequest& r, ports::CommandDone d) override {
    finish("make_call " + r.from_device + " " + r.dial_string + " " + r.request_id, std::move(d));
  }
  void answer(const std::string& c, const std::string& dev, ports::CommandDone d) override { finish("answer " + c + " " + dev, std::move(d)); }
  void hangup(const std::string& c, const std::string& dev, ports::CommandDone d) override { finish("hangup " + c + " " + dev, std::move(d)); }
  void hold(const std::string& c, const std::string& dev, ports::CommandDone d) override { finish("hold " + c, std::move(d)); }
  void retrieve(const std::string& c, const std::string& dev, ports::CommandDone d) override { finish("retrieve " + c, std::move(d)); }
  void consult(const std::string& c, const std::string& dev, const std::string& to, ports::CommandDone d) override {
    finish("consult " + c + " " + to, std::move(d));
  }
  void alternate(const std::string& c, const std::string&, const std::string&, ports::CommandDone d) override { finish("alternate " + c, std::move(d)); }
  void transfer(const std::string& c, const std::string& dev, const std::string& to, ports::CommandDone d) override {
    finish("transfer " + c + " " + dev + " " + to, std::move(d));
  }
  void complete_transfer(const std::string& c, const std::string&, const std::string&, ports::CommandDone d) override {
    finish("complete " + c, std::move(d));
  }
  void conference(const std::string& c, const std::string&, const std::string&, ports::CommandDone d) override { finish("conference " + c, std::move(d)); }
  void redirect(const std::string& c, const std::string&, const std::string& to, ports::CommandDone d) override {
    finish("redirect " + c + " " + to, std::move(d));
  }
};

base::Timestamp at(int s) { return base::from_micros(1'795'000'000'000'000 + s * 1'000'000LL); }

struct RestCommands : ::testing::Test {
  boost::asio::io_context io;
  HttpServer server{io, HttpServerOptions{}};
  TestResolver resolver;
  model::CallModel model{"default"};
  FakePbx pbx;
  core::CallControlService service{core::CallControlOptions{}, model, pbx, nullptr};
  bool has_service = true;

  RestCommands() {
    add_command_routes(server, {.auth = &resolver,
                                .service_for = [this](const std::string& t) -> core::CallControlService* {
                                  return has_service && t == "default" ? &service : nullptr;
                                },
                                .max_body_bytes = 64 * 1024});
  }
  HttpResponse post(std::string path, std::string body, std::string token = "anna") {
    HttpRequest r;
    r.method = "POST";
    r.target = r.path = std::move(path);
    r.body = std::move(body);
    if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
    return server.dispatch(r);
  }
  static boost::json::object obj(const HttpResponse& r) { return boost::json::parse(r.body).as_object(); }
  static std::string type(const HttpResponse& r) { return std::string(obj(r).at("type").as_string()); }
};

TEST_F(RestCommands, MakeCallAnswers202WithTheRequestId) {
  auto r = post("/api/v1/calls", R"({"to": "tel:+4989123456"})");
  ASSERT_EQ(r.status, 202) << r.body;
  auto o = obj(r);
  EXPECT_TRUE(o.at("call_id").is_null());
  EXPECT_EQ(o.at("request_id").as_string(), "c2d-0001");
  EXPECT_EQ(o.at("status").as_string(), "accepted");
  EXPECT_EQ(pbx.log.back(), "make_call 100 +4989123456 c2d-0001");
  // Waiting for the PBX: still 202, marked submitted.
  pbx.immediate = false;
  r = post("/api/v1/calls", R"({"to": "089123456", "from": "100"})");
  ASSERT_EQ(r.status, 202);
  EXPECT_EQ(obj(r).at("status").as_string(), "submitted");
  EXPECT_EQ(obj(r).at("request_id").as_string(), "c2d-0002");
}

TEST_F(RestCommands, ErrorsAreProblemsWithStableTypes) {
  EXPECT_EQ(post("/api/v1/calls", R"({"to": "1"})", "").status, 401);
  EXPECT_EQ(type(post("/api/v1/calls", "{nope")), "/problems/invalid-json");
  EXPECT_EQ(post("/api/v1/calls", R"({})").status, 400);
  EXPECT_EQ(post("/api/v1/calls", R"({"to": 5})").status, 400);
  auto r = post("/api/v1/calls", R"({"to": "pizza please"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(type(r), "/problems/invalid-number");
  EXPECT_EQ(post("/api/v1/calls", R"({"to": "089", "from": "101"})").status, 403);
  pbx.up = false;
  r = post("/api/v1/calls", R"({"to": "089123456"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(type(r), "/problems/pbx-unavailable");
  has_service = false;
  pbx.up = true;
  EXPECT_EQ(post("/api/v1/calls", R"({"to": "089123456"})").status, 503);
  EXPECT_EQ(post("/api/v1/calls", std::string(70 * 1024, ' ')).status, 413);
  EXPECT_TRUE(pbx.log.empty());
}

TEST_F(RestCommands, CallCommandsCheckAllowedActions) {
  model.update("ctilab-1.0", "100", ConnectionState::connected, CallEventType::established, at(0), "+4989123456");
  auto r = post("/api/v1/calls/ctilab-1.0/hold", "");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(type(r), "/problems/action-not-allowed");
  EXPECT_NE(obj(r).at("detail").as_string().find("remote hold"), std::string::npos);
  r = post("/api/v1/calls/ctilab-1.0/transfer", R"({"to": "101"})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(obj(r).at("call_id").as_string(), "ctilab-1.0");
  EXPECT_EQ(pbx.log.back(), "transfer ctilab-1.0 100 101");
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/consult", "{}").status, 400);
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/explode", "{}").status, 404);
  EXPECT_EQ(post("/api/v1/calls/ctilab-9.0/hangup", "{}").status, 404);
  pbx.result = base::fail(base::Error::conflict("Hangup: No such channel"));
  r = post("/api/v1/calls/ctilab-1.0/hangup", "{}");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(type(r), "/problems/conflict");
  pbx.up = false;
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/hangup", "{}").status, 503);
}

}  // namespace
}  // namespace callbridge::api
