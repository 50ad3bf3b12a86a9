// bench/journal_write: journal entries per second into SqliteJournalStore (the daemon's journal),
// in a temp directory: bulk (append N, one flush: the writer's batching) and trickle (append +
// flush per entry: one commit per entry, the worst case), each with synchronous NORMAL and FULL.
// In the same run, the same cases into PgJournalStore against a throwaway PostgreSQL cluster
// (initdb in a temp dir, loopback, fsync on) when the PostgreSQL binaries are installed, with
// synchronous_commit off and on; else the table says "skipped: no postgres".
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
#ifdef CALLBRIDGE_HAVE_PG_JOURNAL
#include <libpq-fe.h>

#include "directory/pg_server.hpp"
#include "journal/postgres/pg_journal_store.hpp"
#endif
#include "model/journal_entry.hpp"

namespace {

namespace fs = std::filesystem;
using callbridge::journal::SqliteJournalStore;
using callbridge::model::JournalEntry;
using Clock = std::chrono::steady_clock;

JournalEntry entry(std::uint64_t i) {
  JournalEntry e{.tenant = callbridge::base::TenantId("default")};
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

template <typename Store>
Result run_store(Store& store, std::uint64_t n, bool trickle, bool check);

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
  return run_store(**store, n, trickle, check);
}

template <typename Store>
Result run_store(Store& store, std::uint64_t n, bool trickle, bool check) {
  auto* s = &store;
  auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    s->append(entry(i));
    if (trickle || (i + 1) % 100'000 == 0) {  // stay under max_queued in bulk mode
      if (auto st = s->flush(); !st) {
        std::fprintf(stderr, "journal_write: flush: %s\n", st.error().message().c_str());
        std::exit(1);
      }
    }
  }
  if (auto st = s->flush(); !st) {
    std::fprintf(stderr, "journal_write: flush: %s\n", st.error().message().c_str());
    std::exit(1);
  }
  Result r;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.committed = s->stats().committed;
  if (check) {
    callbridge::ports::JournalQuery q{.tenant = callbridge::base::TenantId("default")};
    q.limit = static_cast<std::size_t>(n) + 10;
    auto rows = s->query(q);
    if (rows) r.queried = rows->size();
  }
  return r;
}

#ifdef CALLBRIDGE_HAVE_PG_JOURNAL
constexpr const char* kInitdb = "/usr/lib/postgresql/15/bin/initdb";

bool pg_exec(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(c, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) std::fprintf(stderr, "journal_write: %s: %s", sql.c_str(), PQresultErrorMessage(r));
    PQclear(r);
  } else {
    std::fprintf(stderr, "journal_write: connect: %s", PQerrorMessage(c));
  }
  PQfinish(c);
  return ok;
}

// One case against a fresh database of the throwaway cluster.
Result run_pg(const std::string& admin, int db_no, std::uint64_t n, bool sync_commit, bool trickle, bool check) {
  const std::string db = "journal_bench" + std::to_string(db_no);
  if (!pg_exec(admin, "CREATE DATABASE " + db)) std::exit(1);
  callbridge::journal::PgJournalStore::Options o;
  o.conninfo = admin + " dbname=" + db + " options='-c synchronous_commit=" + (sync_commit ? "on" : "off") + "'";
  auto store = callbridge::journal::PgJournalStore::open(o);
  if (!store) {
    std::fprintf(stderr, "journal_write: %s\n", store.error().message().c_str());
    std::exit(1);
  }
  auto r = run_store(**store, n, trickle, check);
  store->reset();
  pg_exec(admin, "DROP DATABASE " + db);
  return r;
}
#endif

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
  std::printf("| store | case | entries | seconds | entries/s |\n|---|---|---:|---:|---:|\n");
  int status = 0;
  auto report = [&](const char* store, const char* name, std::uint64_t count, const Result& r) {
    std::printf("| %s | %s | %llu | %.2f | %.0f |\n", store, name, static_cast<unsigned long long>(count), r.seconds,
                r.seconds > 0 ? static_cast<double>(count) / r.seconds : 0.0);
    std::fflush(stdout);
    if (r.committed != count) {
      std::fprintf(stderr, "journal_write: %s: committed %llu of %llu\n", name,
                   static_cast<unsigned long long>(r.committed), static_cast<unsigned long long>(count));
      status = 1;
    }
    if (smoke && r.queried != count) {
      std::fprintf(stderr, "journal_write: %s: query returned %zu of %llu\n", name, r.queried,
                   static_cast<unsigned long long>(count));
      status = 1;
    }
  };
  for (const auto& c : cases) {
    auto count = c.trickle ? trickle_n : n;
    report("SQLite", c.name, count, run(dir, count, c.full, c.trickle, smoke));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);

#ifdef CALLBRIDGE_HAVE_PG_JOURNAL
  if (::access(kInitdb, X_OK) != 0) {
    std::printf("\nPostgreSQL: skipped: no postgres (%s not installed)\n", kInitdb);
    return status;
  }
  auto t0 = Clock::now();
  // Real commits (fsync on): the tests' clusters run with fsync off.
  auto server = callbridge::testing::PgServer::start({.fsync = true});
  if (!server) {
    std::fprintf(stderr, "journal_write: starting PostgreSQL: %s\n", server.error().message().c_str());
    return 1;
  }
  const std::string admin = (*server)->conninfo();
  std::fprintf(stderr, "journal_write: PostgreSQL cluster ready in %.1f s\n",
               std::chrono::duration<double>(Clock::now() - t0).count());
  const Case pg_cases[] = {{"bulk, synchronous_commit=off", false, false},
                           {"bulk, synchronous_commit=on", true, false},
                           {"one commit per entry, synchronous_commit=off", false, true},
                           {"one commit per entry, synchronous_commit=on", true, true}};
  int db_no = 0;
  for (const auto& c : pg_cases) {
    auto count = c.trickle ? trickle_n : n;
    report("PostgreSQL 15", c.name, count, run_pg(admin, ++db_no, count, c.full, c.trickle, smoke));
  }
#else
  std::printf("\nPostgreSQL: skipped: no postgres (built without libpq)\n");
#endif
  return status;
}
