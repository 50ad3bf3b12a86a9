// Tests of the SQLite journal store (ports::JournalStore contract + durability + bad files).
#include <gtest/gtest.h>

#include <mutex>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "journal/sqlite/sqlite_journal_store.hpp"

namespace callbridge::journal {
namespace {

namespace fs = std::filesystem;
using model::Direction;
using model::Disposition;
using model::JournalEntry;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "cbjournal-XXXXXX").string();
    CB_CHECK(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const char* name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

base::Timestamp at(std::int64_t secs) { return base::from_micros(secs * 1'000'000); }

JournalEntry make(std::string party, std::string remote, Direction dir, Disposition disp,
                  std::int64_t start) {
  JournalEntry e{.tenant = base::TenantId("default")};
  e.call_id = "call-" + std::to_string(start);
  e.party = std::move(party);
  e.remote = std::move(remote);
  e.direction = dir;
  e.disposition = disp;
  e.started_at = at(start);
  if (disp == Disposition::answered) e.answered_at = at(start + 5);
  e.ended_at = at(start + 60);
  return e;
}

std::unique_ptr<SqliteJournalStore> open_ok(const std::string& path,
                                            SqliteJournalStore::Options o = {}) {
  auto s = SqliteJournalStore::open(path, o);
  if (!s) ADD_FAILURE() << s.error().to_string();
  return s ? std::move(*s) : nullptr;
}

std::vector<ports::StoredEntry> run(SqliteJournalStore& s, ports::JournalQuery q) {
  auto r = s.query(q);
  if (!r) ADD_FAILURE() << r.error().to_string();
  return r ? *r : std::vector<ports::StoredEntry>{};
}

std::vector<std::string> parties(const std::vector<ports::StoredEntry>& rows) {
  std::vector<std::string> out;
  for (auto& r : rows) out.push_back(r.entry.party);
  return out;
}

TEST(SqliteJournalStore, RoundTripsEveryField) {
  TempDir dir;
  auto store = open_ok(dir.file("journal.db"));
  ASSERT_TRUE(store);

  JournalEntry full{.tenant = base::TenantId("acme")};
  full.call_id = "1795382753.42";
  full.party = "100";
  full.direction = Direction::inbound;
  full.remote = "+4989123456";
  full.remote_name = "Jane \"JD\" Doe, Müller";
  full.disposition = Disposition::answered;
  full.started_at = base::from_micros(1'795'382'753'707'317);
  full.answered_at = base::from_micros(1'795'382'758'000'001);
  full.ended_at = base::from_micros(1'795'382'800'123'456);
  full.hold_s = 12.3;
  full.transferred_to = "102";
  full.transferred_from = "101";
  full.contact = model::ContactRef{"c-1", "Jane Doe", "Doe & Co", "ldap"};
  full.note = "call back\nafter lunch";
  full.estimated = model::kEstimatedAnswer | model::kEstimatedEnd;

  JournalEntry withheld{.tenant = base::TenantId("acme")};
  withheld.call_id = "x";
  withheld.party = "101";
  withheld.direction = Direction::inbound;
  withheld.remote_withheld = true;
  withheld.disposition = Disposition::missed;
  withheld.started_at = at(100);
  withheld.ended_at = at(120);

  store->append(full);
  store->append(withheld);
  ASSERT_TRUE(store->flush());

  ports::JournalQuery q{.tenant = base::TenantId("acme")};
  auto rows = run(*store, q);
  ASSERT_EQ(rows.size(), 2u);
  // Newest first by start: `full` started in 2026, `withheld` at 100 s (and got the higher id).
  EXPECT_LT(rows[0].id, rows[1].id);
  const auto& a = rows[0].entry;
  EXPECT_EQ(model::to_json_line(a), model::to_json_line(full));
  EXPECT_EQ(a.tenant, full.tenant);
  EXPECT_EQ(a.call_id, full.call_id);
  EXPECT_EQ(a.started_at, full.started_at);  // microseconds preserved
  EXPECT_EQ(a.answered_at, full.answered_at);
  EXPECT_EQ(a.ended_at, full.ended_at);
  EXPECT_DOUBLE_EQ(a.hold_s, 12.3);
  ASSERT_TRUE(a.contact);
  EXPECT_EQ(a.contact->company, "Doe & Co");
  EXPECT_EQ(a.note, full.note);
  EXPECT_EQ(a.estimated, full.estimated);

  const auto& b = rows[1].entry;
  EXPECT_EQ(model::to_json_line(b), model::to_json_line(withheld));
  EXPECT_FALSE(b.remote);
  EXPECT_TRUE(b.remote_withheld);
  EXPECT_FALSE(b.remote_name);
  EXPECT_FALSE(b.answered_at);
  EXPECT_FALSE(b.contact);
}

TEST(SqliteJournalStore, FiltersByEveryQueryField) {
  TempDir dir;
  auto store = open_ok(dir.file("journal.db"));
  ASSERT_TRUE(store);
  store->append(make("100", "+491", Direction::inbound, Disposition::answered, 1000));
  store->append(make("100", "+492", Direction::inbound, Disposition::missed, 2000));
  store->append(make("101", "+493", Direction::outbound, Disposition::no_answer, 3000));
  store->append(make("102", "100", Direction::internal, Disposition::answered, 4000));
  auto other = make("100", "+499", Direction::inbound, Disposition::missed, 2500);
  other.tenant = base::TenantId("other");
  store->append(other);
  auto named = make("103", "+4950%_x", Direction::inbound, Disposition::rejected, 5000);
  named.remote_name = "Front Door";
  store->append(named);
  ASSERT_TRUE(store->flush());

  ports::JournalQuery q{.tenant = base::TenantId("default")};
  EXPECT_EQ(run(*store, q).size(), 5u) << "tenant isolation";

  q = {.tenant = "default"};
  q.party = "100";
  EXPECT_EQ(parties(run(*store, q)), (std::vector<std::string>{"100", "100"}));

  q = {.tenant = "default"};
  q.direction = Direction::outbound;
  EXPECT_EQ(parties(run(*store, q)), (std::vector<std::string>{"101"}));

  q = {.tenant = "default"};
  q.disposition = Disposition::answered;
  EXPECT_EQ(parties(run(*store, q)), (std::vector<std::string>{"102", "100"}));

  q = {.tenant = "default"};
  q.missed_only = true;
  auto missed = run(*store, q);
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].entry.remote, "+492");

  q = {.tenant = "default"};
  q.since = at(2000);
  q.until = at(4000);  // since inclusive, until exclusive
  EXPECT_EQ(parties(run(*store, q)), (std::vector<std::string>{"101", "100"}));

  q = {.tenant = "default"};
  q.text = "front";  // case-insensitive over remote_name
  EXPECT_EQ(parties(run(*store, q)), (std::vector<std::string>{"103"}));
  q.text = "0%_";  // LIKE wildcards are literal
  EXPECT_EQ(parties(run(*store, q)), (std::vector<std::string>{"103"}));
  q.text = "%";
  EXPECT_EQ(parties(run(*store, q)), (std::vector<std::string>{"103"}));

  q = {.tenant = "default"};
  q.party = "100";
  q.missed_only = true;
  q.tenant = base::TenantId("other");
  auto o = run(*store, q);
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].entry.remote, "+499");
}

TEST(SqliteJournalStore, PaginatesNewestFirstWithBeforeId) {
  TempDir dir;
  auto store = open_ok(dir.file("journal.db"));
  ASSERT_TRUE(store);
  for (int i = 0; i < 25; ++i)
    store->append(make(std::to_string(i), "+49", Direction::inbound, Disposition::missed, i));
  ASSERT_TRUE(store->flush());

  std::vector<std::string> seen;
  ports::JournalQuery q{.tenant = base::TenantId("default")};
  q.limit = 10;
  std::vector<std::size_t> page_sizes;
  for (;;) {
    auto page = run(*store, q);
    if (page.empty()) break;
    page_sizes.push_back(page.size());
    for (auto& r : page) seen.push_back(r.entry.party);
    q.before_id = page.back().id;
  }
  EXPECT_EQ(page_sizes, (std::vector<std::size_t>{10, 10, 5}));
  ASSERT_EQ(seen.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(seen[i], std::to_string(24 - i));
}

// Committed entries with their ids: the contract test in src/journal/postgres/journal_conformance_test.cpp.

TEST(SqliteJournalStore, NotesAreSetPerTenantAndBounded) {
  TempDir dir;
  auto store = open_ok(dir.file("journal.db"));
  ASSERT_TRUE(store);
  store->append(make("100", "+491", Direction::inbound, Disposition::missed, 1));
  ASSERT_TRUE(store->flush());
  auto id = run(*store, {.tenant = "default"}).at(0).id;

  ASSERT_TRUE(store->set_note("default", id, "called back"));
  EXPECT_EQ(run(*store, {.tenant = "default"}).at(0).entry.note, "called back");

  auto wrong_tenant = store->set_note("other", id, "x");
  ASSERT_FALSE(wrong_tenant);
  EXPECT_EQ(wrong_tenant.error().code(), base::Errc::not_found);
  EXPECT_FALSE(store->set_note("default", id + 100, "x"));

  auto too_long = store->set_note("default", id, std::string(SqliteJournalStore::kMaxNoteBytes + 1, 'a'));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code(), base::Errc::invalid_argument);
  EXPECT_EQ(run(*store, {.tenant = "default"}).at(0).entry.note, "called back");
}

TEST(SqliteJournalStore, PurgeBeforeDeletesOnlyEntriesThatEndedEarlier) {
  TempDir dir;
  auto store = open_ok(dir.file("journal.db"));
  ASSERT_TRUE(store);
  store->append(make("old", "+491", Direction::inbound, Disposition::missed, 0));      // ends 60
  store->append(make("edge", "+491", Direction::inbound, Disposition::missed, 40));    // ends 100
  store->append(make("new", "+491", Direction::inbound, Disposition::missed, 1000));  // ends 1060
  ASSERT_TRUE(store->flush());
  auto n = store->purge_before(at(100));
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(parties(run(*store, {.tenant = "default"})), (std::vector<std::string>{"new", "edge"}));
}

TEST(SqliteJournalStore, ConcurrentAppendersAndReadersLoseNothingAndKeepOrder) {
  TempDir dir;
  auto store = open_ok(dir.file("journal.db"));
  ASSERT_TRUE(store);
  constexpr int kThreads = 4, kPerThread = 2000;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      ports::JournalQuery q{.tenant = base::TenantId("default")};
      q.limit = 50;
      ASSERT_TRUE(store->query(q));
      reads.fetch_add(1);
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto e = make("t" + std::to_string(t), "+49", Direction::inbound, Disposition::missed, i);
        store->append(std::move(e));
      }
    });
  for (auto& w : writers) w.join();
  ASSERT_TRUE(store->flush());
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);

  auto st = store->stats();
  EXPECT_EQ(st.appended, kThreads * kPerThread);
  EXPECT_EQ(st.committed, kThreads * kPerThread);
  EXPECT_EQ(st.queued, 0u);
  for (int t = 0; t < kThreads; ++t) {
    ports::JournalQuery q{.tenant = base::TenantId("default")};
    q.party = "t" + std::to_string(t);
    q.limit = 10'000;
    auto rows = run(*store, q);
    ASSERT_EQ(rows.size(), static_cast<std::size_t>(kPerThread));
    // Newest first: per-thread append order is the reverse of the row order.
    for (int i = 0; i < kPerThread; ++i)
      ASSERT_EQ(rows[i].entry.started_at, at(kPerThread - 1 - i)) << "thread " << t;
  }
}

TEST(SqliteJournalStore, FlushedEntriesSurviveKill9) {
  TempDir dir;
  const auto path = dir.file("journal.db");
  constexpr int kFlushed = 500;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: append, flush, append more without flushing, then die without any cleanup.
    auto s = SqliteJournalStore::open(path);
    if (!s) _exit(3);
    for (int i = 0; i < kFlushed; ++i)
      (*s)->append(make("100", "+49", Direction::inbound, Disposition::missed, i));
    if (!(*s)->flush()) _exit(4);
    for (int i = 0; i < 100; ++i)
      (*s)->append(make("unflushed", "+49", Direction::inbound, Disposition::missed, i));
    raise(SIGKILL);
    _exit(5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);

  auto store = open_ok(path);
  ASSERT_TRUE(store);
  ports::JournalQuery q{.tenant = base::TenantId("default")};
  q.party = "100";
  q.limit = 10'000;
  auto rows = run(*store, q);
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kFlushed));
  for (int i = 0; i < kFlushed; ++i) EXPECT_EQ(rows[i].entry.started_at, at(kFlushed - 1 - i));
}

TEST(SqliteJournalStore, OpenStateRowsLeaveInTheTransactionOfTheirEntry) {
  TempDir dir;
  const auto path = dir.file("journal.db");
  {
    auto s = open_ok(path);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->keeps_open_state());
    s->put_open_state("ami:a", "k1", "leg one\nline two");
    s->put_open_state("ami:a", "k2", "leg two");
    s->put_open_state("ami:b", "k1", "other link");
    s->put_open_state("ami:a", "k2", "leg two, answered");  // replaces
    ASSERT_TRUE(s->flush());
    auto rows = s->load_open_state("ami:a");
    ASSERT_TRUE(rows);
    EXPECT_EQ(*rows, (std::vector<std::string>{"leg one\nline two", "leg two, answered"}));
    JournalEntry e = make("100", "+49", Direction::inbound, Disposition::answered, 1);
    e.state_scope = "ami:a";
    e.state_key = "k1";
    s->append(e);
    s->drop_open_state("ami:b", "k1");
    ASSERT_TRUE(s->flush());
  }
  auto s = open_ok(path);
  ASSERT_TRUE(s);
  EXPECT_EQ(run(*s, {.tenant = "default"}).size(), 1u);
  EXPECT_EQ(*s->load_open_state("ami:a"), std::vector<std::string>{"leg two, answered"});
  EXPECT_TRUE(s->load_open_state("ami:b")->empty());
}

TEST(SqliteJournalStore, Kill9NeverKeepsAnEntryTogetherWithItsOpenStateRow) {
  // Exactly once across kill -9: per call, after the crash either the entry is there and its row
  // is gone, or the row is there and the entry is not (the next run writes it).
  TempDir dir;
  const auto path = dir.file("journal.db");
  constexpr int kCalls = 3000;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    SqliteJournalStore::Options o;
    o.max_batch = 7;  // many transactions: the kill lands between some of them
    auto st = SqliteJournalStore::open(path, o);
    if (!st) _exit(3);
    auto& s = **st;
    for (int i = 0; i < kCalls; ++i) {
      std::string key = "leg" + std::to_string(i);
      s.put_open_state("ami:a", key, "ringing " + std::to_string(i));
      s.put_open_state("ami:a", key, "answered " + std::to_string(i));
      JournalEntry e = make(std::to_string(i), "+49", Direction::inbound, Disposition::answered, i);
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
  auto store = open_ok(path);
  ASSERT_TRUE(store);
  ports::JournalQuery q{.tenant = "default"};
  q.limit = 10'000;
  auto rows = run(*store, q);
  auto state = store->load_open_state("ami:a");
  ASSERT_TRUE(state);
  std::set<std::string> journaled;
  for (const auto& r : rows) journaled.insert(r.entry.party);
  std::set<std::string> open;
  for (const auto& t : *state) open.insert(t.substr(t.find(' ') + 1));
  EXPECT_GE(journaled.size(), static_cast<std::size_t>(kCalls / 2));
  for (int i = 0; i < kCalls; ++i) {
    std::string n = std::to_string(i);
    bool j = journaled.count(n) > 0, o = open.count(n) > 0;
    // Calls the child never got to queue before the kill are in neither.
    EXPECT_FALSE(j && o) << "call " << n << " is journaled and still open";
  }
}

TEST(SqliteJournalStore, Version1JournalIsMigratedKeepingItsEntries) {
  TempDir dir;
  const auto path = dir.file("journal.db");
  {
    auto s = open_ok(path);
    ASSERT_TRUE(s);
    s->append(make("100", "+49", Direction::inbound, Disposition::missed, 1));
  }
  // Back to what a version-1 build wrote: no estimated, done or AnyDevice column, no open_state
  // table.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "ALTER TABLE journal DROP COLUMN device_number; ALTER TABLE journal DROP COLUMN device_name; "
                         "ALTER TABLE journal DROP COLUMN private_device; ALTER TABLE journal DROP COLUMN trunk_channel_s; "
                         "DROP INDEX journal_open_missed; DROP INDEX journal_tenant_party_started; "
                         "ALTER TABLE journal DROP COLUMN done; "
                         "DROP TABLE open_state; ALTER TABLE journal DROP COLUMN estimated; "
                         "UPDATE schema_version SET version = 1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  auto s = open_ok(path);
  ASSERT_TRUE(s);
  auto rows = run(*s, {.tenant = "default"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].entry.estimated, 0);
  EXPECT_FALSE(rows[0].entry.done);
  s->put_open_state("ami:a", "k", "v");
  ASSERT_TRUE(s->flush());
  EXPECT_EQ(s->load_open_state("ami:a")->size(), 1u);
}

TEST(SqliteJournalStore, GarbageFileGivesAClearError) {
  TempDir dir;
  const auto path = dir.file("journal.db");
  {
    std::ofstream f(path, std::ios::binary);
    for (int i = 0; i < 4096; ++i) f.put(static_cast<char>((i * 7919) & 0xff));
  }
  auto s = SqliteJournalStore::open(path);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find(path), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("not a database"), std::string::npos) << s.error().message();
  SqliteJournalStore::Options ro;
  ro.read_only = true;
  EXPECT_FALSE(SqliteJournalStore::open(path, ro));
}

TEST(SqliteJournalStore, ForeignSqliteFileIsRefused) {
  TempDir dir;
  const auto path = dir.file("other.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE foo(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = SqliteJournalStore::open(path);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("not a callbridge journal"), std::string::npos)
      << s.error().message();
}

TEST(SqliteJournalStore, NewerSchemaIsRefusedAndReopenKeepsData) {
  TempDir dir;
  const auto path = dir.file("journal.db");
  {
    auto s = open_ok(path);
    ASSERT_TRUE(s);
    s->append(make("100", "+49", Direction::inbound, Disposition::missed, 1));
  }  // destructor drains the queue
  {
    auto s = open_ok(path);  // second open: no migration, data kept
    ASSERT_TRUE(s);
    EXPECT_EQ(run(*s, {.tenant = "default"}).size(), 1u);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = SqliteJournalStore::open(path);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("schema version 99 is newer"), std::string::npos)
      << s.error().message();
}

TEST(SqliteJournalStore, ReadOnlyOpenSeesWhatAWriterFlushed) {
  TempDir dir;
  const auto path = dir.file("journal.db");
  SqliteJournalStore::Options ro;
  ro.read_only = true;
  auto missing = SqliteJournalStore::open(path, ro);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), base::Errc::not_found);

  auto writer = open_ok(path);
  ASSERT_TRUE(writer);
  writer->append(make("100", "+49", Direction::inbound, Disposition::missed, 1));
  ASSERT_TRUE(writer->flush());
  auto reader = open_ok(path, ro);
  ASSERT_TRUE(reader);
  EXPECT_EQ(run(*reader, {.tenant = "default"}).size(), 1u);
  writer->append(make("101", "+49", Direction::inbound, Disposition::missed, 2));
  ASSERT_TRUE(writer->flush());
  EXPECT_EQ(parties(run(*reader, {.tenant = "default"})), (std::vector<std::string>{"101", "100"}));
  EXPECT_FALSE(reader->set_note("default", 1, "x"));
}

TEST(SqliteJournalStore, FlushWithNothingQueuedReturnsAtOnce) {
  TempDir dir;
  auto store = open_ok(dir.file("journal.db"));
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->flush());
  EXPECT_EQ(store->stats().committed, 0u);
}

TEST(SqliteJournalStore, FullQueueDropsAndCounts) {
  TempDir dir;
  SqliteJournalStore::Options o;
  o.max_queued = 0;  // every append is refused: exercises the bound deterministically
  auto store = open_ok(dir.file("journal.db"), o);
  ASSERT_TRUE(store);
  store->append(make("100", "+49", Direction::inbound, Disposition::missed, 1));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(store->stats().dropped, 1u);
  EXPECT_EQ(run(*store, {.tenant = "default"}).size(), 0u);
}

}  // namespace
}  // namespace callbridge::journal
