#include "identity/sqlite/identity_store.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

namespace callbridge::identity {
namespace {

base::Timestamp at(std::int64_t s) { return base::from_micros(s * 1'000'000); }

std::unique_ptr<SqliteIdentityStore> mem() {
  auto s = SqliteIdentityStore::open(":memory:");
  EXPECT_TRUE(s.has_value());
  return std::move(*s);
}

TEST(IdentityStore, UsersArePerTenant) {
  auto s = mem();
  ASSERT_TRUE(s->put_user({"t1", "anna", "user", "Anna", {"100", "101"}, "sales"}));
  ASSERT_TRUE(s->put_user({"t2", "anna", "admin", "Other Anna", {"100"}, ""}));
  auto a = s->get_user("t1", "anna");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->extensions, (std::vector<std::string>{"100", "101"}));
  EXPECT_EQ(a->team, "sales");
  EXPECT_EQ(s->get_user("t2", "anna")->role, "admin");
  EXPECT_EQ(s->list_users("t1")->size(), 1u);
  EXPECT_EQ(s->get_user("t3", "anna").error().code(), base::Errc::not_found);
  // upsert
  ASSERT_TRUE(s->put_user({"t1", "anna", "supervisor", "Anna", {"100"}, ""}));
  EXPECT_EQ(s->get_user("t1", "anna")->role, "supervisor");
  EXPECT_FALSE(s->put_user({"t1", "x", "root", "", {}, ""}));
  EXPECT_FALSE(s->put_user({"t1", "bad name", "user", "", {}, ""}));
  EXPECT_FALSE(s->put_user({"t1", "y", "user", "", {"1,2"}, ""}));
  // Device names the PBX dials (issue 12): "PJSIP/101" reached AMI as Channel: PJSIP/PJSIP/101.
  for (const std::string& bad : std::vector<std::string>{"PJSIP/101", "../x", "a.b", "1 0", "10\n1", "100@ctx", std::string(33, '1'), std::string()}) {
    auto st = s->put_user({"t1", "y", "user", "", {bad}, ""});
    ASSERT_FALSE(st) << bad;
    EXPECT_NE(st.error().message().find("is not an extension"), std::string::npos) << st.error().message();
  }
  EXPECT_TRUE(s->put_user({"t1", "y", "user", "", {"101", "*97", "#1", "+4930", "desk_1", "a-B", std::string(32, '9')}, ""}));
  ASSERT_TRUE(s->remove_user("t1", "anna"));
  EXPECT_FALSE(s->remove_user("t1", "anna"));
}

// Operators live in the reserved tenant "_operator", which holds nothing else.
TEST(IdentityStore, OperatorsOnlyInTheReservedTenant) {
  auto s = std::move(*SqliteIdentityStore::open(":memory:"));
  EXPECT_TRUE(s->put_user({"_operator", "ops", "operator", "", {}, ""}));
  EXPECT_EQ(s->get_user("_operator", "ops")->role, "operator");
  auto in_company = s->put_user({"t1", "ops", "operator", "", {}, ""});
  ASSERT_FALSE(in_company);
  EXPECT_EQ(in_company.error().code(), base::Errc::invalid_argument);
  EXPECT_FALSE(s->put_user({"_operator", "anna", "admin", "", {}, ""}));
  EXPECT_FALSE(s->put_user({"_operator", "ben", "user", "", {}, ""}));
}

TEST(IdentityStore, TokensAreHashedAndRevocablePerTenant) {
  auto s = mem();
  ASSERT_TRUE(s->put_user({"t1", "anna", "user", "", {"100"}, ""}));
  EXPECT_FALSE(issue_token(*s, "t1", "nobody", at(1)));
  auto tok = issue_token(*s, "t1", "anna", at(1));
  ASSERT_TRUE(tok) << tok.error().message();
  auto parts = parse_token(tok->token);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->id, tok->id);
  auto rec = s->get_token(tok->id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->tenant, "t1");
  EXPECT_EQ(rec->hash.find(parts->secret), std::string::npos);  // never stored in clear
  EXPECT_TRUE(rec->hash.starts_with("$blake2b256$")) << rec->hash;
  EXPECT_FALSE(s->secret_check_is_slow(rec->hash));
  EXPECT_TRUE(verify_secret(rec->hash, parts->secret));
  EXPECT_FALSE(verify_secret(rec->hash, parts->secret + "0"));
  EXPECT_FALSE(verify_secret(rec->hash, parts->secret.substr(1)));
  EXPECT_FALSE(verify_secret(rec->hash.substr(0, rec->hash.size() - 1), parts->secret));
  EXPECT_FALSE(verify_secret("", parts->secret));
  EXPECT_FALSE(verify_secret("plain", "plain"));
  EXPECT_NE(rec->hash.substr(12), s->fast_hash_hex(parts->secret));  // domain-separated from session ids
  EXPECT_EQ(s->revoke_token("t2", tok->id).error().code(), base::Errc::not_found);
  ASSERT_TRUE(s->revoke_token("t1", tok->id));
  EXPECT_TRUE(s->get_token(tok->id)->revoked);
}

// Tokens issued before digests keep their argon2id hash until their first successful check, which
// stores the digest instead; a wrong secret changes nothing.
TEST(IdentityStore, Argon2TokensStillVerifyAndAreUpgradedToDigests) {
  auto s = mem();
  ASSERT_TRUE(s->put_user({"t1", "anna", "user", "", {"100"}, ""}));
  const std::string secret(48, 'c');
  char legacy[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str(legacy, secret.data(), secret.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE), 0);
  TokenRecord t{.id = "00112233aabbccdd", .tenant = base::TenantId("t1")};
  t.user = "anna";
  t.hash = legacy;
  t.created_at = at(1);
  ASSERT_TRUE(s->insert_token(t));
  EXPECT_TRUE(s->secret_check_is_slow(legacy));
  EXPECT_TRUE(verify_secret(legacy, secret));

  auto wrong = s->upgrade_token_hash(t.id, legacy, secret + "0");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), base::Errc::invalid_argument);
  EXPECT_EQ(s->get_token(t.id)->hash, legacy);

  ASSERT_TRUE(s->upgrade_token_hash(t.id, legacy, secret));
  auto rec = s->get_token(t.id);
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->hash.starts_with("$blake2b256$")) << rec->hash;
  EXPECT_FALSE(s->secret_check_is_slow(rec->hash));
  EXPECT_TRUE(verify_secret(rec->hash, secret));
  EXPECT_FALSE(verify_secret(rec->hash, secret + "0"));
  // A second upgrade from the stale hash does not touch the row.
  ASSERT_TRUE(s->upgrade_token_hash(t.id, legacy, secret));
  EXPECT_EQ(s->get_token(t.id)->hash, rec->hash);
}

TEST(IdentityStore, ParseTokenRejectsGarbage) {
  EXPECT_FALSE(parse_token(""));
  EXPECT_FALSE(parse_token("cbt_"));
  EXPECT_FALSE(parse_token("cbt_abc"));
  EXPECT_FALSE(parse_token("cbt_abc_"));
  EXPECT_FALSE(parse_token("xyz_ab_cd"));
  EXPECT_FALSE(parse_token("cbt_zz_cd"));
  EXPECT_FALSE(parse_token("cbt_ab_" + std::string(300, 'a')));
  EXPECT_TRUE(parse_token("cbt_ab_cd"));
}

TEST(IdentityStore, Sessions) {
  auto s = mem();
  ASSERT_TRUE(s->insert_session("h1", {"t1", "anna", at(100)}));
  ASSERT_TRUE(s->insert_session("h2", {"t1", "anna", at(50)}));
  EXPECT_EQ(s->get_session("h1")->user, "anna");
  EXPECT_EQ(*s->purge_sessions(at(60)), 1u);
  EXPECT_FALSE(s->get_session("h2"));
  ASSERT_TRUE(s->delete_session("h1"));
  EXPECT_FALSE(s->get_session("h1"));
}

TEST(IdentityStore, FileSurvivesReopen) {
  auto path = std::string(::testing::TempDir()) + "identity_reopen.db";
  std::remove(path.c_str());
  {
    auto s = SqliteIdentityStore::open(path);
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->put_user({"default", "root", "admin", "", {}, ""}));
  }
  auto s = SqliteIdentityStore::open(path);
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->get_user("default", "root")->role, "admin");
}

TEST(IdentityStore, TenantSettingsArePerTenantAndBounded) {
  auto s = mem();
  EXPECT_FALSE(s->get_setting("t1", "ui")->has_value());
  ASSERT_TRUE(s->put_setting("t1", "ui", {R"({"a":1})", at(5), "root"}));
  ASSERT_TRUE(s->put_setting("t2", "ui", {R"({"b":2})", at(6), "boss"}));
  auto v = s->get_setting("t1", "ui");
  ASSERT_TRUE(v && *v);
  EXPECT_EQ((*v)->value, R"({"a":1})");
  EXPECT_EQ((*v)->updated_at, at(5));
  EXPECT_EQ((*v)->updated_by, "root");
  ASSERT_TRUE(s->put_setting("t1", "ui", {R"({"a":3})", at(7), "root"}));  // replaces
  EXPECT_EQ((*s->get_setting("t1", "ui"))->value, R"({"a":3})");
  EXPECT_EQ((*s->get_setting("t2", "ui"))->value, R"({"b":2})");
  EXPECT_EQ(s->put_setting("t1", "ui", {std::string(SqliteIdentityStore::kMaxSettingBytes + 1, 'x'), at(8), ""})
                .error()
                .code(),
            base::Errc::invalid_argument);
  EXPECT_FALSE(s->put_setting("t1", "bad key", {"{}", at(8), ""}));
  ASSERT_TRUE(s->delete_setting("t1", "ui"));
  EXPECT_FALSE(s->get_setting("t1", "ui")->has_value());
}

TEST(IdentityStore, SchemaOneIsMigratedToTwoKeepingUsers) {
  auto path = std::string(::testing::TempDir()) + "identity_v1.db";
  std::remove(path.c_str());
  {
    // What a session-1 callbridged wrote: the version 1 schema.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE users (tenant TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL, "
                           "display_name TEXT NOT NULL DEFAULT '', extensions TEXT NOT NULL DEFAULT '', team TEXT "
                           "NOT NULL DEFAULT '', PRIMARY KEY (tenant, name));"
                           "CREATE TABLE tokens (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, user TEXT NOT NULL, "
                           "hash TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER, revoked INTEGER "
                           "NOT NULL DEFAULT 0);"
                           "CREATE TABLE sessions (id_hash TEXT PRIMARY KEY, tenant TEXT NOT NULL, user TEXT NOT "
                           "NULL, expires_at INTEGER NOT NULL);"
                           "INSERT INTO users VALUES('default','root','admin','','','');"
                           "PRAGMA user_version = 1;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = SqliteIdentityStore::open(path);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ((*s)->get_user("default", "root")->role, "admin");
  ASSERT_TRUE((*s)->put_setting("default", "ui", {"{}", at(1), "root"}));
  s->reset();
  auto again = SqliteIdentityStore::open(path);
  ASSERT_TRUE(again);
  EXPECT_EQ((*(*again)->get_setting("default", "ui"))->value, "{}");
  // ... and on to 3: old sessions keep working, without a token.
  ASSERT_TRUE((*again)->insert_session("h1", {"default", "root", at(100)}));
  EXPECT_EQ((*again)->get_session("h1")->token_id, "");
  EXPECT_TRUE((*again)->credential_generation());
  // ... and on to 4: per-user settings.
  ASSERT_TRUE((*again)->put_user_setting("default", "root", "settings", {"{\"theme\":\"dark\"}", at(2), "root"}));
  EXPECT_EQ((*(*again)->get_user_setting("default", "root", "settings"))->value, "{\"theme\":\"dark\"}");
}

// Issue 13: each user's own settings; gone with the user, never written for a missing one.
TEST(IdentityStore, UserSettingsBelongToTheirUserAndLeaveWithThem) {
  auto s = SqliteIdentityStore::open(":memory:");
  ASSERT_TRUE(s);
  auto& d = **s;
  ASSERT_TRUE(d.put_user({"t1", "anna", "user", "", {"100"}, ""}));
  ASSERT_TRUE(d.put_user({"t2", "anna", "user", "", {"100"}, ""}));
  EXPECT_FALSE(*d.get_user_setting("t1", "anna", "settings"));
  ASSERT_TRUE(d.put_user_setting("t1", "anna", "settings", {"{\"a\":1}", at(1), "anna"}));
  ASSERT_TRUE(d.put_user_setting("t1", "anna", "settings", {"{\"a\":2}", at(2), "anna"}));  // replaces
  auto got = d.get_user_setting("t1", "anna", "settings");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->value, "{\"a\":2}");
  EXPECT_EQ((*got)->updated_at, at(2));
  EXPECT_FALSE(*d.get_user_setting("t2", "anna", "settings")) << "the other tenant's Anna";
  EXPECT_EQ(d.put_user_setting("t1", "nobody", "settings", {"{}", at(1), ""}).error().code(), base::Errc::not_found);
  EXPECT_EQ(d.put_user_setting("t1", "anna", "bad key!", {"{}", at(1), ""}).error().code(), base::Errc::invalid_argument);
  EXPECT_EQ(d.put_user_setting("t1", "anna", "big", {std::string(SqliteIdentityStore::kMaxUserSettingBytes + 1, 'x'), at(1), ""})
                .error()
                .code(),
            base::Errc::invalid_argument);
  ASSERT_TRUE(d.remove_user("t1", "anna"));
  ASSERT_TRUE(d.put_user({"t1", "anna", "user", "", {"100"}, ""}));
  EXPECT_FALSE(*d.get_user_setting("t1", "anna", "settings")) << "removed with the user";
}

// Issue 17: a user's status belongs to that user of that tenant, is replaced by the next one,
// cleared, listed per tenant, and leaves with the user.
TEST(IdentityStore, UserStatusesBelongToTheirUserAndLeaveWithThem) {
  auto s = SqliteIdentityStore::open(":memory:");
  ASSERT_TRUE(s);
  auto& d = **s;
  ASSERT_TRUE(d.put_user({"t1", "anna", "user", "", {"100"}, ""}));
  ASSERT_TRUE(d.put_user({"t1", "ben", "user", "", {"101"}, ""}));
  ASSERT_TRUE(d.put_user({"t2", "anna", "user", "", {"100"}, ""}));
  EXPECT_EQ(*d.get_user_status("t1", "anna"), std::nullopt);
  ports::UserStatus away{.status = "away", .note = "in a meeting", .until = at(60), .updated_at = at(1)};
  ASSERT_TRUE(d.put_user_status("t1", "anna", away));
  EXPECT_EQ(*d.get_user_status("t1", "anna"), away);
  ports::UserStatus busy{.status = "busy", .note = "", .until = std::nullopt, .updated_at = at(2)};
  ASSERT_TRUE(d.put_user_status("t1", "anna", busy));  // replaces, until back to none
  EXPECT_EQ(*d.get_user_status("t1", "anna"), busy);
  ASSERT_TRUE(d.put_user_status("t1", "ben", away));
  EXPECT_EQ(*d.get_user_status("t2", "anna"), std::nullopt) << "the other tenant's Anna";
  auto all = d.list_user_statuses("t1");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].first, "anna");
  EXPECT_EQ((*all)[1].second, away);
  EXPECT_TRUE(d.list_user_statuses("t2")->empty());
  EXPECT_EQ(d.put_user_status("t1", "nobody", away).error().code(), base::Errc::not_found);
  ASSERT_TRUE(d.clear_user_status("t1", "ben"));
  EXPECT_EQ(*d.get_user_status("t1", "ben"), std::nullopt);
  ASSERT_TRUE(d.remove_user("t1", "anna"));
  ASSERT_TRUE(d.put_user({"t1", "anna", "user", "", {"100"}, ""}));
  EXPECT_EQ(*d.get_user_status("t1", "anna"), std::nullopt) << "removed with the user";
}

// Regression (issue 12, "revoked tokens live on"): a session made from a token outlived the
// token's revocation, and a revocation by another process (`callbridge token revoke`) went
// unnoticed by the daemon's cache. Two connections on one file stand for daemon and CLI.
TEST(IdentityStore, RevokingATokenEndsItsSessionsAndMovesTheGenerationForEveryConnection) {
  auto path = std::string(::testing::TempDir()) + "identity_revoke.db";
  std::remove(path.c_str());
  auto daemon = SqliteIdentityStore::open(path);
  auto cli = SqliteIdentityStore::open(path);
  ASSERT_TRUE(daemon && cli);
  auto& d = **daemon;
  auto& c = **cli;
  ASSERT_TRUE(d.put_user({"t1", "anna", "user", "", {"100"}, ""}));
  auto tok = issue_token(d, "t1", "anna", at(1));
  auto other = issue_token(d, "t1", "anna", at(1));
  ASSERT_TRUE(tok && other);
  ASSERT_TRUE(d.insert_session("from-tok", {"t1", "anna", at(100), tok->id}));
  ASSERT_TRUE(d.insert_session("from-other", {"t1", "anna", at(100), other->id}));
  ASSERT_TRUE(d.insert_session("no-token", {"t1", "anna", at(100)}));
  const auto g0 = d.credential_generation();
  ASSERT_TRUE(g0);
  ASSERT_TRUE(c.revoke_token("t1", tok->id));
  EXPECT_GT(*d.credential_generation(), *g0);
  EXPECT_FALSE(d.get_session("from-tok"));
  EXPECT_TRUE(d.get_session("from-other"));
  EXPECT_TRUE(d.get_session("no-token"));
  // A failed revocation changes nothing.
  const auto g1 = *d.credential_generation();
  EXPECT_FALSE(c.revoke_token("t2", other->id));
  EXPECT_EQ(*d.credential_generation(), g1);
  EXPECT_TRUE(d.get_session("from-other"));
  // User changes and removals move it too (cached principals carry role and extensions).
  ASSERT_TRUE(c.put_user({"t1", "anna", "admin", "", {"100"}, ""}));
  EXPECT_GT(*d.credential_generation(), g1);
  const auto g2 = *d.credential_generation();
  ASSERT_TRUE(c.remove_user("t1", "anna"));
  EXPECT_GT(*d.credential_generation(), g2);
  EXPECT_FALSE(d.get_session("from-other"));
}

}  // namespace
}  // namespace callbridge::identity
