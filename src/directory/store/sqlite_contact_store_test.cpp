#include "directory/store/sqlite_contact_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "directory/store/test_numbers.hpp"

namespace callbridge::directory {
namespace {

using ports::Contact;
using ports::ContactKind;

std::unique_ptr<SqliteContactStore> open_store(const std::string& path = ":memory:") {
  SqliteContactStoreOptions o;
  o.path = path;
  o.to_e164 = [](const std::string&, std::string_view raw) { return testing::german_e164(raw); };
  auto s = SqliteContactStore::open(o);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().to_string());
  return std::move(*s);
}

Contact anna() {
  Contact c{.tenant = base::TenantId("default")};
  c.given_name = "Anna";
  c.family_name = "Schmidt";
  c.company = "ACME GmbH";
  c.numbers = {{"work", "0211 339903-45", ""}, {"mobile", "+49 171 5550101", ""}};
  return c;
}

ports::LookupQuery query(std::string e164, std::vector<std::string> cands = {}, std::string tenant = "default") {
  ports::LookupQuery q{.tenant = base::TenantId(std::move(tenant))};
  q.e164 = e164;
  q.candidates = cands.empty() ? std::vector<std::string>{e164} : std::move(cands);
  q.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  return q;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/cb-store-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

TEST(SqliteContactStore, CreateNormalizesNumbersAndGetReturnsThem) {
  auto s = open_store();
  auto id = s->create(anna());
  ASSERT_TRUE(id) << id.error().to_string();
  auto c = s->get("default", *id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->display_name, "Anna Schmidt");
  ASSERT_EQ(c->numbers.size(), 2u);
  EXPECT_EQ(c->numbers[0], (ports::PhoneNumber{"work", "0211 339903-45", "+4921133990345"}));
  EXPECT_EQ(c->numbers[1].e164, "+491715550101");
}

TEST(SqliteContactStore, RejectsUnparseableNumberAndNamelessContact) {
  auto s = open_store();
  Contact bad = anna();
  bad.numbers.push_back({"", "call me", ""});
  auto r = s->create(bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("call me"), std::string::npos);
  Contact nameless{.tenant = base::TenantId("default")};
  nameless.numbers = {{"", "+492115550", ""}};
  EXPECT_FALSE(s->create(nameless));
  EXPECT_EQ(*s->count("default"), 0u);
}

TEST(SqliteContactStore, LookupFindsAllCandidatesWithinTenant) {
  auto s = open_store();
  ASSERT_TRUE(s->create(anna()));
  Contact acme{.tenant = base::TenantId("default")};
  acme.kind = ContactKind::company;
  acme.company = "ACME GmbH";
  acme.numbers = {{"main", "0211 339903-0", ""}};
  ASSERT_TRUE(s->create(acme));
  Contact other = anna();
  other.tenant = base::TenantId("other");
  other.given_name = "Otto";
  ASSERT_TRUE(s->create(other));

  auto r = s->lookup(query("+4921133990345", {"+4921133990345", "+492113399030"}));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].display_name, "ACME GmbH");
  EXPECT_EQ((*r)[0].kind, ContactKind::company);
  EXPECT_EQ((*r)[0].matched_number, "+492113399030");
  EXPECT_EQ((*r)[0].label, "main");
  EXPECT_EQ((*r)[1].display_name, "Anna Schmidt");
  EXPECT_EQ((*r)[1].source, "store");
  EXPECT_EQ((*r)[1].priority, 10);

  auto o = s->lookup(query("+4921133990345", {}, "other"));
  ASSERT_TRUE(o);
  ASSERT_EQ(o->size(), 1u);
  EXPECT_EQ((*o)[0].display_name, "Otto Schmidt");
}

TEST(SqliteContactStore, UpdateReplacesNumbersRemoveDeletes) {
  auto s = open_store();
  auto id = *s->create(anna());
  Contact c = *s->get("default", id);
  c.numbers = {{"work", "+49 30 1234567", ""}};
  ASSERT_TRUE(s->update(c));
  EXPECT_TRUE(s->lookup(query("+4921133990345"))->empty());
  EXPECT_EQ(s->lookup(query("+49301234567"))->size(), 1u);
  ASSERT_TRUE(s->remove("default", id));
  EXPECT_TRUE(s->lookup(query("+49301234567"))->empty());
  EXPECT_EQ(s->remove("default", id).error().code(), base::Errc::not_found);
  c.id = 9999;
  EXPECT_EQ(s->update(c).error().code(), base::Errc::not_found);
}

TEST(SqliteContactStore, ChangeTokenMovesOnEveryWritePerTenant) {
  auto s = open_store();
  auto t0 = s->change_token("default");
  auto id = *s->create(anna());
  auto t1 = s->change_token("default");
  EXPECT_NE(t0, t1);
  EXPECT_EQ(s->change_token("other"), t0) << "other tenants are not disturbed";
  ASSERT_TRUE(s->remove("default", id));
  EXPECT_NE(s->change_token("default"), t1);
}

TEST(SqliteContactStore, ImportAllIsOneTransaction) {
  TempDir d;
  std::string path = (d.path / "contacts.db").string();
  auto s = open_store(path);
  ASSERT_TRUE(s->create(anna()));
  // Make the 3rd insert fail inside SQLite (a trigger), as a full disk would.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "CREATE TRIGGER boom BEFORE INSERT ON contacts WHEN NEW.display_name='Boom'"
                         " BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  std::vector<Contact> batch(3, anna());
  batch[0].given_name = "One";
  batch[1].given_name = "Two";
  batch[2].display_name = "Boom";
  auto token = s->change_token("default");
  auto r = s->import_all("default", batch, {.replace_tenant = true});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("disk full"), std::string::npos);
  EXPECT_EQ(*s->count("default"), 1u) << "nothing of the failed import, nothing replaced";
  EXPECT_EQ(s->change_token("default"), token);
  batch.pop_back();
  auto ok = s->import_all("default", batch, {.replace_tenant = true});
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(ok->contacts, 2u);
  EXPECT_EQ(ok->numbers, 4u);
  EXPECT_EQ(ok->replaced, 1u);
  EXPECT_EQ(*s->count("default"), 2u);
}

TEST(SqliteContactStore, PersistsInWalModeAndRefusesNewerSchema) {
  TempDir d;
  std::string path = (d.path / "contacts.db").string();
  {
    auto s = open_store(path);
    ASSERT_TRUE(s->create(anna()));
  }
  {
    auto s = open_store(path);
    EXPECT_EQ(*s->count("default"), 1u);
    auto l = s->list("default", "339903", 10);
    ASSERT_TRUE(l);
    ASSERT_EQ(l->size(), 1u);
    EXPECT_EQ((*l)[0].numbers.size(), 2u);
    EXPECT_TRUE(s->list("default", "nobody%", 10)->empty());
  }
  EXPECT_TRUE(std::filesystem::exists(path + "-wal") || std::filesystem::exists(path));
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  char* mode = nullptr;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  (void)mode;
  sqlite3_exec(raw, "UPDATE meta SET value='99' WHERE key='schema_version'", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  SqliteContactStoreOptions o;
  o.path = path;
  auto s = SqliteContactStore::open(o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), base::Errc::conflict);
}

TEST(SqliteContactStore, NotADatabaseIsAnError) {
  TempDir d;
  std::string path = (d.path / "garbage.db").string();
  FILE* f = fopen(path.c_str(), "w");
  fputs("this is not sqlite, just text that is long enough to be looked at by the pager.......", f);
  fclose(f);
  SqliteContactStoreOptions o;
  o.path = path;
  auto s = SqliteContactStore::open(o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), base::Errc::io);
}

}  // namespace
}  // namespace callbridge::directory
