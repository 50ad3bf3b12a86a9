// PgContactStore against a real PostgreSQL (label "postgres").
#include <gtest/gtest.h>

#include <libpq-fe.h>

#include <limits>

#include "core/lookup_service.hpp"
#include "directory/pg_server.hpp"
#include "directory/store/contact_import.hpp"
#include "directory/store/pg_contact_store.hpp"

namespace callbridge::directory {
namespace {

using namespace std::chrono_literals;
using ports::Contact;

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = testing::PgServer::start();
    ASSERT_TRUE(s) << s.error().to_string();
    server_ = std::move(*s);
    store_ = open();
    ASSERT_TRUE(store_);
  }
  std::unique_ptr<PgContactStore> open() {
    PgContactStoreOptions o;
    o.conninfo = server_->conninfo();
    auto s = PgContactStore::open(o);
    EXPECT_TRUE(s) << s.error().to_string();
    return s ? std::move(*s) : nullptr;
  }
  // Runs SQL on a second connection (returns it so the caller can keep a transaction open).
  PGconn* sql(const std::string& q, PGconn* conn = nullptr) {
    if (!conn) conn = PQconnectdb(server_->conninfo().c_str());
    PGresult* r = PQexec(conn, q.c_str());
    EXPECT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
        << PQresultErrorMessage(r);
    PQclear(r);
    return conn;
  }
  static ports::LookupQuery query(std::vector<std::string> cands, std::string tenant = "default",
                                  std::chrono::milliseconds t = 5000ms) {
    return ports::LookupQuery{base::TenantId(tenant), cands[0], cands, std::chrono::steady_clock::now() + t};
  }
  static Contact anna() {
    Contact c{.tenant = base::TenantId("default")};
    c.given_name = "Anna";
    c.family_name = "Schmidt";
    c.company = "ACME \"Quoted\" GmbH";
    c.numbers = {{"work", "+49 211 339903-45", ""}, {"mobile", "+491715550101", ""}};
    return c;
  }

  std::unique_ptr<testing::PgServer> server_;
  std::unique_ptr<PgContactStore> store_;
};

TEST_F(PgStoreTest, CrudLookupTenantsAndChangeToken) {
  auto t0 = store_->change_token("default");
  auto id = store_->create(anna());
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_NE(store_->change_token("default"), t0);
  Contact acme{.tenant = base::TenantId("default")};
  acme.kind = ports::ContactKind::company;
  acme.company = "ACME";
  acme.numbers = {{"main", "+492113399030", ""}};
  ASSERT_TRUE(store_->create(acme));
  Contact other = anna();
  other.tenant = base::TenantId("other");
  other.given_name = "Otto";
  ASSERT_TRUE(store_->create(other));

  auto r = store_->lookup(query({"+4921133990345", "+492113399030"}));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].display_name, "ACME");
  EXPECT_EQ((*r)[0].kind, ports::ContactKind::company);
  EXPECT_EQ((*r)[1].display_name, "Anna Schmidt");
  EXPECT_EQ((*r)[1].company, "ACME \"Quoted\" GmbH");
  EXPECT_EQ((*r)[1].label, "work");
  EXPECT_EQ(store_->lookup(query({"+4921133990345"}, "other"))->size(), 1u);

  auto got = store_->get("default", *id);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->numbers.size(), 2u);
  EXPECT_EQ(got->numbers[0], (ports::PhoneNumber{"work", "+49 211 339903-45", "+4921133990345"}));
  got->numbers = {{"home", "+49301234567", ""}};
  ASSERT_TRUE(store_->update(*got));
  EXPECT_TRUE(store_->lookup(query({"+4921133990345"}))->empty());
  EXPECT_EQ(store_->list("default", "acme \"quoted", 10)->size(), 1u);
  // "Everything" as the number index's loader asks it (ports::scan_by_list: SIZE_MAX), beyond
  // PostgreSQL's bigint LIMIT: found by the cluster nodes' start-up ("value ... is out of range").
  auto all = store_->list("default", "", std::numeric_limits<std::size_t>::max());
  ASSERT_TRUE(all) << all.error().message();
  EXPECT_EQ(all->size(), store_->list("default", "", 100)->size());
  EXPECT_GE(all->size(), 1u);
  ASSERT_TRUE(store_->remove("default", *id));
  EXPECT_EQ(store_->remove("default", *id).error().code(), base::Errc::not_found);
  Contact bad = anna();
  bad.numbers = {{"", "call me", ""}};
  EXPECT_EQ(store_->create(bad).error().code(), base::Errc::invalid_argument);
}

TEST_F(PgStoreTest, ImportIsAllOrNothingAndSchemaIsGuarded) {
  ASSERT_TRUE(store_->create(anna()));
  PGconn* c = sql(
      "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.display_name = 'Boom' THEN"
      " RAISE EXCEPTION 'disk full (simulated)'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;"
      "CREATE TRIGGER boom BEFORE INSERT ON contacts FOR EACH ROW EXECUTE FUNCTION boom();");
  std::vector<Contact> batch(3, anna());
  batch[2].display_name = "Boom";
  auto token = store_->change_token("default");
  auto r = store_->import_all("default", batch, {.replace_tenant = true});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("disk full"), std::string::npos) << r.error().to_string();
  EXPECT_EQ(*store_->count("default"), 1u);
  EXPECT_EQ(store_->change_token("default"), token);
  batch.pop_back();
  auto ok = store_->import_all("default", batch, {.replace_tenant = true});
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(ok->replaced, 1u);
  EXPECT_EQ(*store_->count("default"), 2u);

  EXPECT_TRUE(open()) << "opening again is a no-op migration";
  sql("UPDATE contacts_meta SET value='99' WHERE key='schema_version'", c);
  PQfinish(c);
  PgContactStoreOptions o;
  o.conninfo = server_->conninfo();
  auto newer = PgContactStore::open(o);
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().code(), base::Errc::conflict);
}

TEST_F(PgStoreTest, LookupIsCancelledAtItsDeadlineAndTheStoreRecovers) {
  ASSERT_TRUE(store_->create(anna()));
  PGconn* locker = sql("BEGIN; LOCK TABLE contact_numbers IN ACCESS EXCLUSIVE MODE;");
  auto t0 = std::chrono::steady_clock::now();
  auto r = store_->lookup(query({"+4921133990345"}, "default", 300ms));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::Errc::timeout) << r.error().to_string();
  EXPECT_LT(took, 3s);
  sql("ROLLBACK", locker);
  PQfinish(locker);
  auto again = store_->lookup(query({"+4921133990345"}));
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->size(), 1u);
}

TEST_F(PgStoreTest, CsvImportThenEngineLookupWithCompanyFallback) {
  ImportParseOptions po{.tenant = base::TenantId("default")};
  po.to_e164 = [](std::string_view raw) -> std::optional<std::string> {
    std::string d;
    for (char ch : raw)
      if (ch >= '0' && ch <= '9') d.push_back(ch);
    if (raw.substr(0, 1) == "+") return "+" + d;
    if (d.size() > 1 && d[0] == '0') return "+49" + d.substr(1);
    return std::nullopt;
  };
  auto out = import_contacts(*store_, "default",
                             "Company,Company Main Phone\nACME GmbH,0211 339903-0\nGlobex,+49 221 44556-0\n", po, {});
  ASSERT_TRUE(out) << out.error().to_string();
  ASSERT_TRUE(out->committed);
  std::shared_ptr<PgContactStore> shared = std::move(store_);
  base::ManualClock clock(base::from_micros(0));
  core::LookupService svc({{shared, 2000ms}}, {}, clock);
  auto r = svc.lookup("default", "+4921133990345");
  ASSERT_EQ(r.matches.size(), 1u);
  EXPECT_EQ(r.matches[0].contact.display_name, "ACME GmbH");
  EXPECT_EQ(r.matches[0].kind, core::MatchKind::company);
  EXPECT_TRUE(svc.lookup("default", "+4921133990345").from_cache);
  Contact direct{.tenant = base::TenantId("default")};
  direct.display_name = "Erika Direkt";
  direct.numbers = {{"work", "+4921133990345", ""}};
  ASSERT_TRUE(shared->create(direct));  // change token moves: the cached company guess is stale
  auto after = svc.lookup("default", "+4921133990345");
  EXPECT_FALSE(after.from_cache);
  ASSERT_EQ(after.matches.size(), 1u);
  EXPECT_EQ(after.matches[0].contact.display_name, "Erika Direkt");
  EXPECT_EQ(after.matches[0].kind, core::MatchKind::exact);
}

}  // namespace
}  // namespace callbridge::directory
