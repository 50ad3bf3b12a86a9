// The ports::JournalStore contract, one test body run against both backends: SqliteJournalStore
// (temp dir) and PgJournalStore (a real PostgreSQL started by the fixture, fresh database per
// test; skipped with a message when the PostgreSQL binaries are not installed).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "directory/child_process.hpp"
#include "journal/postgres/pg_journal_store.hpp"
#include "directory/pg_test_cluster.hpp"
#include "journal/sqlite/sqlite_journal_store.hpp"

namespace callbridge::journal {
namespace {

using model::Direction;
using model::Disposition;
using model::JournalEntry;

base::Timestamp at(std::int64_t secs) { return base::from_micros(secs * 1'000'000); }

JournalEntry make(std::string party, std::string remote, Direction dir, Disposition disp, std::int64_t start) {
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

struct CommonStats {
  std::uint64_t appended = 0, committed = 0, dropped = 0;
  std::size_t queued = 0;
};

// What a store hands on through set_on_committed (on its writer thread), collected.
struct Committed {
  std::mutex mu;
  std::vector<ports::StoredEntry> got;
  bool listen(ports::JournalStore& s) {
    return static_cast<bool>(s.set_on_committed([this](std::vector<ports::StoredEntry> done) {
      std::lock_guard lk(mu);
      for (auto& e : done) got.push_back(std::move(e));
    }));
  }
};

// One open store of either kind, with its counters.
struct Opened {
  std::unique_ptr<ports::JournalStore> store;
  std::function<CommonStats()> stats;
};

class JournalContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      std::string why;
      bool absent = false;
      auto* cluster = testing::PgTestCluster::get(why, absent);
      if (absent) GTEST_SKIP() << why;
      ASSERT_TRUE(cluster) << why;
      conninfo_ = cluster->fresh_database(why);
      ASSERT_FALSE(conninfo_.empty()) << why;
    }
  }

  Opened open(std::size_t max_queued = 200'000) {
    Opened o;
    if (GetParam() == "sqlite") {
      SqliteJournalStore::Options so;
      so.max_queued = max_queued;
      auto s = SqliteJournalStore::open(dir_.path() + "/journal.db", so);
      if (!s) {
        ADD_FAILURE() << s.error().to_string();
        return o;
      }
      auto* raw = s->get();
      o.stats = [raw] {
        auto x = raw->stats();
        return CommonStats{x.appended, x.committed, x.dropped, x.queued};
      };
      o.store = std::move(*s);
    } else {
      PgJournalStore::Options po;
      po.conninfo = conninfo_;
      po.max_queued = max_queued;
      auto s = PgJournalStore::open(po);
      if (!s) {
        ADD_FAILURE() << s.error().to_string();
        return o;
      }
      auto* raw = s->get();
      o.stats = [raw] {
        auto x = raw->stats();
        return CommonStats{x.appended, x.committed, x.dropped, x.queued};
      };
      o.store = std::move(*s);
    }
    return o;
  }

  static std::vector<ports::StoredEntry> run(ports::JournalStore& s, ports::JournalQuery q) {
    auto r = s.query(q);
    if (!r) ADD_FAILURE() << r.error().to_string();
    return r ? *r : std::vector<ports::StoredEntry>{};
  }
  static std::vector<std::string> parties(const std::vector<ports::StoredEntry>& rows) {
    std::vector<std::string> out;
    for (auto& r : rows) out.push_back(r.entry.party);
    return out;
  }

  callbridge::testing::TempDir dir_;
  std::string conninfo_;
};

TEST_P(JournalContract, RoundTripsEveryField) {
  auto o = open();
  ASSERT_TRUE(o.store);
  JournalEntry full{.tenant = base::TenantId("acme")};
  full.call_id = "1795382753.42";
  full.party = "100";
  full.direction = Direction::inbound;
  full.remote = "+4989123456";
  full.remote_name = "Jane \"JD\" Doe, Müller\t\\N";
  full.disposition = Disposition::answered;
  full.started_at = base::from_micros(1'795'382'753'707'317);
  full.answered_at = base::from_micros(1'795'382'758'000'001);
  full.ended_at = base::from_micros(1'795'382'800'123'456);
  full.hold_s = 12.3;
  full.transferred_to = "102";
  full.transferred_from = "101";
  full.contact = model::ContactRef{"c-1", "Jane Doe", "Doe & Co", "ldap"};
  full.note = "call back\nafter lunch\r\n\\";

  JournalEntry withheld{.tenant = base::TenantId("acme")};
  withheld.call_id = "x";
  withheld.party = "101";
  withheld.remote_withheld = true;
  withheld.disposition = Disposition::missed;
  withheld.started_at = at(100);
  withheld.ended_at = at(120);

  JournalEntry empty_contact = withheld;  // a contact with empty fields stays a contact
  empty_contact.party = "102";
  empty_contact.contact = model::ContactRef{"c-2", "", "", ""};

  o.store->append(full);
  o.store->append(withheld);
  o.store->append(empty_contact);
  ASSERT_TRUE(o.store->flush());

  ports::JournalQuery q{.tenant = base::TenantId("acme")};
  auto rows = run(*o.store, q);
  ASSERT_EQ(rows.size(), 3u);
  // Newest first: by start (full started in 2026, the others at 100 s), then the higher id.
  EXPECT_LT(rows[0].id, rows[1].id);
  EXPECT_GT(rows[1].id, rows[2].id);
  const auto& a = rows[0].entry;
  EXPECT_EQ(model::to_json_line(a), model::to_json_line(full));
  EXPECT_EQ(a.tenant, full.tenant);
  EXPECT_EQ(a.remote_name, full.remote_name);
  EXPECT_EQ(a.started_at, full.started_at);  // microseconds preserved
  EXPECT_EQ(a.answered_at, full.answered_at);
  EXPECT_EQ(a.ended_at, full.ended_at);
  EXPECT_DOUBLE_EQ(a.hold_s, 12.3);
  ASSERT_TRUE(a.contact);
  EXPECT_EQ(a.contact->id, "c-1");
  EXPECT_EQ(a.contact->company, "Doe & Co");
  EXPECT_EQ(a.contact->source, "ldap");
  EXPECT_EQ(a.note, full.note);

  const auto& b = rows[2].entry;
  EXPECT_EQ(model::to_json_line(b), model::to_json_line(withheld));
  EXPECT_FALSE(b.remote);
  EXPECT_TRUE(b.remote_withheld);
  EXPECT_FALSE(b.remote_name);
  EXPECT_FALSE(b.answered_at);
  EXPECT_FALSE(b.contact);
  ASSERT_TRUE(rows[1].entry.contact);
  EXPECT_EQ(rows[1].entry.contact->id, "c-2");
  EXPECT_EQ(rows[1].entry.contact->name, "");
}

TEST_P(JournalContract, FiltersByEveryQueryField) {
  auto o = open();
  ASSERT_TRUE(o.store);
  auto& s = *o.store;
  s.append(make("100", "+491", Direction::inbound, Disposition::answered, 1000));
  s.append(make("100", "+492", Direction::inbound, Disposition::missed, 2000));
  s.append(make("101", "+493", Direction::outbound, Disposition::no_answer, 3000));
  s.append(make("102", "100", Direction::internal, Disposition::answered, 4000));
  auto other = make("100", "+499", Direction::inbound, Disposition::missed, 2500);
  other.tenant = base::TenantId("other");
  s.append(other);
  auto named = make("103", "+4950%_x", Direction::inbound, Disposition::rejected, 5000);
  named.remote_name = "Front Door";
  s.append(named);
  ASSERT_TRUE(s.flush());
  ASSERT_TRUE(s.set_note("default", run(s, {.tenant = "default"}).at(2).id, "Ask about the INVOICE"));  // party 101

  ports::JournalQuery q{.tenant = base::TenantId("default")};
  EXPECT_EQ(run(s, q).size(), 5u) << "tenant isolation";
  q.party = "100";
  EXPECT_EQ(parties(run(s, q)), (std::vector<std::string>{"100", "100"}));
  q = {.tenant = "default"};
  q.direction = Direction::outbound;
  EXPECT_EQ(parties(run(s, q)), (std::vector<std::string>{"101"}));
  q = {.tenant = "default"};
  q.disposition = Disposition::answered;
  EXPECT_EQ(parties(run(s, q)), (std::vector<std::string>{"102", "100"}));
  q = {.tenant = "default"};
  q.missed_only = true;
  auto missed = run(s, q);
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].entry.remote, "+492");
  q = {.tenant = "default"};
  q.since = at(2000);
  q.until = at(4000);  // since inclusive, until exclusive
  EXPECT_EQ(parties(run(s, q)), (std::vector<std::string>{"101", "100"}));
  q = {.tenant = "default"};
  q.text = "front";  // case-insensitive over remote_name
  EXPECT_EQ(parties(run(s, q)), (std::vector<std::string>{"103"}));
  q.text = "invoice";  // and over the note
  EXPECT_EQ(parties(run(s, q)), (std::vector<std::string>{"101"}));
  q.text = "0%_";  // LIKE wildcards are literal
  EXPECT_EQ(parties(run(s, q)), (std::vector<std::string>{"103"}));
  q.text = "%";
  EXPECT_EQ(parties(run(s, q)), (std::vector<std::string>{"103"}));
  q.text = "\\";
  EXPECT_TRUE(run(s, q).empty());
  q.text = "+49";  // remote
  EXPECT_EQ(run(s, q).size(), 4u);
  q = {.tenant = "default"};
  q.party = "100";
  q.missed_only = true;
  q.tenant = base::TenantId("other");
  auto ot = run(s, q);
  ASSERT_EQ(ot.size(), 1u);
  EXPECT_EQ(ot[0].entry.remote, "+499");
  q = {.tenant = "default"};
  q.limit = 2;
  EXPECT_EQ(parties(run(s, q)), (std::vector<std::string>{"103", "102"}));
}

TEST_P(JournalContract, PaginatesNewestFirstWithBeforeId) {
  auto o = open();
  ASSERT_TRUE(o.store);
  for (int i = 0; i < 25; ++i) o.store->append(make(std::to_string(i), "+49", Direction::inbound, Disposition::missed, i));
  ASSERT_TRUE(o.store->flush());
  std::vector<std::string> seen;
  std::vector<std::size_t> page_sizes;
  ports::JournalQuery q{.tenant = base::TenantId("default")};
  q.limit = 10;
  for (;;) {
    auto page = run(*o.store, q);
    if (page.empty()) break;
    page_sizes.push_back(page.size());
    for (auto& r : page) seen.push_back(r.entry.party);
    q.before_id = page.back().id;
  }
  EXPECT_EQ(page_sizes, (std::vector<std::size_t>{10, 10, 5}));
  ASSERT_EQ(seen.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(seen[i], std::to_string(24 - i));
}

TEST_P(JournalContract, NotesAreSetPerTenantAndBounded) {
  auto o = open();
  ASSERT_TRUE(o.store);
  auto& s = *o.store;
  s.append(make("100", "+491", Direction::inbound, Disposition::missed, 1));
  ASSERT_TRUE(s.flush());
  auto id = run(s, {.tenant = "default"}).at(0).id;
  ASSERT_TRUE(s.set_note("default", id, "called back"));
  EXPECT_EQ(run(s, {.tenant = "default"}).at(0).entry.note, "called back");
  auto wrong_tenant = s.set_note("other", id, "x");
  ASSERT_FALSE(wrong_tenant);
  EXPECT_EQ(wrong_tenant.error().code(), base::Errc::not_found);
  auto missing = s.set_note("default", id + 100, "x");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), base::Errc::not_found);
  ASSERT_TRUE(s.set_note("default", id, std::string(4096, 'n')));  // the limit itself is fine
  auto too_long = s.set_note("default", id, std::string(4097, 'a'));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code(), base::Errc::invalid_argument);
  EXPECT_EQ(run(s, {.tenant = "default"}).at(0).entry.note, std::string(4096, 'n'));
}

TEST_P(JournalContract, PurgeBeforeDeletesOnlyEntriesThatEndedEarlier) {
  auto o = open();
  ASSERT_TRUE(o.store);
  auto& s = *o.store;
  s.append(make("old", "+491", Direction::inbound, Disposition::missed, 0));      // ends 60
  s.append(make("edge", "+491", Direction::inbound, Disposition::missed, 40));    // ends 100
  s.append(make("new", "+491", Direction::inbound, Disposition::missed, 1000));  // ends 1060
  auto other = make("other", "+491", Direction::inbound, Disposition::missed, 0);
  other.tenant = base::TenantId("t2");  // retention is for every tenant
  s.append(other);
  ASSERT_TRUE(s.flush());
  auto n = s.purge_before(at(100));
  ASSERT_TRUE(n) << n.error().to_string();
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(parties(run(s, {.tenant = "default"})), (std::vector<std::string>{"new", "edge"}));
  ports::JournalQuery q{.tenant = base::TenantId("t2")};
  EXPECT_TRUE(run(s, q).empty());
  auto again = s.purge_before(at(100));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
}

TEST_P(JournalContract, ConcurrentAppendersAndReadersLoseNothingAndKeepOrder) {
  auto o = open();
  ASSERT_TRUE(o.store);
  auto& s = *o.store;
  constexpr int kThreads = 4, kPerThread = 2000;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, read_errors{0};
  std::thread reader([&] {
    while (!done.load()) {
      ports::JournalQuery q{.tenant = base::TenantId("default")};
      q.limit = 50;
      if (!s.query(q)) read_errors.fetch_add(1);
      reads.fetch_add(1);
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i)
        s.append(make("t" + std::to_string(t), "+49", Direction::inbound, Disposition::missed, i));
    });
  for (auto& w : writers) w.join();
  ASSERT_TRUE(s.flush());
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(read_errors.load(), 0);
  auto st = o.stats();
  EXPECT_EQ(st.appended, kThreads * kPerThread);
  EXPECT_EQ(st.committed, kThreads * kPerThread);
  EXPECT_EQ(st.queued, 0u);
  for (int t = 0; t < kThreads; ++t) {
    ports::JournalQuery q{.tenant = base::TenantId("default")};
    q.party = "t" + std::to_string(t);
    q.limit = 10'000;
    auto rows = run(s, q);
    ASSERT_EQ(rows.size(), static_cast<std::size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) ASSERT_EQ(rows[i].entry.started_at, at(kPerThread - 1 - i)) << "thread " << t;
  }
}

// Journal events carry the entry id (PATCH /api/v1/journal/{id} needs it): both stores hand on
// committed entries with the ids the rows got, in append order, before flush() returns.
// Regression: the PostgreSQL store reported none, so its journal events had no id.
TEST_P(JournalContract, CommittedEntriesAreHandedOnWithTheirIdsBeforeFlushReturns) {
  auto o = open();
  ASSERT_TRUE(o.store);
  auto& s = *o.store;
  Committed committed;
  ASSERT_TRUE(committed.listen(s));
  auto& [mu, got] = committed;
  constexpr int kRounds = 3, kPerRound = 7;  // a flush per round: several batches
  for (int r = 0; r < kRounds; ++r) {
    for (int i = 0; i < kPerRound; ++i)
      s.append(make(std::to_string(100 + r * kPerRound + i), "+49", Direction::inbound, Disposition::missed, i));
    ASSERT_TRUE(s.flush());
    std::lock_guard lk(mu);
    ASSERT_EQ(got.size(), static_cast<std::size_t>((r + 1) * kPerRound)) << "round " << r;
  }
  auto rows = run(s, {.tenant = base::TenantId("default")});
  constexpr int kAll = kRounds * kPerRound;
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kAll));
  std::lock_guard lk(mu);
  std::map<std::int64_t, std::string> party_of;  // the rows by id
  for (const auto& r : rows) party_of[r.id] = r.entry.party;
  for (int i = 0; i < kAll; ++i) {
    EXPECT_EQ(got[i].entry.party, std::to_string(100 + i));  // append order
    if (i) {
      EXPECT_GT(got[i].id, got[i - 1].id) << i;  // ids grow in append order
    }
    // The id is the row's.
    EXPECT_EQ(party_of[got[i].id], got[i].entry.party) << i;
  }
  EXPECT_TRUE(s.set_note("default", got[3].id, "x"));
  ports::JournalQuery q{.tenant = base::TenantId("default")};
  q.party = "103";
  auto noted = run(s, q);
  ASSERT_EQ(noted.size(), 1u);
  EXPECT_EQ(noted[0].entry.note, "x");
}

// Open-call state of the PBX drivers (ports::JournalStore::put_open_state): both stores keep it
// (PostgreSQL since schema version 6: in cluster mode the node that takes a link over continues
// the calls of the previous owner); a row leaves in the transaction of the entry that completes
// its leg; rows are per scope (one link) and survive a reopen (another process, another node).
TEST_P(JournalContract, OpenStateRowsLeaveWithTheirEntryAndSurviveAReopen) {
  {
    auto o = open();
    ASSERT_TRUE(o.store);
    auto& s = *o.store;
    EXPECT_TRUE(s.keeps_open_state());
    s.put_open_state("ami:default:a", "k1", "leg one\nline two");
    s.put_open_state("ami:default:a", "k2", "leg two");
    s.put_open_state("ami:default:b", "k1", "other link");
    s.put_open_state("ami:default:a", "k2", "leg two, answered");  // replaces
    ASSERT_TRUE(s.flush());
    auto rows = s.load_open_state("ami:default:a");
    ASSERT_TRUE(rows) << rows.error().to_string();
    EXPECT_EQ(*rows, (std::vector<std::string>{"leg one\nline two", "leg two, answered"}));
    JournalEntry e = make("100", "+49", Direction::inbound, Disposition::answered, 1);
    e.state_scope = "ami:default:a";
    e.state_key = "k1";
    s.put_open_state("ami:default:a", "k1", "leg one, ended");  // then its entry, in one batch or two
    s.append(e);
    s.drop_open_state("ami:default:b", "k1");
    s.put_open_state("ami:default:b", "k3", "ringing");
    ASSERT_TRUE(s.flush());
  }
  auto o = open();
  ASSERT_TRUE(o.store);
  auto& s = *o.store;
  EXPECT_EQ(run(s, {.tenant = base::TenantId("default")}).size(), 1u);
  EXPECT_EQ(*s.load_open_state("ami:default:a"), std::vector<std::string>{"leg two, answered"});
  EXPECT_EQ(*s.load_open_state("ami:default:b"), std::vector<std::string>{"ringing"});
  EXPECT_TRUE(s.load_open_state("ami:default:c")->empty());
}

TEST_P(JournalContract, ReopenKeepsEntriesAndIdsKeepGrowing) {
  std::int64_t first_id = 0;
  {
    auto o = open();
    ASSERT_TRUE(o.store);
    o.store->append(make("100", "+491", Direction::inbound, Disposition::missed, 1));
    // No flush: closing the store writes what is queued.
  }
  auto o = open();
  ASSERT_TRUE(o.store);
  auto rows = run(*o.store, {.tenant = "default"});
  ASSERT_EQ(rows.size(), 1u);
  first_id = rows[0].id;
  o.store->append(make("101", "+492", Direction::inbound, Disposition::missed, 2));
  ASSERT_TRUE(o.store->flush());
  rows = run(*o.store, {.tenant = "default"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_GT(rows[0].id, first_id);
  EXPECT_EQ(rows[0].entry.party, "101");
}

TEST_P(JournalContract, FlushWithNothingQueuedReturnsAtOnce) {
  auto o = open();
  ASSERT_TRUE(o.store);
  EXPECT_TRUE(o.store->flush());
  EXPECT_EQ(o.stats().committed, 0u);
}

TEST_P(JournalContract, FullQueueDropsAndCounts) {
  auto o = open(/*max_queued=*/0);  // every append is refused: exercises the bound deterministically
  ASSERT_TRUE(o.store);
  o.store->append(make("100", "+49", Direction::inbound, Disposition::missed, 1));
  ASSERT_TRUE(o.store->flush());
  EXPECT_EQ(o.stats().dropped, 1u);
  EXPECT_EQ(o.stats().appended, 0u);
  EXPECT_EQ(run(*o.store, {.tenant = "default"}).size(), 0u);
}

TEST_P(JournalContract, QueryLimitIsCappedAt10000) {
  auto o = open();
  ASSERT_TRUE(o.store);
  for (int i = 0; i < 10'005; ++i) o.store->append(make("100", "+49", Direction::inbound, Disposition::missed, i));
  ASSERT_TRUE(o.store->flush());
  ports::JournalQuery q{.tenant = base::TenantId("default")};
  q.limit = 1'000'000;
  EXPECT_EQ(run(*o.store, q).size(), 10'000u);
}

// Regression (issue 13, "newest first really"): an entry is written when its call ends, so a long
// call that started first got the higher id and was listed above the short calls that began after
// it. Newest first is by start; paging with before_id follows the same order.
TEST_P(JournalContract, NewestFirstIsByStartEvenWhenAnEarlierCallEndedLater) {
  auto o = open();
  ASSERT_TRUE(o.store);
  auto long_call = make("100", "+491", Direction::inbound, Disposition::answered, 100);
  long_call.ended_at = at(1000);
  auto short_call = make("100", "+492", Direction::outbound, Disposition::answered, 200);
  short_call.ended_at = at(250);
  auto tie = make("101", "+493", Direction::inbound, Disposition::missed, 200);  // same start, later id
  o.store->append(short_call);  // ends first: lowest id
  o.store->append(tie);
  o.store->append(long_call);
  ASSERT_TRUE(o.store->flush());
  auto rows = run(*o.store, {.tenant = base::TenantId("default")});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].entry.remote, "+493");  // start 200, higher id
  EXPECT_EQ(rows[1].entry.remote, "+492");  // start 200
  EXPECT_EQ(rows[2].entry.remote, "+491");  // start 100, although written last
  EXPECT_GT(rows[2].id, rows[0].id);
  // Paging: after the second row comes the third, whatever the ids.
  ports::JournalQuery q{.tenant = base::TenantId("default")};
  q.limit = 1;
  q.before_id = rows[1].id;
  auto page = run(*o.store, q);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, rows[2].id);
  q.before_id = rows[0].id;
  q.limit = 10;
  EXPECT_EQ(run(*o.store, q).size(), 2u);
  // Another tenant's id as the cursor is not a position in this tenant's order: by id.
  q.before_id = rows[2].id + 1000;
  EXPECT_EQ(run(*o.store, q).size(), 3u);
  // Exactly one entry by id.
  ports::JournalQuery by_id{.tenant = base::TenantId("default")};
  by_id.id = rows[1].id;
  auto one = run(*o.store, by_id);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].entry.remote, "+492");
  by_id.tenant = base::TenantId("other");
  EXPECT_TRUE(run(*o.store, by_id).empty());
}

// Issue 13: a missed call is done once the party talked with that remote afterwards (a callback),
// in the transaction that writes the answered entry; the committed callback names the marked ids.
// Within one batch, in batch order: an answered entry resolves the missed ones before it (of its
// own batch too), a later answered entry finds them done and gets only what it alone resolves;
// another tenant's missed call with the same party and remote stays open. (PostgreSQL marks a
// batch's rows in one statement since 2026-12-07; the order rule is the one-by-one rule.)
TEST_P(JournalContract, OneBatchResolvesMissedCallsInBatchOrder) {
  auto o = open();
  ASSERT_TRUE(o.store);
  auto& s = *o.store;
  Committed committed;
  ASSERT_TRUE(committed.listen(s));
  auto& [mu, got] = committed;
  auto other_tenant = make("100", "+49111", Direction::inbound, Disposition::missed, 5);
  other_tenant.tenant = base::TenantId("other");
  s.append(other_tenant);                                                              // 0
  s.append(make("100", "+49111", Direction::inbound, Disposition::missed, 10));        // 1
  s.append(make("100", "+49111", Direction::outbound, Disposition::answered, 20));     // 2: resolves 1
  s.append(make("100", "+49111", Direction::inbound, Disposition::missed, 30));        // 3
  s.append(make("100", "+49111", Direction::inbound, Disposition::answered, 40));      // 4: resolves 3 only
  s.append(make("100", "+49111", Direction::outbound, Disposition::answered, 50));     // 5: nothing left
  s.append(make("100", "+49333", Direction::inbound, Disposition::missed, 60));        // 6: another remote
  ASSERT_TRUE(s.flush());
  std::lock_guard lk(mu);
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(got[2].resolved, (std::vector<std::int64_t>{got[1].id}));
  EXPECT_EQ(got[4].resolved, (std::vector<std::int64_t>{got[3].id}));
  for (std::size_t i : {0u, 1u, 3u, 5u, 6u}) EXPECT_TRUE(got[i].resolved.empty()) << i;
  ports::JournalQuery q{.tenant = base::TenantId("other")};
  q.disposition = Disposition::missed;
  q.done = false;
  EXPECT_EQ(*s.count(q), 1u);
}

TEST_P(JournalContract, AnAnsweredCallToTheRemoteMarksTheEarlierMissedCallsDone) {
  auto o = open();
  ASSERT_TRUE(o.store);
  auto& s = *o.store;
  Committed committed;
  ASSERT_TRUE(committed.listen(s));
  auto& [mu, got] = committed;
  s.append(make("100", "+49111", Direction::inbound, Disposition::missed, 10));
  s.append(make("100", "+49111", Direction::inbound, Disposition::missed, 20));
  s.append(make("101", "+49111", Direction::inbound, Disposition::missed, 30));  // another party
  s.append(make("100", "+49222", Direction::inbound, Disposition::missed, 40));  // another remote
  auto unanswered = make("100", "+49111", Direction::outbound, Disposition::no_answer, 50);
  s.append(unanswered);  // a callback nobody took resolves nothing
  ASSERT_TRUE(s.flush());
  ports::JournalQuery open_q{.tenant = base::TenantId("default")};
  open_q.party = "100";
  open_q.disposition = Disposition::missed;
  open_q.done = false;
  auto c = s.count(open_q);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(*c, 3u);
  s.append(make("100", "+49111", Direction::outbound, Disposition::answered, 60));  // the callback
  auto later = make("100", "+49111", Direction::inbound, Disposition::missed, 70);  // after it: stays open
  s.append(later);
  ASSERT_TRUE(s.flush());
  {
    std::lock_guard lk(mu);
    ASSERT_EQ(got.size(), 7u);
    EXPECT_EQ(got[5].resolved, (std::vector<std::int64_t>{got[0].id, got[1].id}));
    for (std::size_t i = 0; i < got.size(); ++i)
      if (i != 5) {
        EXPECT_TRUE(got[i].resolved.empty()) << i;
      }
  }
  auto open_rows = run(s, open_q);
  ASSERT_EQ(open_rows.size(), 2u);
  EXPECT_EQ(open_rows[0].entry.started_at, at(70));
  EXPECT_EQ(open_rows[1].entry.remote, "+49222");
  EXPECT_EQ(*s.count(open_q), 2u);
  open_q.done = true;
  auto done_rows = run(s, open_q);
  ASSERT_EQ(done_rows.size(), 2u);
  EXPECT_TRUE(done_rows[0].entry.done);
  ports::JournalQuery other{.tenant = base::TenantId("default")};
  other.party = "101";
  ASSERT_EQ(run(s, other).size(), 1u);
  EXPECT_FALSE(run(s, other)[0].entry.done);

  // update(): the mark by hand, the chosen contact (found by the text search), the note.
  const auto id = open_rows[1].id;
  ports::EntryUpdate u;
  u.done = true;
  u.contact = model::ContactRef{"17", "Erika Mustermann", "Muster GmbH", "store"};
  u.note = "rang back";
  ASSERT_TRUE(s.update("default", id, u));
  EXPECT_FALSE(s.update("other", id, u)) << "another tenant's entry";
  EXPECT_EQ(s.update("default", id + 1000, u).error().code(), base::Errc::not_found);
  ports::JournalQuery text{.tenant = base::TenantId("default")};
  text.text = "mustermann";
  auto found = run(s, text);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, id);
  EXPECT_TRUE(found[0].entry.done);
  EXPECT_EQ(found[0].entry.note, "rang back");
  ASSERT_TRUE(found[0].entry.contact);
  EXPECT_EQ(found[0].entry.contact->company, "Muster GmbH");
  text.text = "muster gmbh";
  EXPECT_EQ(run(s, text).size(), 1u);
  ports::EntryUpdate clear;
  clear.contact = std::optional<model::ContactRef>();
  clear.done = false;
  ASSERT_TRUE(s.update("default", id, clear));
  text.text = "mustermann";
  EXPECT_TRUE(run(s, text).empty());
  open_q.done = false;
  EXPECT_EQ(*s.count(open_q), 2u);
}

INSTANTIATE_TEST_SUITE_P(Backends, JournalContract, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace callbridge::journal
