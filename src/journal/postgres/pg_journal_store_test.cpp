// PgJournalStore behaviour beyond the shared contract (journal_conformance_test.cpp): schema and
// migrations, foreign tables, unreachable servers, odd bytes, lost connections. Real PostgreSQL
// started by the fixture; skipped with a message when its binaries are not installed.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <set>
#include <mutex>
#include <thread>

#include "directory/child_process.hpp"
#include "storage/postgres/pg_conn.hpp"
#include "journal/postgres/pg_journal_store.hpp"
#include "directory/pg_test_cluster.hpp"

namespace callbridge::journal {
namespace {

namespace pg = storage::postgres;

using model::Direction;
using model::Disposition;
using model::JournalEntry;

JournalEntry make(std::string party, std::int64_t start) {
  JournalEntry e{.tenant = base::TenantId("default")};
  e.call_id = "call-" + std::to_string(start);
  e.party = std::move(party);
  e.remote = "+4989" + std::to_string(start);
  e.disposition = Disposition::missed;
  e.started_at = base::from_micros(start * 1'000'000);
  e.ended_at = base::from_micros((start + 60) * 1'000'000);
  return e;
}

class PgJournal : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    bool absent = false;
    cluster_ = testing::PgTestCluster::get(why, absent);
    if (absent) GTEST_SKIP() << why;
    ASSERT_TRUE(cluster_) << why;
    conninfo_ = cluster_->fresh_database(why);
    ASSERT_FALSE(conninfo_.empty()) << why;
  }
  base::Result<std::unique_ptr<PgJournalStore>> open_store() {
    PgJournalStore::Options o;
    o.conninfo = conninfo_;
    o.retry_interval = std::chrono::milliseconds(10);
    return PgJournalStore::open(o);
  }
  std::string scalar(const std::string& sql) {
    PGconn* c = PQconnectdb(conninfo_.c_str());
    PGresult* r = PQexec(c, sql.c_str());
    std::string v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) ? PQgetvalue(r, 0, 0) : "<error>";
    PQclear(r);
    PQfinish(c);
    return v;
  }
  bool sql(const std::string& s) {
    std::string why;
    bool ok = cluster_->run_admin(s, why, conninfo_);
    EXPECT_TRUE(ok) << why;
    return ok;
  }

  testing::PgTestCluster* cluster_ = nullptr;
  std::string conninfo_;
};

TEST_F(PgJournal, CreatesSchemaVersionOneAndReopensWithoutMigrating) {
  {
    auto s = open_store();
    ASSERT_TRUE(s) << s.error().to_string();
    (*s)->append(make("100", 1));
    ASSERT_TRUE((*s)->flush());
    EXPECT_EQ((*s)->location().rfind("postgresql://postgres@127.0.0.1:", 0), 0u) << (*s)->location();
  }
  EXPECT_EQ(scalar("SELECT value FROM journal_meta WHERE key = 'schema_version'"),
            std::to_string(PgJournalStore::kSchemaVersion));
  auto again = open_store();
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(scalar("SELECT count(*) FROM journal"), "1");
}

TEST_F(PgJournal, NodesStartingTogetherMigrateOnce) {
  constexpr int kNodes = 4;
  std::vector<std::unique_ptr<PgJournalStore>> stores(kNodes);
  std::vector<std::string> errors(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i)
    threads.emplace_back([&, i] {
      auto s = open_store();
      if (s) stores[i] = std::move(*s);
      else errors[i] = s.error().to_string();
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(stores[i]) << errors[i];
    stores[i]->append(make(std::to_string(100 + i), i));
    ASSERT_TRUE(stores[i]->flush());
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM journal"), std::to_string(kNodes));
  // Every node sees every node's entries (one shared journal).
  auto rows = stores[0]->query({.tenant = "default"});
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->size(), static_cast<std::size_t>(kNodes));
}

// Two nodes writing big batches (COPY) and small ones (INSERT) at once: every id a node hands on
// with a committed entry is that entry's row (the ids of a COPY batch come from the identity
// while no other writer can draw from it).
TEST_F(PgJournal, IdsHandedOnAreTheRowsOfConcurrentWritersBatches) {
  constexpr int kNodes = 2, kPerNode = 3000;
  std::vector<std::unique_ptr<PgJournalStore>> stores;
  std::mutex mu;
  std::map<std::int64_t, std::string> handed;  // id -> party
  for (int n = 0; n < kNodes; ++n) {
    auto st = open_store();
    ASSERT_TRUE(st) << st.error().to_string();
    ASSERT_TRUE((*st)->set_on_committed([&](std::vector<ports::StoredEntry> done) {
      std::lock_guard lk(mu);
      for (auto& e : done) EXPECT_TRUE(handed.emplace(e.id, e.entry.party).second) << "id " << e.id << " twice";
    }));
    stores.push_back(std::move(*st));
  }
  std::vector<std::thread> writers;
  for (int n = 0; n < kNodes; ++n)
    writers.emplace_back([&, n] {
      for (int i = 0; i < kPerNode; ++i) {
        stores[n]->append(make(std::to_string(n) + "-" + std::to_string(i), i));
        if (i % 700 == 0) (void)stores[n]->flush();  // some small batches too
      }
      EXPECT_TRUE(stores[n]->flush());
    });
  for (auto& t : writers) t.join();
  ports::JournalQuery q{.tenant = "default"};
  q.limit = kNodes * kPerNode + 10;
  auto rows = stores[0]->query(q);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), static_cast<std::size_t>(kNodes * kPerNode));
  std::lock_guard lk(mu);
  ASSERT_EQ(handed.size(), rows->size());
  for (const auto& r : *rows) {
    auto it = handed.find(r.id);
    ASSERT_NE(it, handed.end()) << "row " << r.id << " never handed on";
    EXPECT_EQ(it->second, r.entry.party) << "id " << r.id;
  }
}

// The idempotent key (schema version 6): an entry that completes a call leg carries the leg's
// open-state scope and key; whoever writes it again (the node that took the link over and
// restored the leg, a batch retried after a commit whose answer was lost) writes nothing: one
// row, not handed on a second time, counted. Entries without a key are never merged.
TEST_F(PgJournal, AnEntryOfALegWrittenBeforeIsNotWrittenTwiceByAnyNode) {
  auto keyed = [](int i) {
    JournalEntry e = make(std::to_string(100 + i % 50), i);
    e.state_scope = "ami:default:lab";
    e.state_key = "1733.4" + std::to_string(i) + "#17331.1";
    return e;
  };
  auto a = open_store();
  auto b = open_store();
  ASSERT_TRUE(a && b);
  std::mutex mu;
  std::vector<std::int64_t> handed_b;
  ASSERT_TRUE((*b)->set_on_committed([&](std::vector<ports::StoredEntry> done) {
    std::lock_guard lk(mu);
    for (auto& e : done) handed_b.push_back(e.id);
  }));
  // Node A (the owner before the failover) wrote 150 legs.
  for (int i = 0; i < 150; ++i) (*a)->append(keyed(i));
  ASSERT_TRUE((*a)->flush());
  // Node B writes 100 of them again and 100 new ones, one by one (INSERT) and in bursts (COPY).
  for (int i = 100; i < 150; ++i) {
    (*b)->append(keyed(i));
    if (i % 10 == 0) {
      ASSERT_TRUE((*b)->flush());
    }
  }
  for (int i = 50; i < 250; ++i) (*b)->append(keyed(i));  // 50..149 are there already
  ASSERT_TRUE((*b)->flush());
  EXPECT_EQ(scalar("SELECT count(*) FROM journal"), "250");
  EXPECT_EQ(scalar("SELECT count(DISTINCT leg_key) FROM journal"), "250");
  EXPECT_EQ((*b)->stats().skipped, 150u);
  EXPECT_EQ((*b)->stats().committed, 250u);
  {
    std::lock_guard lk(mu);
    EXPECT_EQ(handed_b.size(), 100u) << "only the entries B wrote are handed on";
    for (auto id : handed_b) EXPECT_GT(id, 0);
  }
  // The ids B handed on are the rows of its new legs.
  EXPECT_EQ(scalar("SELECT count(*) FROM journal WHERE leg_key LIKE '%#17331.1' AND id > (SELECT max(id) FROM "
                   "journal WHERE leg_key = 'ami:default:lab/1733.4149#17331.1')"),
            "100");
  // Twice the same leg in one batch: once. Entries without a key: each is a row.
  JournalEntry plain = make("200", 999);
  for (int i = 0; i < 3; ++i) {
    (*b)->append(keyed(300));
    (*b)->append(plain);
  }
  ASSERT_TRUE((*b)->flush());
  EXPECT_EQ(scalar("SELECT count(*) FROM journal WHERE leg_key = 'ami:default:lab/1733.4300#17331.1'"), "1");
  EXPECT_EQ(scalar("SELECT count(*) FROM journal WHERE party = '200'"), "3");
}

// Split brain at the store: the node that takes a link over claims the link's open-call state
// when it loads it; the old owner (stopped, its writer committing late) puts no rows there any
// more, so no stale leg waits for the next owner (it would journal that call a second time).
// The old owner's entries still go in (once: the leg key), and remove their legs' rows.
TEST_F(PgJournal, AfterATakeoverTheOldOwnerPutsNoOpenStateRows) {
  auto a = open_store();
  auto b = open_store();
  ASSERT_TRUE(a && b);
  const std::string scope = "ami:default:lab";
  ASSERT_TRUE((*a)->load_open_state(scope));  // A owns the link
  (*a)->put_open_state(scope, "k1", "leg 1");
  (*a)->put_open_state(scope, "k2", "leg 2");
  ASSERT_TRUE((*a)->flush());
  auto rows = (*b)->load_open_state(scope);  // B takes over
  ASSERT_TRUE(rows);
  EXPECT_EQ(*rows, (std::vector<std::string>{"leg 1", "leg 2"}));
  // A's late writes: a new leg, a changed one, and the entry of leg 1.
  (*a)->put_open_state(scope, "k3", "leg 3 (old owner)");
  (*a)->put_open_state(scope, "k2", "leg 2 (old owner)");
  JournalEntry e = make("100", 1);
  e.state_scope = scope;
  e.state_key = "k1";
  (*a)->append(e);
  (*a)->put_open_state("ami:default:other", "k9", "a link A still owns");
  ASSERT_TRUE((*a)->flush());
  (*b)->put_open_state(scope, "k4", "leg 4");
  ASSERT_TRUE((*b)->flush());
  EXPECT_EQ(scalar("SELECT string_agg(key || '=' || text, ',' ORDER BY key) FROM journal_open_state WHERE scope = "
                   "'ami:default:lab'"),
            "k2=leg 2,k4=leg 4");
  EXPECT_EQ(scalar("SELECT count(*) FROM journal_open_state WHERE scope = 'ami:default:other'"), "1");
  EXPECT_EQ(scalar("SELECT count(*) FROM journal"), "1");
  // B journals leg 1 as well (it restored it): not a second row.
  (*b)->append(e);
  ASSERT_TRUE((*b)->flush());
  EXPECT_EQ(scalar("SELECT count(*) FROM journal"), "1");
  // A takes the link back later: its writes count again.
  ASSERT_TRUE((*a)->load_open_state(scope));
  (*a)->put_open_state(scope, "k5", "leg 5");
  ASSERT_TRUE((*a)->flush());
  EXPECT_EQ(scalar("SELECT count(*) FROM journal_open_state WHERE key = 'k5'"), "1");
}

// The open-call state and the entries commit together also on PostgreSQL: after a kill -9 of the
// writing process a leg is either journaled (its row gone) or still open (row there, no entry),
// so the next owner of the link writes each call exactly once.
TEST_F(PgJournal, Kill9NeverKeepsAnEntryTogetherWithItsOpenStateRow) {
  constexpr int kCalls = 3000;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    PgJournalStore::Options o;
    o.conninfo = conninfo_;
    o.max_batch = 7;  // many transactions: the kill lands between some of them
    auto st = PgJournalStore::open(o);
    if (!st) _exit(3);
    auto& s = **st;
    for (int i = 0; i < kCalls; ++i) {
      std::string key = "leg" + std::to_string(i);
      s.put_open_state("ami:a", key, "ringing " + std::to_string(i));
      s.put_open_state("ami:a", key, "answered " + std::to_string(i));
      JournalEntry e = make(std::to_string(i), i);
      e.state_scope = "ami:a";
      e.state_key = key;
      s.append(std::move(e));
      if (i == kCalls / 2 && !s.flush()) _exit(4);
    }
    raise(SIGKILL);
    _exit(5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  auto store = open_store();
  ASSERT_TRUE(store) << store.error().to_string();
  ports::JournalQuery q{.tenant = "default"};
  q.limit = 10'000;
  auto rows = (*store)->query(q);
  ASSERT_TRUE(rows);
  auto state = (*store)->load_open_state("ami:a");
  ASSERT_TRUE(state);
  std::set<std::string> journaled, open;
  for (const auto& r : *rows) journaled.insert(r.entry.party);
  for (const auto& t : *state) open.insert(t.substr(t.find(' ') + 1));
  EXPECT_GE(journaled.size(), static_cast<std::size_t>(kCalls / 2));
  for (int i = 0; i < kCalls; ++i) {
    const std::string n = std::to_string(i);
    EXPECT_FALSE(journaled.count(n) && open.count(n)) << "call " << n << " is journaled and still open";
  }
}

TEST_F(PgJournal, NewerSchemaIsRefusedWithAClearMessage) {
  { ASSERT_TRUE(open_store()); }
  ASSERT_TRUE(sql("UPDATE journal_meta SET value = '7' WHERE key = 'schema_version'"));
  auto s = open_store();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), base::Errc::invalid_argument);
  EXPECT_NE(s.error().message().find("schema version 7 is newer than this build supports (" +
                                   std::to_string(PgJournalStore::kSchemaVersion) + ")"), std::string::npos)
      << s.error().message();
}

TEST_F(PgJournal, AUserWithoutCreateRightsUsesAnExistingJournal) {
  { ASSERT_TRUE(open_store()); }  // created by the owner
  const std::string role = "cb_rw_" + conninfo_.substr(conninfo_.rfind('=') + 1);
  ASSERT_TRUE(sql("CREATE ROLE " + role + " LOGIN; REVOKE CREATE ON SCHEMA public FROM PUBLIC; "
                  "GRANT SELECT, INSERT, UPDATE, DELETE ON journal TO " + role + "; GRANT SELECT ON journal_meta TO " +
                  role));
  PgJournalStore::Options o;
  o.conninfo = conninfo_ + " user=" + role;
  auto s = PgJournalStore::open(o);
  ASSERT_TRUE(s) << s.error().to_string();
  (*s)->append(make("100", 1));
  ASSERT_TRUE((*s)->flush());
  auto rows = (*s)->query({.tenant = "default"});
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_TRUE((*s)->set_note("default", (*rows)[0].id, "ok"));
  auto n = (*s)->purge_before(base::from_micros(120'000'000));
  ASSERT_TRUE(n) << n.error().to_string();
  EXPECT_EQ(*n, 1u);
}

TEST_F(PgJournal, ForeignJournalTableIsRefusedAndLeftAlone) {
  ASSERT_TRUE(sql("CREATE TABLE journal (x INT); INSERT INTO journal VALUES (42)"));
  auto s = open_store();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("is not a callbridge journal"), std::string::npos) << s.error().message();
  EXPECT_EQ(scalar("SELECT x FROM journal"), "42");
  EXPECT_EQ(scalar("SELECT to_regclass('journal_meta') IS NULL"), "t");  // rolled back
}

TEST_F(PgJournal, UnreachableServerFailsOpenWithTheAddressAndNoPassword) {
  const int port = callbridge::testing::free_tcp_port();
  PgJournalStore::Options o;
  o.conninfo = "postgresql://cb:sekrit@127.0.0.1:" + std::to_string(port) + "/callbridge?connect_timeout=5";
  auto s = PgJournalStore::open(o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), base::Errc::unavailable);
  EXPECT_NE(s.error().message().find("postgresql://cb@127.0.0.1:" + std::to_string(port) + "/callbridge"),
            std::string::npos)
      << s.error().message();
  EXPECT_EQ(s.error().message().find("sekrit"), std::string::npos);
}

TEST_F(PgJournal, InvalidUtf8AndNulBytesAreReplacedInsteadOfBlockingTheWriter) {
  auto s = open_store();
  ASSERT_TRUE(s) << s.error().to_string();
  auto e = make("100", 1);
  e.remote_name = std::string("Caf\xE9 \xFF", 6) + std::string(1, '\0') + "x\t\\N";  // Latin-1 from a PBX
  (*s)->append(e);
  (*s)->append(make("101", 2));
  ASSERT_TRUE((*s)->flush());
  auto rows = (*s)->query({.tenant = "default"});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].entry.remote_name, "Caf\xEF\xBF\xBD \xEF\xBF\xBDx\t\\N");
  EXPECT_EQ((*s)->stats().write_errors, 0u);
}

TEST_F(PgJournal, ConnectionsKilledByTheServerAreReplaced) {
  auto s = open_store();
  ASSERT_TRUE(s) << s.error().to_string();
  (*s)->append(make("100", 1));
  ASSERT_TRUE((*s)->flush());
  ASSERT_EQ(scalar("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE application_name = 'callbridge-journal' AND datname = current_database()) t"),
            "2");
  // The reader retries once on a new connection.
  auto rows = (*s)->query({.tenant = "default"});
  ASSERT_TRUE(rows) << rows.error().to_string();
  EXPECT_EQ(rows->size(), 1u);
  // The writer's first attempt on the dead connection fails, the retry reconnects. flush() reports
  // a failed attempt, so call it until everything is committed (bounded).
  (*s)->append(make("101", 2));
  bool ok = false;
  for (int i = 0; i < 50 && !ok; ++i) ok = bool((*s)->flush());
  ASSERT_TRUE(ok);
  EXPECT_EQ(scalar("SELECT count(*) FROM journal"), "2");
  EXPECT_LE((*s)->stats().write_errors, 1u);
  EXPECT_FALSE((*s)->stats().last_write_failed);
}

TEST_F(PgJournal, SlowStatementsAreCancelledAtTheDeadline) {
  // The reader connection ends a statement at query_timeout; a table lock held elsewhere makes
  // the purge wait, so the deadline is what ends it.
  { ASSERT_TRUE(open_store()); }  // migrate with the default timeout first
  PgJournalStore::Options o;
  o.conninfo = conninfo_;
  o.query_timeout = std::chrono::milliseconds(1000);
  auto s = PgJournalStore::open(o);
  ASSERT_TRUE(s) << s.error().to_string();
  PGconn* locker = PQconnectdb(conninfo_.c_str());
  PGresult* r = PQexec(locker, "BEGIN; LOCK TABLE journal IN ACCESS EXCLUSIVE MODE");
  ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  PQclear(r);
  auto n = (*s)->purge_before(base::from_micros(1));
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), base::Errc::timeout) << n.error().to_string();
  PQclear(PQexec(locker, "ROLLBACK"));
  PQfinish(locker);
  auto again = (*s)->purge_before(base::from_micros(1));  // the connection is usable again
  ASSERT_TRUE(again) << again.error().to_string();
}

TEST(PgCopyText, EscapesControlCharactersAndReplacesBadUtf8) {
  std::string out;
  pg::append_copy_field(out, std::string("a\\b\tc\nd\re", 9));
  EXPECT_EQ(out, "a\\\\b\\tc\\nd\\re");
  EXPECT_EQ(pg::sanitize_utf8("M\xC3\xBCller \xE2\x82\xAC \xF0\x9F\x93\x9E"), "M\xC3\xBCller \xE2\x82\xAC \xF0\x9F\x93\x9E");
  EXPECT_EQ(pg::sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");          // overlong
  EXPECT_EQ(pg::sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(pg::sanitize_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");          // cut short
  EXPECT_EQ(pg::sanitize_utf8(std::string("a\0b", 3)), "ab");
}

TEST(PgConnDescribe, NamesServerWithoutPassword) {
  EXPECT_EQ(pg::PgConn::describe("host=db.example port=5433 dbname=cb user=callbridge password=x"),
            "postgresql://callbridge@db.example:5433/cb");
  EXPECT_EQ(pg::PgConn::describe("postgresql://u:pw@h/d"), "postgresql://u@h/d");
  EXPECT_EQ(pg::PgConn::describe("host='unterminated"), "postgresql://(unparsable connection string)");
}

}  // namespace
}  // namespace callbridge::journal
