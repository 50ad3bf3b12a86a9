// bench/journal_write: journal entries per second into SqliteJournalStore (the daemon's journal),
// in a temp directory: bulk (append N, one flush: the writer's batching) and trickle (append +
// flush per entry: one commit per entry, the worst case), each with synchronous NORMAL and FULL.
// Prints a markdown table; --smoke runs a tiny N and checks every entry is committed and queryable.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "journal/sqlite/sqlite_journal_store.hpp"
#include "model/journal_entry.hpp"

namespace {

namespace fs = std::filesystem;
using callbridge::journal::SqliteJournalStore;
using callbridge::model::JournalEntry;
using Clock = std::chrono::steady_clock;

JournalEntry entry(std::uint64_t i) {
  JournalEntry e;
  e.call_id = "ctilab-1700000000." + std::to_string(i);
  e.party = std::to_string(100 + i % 50);
  e.direction = i % 3 == 0 ? callbridge::model::Direction::outbound : callbridge::model::Direction::inbound;
  e.remote = "+4989" + std::to_string(1'000'000 + i % 100'000);
  e.remote_name = "Caller " + std::to_string(i % 1000);
  e.disposition = i % 4 == 0 ? callbridge::model::Disposition::missed : callbridge::model::Disposition::answered;
  e.started_at = callbridge::base::Timestamp(std::chrono::seconds(1'700'000'000 + static_cast<std::int64_t>(i)));
  if (e.disposition == callbridge::model::Disposition::answered) e.answered_at = e.started_at + std::chrono::seconds(5);
  e.ended_at = e.started_at + std::chrono::seconds(65);
  return e;
}

struct Result {
  double seconds = 0;
  std::uint64_t committed = 0;
  std::size_t queried = 0;
};

Result run(const fs::path& dir, std::uint64_t n, bool full, bool trickle, bool check) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  SqliteJournalStore::Options o;
  o.synchronous_full = full;
  auto store = SqliteJournalStore::open((dir / "journal.db").string(), o);
  if (!store) {
    std::fprintf(stderr, "journal_write: %s\n", store.error().message().c_str());
    std::exit(1);
  }
  auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    (*store)->append(entry(i));
    if (trickle || (i + 1) % 100'000 == 0) {  // stay under max_queued in bulk mode
      if (auto st = (*store)->flush(); !st) {
        std::fprintf(stderr, "journal_write: flush: %s\n", st.error().message().c_str());
        std::exit(1);
      }
    }
  }
  if (auto st = (*store)->flush(); !st) {
    std::fprintf(stderr, "journal_write: flush: %s\n", st.error().message().c_str());
    std::exit(1);
  }
  Result r;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.committed = (*store)->stats().committed;
  if (check) {
    callbridge::ports::JournalQuery q;
    q.limit = static_cast<std::size_t>(n) + 10;
    auto rows = (*store)->query(q);
    if (rows) r.queried = rows->size();
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"journal_write - journal entries/s into SqliteJournalStore (temp dir)"};
  std::uint64_t n = 200'000, trickle_n = 2'000;
  bool smoke = false;
  std::string dir = (fs::temp_directory_path() / ("cb-journal-bench-" + std::to_string(::getpid()))).string();
  app.add_option("--entries", n, "entries per bulk case")->capture_default_str();
  app.add_option("--trickle", trickle_n, "entries per trickle case (one commit each)")->capture_default_str();
  app.add_option("--dir", dir, "scratch directory (removed afterwards)");
  app.add_flag("--smoke", smoke, "tiny run with correctness checks, no figures worth keeping");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  if (smoke) n = 800, trickle_n = 50;

  struct Case {
    const char* name;
    bool full, trickle;
  };
  const Case cases[] = {{"bulk, synchronous=normal", false, false},
                        {"bulk, synchronous=full", true, false},
                        {"one commit per entry, synchronous=normal", false, true},
                        {"one commit per entry, synchronous=full", true, true}};
  std::printf("| case | entries | seconds | entries/s |\n|---|---:|---:|---:|\n");
  int status = 0;
  for (const auto& c : cases) {
    auto count = c.trickle ? trickle_n : n;
    auto r = run(dir, count, c.full, c.trickle, smoke);
    std::printf("| %s | %llu | %.2f | %.0f |\n", c.name, static_cast<unsigned long long>(count), r.seconds,
                r.seconds > 0 ? static_cast<double>(count) / r.seconds : 0.0);
    if (r.committed != count) {
      std::fprintf(stderr, "journal_write: %s: committed %llu of %llu\n", c.name,
                   static_cast<unsigned long long>(r.committed), static_cast<unsigned long long>(count));
      status = 1;
    }
    if (smoke && r.queried != count) {
      std::fprintf(stderr, "journal_write: %s: query returned %zu of %llu\n", c.name, r.queried,
                   static_cast<unsigned long long>(count));
      status = 1;
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  std::printf("\nPostgreSQL journal: not measured (no PostgreSQL journal backend yet; only the contact store has one).\n");
  return status;
}
