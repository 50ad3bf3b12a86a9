// The ports::IdentityStore and ports::TenantStore contract, one body per behaviour run against
// both backends: SqliteIdentityStore/SqliteTenantStore (identity.db in a temp dir) and
// PgIdentityStore/PgTenantStore (a real PostgreSQL, fresh database per test). Users per tenant,
// the operator tenant, tokens (digests, argon2id upgrade, revocation ending sessions and moving
// the generation seen by another connection), sessions, tenant and user settings, statuses,
// AnyDevice devices, tenant specs, and that all of it survives a reopen.
#include <gtest/gtest.h>
#include <sodium.h>

#include "identity/sqlite/identity_store.hpp"
#include "identity/sqlite/sqlite_tenant_store.hpp"
#include "stores/backend_fixture.hpp"
#ifdef CALLBRIDGE_TEST_POSTGRES
#include "identity/postgres/pg_identity_store.hpp"
#endif

namespace callbridge::identity {
namespace {

base::Timestamp at(std::int64_t s) { return base::from_micros(s * 1'000'000); }
const base::TenantId kT1("t1");
const base::TenantId kT2("t2");

class IdentityContract : public callbridge::testing::BackendTest {
 protected:
  // A new store on this test's database: two calls stand for two processes (daemon and CLI) or
  // two nodes.
  std::unique_ptr<ports::IdentityStore> open() {
#ifdef CALLBRIDGE_TEST_POSTGRES
    if (postgres()) {
      auto s = PgIdentityStore::open({.conninfo = dsn()});
      EXPECT_TRUE(s) << s.error().to_string();
      return s ? std::move(*s) : nullptr;
    }
#endif
    auto s = SqliteIdentityStore::open(sqlite_path("identity.db"));
    EXPECT_TRUE(s) << s.error().to_string();
    return s ? std::move(*s) : nullptr;
  }
  std::unique_ptr<ports::TenantStore> open_tenants() {
#ifdef CALLBRIDGE_TEST_POSTGRES
    if (postgres()) {
      auto s = PgTenantStore::open({.conninfo = dsn()});
      EXPECT_TRUE(s) << s.error().to_string();
      return s ? std::move(*s) : nullptr;
    }
#endif
    auto s = SqliteTenantStore::open(sqlite_path("identity.db"));
    EXPECT_TRUE(s) << s.error().to_string();
    return s ? std::move(*s) : nullptr;
  }
};

TEST_P(IdentityContract, UsersArePerTenant) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->put_user({kT1, "anna", "user", "Anna", {"100", "101"}, "sales"}));
  ASSERT_TRUE(s->put_user({kT2, "anna", "admin", "Other Anna", {"100"}, ""}));
  auto a = s->get_user(kT1, "anna");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->extensions, (std::vector<std::string>{"100", "101"}));
  EXPECT_EQ(a->team, "sales");
  EXPECT_EQ(s->get_user(kT2, "anna")->role, "admin");
  EXPECT_EQ(s->list_users(kT1)->size(), 1u);
  EXPECT_EQ(s->get_user(base::TenantId("t3"), "anna").error().code(), base::Errc::not_found);
  // upsert
  ASSERT_TRUE(s->put_user({kT1, "anna", "supervisor", "Anna", {"100"}, ""}));
  EXPECT_EQ(s->get_user(kT1, "anna")->role, "supervisor");
  EXPECT_FALSE(s->put_user({kT1, "x", "root", "", {}, ""}));
  EXPECT_FALSE(s->put_user({kT1, "bad name", "user", "", {}, ""}));
  EXPECT_FALSE(s->put_user({kT1, "y", "user", "", {"1,2"}, ""}));
  // Device names the PBX dials (issue 12): "PJSIP/101" reached AMI as Channel: PJSIP/PJSIP/101.
  for (const std::string& bad :
       std::vector<std::string>{"PJSIP/101", "../x", "a.b", "1 0", "10\n1", "100@ctx", std::string(33, '1'), std::string()}) {
    auto st = s->put_user({kT1, "y", "user", "", {bad}, ""});
    ASSERT_FALSE(st) << bad;
    EXPECT_NE(st.error().message().find("is not an extension"), std::string::npos) << st.error().message();
  }
  EXPECT_TRUE(s->put_user({kT1, "y", "user", "", {"101", "*97", "#1", "+4930", "desk_1", "a-B", std::string(32, '9')}, ""}));
  // Listed by name, bytewise (uppercase before lowercase, whatever the database's locale).
  ASSERT_TRUE(s->put_user({kT1, "Zed", "user", "", {}, ""}));
  auto all = s->list_users(kT1);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "Zed");
  EXPECT_EQ((*all)[1].name, "anna");
  EXPECT_EQ((*all)[2].name, "y");
  ASSERT_TRUE(s->remove_user(kT1, "anna"));
  EXPECT_EQ(s->remove_user(kT1, "anna").error().code(), base::Errc::not_found);
}

// Operators live in the reserved tenant "_operator", which holds nothing else.
TEST_P(IdentityContract, OperatorsOnlyInTheReservedTenant) {
  auto s = open();
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->put_user({base::TenantId("_operator"), "ops", "operator", "", {}, ""}));
  EXPECT_EQ(s->get_user(base::TenantId("_operator"), "ops")->role, "operator");
  auto in_company = s->put_user({kT1, "ops", "operator", "", {}, ""});
  ASSERT_FALSE(in_company);
  EXPECT_EQ(in_company.error().code(), base::Errc::invalid_argument);
  EXPECT_FALSE(s->put_user({base::TenantId("_operator"), "anna", "admin", "", {}, ""}));
  EXPECT_FALSE(s->put_user({base::TenantId("_operator"), "ben", "user", "", {}, ""}));
}

TEST_P(IdentityContract, TokensAreHashedAndRevocablePerTenant) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->put_user({kT1, "anna", "user", "", {"100"}, ""}));
  EXPECT_EQ(s->issue_token(kT1, "nobody", at(1), {}).error().code(), base::Errc::not_found);
  auto tok = s->issue_token(kT1, "anna", at(1), at(99));
  ASSERT_TRUE(tok) << tok.error().message();
  auto parts = parse_token(tok->token);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->id, tok->id);
  auto rec = s->get_token(tok->id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->tenant, "t1");
  EXPECT_EQ(rec->user, "anna");
  EXPECT_EQ(rec->created_at, at(1));
  EXPECT_EQ(rec->expires_at, at(99));
  EXPECT_FALSE(rec->revoked);
  EXPECT_EQ(rec->hash.find(parts->secret), std::string::npos);  // never stored in clear
  EXPECT_TRUE(rec->hash.starts_with("$blake2b256$")) << rec->hash;
  EXPECT_FALSE(s->secret_check_is_slow(rec->hash));
  EXPECT_TRUE(s->verify_secret(rec->hash, parts->secret));
  EXPECT_FALSE(s->verify_secret(rec->hash, parts->secret + "0"));
  EXPECT_FALSE(s->verify_secret(rec->hash.substr(0, rec->hash.size() - 1), parts->secret));
  EXPECT_FALSE(s->verify_secret("", parts->secret));
  EXPECT_NE(rec->hash.substr(12), s->fast_hash_hex(parts->secret));  // domain-separated from session ids
  auto second = s->issue_token(kT1, "anna", at(2), {});
  ASSERT_TRUE(second);
  EXPECT_FALSE(s->get_token(second->id)->expires_at);
  auto listed = s->list_tokens(kT1);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, tok->id);  // by creation time
  EXPECT_TRUE(s->list_tokens(kT2)->empty());
  EXPECT_EQ(s->revoke_token(kT2, tok->id).error().code(), base::Errc::not_found);
  ASSERT_TRUE(s->revoke_token(kT1, tok->id));
  EXPECT_TRUE(s->get_token(tok->id)->revoked);
  EXPECT_EQ(s->get_token("0000000000000000").error().code(), base::Errc::not_found);
}

// Tokens issued before digests keep their argon2id hash until their first successful check, which
// stores the digest instead; a wrong secret changes nothing.
TEST_P(IdentityContract, Argon2TokensStillVerifyAndAreUpgradedToDigests) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->put_user({kT1, "anna", "user", "", {"100"}, ""}));
  const std::string secret(48, 'c');
  char legacy[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str(legacy, secret.data(), secret.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE),
            0);
  TokenRecord t{.id = "00112233aabbccdd", .tenant = kT1};
  t.user = "anna";
  t.hash = legacy;
  t.created_at = at(1);
  ASSERT_TRUE(s->insert_token(t));
  EXPECT_TRUE(s->secret_check_is_slow(legacy));
  EXPECT_TRUE(s->verify_secret(legacy, secret));

  auto wrong = s->upgrade_token_hash(t.id, legacy, secret + "0");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), base::Errc::invalid_argument);
  EXPECT_EQ(s->get_token(t.id)->hash, legacy);

  ASSERT_TRUE(s->upgrade_token_hash(t.id, legacy, secret));
  auto rec = s->get_token(t.id);
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->hash.starts_with("$blake2b256$")) << rec->hash;
  EXPECT_TRUE(s->verify_secret(rec->hash, secret));
  // A second upgrade from the stale hash does not touch the row.
  ASSERT_TRUE(s->upgrade_token_hash(t.id, legacy, secret));
  EXPECT_EQ(s->get_token(t.id)->hash, rec->hash);
}

TEST_P(IdentityContract, Sessions) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->insert_session("h1", {kT1, "anna", at(100)}));
  ASSERT_TRUE(s->insert_session("h2", {kT1, "anna", at(50), "tokid"}));
  auto h1 = s->get_session("h1");
  ASSERT_TRUE(h1);
  EXPECT_EQ(h1->user, "anna");
  EXPECT_EQ(h1->tenant, "t1");
  EXPECT_EQ(h1->expires_at, at(100));
  EXPECT_EQ(h1->token_id, "");
  EXPECT_EQ(s->get_session("h2")->token_id, "tokid");
  EXPECT_EQ(*s->purge_sessions(at(60)), 1u);
  EXPECT_EQ(s->get_session("h2").error().code(), base::Errc::not_found);
  ASSERT_TRUE(s->delete_session("h1"));
  EXPECT_FALSE(s->get_session("h1"));
  EXPECT_TRUE(s->delete_session("h1")) << "deleting what is gone is fine";
}

TEST_P(IdentityContract, TenantSettingsArePerTenantAndBounded) {
  auto s = open();
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->get_setting(kT1, "ui")->has_value());
  ASSERT_TRUE(s->put_setting(kT1, "ui", {R"({"a":1})", at(5), "root"}));
  ASSERT_TRUE(s->put_setting(kT2, "ui", {R"({"b":2})", at(6), "boss"}));
  auto v = s->get_setting(kT1, "ui");
  ASSERT_TRUE(v && *v);
  EXPECT_EQ((*v)->value, R"({"a":1})");
  EXPECT_EQ((*v)->updated_at, at(5));
  EXPECT_EQ((*v)->updated_by, "root");
  ASSERT_TRUE(s->put_setting(kT1, "ui", {R"({"a":3})", at(7), "root"}));  // replaces
  EXPECT_EQ((*s->get_setting(kT1, "ui"))->value, R"({"a":3})");
  EXPECT_EQ((*s->get_setting(kT2, "ui"))->value, R"({"b":2})");
  // The largest value fits; one byte more does not.
  ASSERT_TRUE(s->put_setting(kT1, "big", {std::string(kMaxSettingBytes, 'x'), at(8), ""}));
  EXPECT_EQ((*s->get_setting(kT1, "big"))->value.size(), kMaxSettingBytes);
  EXPECT_EQ(s->put_setting(kT1, "ui", {std::string(kMaxSettingBytes + 1, 'x'), at(8), ""}).error().code(),
            base::Errc::invalid_argument);
  EXPECT_FALSE(s->put_setting(kT1, "bad key", {"{}", at(8), ""}));
  ASSERT_TRUE(s->delete_setting(kT1, "ui"));
  EXPECT_FALSE(s->get_setting(kT1, "ui")->has_value());
  EXPECT_TRUE(s->get_setting(kT2, "ui")->has_value());
}

// Issue 13: each user's own settings; gone with the user, never written for a missing one.
TEST_P(IdentityContract, UserSettingsBelongToTheirUserAndLeaveWithThem) {
  auto s = open();
  ASSERT_TRUE(s);
  auto& d = *s;
  ASSERT_TRUE(d.put_user({kT1, "anna", "user", "", {"100"}, ""}));
  ASSERT_TRUE(d.put_user({kT2, "anna", "user", "", {"100"}, ""}));
  EXPECT_FALSE(*d.get_user_setting(kT1, "anna", "settings"));
  ASSERT_TRUE(d.put_user_setting(kT1, "anna", "settings", {"{\"a\":1}", at(1), "anna"}));
  ASSERT_TRUE(d.put_user_setting(kT1, "anna", "settings", {"{\"a\":2}", at(2), "anna"}));  // replaces
  auto got = d.get_user_setting(kT1, "anna", "settings");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->value, "{\"a\":2}");
  EXPECT_EQ((*got)->updated_at, at(2));
  EXPECT_EQ((*got)->updated_by, "anna");
  EXPECT_FALSE(*d.get_user_setting(kT2, "anna", "settings")) << "the other tenant's Anna";
  EXPECT_EQ(d.put_user_setting(kT1, "nobody", "settings", {"{}", at(1), ""}).error().code(), base::Errc::not_found);
  EXPECT_EQ(d.put_user_setting(kT1, "anna", "bad key!", {"{}", at(1), ""}).error().code(), base::Errc::invalid_argument);
  EXPECT_EQ(d.put_user_setting(kT1, "anna", "big", {std::string(kMaxUserSettingBytes + 1, 'x'), at(1), ""}).error().code(),
            base::Errc::invalid_argument);
  ASSERT_TRUE(d.remove_user(kT1, "anna"));
  ASSERT_TRUE(d.put_user({kT1, "anna", "user", "", {"100"}, ""}));
  EXPECT_FALSE(*d.get_user_setting(kT1, "anna", "settings")) << "removed with the user";
}

// Issue 17: a user's status belongs to that user of that tenant, is replaced by the next one,
// cleared, listed per tenant, and leaves with the user.
TEST_P(IdentityContract, UserStatusesBelongToTheirUserAndLeaveWithThem) {
  auto s = open();
  ASSERT_TRUE(s);
  auto& d = *s;
  ASSERT_TRUE(d.put_user({kT1, "anna", "user", "", {"100"}, ""}));
  ASSERT_TRUE(d.put_user({kT1, "ben", "user", "", {"101"}, ""}));
  ASSERT_TRUE(d.put_user({kT2, "anna", "user", "", {"100"}, ""}));
  EXPECT_EQ(*d.get_user_status(kT1, "anna"), std::nullopt);
  ports::UserStatus away{.status = "away", .note = "in a meeting", .until = at(60), .updated_at = at(1)};
  ASSERT_TRUE(d.put_user_status(kT1, "anna", away));
  EXPECT_EQ(*d.get_user_status(kT1, "anna"), away);
  ports::UserStatus busy{.status = "busy", .note = "", .until = std::nullopt, .updated_at = at(2)};
  ASSERT_TRUE(d.put_user_status(kT1, "anna", busy));  // replaces, until back to none
  EXPECT_EQ(*d.get_user_status(kT1, "anna"), busy);
  ASSERT_TRUE(d.put_user_status(kT1, "ben", away));
  EXPECT_EQ(*d.get_user_status(kT2, "anna"), std::nullopt) << "the other tenant's Anna";
  auto all = d.list_user_statuses(kT1);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].first, "anna");
  EXPECT_EQ((*all)[1].second, away);
  EXPECT_TRUE(d.list_user_statuses(kT2)->empty());
  EXPECT_EQ(d.put_user_status(kT1, "nobody", away).error().code(), base::Errc::not_found);
  ASSERT_TRUE(d.clear_user_status(kT1, "ben"));
  EXPECT_EQ(*d.get_user_status(kT1, "ben"), std::nullopt);
  ASSERT_TRUE(d.remove_user(kT1, "anna"));
  ASSERT_TRUE(d.put_user({kT1, "anna", "user", "", {"100"}, ""}));
  EXPECT_EQ(*d.get_user_status(kT1, "anna"), std::nullopt) << "removed with the user";
}

// Regression (issue 12, "revoked tokens live on"): a session made from a token outlived the
// token's revocation, and a revocation by another process (`callbridge token revoke`, or another
// node) went unnoticed by the daemon's cache. Two stores on one database stand for both.
TEST_P(IdentityContract, RevokingATokenEndsItsSessionsAndMovesTheGenerationForEveryConnection) {
  auto daemon = open();
  auto cli = open();
  ASSERT_TRUE(daemon && cli);
  auto& d = *daemon;
  auto& c = *cli;
  ASSERT_TRUE(d.put_user({kT1, "anna", "user", "", {"100"}, ""}));
  auto tok = d.issue_token(kT1, "anna", at(1), {});
  auto other = d.issue_token(kT1, "anna", at(1), {});
  ASSERT_TRUE(tok && other);
  ASSERT_TRUE(d.insert_session("from-tok", {kT1, "anna", at(100), tok->id}));
  ASSERT_TRUE(d.insert_session("from-other", {kT1, "anna", at(100), other->id}));
  ASSERT_TRUE(d.insert_session("no-token", {kT1, "anna", at(100)}));
  const auto g0 = d.credential_generation();
  ASSERT_TRUE(g0);
  ASSERT_TRUE(c.revoke_token(kT1, tok->id));
  EXPECT_GT(*d.credential_generation(), *g0);
  EXPECT_FALSE(d.get_session("from-tok"));
  EXPECT_TRUE(d.get_session("from-other"));
  EXPECT_TRUE(d.get_session("no-token"));
  // A failed revocation changes nothing.
  const auto g1 = *d.credential_generation();
  EXPECT_FALSE(c.revoke_token(kT2, other->id));
  EXPECT_EQ(*d.credential_generation(), g1);
  EXPECT_TRUE(d.get_session("from-other"));
  // User changes and removals move it too (cached principals carry role and extensions).
  ASSERT_TRUE(c.put_user({kT1, "anna", "admin", "", {"100"}, ""}));
  EXPECT_GT(*d.credential_generation(), g1);
  const auto g2 = *d.credential_generation();
  ASSERT_TRUE(c.remove_user(kT1, "anna"));
  EXPECT_GT(*d.credential_generation(), g2);
  EXPECT_FALSE(d.get_session("from-other"));
  EXPECT_EQ(d.get_token(other->id).error().code(), base::Errc::not_found) << "tokens leave with their user";
}

TEST_P(IdentityContract, ExternalDevicesAddRenumberRemoveAndTheBound) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->put_user({kT1, "anna", "user", "Anna", {"100"}, ""}));
  ASSERT_TRUE(s->put_user({kT2, "anna", "user", "Other Anna", {"100"}, ""}));
  auto none = s->get_user_devices(kT1, "anna");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->external.empty());
  EXPECT_EQ(none->active, "");
  EXPECT_FALSE(none->active_since);

  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"mobile", "+491701234567", at(1)}, 2));
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"home", "+49301234567", at(2)}, 2));
  auto full = s->put_external_device(kT1, "anna", {"car", "+491709999999", at(3)}, 2);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code(), base::Errc::conflict);
  EXPECT_NE(full.error().message().find("at most 2 external devices"), std::string::npos);
  // Renumbering an existing device is not a new one; it keeps its creation time.
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"mobile", "+491707654321", at(4)}, 2));
  auto two = s->get_user_devices(kT1, "anna");
  ASSERT_TRUE(two);
  ASSERT_EQ(two->external.size(), 2u);
  EXPECT_EQ(two->external[0], (ExternalDevice{"home", "+49301234567", at(2)}));
  EXPECT_EQ(two->external[1], (ExternalDevice{"mobile", "+491707654321", at(1)}));
  EXPECT_TRUE(s->get_user_devices(kT2, "anna")->external.empty());

  EXPECT_EQ(s->get_user_devices(kT1, "nobody").error().code(), base::Errc::not_found);
  EXPECT_EQ(s->put_external_device(kT1, "nobody", {"mobile", "+491701234567", at(1)}, 5).error().code(),
            base::Errc::not_found);
  EXPECT_EQ(s->put_external_device(kT1, "anna", {"bad name", "+491701234567", at(1)}, 5).error().code(),
            base::Errc::invalid_argument);
  EXPECT_EQ(s->remove_external_device(kT1, "anna", "car").error().code(), base::Errc::not_found);
  EXPECT_EQ(s->remove_external_device(kT2, "anna", "mobile").error().code(), base::Errc::not_found);
}

TEST_P(IdentityContract, ActiveDeviceFollowsItsDeviceAndItsUser) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->put_user({kT1, "anna", "user", "Anna", {"100"}, ""}));
  ASSERT_TRUE(s->put_user({kT1, "ben", "user", "Ben", {"101"}, ""}));
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"mobile", "+491701234567", at(1)}, 5));
  ASSERT_TRUE(s->set_active_device(kT1, "anna", "mobile", at(5), "anna"));
  ASSERT_TRUE(s->set_active_device(kT1, "ben", "101", at(6), "adm"));
  EXPECT_EQ(s->set_active_device(kT1, "nobody", "101", at(6), "adm").error().code(), base::Errc::not_found);
  auto a = s->get_user_devices(kT1, "anna");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->active, "mobile");
  EXPECT_EQ(a->active_since, at(5));
  EXPECT_EQ(a->active_set_by, "anna");

  auto rows = s->list_active_devices();
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].user, "anna");
  EXPECT_EQ((*rows)[0].device, "mobile");
  EXPECT_EQ((*rows)[0].number, "+491701234567");
  EXPECT_EQ((*rows)[1].user, "ben");
  EXPECT_EQ((*rows)[1].number, "");  // an extension

  // Removing the active device puts the user back on the default.
  ASSERT_TRUE(s->remove_external_device(kT1, "anna", "mobile"));
  EXPECT_EQ(s->get_user_devices(kT1, "anna")->active, "");
  ASSERT_TRUE(s->set_active_device(kT1, "ben", "", at(7), "ben"));
  EXPECT_TRUE(s->list_active_devices()->empty());

  // Everything leaves with the user: a new anna starts with nothing.
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"home", "+49301234567", at(8)}, 5));
  ASSERT_TRUE(s->set_active_device(kT1, "anna", "home", at(8), "anna"));
  ASSERT_TRUE(s->remove_user(kT1, "anna"));
  ASSERT_TRUE(s->put_user({kT1, "anna", "user", "Anna", {"100"}, ""}));
  auto fresh = s->get_user_devices(kT1, "anna");
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(fresh->external.empty());
  EXPECT_EQ(fresh->active, "");
}

// AnyDevice, private vs company devices (issue 14): the flag is stored, changed in place with the
// device (creation time kept) and loaded at start-up with the active device.
TEST_P(IdentityContract, PrivateOrCompanyIsStoredChangedInPlaceAndLoadedAtStartUp) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->put_user({kT1, "anna", "user", "Anna", {"100"}, ""}));
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"mobile", "+491701234567", at(1), /*private_device=*/false}, 5));
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"home", "+49301234567", at(2)}, 5));  // private by default
  auto d = s->get_user_devices(kT1, "anna");
  ASSERT_TRUE(d && d->external.size() == 2u);
  EXPECT_TRUE(d->external[0].private_device);   // home
  EXPECT_FALSE(d->external[1].private_device);  // mobile: the company's
  ASSERT_TRUE(s->set_active_device(kT1, "anna", "mobile", at(3), "anna"));
  auto rows = s->list_active_devices();
  ASSERT_TRUE(rows && rows->size() == 1u);
  EXPECT_FALSE(rows->front().private_device);
  // Declared private later: the same device (creation time kept), the flag changed.
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"mobile", "+491701234567", at(4), true}, 5));
  d = s->get_user_devices(kT1, "anna");
  EXPECT_EQ(d->external[1], (ExternalDevice{"mobile", "+491701234567", at(1), true}));
  EXPECT_TRUE(s->list_active_devices()->front().private_device);
  // The active device is a desk extension: no external device, the flag is unused (default).
  ASSERT_TRUE(s->set_active_device(kT1, "anna", "100", at(5), "anna"));
  EXPECT_EQ(s->list_active_devices()->front().number, "");
  EXPECT_EQ(s->remove_external_device(kT2, "anna", "mobile").error().code(), base::Errc::not_found);
}

TEST_P(IdentityContract, EverythingSurvivesAReopen) {
  {
    auto s = open();
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->put_user({kT1, "anna", "admin", "Anna", {"100"}, "ops"}));
    ASSERT_TRUE(s->put_external_device(kT1, "anna", {"mobile", "+491701234567", at(1)}, 5));
    ASSERT_TRUE(s->set_active_device(kT1, "anna", "mobile", at(2), "anna"));
    ASSERT_TRUE(s->put_setting(kT1, "ui", {"{}", at(3), "anna"}));
    ASSERT_TRUE(s->insert_session("h", {kT1, "anna", at(100)}));
    auto t = open_tenants();
    ASSERT_TRUE(t);
    ASSERT_TRUE(t->put({base::TenantId("acme"), "{}", at(1), at(1), "op"}));
  }
  auto s = open();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->get_user(kT1, "anna")->team, "ops");
  auto d = s->get_user_devices(kT1, "anna");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->active, "mobile");
  ASSERT_EQ(d->external.size(), 1u);
  EXPECT_EQ(d->external[0].number, "+491701234567");
  EXPECT_TRUE(s->get_setting(kT1, "ui")->has_value());
  EXPECT_TRUE(s->get_session("h"));
  auto t = open_tenants();
  ASSERT_TRUE(t);
  ASSERT_EQ(t->list()->size(), 1u);
}

TEST_P(IdentityContract, TenantSpecsPutGetListRemove) {
  auto s = open_tenants();
  ASSERT_TRUE(s);
  auto& store = *s;
  EXPECT_TRUE(store.list()->empty());
  EXPECT_FALSE(store.get(base::TenantId("acme"))->has_value());

  ASSERT_TRUE(store.put({base::TenantId("beta"), R"({"id":"beta"})", at(1), at(1), "op"}));
  ASSERT_TRUE(store.put({base::TenantId("acme"), R"({"id":"acme"})", at(2), at(2), "op"}));
  auto all = store.list();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "acme");  // by id
  EXPECT_EQ((*all)[1].id, "beta");

  // Replacing keeps created_at, takes the rest.
  ASSERT_TRUE(store.put({base::TenantId("acme"), R"({"id":"acme","display_name":"A"})", at(9), at(10), "op2"}));
  auto got = store.get(base::TenantId("acme"));
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->spec_json, R"({"id":"acme","display_name":"A"})");
  EXPECT_EQ((*got)->created_at, at(2));
  EXPECT_EQ((*got)->updated_at, at(10));
  EXPECT_EQ((*got)->updated_by, "op2");

  ASSERT_TRUE(store.remove(base::TenantId("acme")));
  auto again = store.remove(base::TenantId("acme"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), base::Errc::not_found);
  EXPECT_EQ(store.list()->size(), 1u);

  auto big = store.put({base::TenantId("acme"), std::string(kMaxSpecBytes + 1, 'x'), at(1), at(1), ""});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), base::Errc::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Backends, IdentityContract, CALLBRIDGE_STORE_BACKENDS, callbridge::testing::backend_name);

}  // namespace
}  // namespace callbridge::identity
