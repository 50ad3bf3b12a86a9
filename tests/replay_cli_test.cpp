// CLI level: the built `callbridge replay` binary over every Asterisk 22 fixture, as captured and
// without Cdr/CEL in random chunks, judged against expected-journal.jsonl by the project's journal
// comparison (journal_compare.hpp); plus its error handling.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "journal_compare.hpp"
#include "support/child_process.hpp"

namespace {

namespace fs = std::filesystem;
using callbridge::testing::ChildProcess;

const std::string kDir = CALLBRIDGE_FIXTURES_DIR;  // tests/fixtures/asterisk-22

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> logs_of(const std::string& scenario) {
  std::vector<std::string> v{kDir + "/" + scenario + "/ami.log"};
  if (fs::exists(kDir + "/" + scenario + "/ami-reconnect.log")) v.push_back(kDir + "/" + scenario + "/ami-reconnect.log");
  return v;
}

std::vector<std::string> scenarios() {
  std::vector<std::string> out;
  for (const auto& d : fs::directory_iterator(kDir)) {
    if (fs::exists(d.path() / "expected-journal.jsonl")) out.push_back(d.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct ReplayRun {
  int rc;
  std::string output;   // stderr (+ stdout when no --journal-out)
  std::string journal;  // --journal-out contents
};

// The captures come from a German lab PBX (phones dial 0... for national numbers): the expected
// journals assume its dialing plan, given as callbridged's configuration.
fs::path lab_config(const fs::path& dir) {
  fs::path p = dir / "lab.toml";
  if (!fs::exists(p)) std::ofstream(p) << "[tenant.default.dialing]\ncountry_code = \"49\"\n";
  return p;
}

ReplayRun replay(std::vector<std::string> args, const fs::path& out) {
  args.insert(args.begin(), {"replay", "--config", lab_config(out.parent_path()).string(), "--journal-out", out.string()});
  ChildProcess p(CALLBRIDGE_CLI_PATH, args);
  int rc = p.wait_exit();
  return {rc, p.output(), slurp(out)};
}

class ReplayCli : public ::testing::Test {
 protected:
  fs::path tmp_ = fs::temp_directory_path() / ("cb_replay_cli_" + std::to_string(getpid()));
  void SetUp() override { fs::create_directories(tmp_); }
  void TearDown() override { fs::remove_all(tmp_); }
};

TEST_F(ReplayCli, EveryFixtureYieldsTheExpectedJournalInBothVariants) {
  auto all = scenarios();
  ASSERT_GE(all.size(), 34u);  // at least those of 2026-12-07: a new fixture must not break this test
  for (const auto& s : all) {
    std::string expected = slurp(kDir + "/" + s + "/expected-journal.jsonl");
    struct Variant {
      const char* name;
      std::vector<std::string> flags;
    };
    for (const Variant& v : {Variant{"as_captured", {}},
                             Variant{"random_chunks_without_cdr_cel", {"--chunk", "random", "--seed", "99", "--no-cdr-cel"}}}) {
      std::vector<std::string> args = v.flags;
      for (const auto& l : logs_of(s)) args.push_back(l);
      ReplayRun r = replay(args, tmp_ / (s + ".jsonl"));
      ASSERT_EQ(r.rc, 0) << s << " / " << v.name << ":\n" << r.output;
      auto c = callbridge::testing::compare_journals(expected, r.journal);
      EXPECT_TRUE(c.ok) << s << " / " << v.name << ":\n" << c.text() << "actual:\n" << r.journal;
      // The summary line names files, messages and entries.
      EXPECT_NE(r.output.find("callbridge replay: " + std::to_string(logs_of(s).size()) + " file(s)"),
                std::string::npos)
          << r.output;
      if (!v.flags.empty() && slurp(logs_of(s)[0]).find("Event: Cdr\r\n") != std::string::npos) {
        EXPECT_EQ(r.output.find("(0 Cdr/CEL dropped)"), std::string::npos) << r.output;
      }
    }
  }
}

TEST_F(ReplayCli, EventsGoToEventsOut) {
  auto ev = tmp_ / "events.jsonl";
  ReplayRun r = replay({"--events-out", ev.string(), kDir + "/inbound_answered/ami.log"}, tmp_ / "j.jsonl");
  ASSERT_EQ(r.rc, 0) << r.output;
  std::string events = slurp(ev);
  EXPECT_NE(events.find("\"delivered\""), std::string::npos) << events;
  EXPECT_NE(events.find("\"established\""), std::string::npos) << events;
  EXPECT_NE(events.find("\"connectionCleared\""), std::string::npos) << events;
}

TEST_F(ReplayCli, UnreadableOrNonAmiFilesFailClearly) {
  ReplayRun r = replay({kDir + "/inbound_answered/ami.log", (tmp_ / "missing.log").string()}, tmp_ / "j.jsonl");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.output.find("cannot read " + (tmp_ / "missing.log").string() + ": no such file"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.journal, "") << "nothing is replayed when an input is unreadable";

  ReplayRun dir = replay({tmp_.string()}, tmp_ / "j.jsonl");
  EXPECT_EQ(dir.rc, 1);
  EXPECT_NE(dir.output.find("not a regular file"), std::string::npos) << dir.output;

  ReplayRun text = replay({kDir + "/README.md"}, tmp_ / "j.jsonl");
  EXPECT_EQ(text.rc, 1);
  EXPECT_NE(text.output.find("expected the 'Asterisk Call Manager/' banner"), std::string::npos) << text.output;

  ReplayRun chunk = replay({"--chunk", "lots", kDir + "/inbound_answered/ami.log"}, tmp_ / "j.jsonl");
  EXPECT_EQ(chunk.rc, 2);
  EXPECT_NE(chunk.output.find("--chunk: expected whole, random or a byte count"), std::string::npos) << chunk.output;
}

}  // namespace
