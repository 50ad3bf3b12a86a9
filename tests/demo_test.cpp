// Integration: `callbridged --demo` (and [demo] enabled) on port 0 with a temp data dir: the
// simulator link comes up, live calls reach the journal, contacts and the admin token are seeded.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "directory/store/sqlite_contact_store.hpp"
#include "identity/sqlite/identity_store.hpp"

#include "support/child_process.hpp"
#include "support/http_get.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

using callbridge::testing::TempDir;

// callbridged (or the CLI) as a child process with its output captured.
class Daemon : public callbridge::testing::ChildProcess {
 public:
  explicit Daemon(std::vector<std::string> args, std::string bin = CALLBRIDGED_PATH)
      : ChildProcess(std::move(bin), std::move(args)) {}
  // Waits up to timeout_ms for more output (used between polls instead of sleeping).
  void wait_output(int timeout_ms) { pump(timeout_ms); }
};

using callbridge::testing::http_get;


void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

const std::regex kOpen(R"(Open http://127\.0\.0\.1:(\d+)/\?token=(cbt_[A-Za-z0-9_]+))");

// The "committed" counter of the journal in /api/v1/diagnostics; -1 when not found.
long committed(const std::string& diagnostics) {
  static const std::regex re(R"re("journal":\{[^}]*"committed":(\d+))re");
  std::smatch m;
  if (!std::regex_search(diagnostics, m, re)) return -1;
  return std::stol(m[1].str());
}

struct DemoRun {
  int port = 0;
  std::string token;
};

// Starts callbridged in demo mode, waits for the URL, the link and the first journal entries.
DemoRun run_demo_until_journaled(Daemon& d) {
  DemoRun r;
  auto open = d.wait_for(kOpen);
  EXPECT_FALSE(open.empty()) << d.output();
  if (open.empty()) return r;
  r.port = std::stoi(open[1].str());
  r.token = open[2].str();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  long n = -1;
  std::string diag;
  while (std::chrono::steady_clock::now() < deadline) {
    diag = http_get(r.port, "/api/v1/diagnostics", r.token);  // the printed admin token works
    n = committed(diag);
    if (n > 0) break;
    d.wait_output(50);  // new log lines or 50 ms, whichever comes first
  }
  EXPECT_GT(n, 0) << diag << "\n" << d.output();
  EXPECT_NE(diag.find(R"("name":"demo")"), std::string::npos) << diag;
  EXPECT_NE(diag.find(R"("connected":true)"), std::string::npos) << diag;
  return r;
}

TEST(Demo, ConfigEnabledStartsSimulatorSeedsContactsTokenAndJournalsLiveCalls) {
  TempDir dir;
  write_file(dir / "callbridge.toml",
             "[demo]\nenabled = true\nspeed = 50\ncalls_per_minute = 60\nseed = 7\n");
  DemoRun first;
  {
    Daemon d({"--config", dir / "callbridge.toml", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
    first = run_demo_until_journaled(d);
    ASSERT_FALSE(first.token.empty());
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.output();
  }
  // Contacts were seeded: every outside number of the demo pool, plus duplicates.
  {
    callbridge::directory::SqliteContactStoreOptions so;
    so.path = dir / "data/contacts.db";
    auto store = callbridge::directory::SqliteContactStore::open(so);
    ASSERT_TRUE(store) << store.error().message();
    auto n = (*store)->count("default");
    ASSERT_TRUE(n);
    EXPECT_GE(*n, 24u);
  }
  // The printed token is a valid admin token in identity.db.
  {
    auto ids = callbridge::identity::SqliteIdentityStore::open(dir / "data/identity.db");
    ASSERT_TRUE(ids);
    auto parts = callbridge::identity::parse_token(first.token);
    ASSERT_TRUE(parts);
    auto rec = (*ids)->get_token(parts->id);
    ASSERT_TRUE(rec);
    EXPECT_TRUE(callbridge::identity::verify_secret(rec->hash, parts->secret));
    auto user = (*ids)->get_user("default", rec->user);
    ASSERT_TRUE(user);
    EXPECT_EQ(user->role, "admin");
  }
  // A second start (the --demo flag this time) reuses the token and does not seed twice.
  {
    Daemon d({"--demo", "--demo-speed", "50", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
    auto open = d.wait_for(kOpen);
    ASSERT_FALSE(open.empty()) << d.output();
    EXPECT_EQ(open[2].str(), first.token);
    EXPECT_EQ(d.output().find("demo contacts added"), std::string::npos) << d.output();
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.output();
  }
}

TEST(Demo, BadDemoConfigIsAConfigError) {
  TempDir dir;
  write_file(dir / "callbridge.toml", "[demo]\nenabled = true\ncalls_per_minute = 0\n");
  Daemon d({"--config", dir / "callbridge.toml", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
  EXPECT_EQ(d.wait_exit(), 2);
  EXPECT_NE(d.output().find("demo.calls_per_minute"), std::string::npos) << d.output();
}

}  // namespace
