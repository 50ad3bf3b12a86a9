// AnyDevice end to end: the real callbridged (port 0, temp data dir) against a loopback fake
// Asterisk that accepts Originate. A user adds their mobile over REST, makes it their active device,
// and the make call's Originate rings the mobile first (Local/<dial string>@context) showing the
// office number; switching back to the desk extension makes the desk phone the first leg again;
// the choice survives a restart of the daemon (identity.db). The tenant's policy refuses a premium
// number with 422 and the reason, naming nothing half-done. ctest label `anydevice`.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdlib.h>

#include "support/child_process.hpp"
#include "support/fake_asterisk_thread.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"

namespace callbridge {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::ChildProcess;

std::string cli(const std::vector<std::string>& args, int* rc) {
  ChildProcess p(CALLBRIDGE_CLI_PATH, args);
  *rc = p.wait_exit();
  return p.output();
}

struct Daemon {
  Daemon(const std::string& config) : process(CALLBRIDGED_PATH, {"--config", config}) {
    auto m = process.wait_for(std::regex(R"(HTTP API listening on 127\.0\.0\.1:(\d+))"));
    if (m.empty()) return;
    const auto p = static_cast<std::uint16_t>(std::stoi(m[1].str()));
    // A make call needs the PBX link up.
    if (!process.wait_for(std::regex(R"(AMI link to 127\.0\.0\.1:\d+ up)")).empty()) port = p;
  }
  ChildProcess process;
  std::uint16_t port = 0;
};

// The Originates the fake received, in order: their Channel and CallerID.
std::vector<std::pair<std::string, std::string>> originates(testing::FakeAsteriskThread& pbx) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& a : pbx.actions())
    if (a.name() == "Originate") out.emplace_back(a.get("Channel"), a.get("CallerID"));
  return out;
}

// The Originates once there are `n` (the 202 may come before the fake saw the action): waits on
// the daemon's output pipe between looks, at most 10 s.
std::vector<std::pair<std::string, std::string>> originates(testing::FakeAsteriskThread& pbx, std::size_t n,
                                                            ChildProcess& daemon) {
  auto seen = originates(pbx);
  for (int i = 0; i < 500 && seen.size() < n; ++i) {
    daemon.pump(20);
    seen = originates(pbx);
  }
  return seen;
}

TEST(AnyDeviceE2E, TheActiveDeviceIsTheFirstLegOfAMakeCallAndSurvivesARestart) {
  testing::TempDir dir;
  const std::string data = dir / "data";
  fs::create_directories(data);
  int rc = 0;
  auto out = cli({"token", "create", "--data-dir", data, "--tenant", "default", "--user", "anna", "--role", "user",
                  "--extension", "100"},
                 &rc);
  ASSERT_EQ(rc, 0) << out;
  std::smatch tm;
  ASSERT_TRUE(std::regex_search(out, tm, std::regex("cbt_[A-Za-z0-9_]+"))) << out;
  const std::vector<std::string> auth = {"Authorization: Bearer " + tm[0].str()};

  testing::FakeAsteriskThread pbx("", /*accept_originate=*/true);
  const std::string config = dir / "callbridged.toml";
  std::ofstream(config) << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << data << "\"\n\n"
                        << "[[pbx]]\nname = \"lab\"\nhost = \"127.0.0.1\"\nport = " << pbx.ami.port()
                        << "\nuser = \"cti\"\nsecret = \"cti-secret\"\nauth = \"plain\"\nkeepalive_s = 0\n\n"
                        << "[tenant.default.dialing]\ncountry_code = \"49\"\narea_code = \"30\"\n"
                           "base_number = \"555\"\nextension_length = 3\noutside_prefix = \"0\"\n\n"
                        << "[tenant.default.call_control]\noffice_number = \"+4930555100\"\n\n"
                        << "[tenant.default.any_device]\nallow = [\"+4915*\", \"+4916*\", \"+4917*\"]\n"
                           "deny = [\"+49900*\"]\nmax_devices = 3\n";
  std::vector<std::pair<std::string, std::string>> seen;
  {
    Daemon d(config);
    ASSERT_NE(d.port, 0) << d.process.output();
    testing::HttpClient http(d.port);

    auto r = http.request("PUT", "/api/v1/me/devices/premium", auth, R"({"number":"0900 1234567"})");
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_NE(r.body.find("deny pattern +49900*"), std::string::npos) << r.body;
    r = http.request("PUT", "/api/v1/me/devices/mobile", auth, R"({"number":"0170 1234567"})");
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_NE(r.body.find(R"("number":"+491701234567")"), std::string::npos) << r.body;
    r = http.request("PUT", "/api/v1/me/devices/active", auth, R"({"device":"mobile"})");
    ASSERT_EQ(r.status, 200) << r.body;

    r = http.request("POST", "/api/v1/calls", auth, R"({"to":"089 123456"})");
    ASSERT_EQ(r.status, 202) << r.body << d.process.output();
    seen = originates(pbx, 1, d.process);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].first, "Local/001701234567@from-internal");  // the mobile rings first
    EXPECT_EQ(seen[0].second, "\"+4930555100\" <+4930555100>");   // showing the office number

    r = http.request("PUT", "/api/v1/me/devices/active", auth, R"({"device":"100"})");
    ASSERT_EQ(r.status, 200) << r.body;
    r = http.request("POST", "/api/v1/calls", auth, R"({"to":"089 123456"})");
    ASSERT_EQ(r.status, 202) << r.body;
    seen = originates(pbx, 2, d.process);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].first, "PJSIP/100");  // the desk phone again

    r = http.request("PUT", "/api/v1/me/devices/active", auth, R"({"device":"mobile"})");
    ASSERT_EQ(r.status, 200) << r.body;
    d.process.signal(SIGTERM);
    EXPECT_EQ(d.process.wait_exit(), 0) << d.process.output();
  }
  // A new daemon on the same data dir: the mobile is still the active device.
  Daemon d(config);
  ASSERT_NE(d.port, 0) << d.process.output();
  testing::HttpClient http(d.port);
  auto g = http.request("GET", "/api/v1/me/devices", auth);
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(json::parse(g.body).at("active"), "mobile") << g.body;
  auto r = http.request("POST", "/api/v1/calls", auth, R"({"to":"089 123456"})");
  ASSERT_EQ(r.status, 202) << r.body << d.process.output();
  seen = originates(pbx, 3, d.process);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].first, "Local/001701234567@from-internal");

  // The CLI over the same API: list (the active device marked), a refused number with the reason,
  // add, use, remove.
  setenv("CALLBRIDGE_URL", ("http://127.0.0.1:" + std::to_string(d.port)).c_str(), 1);
  setenv("CALLBRIDGE_TOKEN", tm[0].str().c_str(), 1);
  int crc = -1;
  auto listing = cli({"device", "list"}, &crc);
  EXPECT_EQ(crc, 0) << listing;
  EXPECT_NE(listing.find("* mobile"), std::string::npos) << listing;
  EXPECT_NE(listing.find("+491701234567"), std::string::npos) << listing;
  EXPECT_NE(listing.find("active: mobile (chosen by anna)"), std::string::npos) << listing;
  auto refused = cli({"device", "add", "intl", "+1 212 555 0100"}, &crc);
  EXPECT_EQ(crc, 1) << refused;
  EXPECT_NE(refused.find("not among the numbers the tenant allows"), std::string::npos) << refused;
  auto added = cli({"device", "add", "home", "0151 2345678"}, &crc);
  EXPECT_EQ(crc, 0) << added;
  EXPECT_NE(added.find("home"), std::string::npos) << added;
  auto used = cli({"device", "use", "home"}, &crc);
  EXPECT_EQ(crc, 0) << used;
  EXPECT_NE(used.find("active: home"), std::string::npos) << used;
  auto unknown = cli({"device", "use", "car"}, &crc);
  EXPECT_EQ(crc, 1) << unknown;
  EXPECT_NE(unknown.find("no device \"car\""), std::string::npos) << unknown;
  auto removed = cli({"device", "remove", "home"}, &crc);
  EXPECT_EQ(crc, 0) << removed;
  EXPECT_NE(removed.find("active: 100 (the tenant's default"), std::string::npos) << removed;
  auto usage = cli({"device", "use"}, &crc);
  EXPECT_EQ(crc, 2) << usage;
  unsetenv("CALLBRIDGE_URL");
  unsetenv("CALLBRIDGE_TOKEN");
  r = http.request("POST", "/api/v1/calls", auth, R"({"to":"089 123456"})");
  ASSERT_EQ(r.status, 202) << r.body;
  seen = originates(pbx, 4, d.process);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[3].first, "PJSIP/100");  // the device removed: the desk phone again
}

// Issue 20: the tenant's admin subscribes a webhook to anydevice.changed; a user's change of active
// device reaches the receiver (real HTTP) with the user's name and all their devices, in order;
// another user's call control outcome (a per-user message too) does not.
TEST(AnyDeviceE2E, AChangeReachesTheTenantsAnydeviceWebhooks) {
  testing::TempDir dir;
  const std::string data = dir / "data";
  fs::create_directories(data);
  auto token = [&](const std::string& user, const std::string& role, const std::string& ext) {
    int rc = 0;
    std::vector<std::string> args = {"token", "create", "--data-dir", data, "--tenant", "default", "--user", user,
                                     "--role", role};
    if (!ext.empty()) args.insert(args.end(), {"--extension", ext});
    auto out = cli(args, &rc);
    std::smatch m;
    EXPECT_EQ(rc, 0) << out;
    return std::regex_search(out, m, std::regex("cbt_[A-Za-z0-9_]+")) ? m[0].str() : std::string();
  };
  const std::vector<std::string> anna = {"Authorization: Bearer " + token("anna", "user", "100")};
  const std::vector<std::string> admin = {"Authorization: Bearer " + token("boss", "admin", "")};

  ChildProcess receiver("/usr/bin/python3", {CALLBRIDGE_WEBHOOK_RECEIVER, "127.0.0.1"});
  auto pm = receiver.wait_for(std::regex(R"(PORT (\d+))"));
  ASSERT_FALSE(pm.empty()) << receiver.output();
  const std::string hook_url = "http://127.0.0.1:" + pm[1].str() + "/crm";

  testing::FakeAsteriskThread pbx("", /*accept_originate=*/true);
  const std::string config = dir / "callbridged.toml";
  std::ofstream(config) << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << data << "\"\n\n"
                        << "[webhooks]\nallow_http = true\nallow = [\"127.0.0.1/32\"]\n\n"
                        << "[[pbx]]\nname = \"lab\"\nhost = \"127.0.0.1\"\nport = " << pbx.ami.port()
                        << "\nuser = \"cti\"\nsecret = \"cti-secret\"\nauth = \"plain\"\nkeepalive_s = 0\n\n"
                        << "[tenant.default.dialing]\ncountry_code = \"49\"\narea_code = \"30\"\n"
                           "base_number = \"555\"\nextension_length = 3\noutside_prefix = \"0\"\n";
  Daemon d(config);
  ASSERT_NE(d.port, 0) << d.process.output();
  testing::HttpClient http(d.port);
  auto r = http.request("POST", "/api/v1/webhooks", admin,
                        R"({"url":")" + hook_url + R"(","events":["anydevice.changed"]})");
  ASSERT_EQ(r.status, 201) << r.body;

  r = http.request("POST", "/api/v1/calls", anna, R"({"to":"089 123456"})");  // a command outcome follows
  ASSERT_EQ(r.status, 202) << r.body;
  r = http.request("PUT", "/api/v1/me/devices/mobile", anna, R"({"number":"0170 1234567"})");
  ASSERT_EQ(r.status, 201) << r.body;
  r = http.request("PUT", "/api/v1/me/devices/active", anna, R"({"device":"mobile"})");
  ASSERT_EQ(r.status, 200) << r.body;

  std::vector<json::object> bodies;
  for (int i = 0; i < 2; ++i) {
    auto line = receiver.wait_for(std::regex(R"(^\{.*\}$)"));
    ASSERT_FALSE(line.empty()) << receiver.output() << d.process.output();
    auto req = json::parse(line[0].str()).as_object();
    EXPECT_EQ(req.at("path").as_string(), "/crm");
    EXPECT_EQ(req.at("headers").at("x-callbridge-event").as_string(), "anydevice.changed");
    bodies.push_back(json::parse(req.at("body").as_string()).as_object());
  }
  EXPECT_EQ(bodies[0].at("type").as_string(), "anydevice.changed");
  EXPECT_EQ(bodies[0].at("data").at("user").as_string(), "anna");
  EXPECT_EQ(bodies[0].at("data").at("change").as_string(), "added");
  EXPECT_EQ(bodies[1].at("data").at("change").as_string(), "active");
  const auto& devices = bodies[1].at("data").at("devices").as_object();
  EXPECT_EQ(devices.at("active").as_string(), "mobile") << json::serialize(devices);
  EXPECT_NE(json::serialize(devices).find("+491701234567"), std::string::npos) << json::serialize(devices);
  EXPECT_LT(bodies[0].at("seq").as_int64(), bodies[1].at("seq").as_int64());
  // Nothing else was delivered (the command outcome is anna's own business).
  r = http.request("GET", "/api/v1/webhooks", admin);
  ASSERT_EQ(r.status, 200);
  auto hooks = json::parse(r.body);
  const std::string id(hooks.at("webhooks").as_array().at(0).at("id").as_string());
  r = http.request("GET", "/api/v1/webhooks/" + id + "/deliveries", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("deliveries").as_array().size(), 2u) << r.body;
}

// Private vs company devices (issue 14: company and private costs told apart): the CLI adds the
// user's mobile as a company device and makes it active; the recorded AnyDevice make call of the lab
// (live_make_call_from_mobile: 103 called +4989123001 through +491701234567) played by the fake
// Asterisk becomes a journal entry whose device is that company device (private false); declared
// private again, the same call's entry says private true.
TEST(AnyDeviceE2E, TheJournalTellsCompanyDevicesFromPrivateOnes) {
  testing::TempDir dir;
  const std::string data = dir / "data";
  fs::create_directories(data);
  int rc = 0;
  auto out = cli({"token", "create", "--data-dir", data, "--tenant", "default", "--user", "anna", "--role", "user",
                  "--extension", "103"},
                 &rc);
  ASSERT_EQ(rc, 0) << out;
  std::smatch tm;
  ASSERT_TRUE(std::regex_search(out, tm, std::regex("cbt_[A-Za-z0-9_]+"))) << out;
  const std::vector<std::string> auth = {"Authorization: Bearer " + tm[0].str()};
  auto [head, tail] = testing::capture_split(
      fs::path(CALLBRIDGE_FIXTURES_DIR) / "live_make_call_from_mobile" / "ami.log", "Event:");
  const std::string capture = head + tail;

  testing::FakeAsteriskThread pbx("", /*accept_originate=*/true);
  const std::string config = dir / "callbridged.toml";
  std::ofstream(config) << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << data << "\"\n\n"
                        << "[[pbx]]\nname = \"lab\"\nhost = \"127.0.0.1\"\nport = " << pbx.ami.port()
                        << "\nuser = \"cti\"\nsecret = \"cti-secret\"\nauth = \"plain\"\nkeepalive_s = 0\n\n"
                        << "[tenant.default.dialing]\ncountry_code = \"49\"\narea_code = \"30\"\n"
                           "base_number = \"555\"\nextension_length = 3\noutside_prefix = \"0\"\n";
  Daemon d(config);
  ASSERT_NE(d.port, 0) << d.process.output();
  testing::HttpClient http(d.port);
  setenv("CALLBRIDGE_URL", ("http://127.0.0.1:" + std::to_string(d.port)).c_str(), 1);
  setenv("CALLBRIDGE_TOKEN", tm[0].str().c_str(), 1);
  auto added = cli({"device", "add", "mobile", "0170 1234567", "--company"}, &rc);
  EXPECT_EQ(rc, 0) << added;
  EXPECT_NE(added.find("company"), std::string::npos) << added;
  auto both = cli({"device", "add", "mobile", "0170 1234567", "--company", "--private"}, &rc);
  EXPECT_NE(rc, 0) << both;  // one or the other
  auto used = cli({"device", "use", "mobile"}, &rc);
  EXPECT_EQ(rc, 0) << used;

  // The entry of the played call; `n` entries expected.
  auto entries = [&](std::size_t n) {
    json::array got;
    for (int i = 0; i < 500; ++i) {
      auto r = http.request("GET", "/api/v1/journal", auth);
      if (r.status == 200) got = json::parse(r.body).at("entries").as_array();
      if (got.size() >= n) break;
      d.process.pump(20);
    }
    return got;
  };
  pbx.send(capture);
  auto one = entries(1);
  ASSERT_EQ(one.size(), 1u) << d.process.output();
  const auto& e = one[0].as_object();
  EXPECT_EQ(e.at("party").as_string(), "103");
  EXPECT_EQ(e.at("remote").as_string(), "+4989123001");
  ASSERT_TRUE(e.contains("device") && e.at("device").is_object()) << json::serialize(e);
  EXPECT_EQ(e.at("device").at("name").as_string(), "mobile");
  EXPECT_EQ(e.at("device").at("number").as_string(), "+491701234567");
  EXPECT_FALSE(e.at("device").at("private").as_bool()) << json::serialize(e);

  // Declared private (only the flag): the next call it carries is a private one. The fake plays
  // the same capture again: a second entry (another stored row) with private true.
  auto priv = cli({"device", "add", "mobile", "0170 1234567", "--private"}, &rc);
  EXPECT_EQ(rc, 0) << priv;
  unsetenv("CALLBRIDGE_URL");
  unsetenv("CALLBRIDGE_TOKEN");
  pbx.send(capture);
  auto two = entries(2);
  ASSERT_EQ(two.size(), 2u) << d.process.output();
  std::size_t private_entries = 0;
  for (const auto& v : two)
    if (v.at("device").at("private").as_bool()) ++private_entries;
  EXPECT_EQ(private_entries, 1u) << json::serialize(two);
}

}  // namespace
}  // namespace callbridge
