// Tenants at run time, end to end: the real callbridged (port 0, temp data dir, no PBX in its
// file) and the real `callbridge` CLI against a loopback fake Asterisk that plays the
// inbound_answered capture up to the ringing. An operator creates tenant "acme" over the API (CLI
// `tenant add`), its PBX link connects and its call shows to acme's users only, under acme's
// dialing plan; `tenant set` changes the plan and restarts only acme (the call comes back shown
// under the new plan); the call ends and is journaled; `tenant remove` stops acme (its journal
// stays); the tenant comes back after a
// daemon restart from the store. Roles: tenant admins cannot manage tenants, the operator cannot
// read a tenant's calls; the file's tenant is read-only (409); bad specs get 400 naming the key.
// The audit log over the same run-time tenant: the operator's tenant changes and a user's
// call-control commands (REST and `callbridge dial`, the PBX refusing them) read back by the
// tenant's admin and the operator (also with `callbridge audit --remote`), never by another
// tenant's admin.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <algorithm>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "support/child_process.hpp"
#include "support/fake_asterisk_thread.hpp"
#include "support/temp_dir.hpp"

namespace callbridge {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::ChildProcess;
using namespace std::chrono_literals;

struct Response {
  int status = 0;
  std::string body;
};

// One HTTP/1.1 request over loopback (Connection: close), waiting at most 5 s per read.
Response request(int port, const std::string& method, const std::string& path, const std::string& token,
                 const std::string& body = "") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return {};
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  (void)!write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    auto n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  Response r;
  if (out.size() > 12) r.status = std::stoi(out.substr(9, 3));
  if (auto p = out.find("\r\n\r\n"); p != std::string::npos) r.body = out.substr(p + 4);
  return r;
}

std::string cli(const std::vector<std::string>& args, int* rc) {
  ChildProcess p(CALLBRIDGE_CLI_PATH, args);
  *rc = p.wait_exit();
  return p.output();
}

std::string token_for(const std::string& data, std::vector<std::string> args) {
  int rc = 0;
  args.insert(args.begin(), {"token", "create", "--data-dir", data});
  auto out = cli(args, &rc);
  EXPECT_EQ(rc, 0) << out;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(out, m, std::regex("cbt_[A-Za-z0-9_]+"))) << out;
  return m.empty() ? std::string() : m[0].str();
}

// The remote_info "display" of device 100's connection in a GET /api/v1/calls body; "" if none.
std::string display_of_100(const std::string& calls_body) {
  boost::system::error_code ec;
  auto v = json::parse(calls_body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("calls")) return "";
  for (const auto& c : v.at("calls").as_array())
    for (const auto& conn : c.at("connections").as_array())
      if (conn.at("device") == "100" && conn.as_object().contains("remote_info")) {
        const auto& d = conn.at("remote_info").at("display");
        return d.is_string() ? std::string(d.as_string()) : "(null)";
      }
  return "";
}

class TenantsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_ / "data";
    fs::create_directories(data_);
    op_ = token_for(data_, {"--role", "operator", "--user", "ops"});
    acme_ = token_for(data_, {"--tenant", "acme", "--role", "admin", "--user", "acme-admin"});
    beta_ = token_for(data_, {"--tenant", "beta", "--role", "admin", "--user", "beta-admin"});
    // The file names tenant "beta" only (a dialing plan): no PBX link at all.
    config_ = dir_ / "callbridged.toml";
    std::ofstream(config_) << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << data_
                           << "\"\n\n[tenant.beta.dialing]\ncountry_code = \"43\"\n";
  }

  void start_daemon() {
    daemon_ = std::make_unique<ChildProcess>(CALLBRIDGED_PATH, std::vector<std::string>{"--config", config_});
    auto m = daemon_->wait_for(std::regex(R"(HTTP API listening on 127\.0\.0\.1:(\d+))"));
    ASSERT_FALSE(m.empty()) << daemon_->output();
    port_ = std::stoi(m[1].str());
    setenv("CALLBRIDGE_URL", ("http://127.0.0.1:" + std::to_string(port_)).c_str(), 1);
    setenv("CALLBRIDGE_TOKEN", op_.c_str(), 1);
  }

  // Asks `get` until `ok` holds (paced by the daemon's output, at most 20 ms a round), 15 s.
  bool eventually(const std::function<bool()>& ok) {
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (ok()) return true;
      daemon_->pump(20);
    }
    return ok();
  }

  bool link_up(const std::string& tenant) {
    auto r = request(port_, "GET", "/api/v1/tenants/" + tenant, op_);
    if (r.status != 200) return false;
    auto links = json::parse(r.body).at("links").as_array();
    return links.size() == 1 && links[0].at("connected").as_bool();
  }

  testing::TempDir dir_;
  std::string data_, config_, op_, acme_, beta_;
  std::unique_ptr<ChildProcess> daemon_;
  int port_ = 0;
};

TEST_F(TenantsE2E, OperatorCreatesChangesAndRemovesATenantWhileTheDaemonRuns) {
  auto [ringing, rest] = testing::capture_split(
      std::string(CALLBRIDGE_FIXTURES_DIR) + "/inbound_answered/ami.log", "Event: DialBegin");
  testing::FakeAsteriskThread pbx(ringing);
  start_daemon();
  const std::string ami = "127.0.0.1:" + std::to_string(pbx.ami.port());

  // Roles: a tenant admin cannot manage tenants; the operator sees no tenant's data.
  EXPECT_EQ(request(port_, "GET", "/api/v1/tenants", beta_).status, 403);
  EXPECT_EQ(request(port_, "POST", "/api/v1/tenants", acme_, R"({"id":"acme"})").status, 403);
  EXPECT_EQ(request(port_, "GET", "/api/v1/calls", op_).status, 403);
  EXPECT_EQ(request(port_, "GET", "/api/v1/journal", op_).status, 403);
  EXPECT_EQ(request(port_, "GET", "/api/v1/contacts?q=a", op_).status, 403);
  auto me = request(port_, "GET", "/api/v1/me", op_);
  EXPECT_EQ(me.status, 200);
  EXPECT_NE(me.body.find("\"role\":\"operator\""), std::string::npos) << me.body;
  EXPECT_NE(me.body.find("\"tenant\":\"_operator\""), std::string::npos) << me.body;

  // The file's tenant is listed and read-only.
  auto list = request(port_, "GET", "/api/v1/tenants", op_);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.body.find(R"("id":"beta","display_name":"","source":"config")"), std::string::npos) << list.body;
  EXPECT_EQ(request(port_, "PUT", "/api/v1/tenants/beta", op_, "{}").status, 409);
  EXPECT_EQ(request(port_, "DELETE", "/api/v1/tenants/beta", op_).status, 409);
  EXPECT_EQ(request(port_, "POST", "/api/v1/tenants", op_, R"({"id":"beta"})").status, 409);
  // Bad specs: 400 naming the key, as the configuration file would; unknown tenants 404.
  auto bad = request(port_, "POST", "/api/v1/tenants", op_,
                     R"({"id":"acme","pbx":[{"host":"h","user":"u","secret":"s","port":0}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("pbx[0].port: expected a port number 1..65535, got 0"), std::string::npos) << bad.body;
  EXPECT_EQ(request(port_, "POST", "/api/v1/tenants", op_, R"({"id":"_operator"})").status, 400);
  EXPECT_EQ(request(port_, "PUT", "/api/v1/tenants/nobody", op_, "{}").status, 404);
  EXPECT_EQ(request(port_, "POST", "/api/v1/tenants", op_, std::string(70 * 1024, ' ')).status, 413);

  // Create acme with the CLI (an operator token in CALLBRIDGE_TOKEN).
  int rc = 0;
  auto out = cli({"tenant", "add", "acme", "--display-name", "ACME GmbH", "--ami", ami, "--ami-user", "cti",
                  "--ami-secret", "cti-secret", "--ami-auth", "plain", "--country", "49"},
                 &rc);
  ASSERT_EQ(rc, 0) << out << daemon_->output();
  EXPECT_NE(out.find("added tenant acme (running)"), std::string::npos) << out;
  ASSERT_TRUE(eventually([&] { return link_up("acme"); })) << daemon_->output();
  EXPECT_EQ(request(port_, "POST", "/api/v1/tenants", op_, R"({"id":"acme"})").status, 409) << "exists";

  // Its call shows to acme's users only, under acme's plan (German national format).
  std::string calls;
  ASSERT_TRUE(eventually([&] {
    calls = request(port_, "GET", "/api/v1/calls", acme_).body;
    return display_of_100(calls) == "089 123456";
  })) << calls << daemon_->output();
  EXPECT_EQ(request(port_, "GET", "/api/v1/calls", beta_).body, R"({"calls":[]})");
  // Secrets never come back.
  auto shown = request(port_, "GET", "/api/v1/tenants/acme", op_);
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(shown.body.find("cti-secret"), std::string::npos) << shown.body;
  EXPECT_NE(shown.body.find(R"("display_name":"ACME GmbH")"), std::string::npos) << shown.body;

  // Change the plan (the CLI edits the current spec; the left-out secret is kept): only acme
  // restarts, its link logs in again and its call is shown under the new plan.
  out = cli({"tenant", "set", "acme", "--country", "43"}, &rc);
  ASSERT_EQ(rc, 0) << out << daemon_->output();
  EXPECT_NE(out.find("changed tenant acme (running)"), std::string::npos) << out;
  ASSERT_TRUE(eventually([&] {
    calls = request(port_, "GET", "/api/v1/calls", acme_).body;
    auto d = display_of_100(calls);
    return !d.empty() && d != "089 123456";
  })) << calls << daemon_->output();
  EXPECT_TRUE(link_up("acme")) << "logged in again with the kept secret";
  EXPECT_EQ(request(port_, "GET", "/api/v1/calls", beta_).body, R"({"calls":[]})");

  // The call ends: acme's journal has it. Remove acme: the link stops, the journal stays.
  pbx.send(rest);
  std::string journal;
  ASSERT_TRUE(eventually([&] {
    journal = request(port_, "GET", "/api/v1/journal", acme_).body;
    return journal.find("\"party\":\"100\"") != std::string::npos;
  })) << journal << daemon_->output();
  out = cli({"tenant", "remove", "acme"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(request(port_, "GET", "/api/v1/tenants/acme", op_).status, 404);
  EXPECT_EQ(request(port_, "GET", "/api/v1/calls", acme_).body, R"({"calls":[]})");
  auto diag = request(port_, "GET", "/api/v1/diagnostics", op_);
  ASSERT_EQ(diag.status, 200);
  EXPECT_EQ(json::parse(diag.body).at("pbx").as_array().size(), 0u) << diag.body;
  journal = request(port_, "GET", "/api/v1/journal", acme_).body;
  EXPECT_NE(journal.find("\"party\":\"100\""), std::string::npos) << "the journal stays: " << journal;
  EXPECT_EQ(request(port_, "GET", "/api/v1/journal", beta_).body.find("\"party\""), std::string::npos);

  // Created again, it survives a daemon restart (from the store), linked and running.
  out = cli({"tenant", "add", "acme", "--ami", ami, "--ami-user", "cti", "--ami-secret", "cti-secret", "--ami-auth",
             "plain"},
            &rc);
  ASSERT_EQ(rc, 0) << out;
  daemon_->signal(SIGTERM);
  ASSERT_EQ(daemon_->wait_exit(), 0) << daemon_->output();
  start_daemon();
  ASSERT_TRUE(eventually([&] { return link_up("acme"); })) << daemon_->output();
  out = cli({"tenant", "list"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(acme\s+api\s+running\s+1/1)"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(beta\s+config\s+running\s+0/0)"))) << out;
  daemon_->signal(SIGTERM);
  EXPECT_EQ(daemon_->wait_exit(), 0) << daemon_->output();
}

// The records of GET /api/v1/audit`query` as `token` reads them (200), or empty.
json::array audit_records(int port, const std::string& token, const std::string& query) {
  auto r = request(port, "GET", "/api/v1/audit" + query, token);
  if (r.status != 200) return {};
  return json::parse(r.body).at("records").as_array();
}

// "action target outcome" of each record, newest first.
std::vector<std::string> summary(const json::array& records) {
  std::vector<std::string> out;
  for (const auto& r : records)
    out.push_back(std::string(r.at("action").as_string()) + " " + std::string(r.at("target").as_string()) + " " +
                  std::string(r.at("outcome").as_string()));
  return out;
}

TEST_F(TenantsE2E, CommandsAndTenantChangesAreAuditedForTheTenantAdminAndTheOperator) {
  auto [ringing, rest] = testing::capture_split(
      std::string(CALLBRIDGE_FIXTURES_DIR) + "/inbound_answered/ami.log", "Event: DialBegin");
  testing::FakeAsteriskThread pbx(ringing);
  const std::string anna = token_for(data_, {"--tenant", "acme", "--user", "anna", "--extension", "100"});
  start_daemon();
  const std::string ami = "127.0.0.1:" + std::to_string(pbx.ami.port());
  int rc = 0;
  auto out = cli({"tenant", "add", "acme", "--ami", ami, "--ami-user", "cti", "--ami-secret", "cti-secret",
                  "--ami-auth", "plain"},
                 &rc);
  ASSERT_EQ(rc, 0) << out << daemon_->output();
  ASSERT_TRUE(eventually([&] { return link_up("acme"); })) << daemon_->output();
  out = cli({"tenant", "set", "acme", "--country", "49"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  ASSERT_TRUE(eventually([&] { return link_up("acme"); })) << daemon_->output();

  // anna hangs up the call ringing on her phone (the fake Asterisk refuses the action after the
  // 202) and dials with the CLI (through the API; refused the same way).
  std::string call_id;
  ASSERT_TRUE(eventually([&] {
    auto calls = json::parse(request(port_, "GET", "/api/v1/calls", anna).body).at("calls").as_array();
    if (calls.empty()) return false;
    call_id = std::string(calls[0].at("id").as_string());
    return true;
  })) << daemon_->output();
  auto hung = request(port_, "POST", "/api/v1/calls/" + call_id + "/hangup", anna, R"({"device":"100"})");
  ASSERT_EQ(hung.status, 202) << hung.body;
  EXPECT_EQ(request(port_, "POST", "/api/v1/calls/no-such-call/hold", anna, "{}").status, 404);
  setenv("CALLBRIDGE_TOKEN", anna.c_str(), 1);
  out = cli({"dial", "tel:089123456"}, &rc);
  setenv("CALLBRIDGE_TOKEN", op_.c_str(), 1);
  ASSERT_EQ(rc, 0) << out << daemon_->output();

  // The tenant's admin reads them (the writer thread commits them a moment later).
  const std::vector<std::string> expected{"call.make_call number:089123456 failed",
                                          "call.make_call number:089123456 accepted",
                                          "call.hold call:no-such-call rejected",
                                          "call.hangup call:" + call_id + " failed",
                                          "call.hangup call:" + call_id + " accepted"};
  json::array mine;
  ASSERT_TRUE(eventually([&] {
    mine = audit_records(port_, acme_, "?kind=call");
    return mine.size() >= expected.size();
  })) << json::serialize(mine);
  // The PBX's refusals arrive when they arrive (the hang-up's may follow the hold's answer): the
  // set is checked here, the order of one command's records in the unit tests.
  auto got = summary(mine);
  std::vector<std::string> sorted_got = got, sorted_expected = expected;
  std::sort(sorted_got.begin(), sorted_got.end());
  std::sort(sorted_expected.begin(), sorted_expected.end());
  EXPECT_EQ(sorted_got, sorted_expected) << json::serialize(mine);
  EXPECT_EQ(got.back(), expected.back());  // the first command's answer
  for (const auto& r : mine) {
    EXPECT_EQ(r.at("tenant").as_string(), "acme");
    EXPECT_EQ(r.at("actor").as_string(), "anna");
    EXPECT_EQ(r.at("source").as_string(), "127.0.0.1");
    if (r.at("outcome") == "failed") {
      EXPECT_NE(r.at("details").at("reason").as_string().find("Invalid/unknown command"), std::string::npos)
          << json::serialize(r);
    }
  }

  // Another tenant's admin: 403 for acme's log, nothing of acme's in their own.
  auto denied = request(port_, "GET", "/api/v1/audit?tenant=acme", beta_);
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_TRUE(audit_records(port_, beta_, "?kind=call").empty());
  EXPECT_EQ(request(port_, "GET", "/api/v1/audit", anna).status, 403);  // a user
  // The operator reads acme's log, and the tenant changes in the operator's records.
  EXPECT_EQ(summary(audit_records(port_, op_, "?tenant=acme&kind=call")), got);
  out = cli({"tenant", "remove", "acme"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  json::array changes;
  ASSERT_TRUE(eventually([&] {
    changes = audit_records(port_, op_, "?tenant=_operator&kind=tenant");
    return changes.size() >= 3;
  })) << json::serialize(changes);
  EXPECT_EQ(summary(changes), (std::vector<std::string>{"tenant.remove tenant:acme ok", "tenant.change tenant:acme ok",
                                                        "tenant.create tenant:acme ok"}));
  EXPECT_EQ(changes[2].at("actor").as_string(), "ops");
  EXPECT_EQ(changes[2].at("details").at("tenant").as_string(), "acme");
  EXPECT_EQ(json::serialize(changes).find("cti-secret"), std::string::npos);
  // acme's records stay after its removal; the operator reads them, and every tenant's at once.
  EXPECT_EQ(summary(audit_records(port_, op_, "?tenant=acme&kind=call")), got);
  std::set<std::string> tenants;
  for (const auto& r : audit_records(port_, op_, "?limit=500")) tenants.insert(std::string(r.at("tenant").as_string()));
  // (beta's and the operator's: `callbridge token create` in SetUp recorded its users and tokens.)
  EXPECT_EQ(tenants, (std::set<std::string>{"_operator", "acme", "beta"}));

  // The CLI through the API: the operator's token reads acme; beta's admin is refused.
  out = cli({"audit", "--remote", "--tenant", "acme", "--kind", "call", "--format", "json"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  ASSERT_EQ(lines.size(), expected.size()) << out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto o = json::parse(lines[i]);
    EXPECT_EQ(summary(json::array{o}).at(0), got[i]);
    EXPECT_EQ(o.at("tenant").as_string(), "acme");
  }
  out = cli({"audit", "--remote", "--limit", "2"}, &rc);  // every tenant's, as a table
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("tenant.remove"), std::string::npos) << out;
  setenv("CALLBRIDGE_TOKEN", beta_.c_str(), 1);
  out = cli({"audit", "--remote", "--tenant", "acme"}, &rc);
  setenv("CALLBRIDGE_TOKEN", op_.c_str(), 1);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("403"), std::string::npos) << out;
  daemon_->signal(SIGTERM);
  EXPECT_EQ(daemon_->wait_exit(), 0) << daemon_->output();
}

}  // namespace
}  // namespace callbridge
