// Upgrades keep data (issue 20, docs/install.md "Upgrades"): each SQLite file callbridged keeps in
// its data dir, written as every earlier released schema did -- the schema SQL below is frozen
// from the release that wrote it, never edited -- with data in it, opened by this build. The data
// must be there afterwards, the file must end at exactly the schema a fresh file gets (no step
// missed or edited), and a migration that fails must leave the file as the older build left it.
// Files with a single released schema so far (audit.db, contacts.db) have no upgrade to test yet;
// their stores refuse newer files (their own tests).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "identity/sqlite/identity_store.hpp"
#include "journal/sqlite/sqlite_journal_store.hpp"
#include "webhooks/sqlite/sqlite_webhook_store.hpp"

namespace callbridge {
namespace {

namespace fs = std::filesystem;

class SchemaUpgrade : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cb-schema-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  // Runs SQL on a file as an older build would have (no callbridge code involved).
  static void exec(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }
  static std::int64_t scalar(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    std::int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    else
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
  }
  // The structure of a file: every table's columns (name, type, not null, default, key) and every
  // index's definition, whitespace and IF NOT EXISTS aside. Equal for equal schemas however reached.
  static std::string structure(const std::string& path) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    std::string out;
    auto rows = [&](const std::string& sql, int cols) {
      std::vector<std::vector<std::string>> r;
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
        ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
        return r;
      }
      while (sqlite3_step(st) == SQLITE_ROW) {
        std::vector<std::string> row;
        for (int i = 0; i < cols; ++i) {
          auto* t = sqlite3_column_text(st, i);
          row.push_back(t ? reinterpret_cast<const char*>(t) : "NULL");
        }
        r.push_back(std::move(row));
      }
      sqlite3_finalize(st);
      return r;
    };
    for (const auto& t : rows("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name", 1)) {
      out += "table " + t[0] + ":";
      for (const auto& c : rows("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('" + t[0] + "')", 5))
        out += " " + c[0] + " " + c[1] + (c[2] == "1" ? " not null" : "") + " default " + c[3] + " pk " + c[4] + ";";
      out += "\n";
    }
    for (const auto& i : rows("SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL ORDER BY name", 2)) {
      std::string sql, word;
      for (char ch : i[1]) sql += (ch == '\n' || ch == '\t') ? ' ' : ch;
      std::string norm;
      for (std::size_t p = 0; p < sql.size(); ++p)
        if (!(sql[p] == ' ' && (norm.empty() || norm.back() == ' '))) norm += sql[p];
      if (auto at = norm.find("IF NOT EXISTS "); at != std::string::npos) norm.erase(at, 14);
      out += "index " + i[0] + ": " + norm + "\n";
    }
    sqlite3_close(db);
    return out;
  }

  fs::path dir_;
};

// ---- journal.db: schema_version table, application id "CBJN" --------------------------------

// Migration 1 as released (the journal table), and the bookkeeping storage::sqlite::migrate wrote.
const char* kJournalV1 = R"sql(
CREATE TABLE journal (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  call_id TEXT NOT NULL,
  party TEXT NOT NULL,
  direction TEXT NOT NULL,
  remote TEXT,
  remote_withheld INTEGER NOT NULL DEFAULT 0,
  remote_name TEXT,
  disposition TEXT NOT NULL,
  started_at INTEGER NOT NULL,   -- microseconds since the Unix epoch, UTC
  answered_at INTEGER,
  ended_at INTEGER NOT NULL,
  hold_s REAL NOT NULL DEFAULT 0,
  transferred_to TEXT,
  transferred_from TEXT,
  contact_id TEXT,
  contact_name TEXT,
  contact_company TEXT,
  contact_source TEXT,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX journal_tenant_party ON journal(tenant, party, id);
CREATE INDEX journal_tenant_started ON journal(tenant, started_at);
CREATE INDEX journal_ended ON journal(ended_at);
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
PRAGMA application_id = 1128417870;
INSERT INTO journal (tenant, call_id, party, direction, remote, disposition, started_at, answered_at, ended_at, note)
  VALUES ('default', '1700000000.1', '100', 'inbound', '+4930555101', 'missed', 1700000000000000, NULL, 1700000010000000, ''),
         ('acme', '1700000100.2', '200', 'outbound', '+4989123456', 'answered', 1700000100000000, 1700000105000000, 1700000200000000, 'called back');
)sql";

// Migration 2 as released: estimated times and the drivers' open-call state.
const char* kJournalV1ToV2 = R"sql(
ALTER TABLE journal ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0;
CREATE TABLE open_state (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
UPDATE schema_version SET version = 2;
INSERT INTO journal (tenant, call_id, party, direction, remote, disposition, started_at, ended_at, estimated)
  VALUES ('default', '1700000300.3', '100', 'inbound', '+4930555102', 'missed', 1700000300000000, 1700000310000000, 1);
INSERT INTO open_state VALUES ('ami:pbx', 'call 1', '{"state":"ringing"}');
)sql";

std::unique_ptr<journal::SqliteJournalStore> open_journal(const std::string& path) {
  auto s = journal::SqliteJournalStore::open(path);
  if (!s) ADD_FAILURE() << s.error().message();
  return s ? std::move(*s) : nullptr;
}

std::vector<ports::StoredEntry> entries(journal::SqliteJournalStore& s, const char* tenant) {
  ports::JournalQuery q{.tenant = base::TenantId(tenant)};
  auto r = s.query(q);
  if (!r) ADD_FAILURE() << r.error().message();
  return r ? *r : std::vector<ports::StoredEntry>{};
}

TEST_F(SchemaUpgrade, JournalVersion1KeepsItsEntriesAndEndsAtTheCurrentSchema) {
  const auto fresh = file("fresh.db"), old = file("journal.db");
  open_journal(fresh);
  exec(old, kJournalV1);
  {
    auto s = open_journal(old);
    ASSERT_TRUE(s);
    auto d = entries(*s, "default");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].entry.party, "100");
    EXPECT_EQ(d[0].entry.remote, "+4930555101");
    EXPECT_EQ(d[0].entry.estimated, 0);  // defaults of the columns added since
    EXPECT_FALSE(d[0].entry.done);
    auto a = entries(*s, "acme");
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].entry.note, "called back");
  }
  EXPECT_EQ(scalar(old, "SELECT version FROM schema_version"), journal::SqliteJournalStore::kSchemaVersion);
  EXPECT_EQ(structure(old), structure(fresh));
  // Migrations run once: a second open changes nothing.
  open_journal(old);
  EXPECT_EQ(structure(old), structure(fresh));
}

TEST_F(SchemaUpgrade, JournalVersion2KeepsEntriesAndOpenCallState) {
  const auto fresh = file("fresh.db"), old = file("journal.db");
  open_journal(fresh);
  exec(old, std::string(kJournalV1) + kJournalV1ToV2);
  {
    auto s = open_journal(old);
    ASSERT_TRUE(s);
    auto d = entries(*s, "default");
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].entry.remote, "+4930555102");  // newest first
    EXPECT_EQ(d[0].entry.estimated, 1);
    auto state = s->load_open_state("ami:pbx");
    ASSERT_TRUE(state);
    ASSERT_EQ(state->size(), 1u);
  }
  EXPECT_EQ(structure(old), structure(fresh));
}

// Migration 3 as released: the `done` mark and the start/missed indexes.
const char* kJournalV2ToV3 = R"sql(
ALTER TABLE journal ADD COLUMN done INTEGER NOT NULL DEFAULT 0;
CREATE INDEX journal_tenant_party_started ON journal(tenant, party, started_at);
CREATE INDEX journal_open_missed ON journal(tenant, party, remote) WHERE disposition = 'missed' AND done = 0;
UPDATE schema_version SET version = 3;
UPDATE journal SET done = 1 WHERE call_id = '1700000000.1';
)sql";

TEST_F(SchemaUpgrade, JournalVersion3GetsTheAnyDeviceAndTrunkColumnsAndKeepsItsEntries) {
  const auto fresh = file("fresh.db"), old = file("journal.db");
  open_journal(fresh);
  exec(old, std::string(kJournalV1) + kJournalV1ToV2 + kJournalV2ToV3);
  {
    auto s = open_journal(old);
    ASSERT_TRUE(s);
    auto d = entries(*s, "default");
    ASSERT_EQ(d.size(), 2u);
    EXPECT_TRUE(d[1].entry.done);  // kept
    for (const auto& e : d) {
      EXPECT_FALSE(e.entry.device_number);  // older calls: the desk phone
      EXPECT_FALSE(e.entry.device_name);
      EXPECT_FALSE(e.entry.private_device);
    }
    model::JournalEntry e{.tenant = base::TenantId("default")};
    e.call_id = "1700000400.4";
    e.party = "103";
    e.direction = model::Direction::outbound;
    e.remote = "+4989123456";
    e.disposition = model::Disposition::answered;
    e.started_at = base::from_micros(1700000400000000);
    e.answered_at = base::from_micros(1700000405000000);
    e.ended_at = base::from_micros(1700000410000000);
    e.device_number = "+491701234567";
    e.device_name = "mobile";
    e.private_device = true;
    e.trunk_channel_s = 19.5;  // schema 5: channel accounting
    s->append(e);
    ASSERT_TRUE(s->flush());
    d = entries(*s, "default");
    ASSERT_EQ(d.size(), 3u);
    EXPECT_EQ(d[0].entry.device_number, "+491701234567");
    EXPECT_EQ(d[0].entry.device_name, "mobile");
    EXPECT_TRUE(d[0].entry.private_device);
    EXPECT_DOUBLE_EQ(d[0].entry.trunk_channel_s, 19.5);
    EXPECT_DOUBLE_EQ(d[1].entry.trunk_channel_s, 0.0);  // older rows: not counted then
  }
  EXPECT_EQ(scalar(old, "SELECT version FROM schema_version"), journal::SqliteJournalStore::kSchemaVersion);
  EXPECT_EQ(structure(old), structure(fresh));
}

TEST_F(SchemaUpgrade, JournalMigrationThatFailsLeavesTheVersion2FileUntouched) {
  const auto old = file("journal.db");
  // A version-2 file that migration 3 cannot take (an index of the name it creates): it must fail
  // as a whole, with the file still at version 2 with all its rows.
  exec(old, std::string(kJournalV1) + kJournalV1ToV2 + "CREATE INDEX journal_open_missed ON journal(note);");
  const auto before = structure(old);
  auto s = journal::SqliteJournalStore::open(old);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find(old), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("migrating to schema 3"), std::string::npos) << s.error().message();
  EXPECT_EQ(scalar(old, "SELECT version FROM schema_version"), 2);
  EXPECT_EQ(scalar(old, "SELECT count(*) FROM journal"), 3);
  EXPECT_EQ(structure(old), before);  // no `done` column, no new index
}

// ---- identity.db: PRAGMA user_version ----------------------------------------------------------

const char* kIdentityV1 = R"sql(
CREATE TABLE IF NOT EXISTS users (
  tenant TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL, display_name TEXT NOT NULL DEFAULT '',
  extensions TEXT NOT NULL DEFAULT '', team TEXT NOT NULL DEFAULT '', PRIMARY KEY (tenant, name));
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, user TEXT NOT NULL, hash TEXT NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER, revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS tokens_by_user ON tokens(tenant, user);
CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY, tenant TEXT NOT NULL, user TEXT NOT NULL, expires_at INTEGER NOT NULL);
PRAGMA user_version = 1;
INSERT INTO users VALUES ('default', 'anna', 'user', 'Anna Berger', '100', 'Sales');
INSERT INTO tokens VALUES ('tok1', 'default', 'anna', 'somehash', 1700000000000000, NULL, 0);
INSERT INTO sessions VALUES ('sess1', 'default', 'anna', 4102444800000000);
)sql";
const char* kIdentityV1ToV2 = R"sql(
CREATE TABLE IF NOT EXISTS tenant_settings (
  tenant TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL DEFAULT '', PRIMARY KEY (tenant, key));
PRAGMA user_version = 2;
INSERT INTO tenant_settings VALUES ('default', 'ui', '{"card":"x"}', 1700000000000000, 'anna');
)sql";
const char* kIdentityV2ToV3 = R"sql(
ALTER TABLE sessions ADD COLUMN token_id TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS sessions_by_token ON sessions(token_id);
CREATE TABLE IF NOT EXISTS credential_generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT OR IGNORE INTO credential_generation(id, value) VALUES (1, 0);
PRAGMA user_version = 3;
UPDATE credential_generation SET value = 7;
)sql";
const char* kIdentityV3ToV4 = R"sql(
CREATE TABLE IF NOT EXISTS user_settings (
  tenant TEXT NOT NULL, user TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, user, key));
PRAGMA user_version = 4;
INSERT INTO user_settings VALUES ('default', 'anna', 'favorites', '["101"]', 1700000000000000);
)sql";
const char* kIdentityV4ToV5 = R"sql(
CREATE TABLE IF NOT EXISTS user_status (
  tenant TEXT NOT NULL, user TEXT NOT NULL, status TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
  until INTEGER, updated_at INTEGER NOT NULL, PRIMARY KEY (tenant, user));
PRAGMA user_version = 5;
INSERT INTO user_status VALUES ('default', 'anna', 'dnd', 'focus time', NULL, 1700000000000000);
)sql";
const char* kIdentityV5ToV6 = R"sql(
CREATE TABLE IF NOT EXISTS user_devices (
  tenant TEXT NOT NULL, user TEXT NOT NULL, name TEXT NOT NULL, number TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, user, name));
CREATE TABLE IF NOT EXISTS user_active_device (
  tenant TEXT NOT NULL, user TEXT NOT NULL, device TEXT NOT NULL, updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL DEFAULT '', PRIMARY KEY (tenant, user));
PRAGMA user_version = 6;
INSERT INTO user_devices VALUES ('default', 'anna', 'home', '+493012345678', 1700000000000000);
INSERT INTO user_active_device VALUES ('default', 'anna', 'home', 1700000000000000, 'anna');
)sql";

void expect_identity_data(identity::SqliteIdentityStore& s, int released) {
  auto u = s.get_user(base::TenantId("default"), "anna");
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->display_name, "Anna Berger");
  auto t = s.get_token("tok1");
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->user, "anna");
  auto sess = s.get_session("sess1");
  ASSERT_TRUE(sess) << sess.error().message();
  EXPECT_EQ(sess->token_id, "");  // sessions from before version 3 have no token
  if (released >= 2) {
    auto ui = s.get_setting(base::TenantId("default"), "ui");
    ASSERT_TRUE(ui && ui->has_value());
    EXPECT_EQ((*ui)->value, "{\"card\":\"x\"}");
  }
  if (released >= 3) EXPECT_EQ(*s.credential_generation(), 7u);
  if (released >= 4) {
    auto fav = s.get_user_setting(base::TenantId("default"), "anna", "favorites");
    ASSERT_TRUE(fav && fav->has_value());
    EXPECT_EQ((*fav)->value, "[\"101\"]");
  }
  if (released >= 5) {
    auto st = s.get_user_status(base::TenantId("default"), "anna");
    ASSERT_TRUE(st && st->has_value());
    EXPECT_EQ((*st)->status, "dnd");
    EXPECT_EQ((*st)->note, "focus time");
  }
  if (released >= 6) {
    // Devices from before version 7 were all the users' own phones: they stay private.
    auto d = s.get_user_devices(base::TenantId("default"), "anna");
    ASSERT_TRUE(d && d->external.size() == 1u);
    EXPECT_EQ(d->external[0].name, "home");
    EXPECT_EQ(d->external[0].number, "+493012345678");
    EXPECT_TRUE(d->external[0].private_device);
    EXPECT_EQ(d->active, "home");
    auto rows = s.list_active_devices();
    ASSERT_TRUE(rows && rows->size() == 1u);
    EXPECT_TRUE(rows->front().private_device);
    ASSERT_TRUE(s.remove_external_device(base::TenantId("default"), "anna", "home"));
  }
  // What the current schema added works on the upgraded file: user settings (4), statuses (5),
  // AnyDevice (6), where users from before have no devices and no choice, company devices (7).
  ASSERT_TRUE(s.put_user_setting(base::TenantId("default"), "anna", "settings", {"{}", base::Timestamp{}, "anna"}));
  if (released < 5)
    EXPECT_EQ(*s.get_user_status(base::TenantId("default"), "anna"), std::nullopt) << "no status before version 5";
  ports::UserStatus away{.status = "away", .note = "in a meeting", .until = base::from_micros(1'800'000'000'000'000),
                         .updated_at = base::from_micros(1'799'990'000'000'000)};
  ASSERT_TRUE(s.put_user_status(base::TenantId("default"), "anna", away));
  EXPECT_EQ(*s.get_user_status(base::TenantId("default"), "anna"), away);
  auto devices = s.get_user_devices(base::TenantId("default"), "anna");
  ASSERT_TRUE(devices) << devices.error().message();
  EXPECT_TRUE(devices->external.empty());
  EXPECT_EQ(devices->active, "");
  ASSERT_TRUE(s.put_external_device(base::TenantId("default"), "anna",
                                    {"mobile", "+491701234567", base::Timestamp{}, /*private_device=*/false}, 5));
  ASSERT_TRUE(s.set_active_device(base::TenantId("default"), "anna", "mobile", base::Timestamp{}, "anna"));
  auto rows = s.list_active_devices();
  ASSERT_TRUE(rows && rows->size() == 1u);
  EXPECT_EQ(rows->front().number, "+491701234567");
  EXPECT_FALSE(rows->front().private_device);
}

TEST_F(SchemaUpgrade, IdentityEveryReleasedVersionKeepsUsersTokensSessionsSettingsAndGetsStatuses) {
  const auto fresh = file("fresh.db");
  ASSERT_TRUE(identity::SqliteIdentityStore::open(fresh));
  const std::vector<std::string> released = {
      kIdentityV1, std::string(kIdentityV1) + kIdentityV1ToV2, std::string(kIdentityV1) + kIdentityV1ToV2 + kIdentityV2ToV3,
      std::string(kIdentityV1) + kIdentityV1ToV2 + kIdentityV2ToV3 + kIdentityV3ToV4,
      std::string(kIdentityV1) + kIdentityV1ToV2 + kIdentityV2ToV3 + kIdentityV3ToV4 + kIdentityV4ToV5,
      std::string(kIdentityV1) + kIdentityV1ToV2 + kIdentityV2ToV3 + kIdentityV3ToV4 + kIdentityV4ToV5 +
          kIdentityV5ToV6};
  for (std::size_t i = 0; i < released.size(); ++i) {
    const int version = static_cast<int>(i) + 1;
    SCOPED_TRACE("identity.db version " + std::to_string(version));
    const auto old = file("identity-v" + std::to_string(version) + ".db");
    exec(old, released[i]);
    ASSERT_EQ(scalar(old, "PRAGMA user_version"), version);
    {
      auto s = identity::SqliteIdentityStore::open(old);
      ASSERT_TRUE(s) << s.error().message();
      expect_identity_data(**s, version);
    }
    EXPECT_EQ(scalar(old, "PRAGMA user_version"), identity::SqliteIdentityStore::kSchemaVersion);
    EXPECT_EQ(structure(old), structure(fresh));
  }
}

TEST_F(SchemaUpgrade, IdentityMigrationThatFailsHalfwayLeavesTheVersion1FileUntouched) {
  const auto old = file("identity.db");
  // Step 1->2 would succeed, step 2->3 cannot (sessions has a token_id column already): nothing of
  // either may stay, the file is still version 1 with its rows.
  exec(old, std::string(kIdentityV1) + "ALTER TABLE sessions ADD COLUMN token_id TEXT;");
  const auto before = structure(old);
  auto s = identity::SqliteIdentityStore::open(old);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("migrating to schema 3"), std::string::npos) << s.error().message();
  EXPECT_EQ(scalar(old, "PRAGMA user_version"), 1);
  EXPECT_EQ(structure(old), before);  // no tenant_settings table from step 1->2
  EXPECT_EQ(scalar(old, "SELECT count(*) FROM users"), 1);
  EXPECT_EQ(scalar(old, "SELECT count(*) FROM tokens"), 1);
}

// ---- webhooks.db: schema_version table, application id "CBWH" -------------------------------

// Migration 1 as released (hooks and their delivery log), the bookkeeping storage::sqlite::migrate
// wrote, and a hook with a logged delivery that waits for its retry.
const char* kWebhooksV1 = R"sql(
CREATE TABLE hooks (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,         -- event types, space-separated
  body_template TEXT NOT NULL,  -- '' = the default body
  description TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at INTEGER NOT NULL,  -- microseconds since the Unix epoch, UTC
  created_by TEXT NOT NULL
);
CREATE INDEX hooks_tenant ON hooks(tenant);
CREATE TABLE deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order: newest first, pruning per hook
  id TEXT NOT NULL UNIQUE,
  hook_id TEXT NOT NULL REFERENCES hooks(id) ON DELETE CASCADE,
  tenant TEXT NOT NULL,
  event_type TEXT NOT NULL,
  event_id TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  http_status INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX deliveries_hook ON deliveries(hook_id, seq);
CREATE INDEX deliveries_updated ON deliveries(updated_at);
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
PRAGMA application_id = 1128421192;
INSERT INTO hooks VALUES ('wh_1', 'acme', 'https://crm.example/hook', 'call.ringing call.ended', '',
  'CRM', 'whsec_secret', 1700000000000000, 'adm');
INSERT INTO deliveries (id, hook_id, tenant, event_type, event_id, state, attempts, http_status, last_error,
  created_at, updated_at)
  VALUES ('dl_1', 'wh_1', 'acme', 'call.ringing', 'ev_1', 'retrying', 1, 503, 'HTTP 503', 1700000001000000,
          1700000001000000);
)sql";

TEST_F(SchemaUpgrade, WebhooksVersion1KeepsHooksAndTheirLogAndEndsAtTheCurrentSchema) {
  const auto fresh = file("fresh.db");
  ASSERT_TRUE(webhooks::SqliteWebhookStore::open(fresh));
  const auto old = file("webhooks.db");
  exec(old, kWebhooksV1);
  {
    auto s = webhooks::SqliteWebhookStore::open(old);
    ASSERT_TRUE(s) << s.error().message();
    auto hooks = (*s)->list(base::TenantId("acme"));
    ASSERT_TRUE(hooks);
    ASSERT_EQ(hooks->size(), 1u);
    EXPECT_EQ((*hooks)[0].secret, "whsec_secret");
    EXPECT_EQ((*hooks)[0].events, (std::vector<std::string>{"call.ringing", "call.ended"}));
    auto log = (*s)->deliveries(base::TenantId("acme"), "wh_1", 10);
    ASSERT_TRUE(log);
    ASSERT_EQ(log->size(), 1u);
    EXPECT_EQ((*log)[0].state, "retrying");
    // What schema 2 added works on the upgraded file; the version 1 build saved nothing, so its
    // delivery that was waiting for a retry is closed as lost at the first start.
    auto taken = (*s)->take_pending(base::from_micros(1700000100000000), "lost in the upgrade");
    ASSERT_TRUE(taken) << taken.error().message();
    EXPECT_TRUE(taken->empty());
    EXPECT_EQ((*(*s)->deliveries(base::TenantId("acme"), "wh_1", 10))[0].state, "failed");
  }
  EXPECT_EQ(scalar(old, "SELECT version FROM schema_version"), webhooks::SqliteWebhookStore::kSchemaVersion);
  EXPECT_EQ(structure(old), structure(fresh));
}

}  // namespace
}  // namespace callbridge
