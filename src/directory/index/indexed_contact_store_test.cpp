#include "directory/index/indexed_contact_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "core/lookup_service.hpp"
#include "directory/store/sqlite_contact_store.hpp"

namespace callbridge::directory {
namespace {

using namespace std::chrono_literals;
using ports::Contact;
using ports::ContactKind;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/cb-index-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

Contact person(std::string name, std::vector<std::string> e164s, std::string company = "") {
  Contact c{.tenant = base::TenantId("default")};
  c.display_name = std::move(name);
  c.company = std::move(company);
  for (auto& n : e164s) c.numbers.push_back({"work", n, n});
  return c;
}

ports::LookupQuery query(std::string e164, std::vector<std::string> candidates = {}, std::string tenant = "default") {
  ports::LookupQuery q{.tenant = base::TenantId(std::move(tenant))};
  q.e164 = e164;
  q.candidates = candidates.empty() ? std::vector<std::string>{e164} : std::move(candidates);
  q.deadline = std::chrono::steady_clock::now() + 5s;
  return q;
}

std::vector<std::string> names(const base::Result<std::vector<ports::ContactMatch>>& r) {
  EXPECT_TRUE(r.has_value());
  std::vector<std::string> out;
  if (r)
    for (const auto& m : *r) out.push_back(m.display_name + "@" + m.matched_number);
  return out;
}

class IndexedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteContactStore::open(SqliteContactStoreOptions{.path = db(), .to_e164 = {}});
    ASSERT_TRUE(s) << s.error().to_string();
    store = std::move(*s);
  }
  std::string db() const { return dir.path + "/contacts.db"; }
  IndexedContactStoreOptions sync_opts() {
    IndexedContactStoreOptions o;
    o.background = false;
    o.now = [this] { return now; };
    return o;
  }
  TempDir dir;
  std::unique_ptr<SqliteContactStore> store;
  std::chrono::steady_clock::time_point now{std::chrono::seconds(1000)};
};

TEST_F(IndexedStoreTest, AnswersLikeTheStoreFromMemory) {
  ASSERT_TRUE(store->create(person("Eva", {"+4921133990345", "+4917012345678"}, "ACME")));
  ASSERT_TRUE(store->create(person("Adam", {"+4921133990345"})));
  Contact acme = person("ACME", {"+492113399030"}, "ACME");
  acme.kind = ContactKind::company;
  ASSERT_TRUE(store->create(acme));
  ASSERT_TRUE(store->create(person("Other tenant", {"+4921133990345"})));  // same tenant "default"
  Contact t2 = person("Zed", {"+4921133990345"});
  t2.tenant = base::TenantId("t2");
  ASSERT_TRUE(store->create(t2));

  IndexedContactStore ix(*store, store_index_loader(*store), sync_opts());
  auto cands = core::LookupService::candidates("+4921133990377", 5, 7);
  for (const auto& q : {query("+4921133990345"), query("+4917012345678"), query("+4921133990377", cands),
                        query("+4989123456"), query("+4921133990345", {}, "t2"), query("+4921133990345", {}, "none")}) {
    auto want = store->lookup(q);
    auto got = ix.lookup(q);
    ASSERT_TRUE(want && got);
    ASSERT_EQ(got->size(), want->size()) << q.e164;
    for (std::size_t i = 0; i < got->size(); ++i) {
      EXPECT_EQ((*got)[i].contact_id, (*want)[i].contact_id);
      EXPECT_EQ((*got)[i].display_name, (*want)[i].display_name);
      EXPECT_EQ((*got)[i].company, (*want)[i].company);
      EXPECT_EQ((*got)[i].kind, (*want)[i].kind);
      EXPECT_EQ((*got)[i].matched_number, (*want)[i].matched_number);
      EXPECT_EQ((*got)[i].label, (*want)[i].label);
      EXPECT_EQ((*got)[i].source, (*want)[i].source);
      EXPECT_EQ((*got)[i].priority, (*want)[i].priority);
    }
  }
  EXPECT_EQ(ix.stats().store_lookups, 0u);
  EXPECT_EQ(ix.stats().index_lookups, 6u);
  EXPECT_EQ(ix.name(), "store");
  EXPECT_EQ(ix.priority(), 10);
}

TEST_F(IndexedStoreTest, EditsThroughItAreVisibleToTheNextLookup) {
  IndexedContactStore ix(*store, store_index_loader(*store), sync_opts());
  EXPECT_TRUE(names(ix.lookup(query("+4989123456"))).empty());
  auto id = ix.create(person("Max", {"+4989123456"}));
  ASSERT_TRUE(id);
  EXPECT_EQ(names(ix.lookup(query("+4989123456"))), (std::vector<std::string>{"Max@+4989123456"}));
  Contact c = person("Moritz", {"+4930123456"});
  c.id = *id;
  ASSERT_TRUE(ix.update(c));
  EXPECT_TRUE(names(ix.lookup(query("+4989123456"))).empty());
  EXPECT_EQ(names(ix.lookup(query("+4930123456"))), (std::vector<std::string>{"Moritz@+4930123456"}));
  ASSERT_TRUE(ix.import_all("default", {person("Imported", {"+4940111222"})}, {}));
  EXPECT_EQ(names(ix.lookup(query("+4940111222"))), (std::vector<std::string>{"Imported@+4940111222"}));
  ASSERT_TRUE(ix.remove("default", *id));
  EXPECT_TRUE(names(ix.lookup(query("+4930123456"))).empty());
  EXPECT_EQ(ix.stats().store_lookups, 0u);  // synchronous mode: every lookup was answered by a fresh index
  EXPECT_EQ(ix.stats().loads, 5u);
  // Reads pass through.
  EXPECT_EQ(ix.list("default", "", 10)->size(), 1u);
  EXPECT_FALSE(ix.get("default", *id));
  EXPECT_FALSE(ix.remove("default", *id));  // errors pass through too
}

TEST_F(IndexedStoreTest, WritesOfAnotherProcessAreSeenViaChangeTokenOrRecheck) {
  IndexedContactStore ix(*store, store_index_loader(*store), sync_opts());
  EXPECT_TRUE(names(ix.lookup(query("+4989123456"))).empty());
  // The CLI writes through its own connection.
  auto cli = SqliteContactStore::open(SqliteContactStoreOptions{.path = db(), .to_e164 = {}});
  ASSERT_TRUE(cli);
  ASSERT_TRUE((*cli)->create(person("From CLI", {"+4989123456"})));
  // Within recheck_interval the index is trusted (documented staleness bound) ...
  EXPECT_TRUE(names(ix.lookup(query("+4989123456"))).empty());
  // ... after it, lookup() compares the token and reloads.
  now += 300ms;
  EXPECT_EQ(names(ix.lookup(query("+4989123456"))), (std::vector<std::string>{"From CLI@+4989123456"}));
  // change_token() (LookupService calls it before each lookup) notices at once.
  ASSERT_TRUE((*cli)->create(person("Second", {"+4930999"})));
  auto tok = ix.change_token("default");
  EXPECT_EQ(tok, store->change_token("default"));
  EXPECT_EQ(names(ix.lookup(query("+4930999"))), (std::vector<std::string>{"Second@+4930999"}));
}

TEST_F(IndexedStoreTest, BackgroundLoaderServesAfterWaitAndRebuildsAfterEdits) {
  ASSERT_TRUE(store->create(person("Eva", {"+4921133990345"})));
  IndexedContactStoreOptions o;
  o.preload_tenants = {"default"};
  IndexedContactStore ix(*store, store_index_loader(*store), o);
  ASSERT_TRUE(ix.wait_current("default", 10s));
  ASSERT_NE(ix.current("default"), nullptr);
  EXPECT_EQ(ix.current("default")->index.numbers(), 1u);
  EXPECT_EQ(names(ix.lookup(query("+4921133990345"))), (std::vector<std::string>{"Eva@+4921133990345"}));
  ASSERT_TRUE(ix.create(person("Adam", {"+4921133990345"})));
  // Until the rebuild is installed, lookups are forwarded to the store: never stale.
  EXPECT_EQ(names(ix.lookup(query("+4921133990345"))),
            (std::vector<std::string>{"Adam@+4921133990345", "Eva@+4921133990345"}));
  ASSERT_TRUE(ix.wait_current("default", 10s));
  EXPECT_EQ(ix.current("default")->index.numbers(), 2u);
  EXPECT_EQ(names(ix.lookup(query("+4921133990345"))),
            (std::vector<std::string>{"Adam@+4921133990345", "Eva@+4921133990345"}));
  EXPECT_GE(ix.stats().loads, 2u);
}

// App::add_tenant / remove_tenant: a tenant that was not preloaded at construction is loaded on
// preload(), before any lookup; drop() releases its index; a later lookup loads it again.
TEST_F(IndexedStoreTest, PreloadLoadsALateTenantAndDropReleasesIt) {
  Contact c = person("Eva", {"+4921133990345", "+4921133990346"});
  c.tenant = base::TenantId("acme");
  ASSERT_TRUE(store->create(c));
  IndexedContactStore ix(*store, store_index_loader(*store), sync_opts());
  EXPECT_EQ(ix.stats().tenants, 0u);
  ix.preload("acme");
  auto st = ix.stats();
  EXPECT_EQ(st.loads, 1u);
  EXPECT_EQ(st.tenants, 1u);
  EXPECT_EQ(st.numbers, 2u);
  EXPECT_EQ(st.index_lookups + st.store_lookups, 0u);
  ix.preload("acme");  // current already: not loaded again
  EXPECT_EQ(ix.stats().loads, 1u);
  EXPECT_EQ(names(ix.lookup(query("+4921133990345", {}, "acme"))), (std::vector<std::string>{"Eva@+4921133990345"}));
  EXPECT_EQ(ix.stats().index_lookups, 1u);
  EXPECT_EQ(ix.stats().store_lookups, 0u);

  ix.drop("acme");
  st = ix.stats();
  EXPECT_EQ(st.tenants, 0u);
  EXPECT_EQ(st.numbers, 0u);
  // Asked again after all: loaded on first use, as any tenant not preloaded.
  EXPECT_EQ(names(ix.lookup(query("+4921133990346", {}, "acme"))), (std::vector<std::string>{"Eva@+4921133990346"}));
  EXPECT_EQ(ix.stats().loads, 2u);
  EXPECT_EQ(ix.stats().tenants, 1u);
}

// A tenant removed while its index loads: the load is thrown away, not installed.
TEST_F(IndexedStoreTest, ALoadUnderWayWhenTheTenantIsDroppedIsDiscarded) {
  Contact c = person("Eva", {"+4921133990345"});
  c.tenant = base::TenantId("acme");
  ASSERT_TRUE(store->create(c));
  c.tenant = base::TenantId("globex");
  ASSERT_TRUE(store->create(c));
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, release = false;
  IndexLoader inner = store_index_loader(*store);
  IndexLoader gated = [&](const base::TenantId& t, NumberIndex::Builder& b,
                          const std::function<void(std::size_t)>& progress) -> base::Result<std::uint64_t> {
    if (t == base::TenantId("acme")) {
      std::unique_lock lock(mu);
      entered = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    }
    return inner(t, b, progress);
  };
  IndexedContactStore ix(*store, gated, IndexedContactStoreOptions{});  // background loader
  ix.preload("acme");
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return entered; }));
  }
  ix.preload("globex");  // queued behind acme on the one loader thread
  ix.drop("acme");
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(ix.wait_current("globex", 10s));  // so acme's load has ended
  auto st = ix.stats();
  EXPECT_EQ(st.loads, 1u) << "only globex's was installed";
  EXPECT_EQ(st.tenants, 1u);
  EXPECT_EQ(st.numbers, 1u);
}

TEST_F(IndexedStoreTest, FailedLoadFallsBackToTheStore) {
  ASSERT_TRUE(store->create(person("Eva", {"+4921133990345"})));
  int calls = 0;
  IndexLoader broken = [&calls](const std::string&, NumberIndex::Builder&, const std::function<void(std::size_t)>&)
      -> base::Result<std::uint64_t> {
    ++calls;
    return base::fail(base::Error::io("disk on fire"));
  };
  IndexedContactStore ix(*store, broken, sync_opts());
  EXPECT_EQ(names(ix.lookup(query("+4921133990345"))), (std::vector<std::string>{"Eva@+4921133990345"}));
  EXPECT_EQ(names(ix.lookup(query("+4921133990345"))), (std::vector<std::string>{"Eva@+4921133990345"}));
  EXPECT_EQ(calls, 1);  // no retry before retry_after
  now += 6s;
  (void)ix.lookup(query("+4921133990345"));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(ix.stats().store_lookups, 3u);
  EXPECT_EQ(ix.stats().failed_loads, 2u);
  EXPECT_FALSE(ix.wait_current("default", 1ms));
}

TEST_F(IndexedStoreTest, FileScanRejectsOtherFilesAndSchemas) {
  struct Ignore final : ports::ContactScanSink {
    void contact(std::int64_t, ContactKind, std::string_view, std::string_view) override {}
    void number(std::string_view, std::string_view) override {}
  } b;
  auto missing = scan_contacts_file(dir.path + "/nope.db", "default", b, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), base::Errc::io);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path + "/other.db").c_str(), &raw), SQLITE_OK);
  sqlite3_exec(raw, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES('schema_version','2')",
               nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  auto newer = scan_contacts_file(dir.path + "/other.db", "default", b, {});
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().code(), base::Errc::conflict);
}

TEST_F(IndexedStoreTest, ListLoaderWorksForAnyStore) {
  ASSERT_TRUE(store->create(person("Eva", {"+4921133990345", "+4917012345678"})));
  IndexedContactStore ix(*store, list_index_loader(*store), sync_opts());
  EXPECT_EQ(names(ix.lookup(query("+4917012345678"))), (std::vector<std::string>{"Eva@+4917012345678"}));
  EXPECT_EQ(ix.current("default")->index.numbers(), 2u);
}

// The decorator under the real engine: same ranked answers as the bare store, company fallback included.
TEST_F(IndexedStoreTest, LookupServiceGivesTheSameResultsAsWithTheStore) {
  Contact acme = person("ACME", {"+49211339903", "+492113399030"}, "ACME");
  acme.kind = ContactKind::company;
  ASSERT_TRUE(store->create(acme));
  ASSERT_TRUE(store->create(person("Eva", {"+4921133990345"}, "ACME")));
  auto shared_store = std::shared_ptr<ports::ContactSource>(store.get(), [](auto*) {});
  auto ix = std::make_shared<IndexedContactStore>(*store, store_index_loader(*store), sync_opts());
  base::ManualClock clock{base::from_micros(1'800'000'000'000'000)};
  core::LookupService with_store({{shared_store, 2000ms}}, {}, clock);
  core::LookupService with_index({{ix, 2000ms}}, {}, clock);
  for (std::string caller : {"+4921133990345", "+4921133990377", "+492113399037", "+4989123456", "+492113399030"}) {
    auto a = with_store.lookup("default", caller), b = with_index.lookup("default", caller);
    ASSERT_EQ(a.matches.size(), b.matches.size()) << caller;
    for (std::size_t i = 0; i < a.matches.size(); ++i) {
      EXPECT_EQ(a.matches[i].contact.contact_id, b.matches[i].contact.contact_id) << caller;
      EXPECT_EQ(a.matches[i].contact.matched_number, b.matches[i].contact.matched_number) << caller;
      EXPECT_EQ(a.matches[i].kind, b.matches[i].kind) << caller;
      EXPECT_EQ(a.matches[i].distance, b.matches[i].distance) << caller;
    }
  }
  EXPECT_GT(ix->stats().index_lookups, 0u);
  EXPECT_EQ(ix->stats().store_lookups, 0u);
}

}  // namespace
}  // namespace callbridge::directory
