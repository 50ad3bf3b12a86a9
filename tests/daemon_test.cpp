// Integration: the real callbridged binary, started on port 0 with a temp data dir.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "journal/sqlite/sqlite_journal_store.hpp"

#include "support/child_process.hpp"
#include "support/http_get.hpp"
#include "support/temp_dir.hpp"
#include "support/ws_text_client.hpp"

namespace {

namespace fs = std::filesystem;

using callbridge::testing::TempDir;

// callbridged (or the CLI) as a child process with its output captured.
class Daemon : public callbridge::testing::ChildProcess {
 public:
  explicit Daemon(std::vector<std::string> args, std::string bin = CALLBRIDGED_PATH)
      : ChildProcess(std::move(bin), std::move(args)) {}
};

using callbridge::testing::http_get;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

const std::regex kListening(R"(HTTP API listening on 127\.0\.0\.1:(\d+))");

TEST(Daemon, StartsOnPortZeroServesHealthAndStopsCleanlyOnSigterm) {
  TempDir dir;
  // The printed default configuration is itself a valid config file.
  Daemon print({"--print-default-config"});
  ASSERT_EQ(print.wait_exit(), 0);
  write_file(dir / "callbridge.toml", print.output());

  Daemon d({"--config", dir / "callbridge.toml", "--listen", "127.0.0.1:0", "--data-dir",
            dir / "data"});
  auto m = d.wait_for(kListening);
  ASSERT_FALSE(m.empty()) << d.output();
  int port = std::stoi(m[1]);
  ASSERT_GT(port, 0);

  auto health = http_get(port, "/healthz");
  EXPECT_EQ(health.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << health;
  EXPECT_TRUE(health.ends_with("\r\n\r\nok")) << health;
  auto ready = http_get(port, "/readyz");
  EXPECT_EQ(ready.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ready;
  // Diagnostics are for admins (docs/api.md): refused without a token, served with an admin token
  // made by `callbridge token create` on the same data dir.
  auto anon = http_get(port, "/api/v1/diagnostics");
  EXPECT_EQ(anon.rfind("HTTP/1.1 401 ", 0), 0u) << anon;
  Daemon mint({"token", "create", "--data-dir", dir / "data", "--tenant", "default", "--user", "admin",
               "--role", "admin"},
              CALLBRIDGE_CLI_PATH);
  ASSERT_EQ(mint.wait_exit(), 0) << mint.output();
  std::smatch tm;
  std::string minted = mint.output();
  ASSERT_TRUE(std::regex_search(minted, tm, std::regex("cbt_[A-Za-z0-9_]+"))) << minted;
  auto diag = http_get(port, "/api/v1/diagnostics", tm[0].str());
  EXPECT_NE(diag.find("\"pbx\":[]"), std::string::npos) << diag;
  EXPECT_NE(d.output().find("no PBX configured"), std::string::npos) << d.output();

  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.output();
  EXPECT_NE(d.output().find("shutting down (SIGTERM)"), std::string::npos) << d.output();
  EXPECT_TRUE(fs::exists(dir / "data/journal.db"));
}

// Issue 12 with the real binaries: `callbridge token revoke` writes identity.db while callbridged
// runs; an event stream opened with the token is closed (1008) within a second, the token is
// refused, and /metrics is not served tokenless to loopback without [server] metrics_allow.
TEST(Daemon, CliRevokeClosesTheTokensEventStreamWithinASecond) {
  TempDir dir;
  Daemon mint({"token", "create", "--data-dir", dir / "data", "--tenant", "default", "--user", "anna", "--extension",
               "100"},
              CALLBRIDGE_CLI_PATH);
  ASSERT_EQ(mint.wait_exit(), 0) << mint.output();
  std::smatch tm;
  const std::string minted = mint.output();
  ASSERT_TRUE(std::regex_search(minted, tm, std::regex("cbt_([0-9a-f]+)_[0-9a-f]+"))) << minted;
  const std::string token = tm[0].str(), id = tm[1].str();
  Daemon d({"--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
  auto m = d.wait_for(kListening);
  ASSERT_FALSE(m.empty()) << d.output();
  const int port = std::stoi(m[1]);
  EXPECT_EQ(http_get(port, "/metrics").rfind("HTTP/1.1 401 ", 0), 0u);

  callbridge::testing::WsTextClient ws;
  ASSERT_EQ(ws.connect(static_cast<std::uint16_t>(port), "", token), 101) << d.output();
  auto snap = ws.next();
  ASSERT_TRUE(snap && snap->at("type") == "snapshot");
  Daemon revoke({"token", "revoke", id, "--data-dir", dir / "data", "--tenant", "default"}, CALLBRIDGE_CLI_PATH);
  ASSERT_EQ(revoke.wait_exit(), 0) << revoke.output();
  const auto revoked_at = std::chrono::steady_clock::now();
  EXPECT_FALSE(ws.next());
  const auto took = std::chrono::steady_clock::now() - revoked_at;
  EXPECT_EQ(ws.close_code(), 1008);
  EXPECT_EQ(ws.close_reason(), "credentials revoked");
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  RecordProperty("closed_after_ms", static_cast<int>(ms));
  EXPECT_LT(took, std::chrono::seconds(1)) << ms << " ms";
  EXPECT_EQ(http_get(port, "/api/v1/me", token).rfind("HTTP/1.1 401 ", 0), 0u);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.output();
}

// Permission bits of a path (no symlink following), e.g. 0600.
unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return 07777;
  return st.st_mode & 07777;
}

// Starts callbridged on `data`, waits until it serves, stops it; returns its output.
std::string run_daemon_once(const std::string& data) {
  Daemon d({"--listen", "127.0.0.1:0", "--data-dir", data});
  auto m = d.wait_for(kListening);
  EXPECT_FALSE(m.empty()) << d.output();
  if (m.empty()) return d.output();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.output();
  return d.output();
}

// Data files are owner-only (issue 12, docs/security.md): callbridged and the CLI set umask 077, the
// data dir is 0700, and an older install's 0755 dir and 0644 files are tightened at start, with a
// warning. The test runs the binaries under umask 022, so without the fix the files would be 0644.
TEST(Daemon, DataDirIsOwnerOnlyAndAnOlderInstallIsTightened) {
  const mode_t old_umask = ::umask(022);
  TempDir dir;
  const std::string data = dir / "data";
  auto first = run_daemon_once(data);
  Daemon mint({"token", "create", "--data-dir", data, "--tenant", "default", "--user", "admin", "--role", "admin"},
              CALLBRIDGE_CLI_PATH);
  ASSERT_EQ(mint.wait_exit(), 0) << mint.output();
  EXPECT_EQ(first.find("removed group/other access"), std::string::npos) << first;  // a fresh dir says nothing

  EXPECT_EQ(mode_of(data), 0700u);
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(data)) {
    if (!e.is_regular_file()) continue;
    ++files;
    EXPECT_EQ(mode_of(e.path()), 0600u) << e.path();
  }
  EXPECT_TRUE(fs::exists(data + "/journal.db"));
  EXPECT_TRUE(fs::exists(data + "/contacts.db"));
  EXPECT_TRUE(fs::exists(data + "/identity.db"));
  EXPECT_TRUE(fs::exists(data + "/audit.db"));
  EXPECT_GE(files, 4);

  // An install made before: world-readable files in a world-readable dir (and a subdirectory).
  fs::create_directories(data + "/recordings");
  write_file(data + "/recordings/pbx1.ami", "captured\n");
  for (const auto& e : fs::recursive_directory_iterator(data))
    ::chmod(e.path().c_str(), e.is_directory() ? 0755 : 0644);
  ::chmod(data.c_str(), 0755);
  ASSERT_EQ(mode_of(data + "/identity.db"), 0644u);

  auto second = run_daemon_once(data);
  EXPECT_NE(second.find("removed group/other access"), std::string::npos) << second;
  EXPECT_EQ(mode_of(data), 0700u);
  EXPECT_EQ(mode_of(data + "/recordings"), 0700u);
  for (const auto& e : fs::recursive_directory_iterator(data))
    EXPECT_EQ(mode_of(e.path()), e.is_directory() ? 0700u : 0600u) << e.path();
  ::umask(old_umask);
}

// `callbridge token` records what it changes in the audit log (actor "cli"), and `callbridge
// audit` lists it, per tenant or all, as a table or JSON lines; the token's secret is nowhere.
TEST(Daemon, CliTokenChangesAreAuditedAndListedByCallbridgeAudit) {
  TempDir dir;
  const std::string data = dir / "data";
  Daemon none({"audit", "--data-dir", data}, CALLBRIDGE_CLI_PATH);
  EXPECT_EQ(none.wait_exit(), 1);
  EXPECT_NE(none.output().find("no audit log in"), std::string::npos) << none.output();

  Daemon mint({"token", "create", "--data-dir", data, "--tenant", "acme", "--user", "root", "--role", "admin"},
              CALLBRIDGE_CLI_PATH);
  ASSERT_EQ(mint.wait_exit(), 0) << mint.output();
  std::smatch m;
  const std::string minted = mint.output();
  ASSERT_TRUE(std::regex_search(minted, m, std::regex(R"(cbt_([0-9a-f]+)_([0-9a-f]+))"))) << minted;
  const std::string id = m[1], secret = m[2];
  Daemon revoke({"token", "revoke", id, "--data-dir", data, "--tenant", "acme"}, CALLBRIDGE_CLI_PATH);
  ASSERT_EQ(revoke.wait_exit(), 0) << revoke.output();

  Daemon json({"audit", "--data-dir", data, "--tenant", "acme", "--format", "json"}, CALLBRIDGE_CLI_PATH);
  ASSERT_EQ(json.wait_exit(), 0) << json.output();
  const std::string out = json.output();
  std::vector<std::string> lines;
  for (std::size_t p = 0, e; (e = out.find('\n', p)) != std::string::npos; p = e + 1) lines.push_back(out.substr(p, e - p));
  ASSERT_EQ(lines.size(), 3u) << out;  // newest first
  EXPECT_NE(lines[0].find(R"("action":"token.revoke","target":"token:)" + id + R"(","outcome":"ok")"), std::string::npos) << out;
  EXPECT_NE(lines[1].find(R"("action":"token.create","target":"token:)" + id), std::string::npos) << out;
  EXPECT_NE(lines[2].find(R"("action":"user.create","target":"user:root")"), std::string::npos) << out;
  for (const auto& l : lines) {
    EXPECT_NE(l.find(R"("tenant":"acme","actor":"cli","source":"")"), std::string::npos) << l;
    EXPECT_NE(l.find(R"("details":{)"), std::string::npos) << l;
  }
  EXPECT_NE(lines[2].find(R"("role":"admin")"), std::string::npos) << out;

  Daemon other({"audit", "--data-dir", data, "--tenant", "default"}, CALLBRIDGE_CLI_PATH);
  ASSERT_EQ(other.wait_exit(), 0);
  EXPECT_NE(other.output().find("no audit records match"), std::string::npos) << other.output();
  Daemon table({"audit", "--data-dir", data, "--all-tenants", "--kind", "token", "--limit", "1"}, CALLBRIDGE_CLI_PATH);
  ASSERT_EQ(table.wait_exit(), 0) << table.output();
  EXPECT_NE(table.output().find("token.revoke"), std::string::npos) << table.output();
  EXPECT_EQ(table.output().find("token.create"), std::string::npos) << table.output();
  EXPECT_NE(table.output().find("--before-id"), std::string::npos) << table.output();

  std::string bytes;
  for (const char* f : {"/audit.db", "/audit.db-wal"}) {
    std::ifstream in(data + f, std::ios::binary);
    bytes += std::string(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_NE(bytes.find("token:" + id), std::string::npos);
  EXPECT_EQ(bytes.find(secret), std::string::npos);
  EXPECT_EQ(out.find(secret), std::string::npos);
}

// The CLI refuses extensions the PBX cannot dial as a device (issue 12: "PJSIP/101" reached AMI as
// Channel: PJSIP/PJSIP/101) before it touches identity.db; a normal one still works.
TEST(Daemon, CliRefusesExtensionsThatAreNotDeviceNames) {
  TempDir dir;
  for (const char* ext : {"PJSIP/101", "../x", "a.b"}) {
    Daemon bad({"token", "create", "--data-dir", dir / "data", "--tenant", "default", "--user", "ann", "--extension", ext},
               CALLBRIDGE_CLI_PATH);
    EXPECT_NE(bad.wait_exit(), 0) << ext;
    EXPECT_NE(bad.output().find("is not an extension"), std::string::npos) << bad.output();
  }
  EXPECT_FALSE(fs::exists(dir / "data/identity.db"));
  Daemon good({"token", "create", "--data-dir", dir / "data", "--tenant", "default", "--user", "ann", "--extension",
               "101", "--extension", "*97"},
              CALLBRIDGE_CLI_PATH);
  EXPECT_EQ(good.wait_exit(), 0) << good.output();
  Daemon dial({"dial", "--from", "PJSIP/101", "089123456"}, CALLBRIDGE_CLI_PATH);
  EXPECT_NE(dial.wait_exit(), 0);
  EXPECT_NE(dial.output().find("is not an extension"), std::string::npos) << dial.output();
}

TEST(Daemon, BadConfigValueIsRejectedNamingTheKey) {
  TempDir dir;
  write_file(dir / "bad.toml", "[journal]\nretention_days = \"ten\"\n");
  Daemon d({"--config", dir / "bad.toml", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
  EXPECT_EQ(d.wait_exit(), 2);
  EXPECT_NE(d.output().find("config error: journal.retention_days: expected a non-negative integer, got \"ten\""),
            std::string::npos)
      << d.output();
  EXPECT_FALSE(fs::exists(dir / "data")) << "nothing is created before the config is valid";
}

TEST(Daemon, UnknownConfigKeyIsRejectedNamingTheKey) {
  TempDir dir;
  write_file(dir / "bad.toml", "[server]\nlisten = \"127.0.0.1:0\"\nlog_levle = \"debug\"\n");
  Daemon d({"--config", dir / "bad.toml", "--data-dir", dir / "data"});
  EXPECT_EQ(d.wait_exit(), 2);
  EXPECT_NE(d.output().find("config error: server.log_levle: unknown key (did you mean \"log_level\"?)"),
            std::string::npos)
      << d.output();
}

TEST(Daemon, BadFlagIsAConfigError) {
  Daemon d({"--listen", "nowhere"});
  EXPECT_EQ(d.wait_exit(), 2);
  EXPECT_NE(d.output().find("--listen: expected HOST:PORT"), std::string::npos) << d.output();
}

TEST(Daemon, CorruptJournalFailsStartWithAClearMessage) {
  TempDir dir;
  fs::create_directories(dir / "data");
  write_file(dir / "data/journal.db", std::string(8192, 'x'));
  Daemon d({"--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
  EXPECT_EQ(d.wait_exit(), 1);
  EXPECT_NE(d.output().find("not a database"), std::string::npos) << d.output();
}

// `callbridge journal` reads the store callbridged writes (here seeded directly).
class CliJournal : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = callbridge::journal::SqliteJournalStore::open(dir_ / "journal.db");
    ASSERT_TRUE(s) << s.error().to_string();
    using namespace callbridge;
    model::JournalEntry a{.tenant = base::TenantId("default")};
    a.call_id = "c1";
    a.party = "100";
    a.direction = model::Direction::inbound;
    a.remote = "+4989123456";
    a.remote_name = "Doe, \"JD\" Jane";
    a.disposition = model::Disposition::answered;
    a.started_at = base::from_micros(1'795'382'753'707'000);
    a.answered_at = base::from_micros(1'795'382'758'707'000);
    a.ended_at = base::from_micros(1'795'382'818'707'000);
    a.transferred_to = "102";
    (*s)->append(a);
    model::JournalEntry b{.tenant = base::TenantId("default")};
    b.call_id = "c2";
    b.party = "101";
    b.direction = model::Direction::inbound;
    b.remote_withheld = true;
    b.disposition = model::Disposition::missed;
    b.started_at = base::from_micros(1'795'382'900'000'000);
    b.ended_at = base::from_micros(1'795'382'912'000'000);
    (*s)->append(b);
    ASSERT_TRUE((*s)->flush());
  }
  std::pair<int, std::string> cli(std::vector<std::string> args) {
    args.insert(args.begin(), "journal");
    Daemon p(args, CALLBRIDGE_CLI_PATH);
    int rc = p.wait_exit();
    return {rc, p.output()};
  }
  TempDir dir_;
};

TEST_F(CliJournal, JsonLinesCarryIdAndEveryField) {
  auto [rc, out] = cli({"--data-dir", dir_ / "", "--format", "json"});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out,
            "{\"id\": 2, \"party\": \"101\", \"direction\": \"inbound\", \"remote\": null, \"remote_withheld\": true, "
            "\"remote_name\": null, \"disposition\": \"missed\", \"answered\": false, \"started_at\": "
            "\"2026-11-22T21:28:20.000Z\", \"answered_at\": null, \"ended_at\": \"2026-11-22T21:28:32.000Z\", "
            "\"ring_s\": 12.0, \"talk_s\": 0.0, \"hold_s\": 0.0, \"trunk_channel_s\": 0.0, \"transferred_to\": null, "
            "\"transferred_from\": null, "
            "\"estimated\": [], \"call_id\": \"c2\", \"tenant\": \"default\"}\n"
            "{\"id\": 1, \"party\": \"100\", \"direction\": \"inbound\", \"remote\": \"+4989123456\", \"remote_withheld\": "
            "false, \"remote_name\": \"Doe, \\\"JD\\\" Jane\", \"disposition\": \"answered\", \"answered\": true, "
            "\"started_at\": \"2026-11-22T21:25:53.707Z\", \"answered_at\": \"2026-11-22T21:25:58.707Z\", "
            "\"ended_at\": \"2026-11-22T21:26:58.707Z\", \"ring_s\": 5.0, \"talk_s\": 60.0, \"hold_s\": 0.0, "
            "\"trunk_channel_s\": 0.0, \"transferred_to\": \"102\", \"transferred_from\": null, \"estimated\": [], \"call_id\": \"c1\", \"tenant\": \"default\"}\n");
}

TEST_F(CliJournal, CsvQuotesFieldsThatNeedIt) {
  auto [rc, out] = cli({"--data-dir", dir_ / "", "--format", "csv", "--party", "100"});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out,
            "id,started_at,answered_at,ended_at,party,direction,remote,remote_withheld,remote_name,"
            "disposition,ring_s,talk_s,hold_s,transferred_to,transferred_from,call_id,tenant,note,device,device_number,"
            "private_device,trunk_channel_s\n"
            "1,2026-11-22T21:25:53.707Z,2026-11-22T21:25:58.707Z,2026-11-22T21:26:58.707Z,100,inbound,"
            "+4989123456,false,\"Doe, \"\"JD\"\" Jane\",answered,5.0,60.0,0.0,102,,c1,default,,,,false,0.0\n");
}

// Regression (issue 12): `callbridge journal --format csv` wrote a caller name such as
// =HYPERLINK(...) unescaped, which a spreadsheet runs; the API's CSV already prefixed '.
TEST_F(CliJournal, CsvNeutralizesSpreadsheetFormulas) {
  {
    using namespace callbridge;
    auto s = journal::SqliteJournalStore::open(dir_ / "journal.db");
    ASSERT_TRUE(s) << s.error().to_string();
    model::JournalEntry e{.tenant = base::TenantId("default")};
    e.call_id = "c3";
    e.party = "103";
    e.direction = model::Direction::inbound;
    e.remote = "+4989123456";
    e.remote_name = "=HYPERLINK(\"http://evil.example\",\"x\")";
    e.disposition = model::Disposition::missed;
    e.started_at = base::from_micros(1'795'383'000'000'000);
    e.ended_at = base::from_micros(1'795'383'010'000'000);
    (*s)->append(e);
    ASSERT_TRUE((*s)->flush());
  }
  auto [rc, out] = cli({"--data-dir", dir_ / "", "--format", "csv", "--party", "103"});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","), std::string::npos) << out;
  EXPECT_NE(out.find(",+4989123456,"), std::string::npos) << out;  // numbers stay numbers
}

TEST_F(CliJournal, TableIsAligned) {
  auto [rc, out] = cli({"--data-dir", dir_ / ""});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out,
            "ID  STARTED (UTC)        PARTY  DIRECTION  REMOTE       NAME            DISPOSITION  RING  TALK  HOLD  TRANSFER  NOTE\n"
            " 2  2026-11-22 21:28:20  101    inbound    (withheld)   -               missed       12.0   0.0   0.0  -\n"
            " 1  2026-11-22 21:25:53  100    inbound    +4989123456  Doe, \"JD\" Jane  answered      5.0  60.0   0.0  to 102\n");
}

TEST_F(CliJournal, FiltersAndErrors) {
  auto [rc, out] = cli({"--data-dir", dir_ / "", "--missed", "--format", "csv"});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  std::tie(rc, out) = cli({"--data-dir", dir_ / "", "--since", "2026-11-22T21:27:00Z", "--format", "csv"});
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  std::tie(rc, out) = cli({"--data-dir", dir_ / "", "--since", "yesterday-ish"});
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("--since: expected"), std::string::npos) << out;
  std::tie(rc, out) = cli({"--data-dir", dir_ / "nowhere"});
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("no journal in"), std::string::npos) << out;
}

}  // namespace
