// The ports::PairedDeviceStore contract (the cloud relay's paired devices and the edge's end-to-end
// key), one body per behaviour run against both backends: SqlitePairedDeviceStore (identity.db in a
// temp dir) and PgPairedDeviceStore (a real PostgreSQL, fresh database per test): the edge key is
// made once and every opener (another node) gets the same one; a pending pairing is found only
// before its expiry and completes exactly once; a client key pairs one device; revoke and list
// stay within their tenant; everything survives a reopen. The pairing protocol over the store:
// src/relay/pairing/pairing_test.cpp.
#include <gtest/gtest.h>

#include <chrono>

#include "identity/sqlite/paired_device_store.hpp"
#include "stores/backend_fixture.hpp"
#ifdef CALLBRIDGE_TEST_POSTGRES
#include "identity/postgres/pg_paired_device_store.hpp"
#endif

namespace callbridge::identity {
namespace {

using namespace std::chrono_literals;
const base::Timestamp kNow = base::from_micros(1'800'000'000'000'000);

class PairedDevicesContract : public callbridge::testing::BackendTest {
 protected:
  std::unique_ptr<ports::PairedDeviceStore> open() {
#ifdef CALLBRIDGE_TEST_POSTGRES
    if (postgres()) {
      auto s = PgPairedDeviceStore::open({.conninfo = dsn()});
      EXPECT_TRUE(s.has_value()) << s.error().to_string();
      return s ? std::unique_ptr<ports::PairedDeviceStore>(std::move(*s)) : nullptr;
    }
#endif
    auto s = SqlitePairedDeviceStore::open(sqlite_path("identity.db"));
    EXPECT_TRUE(s.has_value()) << s.error().to_string();
    return s ? std::unique_ptr<ports::PairedDeviceStore>(std::move(*s)) : nullptr;
  }
  static ports::PairedDevice device(const std::string& id, const char* tenant, base::Timestamp created) {
    ports::PairedDevice d{.id = id, .tenant = base::TenantId(tenant)};
    d.label = "Anna's laptop ☎";
    d.created_by = "cli";
    d.created_at = created;
    d.expires_at = created + 10min;
    return d;
  }
  static ports::PairId pair_id(std::uint8_t b) {
    ports::PairId p{};
    p.fill(b);
    return p;
  }
  static ports::Key32 key(std::uint8_t b) {
    ports::Key32 k{};
    k.fill(b);
    return k;
  }
};

TEST_P(PairedDevicesContract, TheEdgeKeyIsMadeOnceAndEveryOpenerGetsIt) {
  auto a = open();
  auto b = open();  // another process or node on the same store
  ASSERT_TRUE(a && b);
  auto ka = a->edge_key();
  ASSERT_TRUE(ka.has_value()) << ka.error().to_string();
  auto kb = b->edge_key();
  ASSERT_TRUE(kb.has_value()) << kb.error().to_string();
  EXPECT_EQ(ka->pk, kb->pk);
  EXPECT_EQ(ka->sk, kb->sk);
  EXPECT_NE(ka->pk, ports::Key32{});
  a.reset();
  b.reset();
  auto c = open();
  ASSERT_TRUE(c);
  auto kc = c->edge_key();
  ASSERT_TRUE(kc.has_value());
  EXPECT_EQ(kc->pk, ka->pk);
}

TEST_P(PairedDevicesContract, APendingPairingCompletesOnceBeforeItsExpiry) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->add_pending(device("00000000000000a1", "acme", kNow), pair_id(1), key(7)).has_value());
  auto dup = s->add_pending(device("00000000000000a1", "acme", kNow), pair_id(2), key(7));
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code(), base::Errc::conflict);

  auto p = s->find_pending(pair_id(1), kNow + 1min);
  ASSERT_TRUE(p.has_value() && p->has_value());
  EXPECT_EQ((*p)->secret, key(7));
  EXPECT_EQ((*p)->device.label, "Anna's laptop ☎");
  EXPECT_EQ((*p)->device.created_by, "cli");
  EXPECT_EQ((*p)->device.state(kNow + 1min), "pending");
  EXPECT_FALSE(s->find_pending(pair_id(1), kNow + 11min)->has_value());  // expired
  EXPECT_FALSE(s->find_pending(pair_id(9), kNow)->has_value());          // unknown

  // Too late: the pairing expired.
  auto late = s->complete("00000000000000a1", key(40), kNow + 11min);
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code(), base::Errc::conflict);

  ASSERT_TRUE(s->complete("00000000000000a1", key(40), kNow + 2min).has_value());
  auto again = s->complete("00000000000000a1", key(41), kNow + 2min);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), base::Errc::conflict);
  EXPECT_FALSE(s->find_pending(pair_id(1), kNow + 2min)->has_value());  // the secret is gone

  auto paired = s->find_paired(key(40));
  ASSERT_TRUE(paired.has_value() && paired->has_value());
  EXPECT_EQ((*paired)->id, "00000000000000a1");
  EXPECT_EQ((*paired)->state(kNow + 1h), "paired");
  EXPECT_EQ((*paired)->paired_at, kNow + 2min);
  EXPECT_FALSE(s->find_paired(key(41))->has_value());

  // One client key pairs one device.
  ASSERT_TRUE(s->add_pending(device("00000000000000a2", "acme", kNow), pair_id(2), key(8)).has_value());
  auto twice = s->complete("00000000000000a2", key(40), kNow + 2min);
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().code(), base::Errc::conflict);
}

TEST_P(PairedDevicesContract, RevokeAndListStayWithinTheirTenantAndSurviveAReopen) {
  {
    auto s = open();
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->add_pending(device("00000000000000b1", "acme", kNow), pair_id(1), key(1)).has_value());
    ASSERT_TRUE(s->add_pending(device("00000000000000b2", "acme", kNow + 1s), pair_id(2), key(2)).has_value());
    ASSERT_TRUE(s->add_pending(device("00000000000000c1", "globex", kNow), pair_id(3), key(3)).has_value());
    ASSERT_TRUE(s->complete("00000000000000b1", key(50), kNow + 1min).has_value());
    ASSERT_TRUE(s->touch("00000000000000b1", kNow + 5min).has_value());

    // Another tenant's device cannot be revoked from here.
    auto cross = s->revoke(base::TenantId("globex"), "00000000000000b1", kNow + 6min);
    ASSERT_FALSE(cross.has_value());
    EXPECT_EQ(cross.error().code(), base::Errc::not_found);
    ASSERT_TRUE(s->revoke(base::TenantId("acme"), "00000000000000b2", kNow + 6min).has_value());  // cancels it
  }
  auto s = open();
  ASSERT_TRUE(s);
  auto acme = s->list(base::TenantId("acme"));
  ASSERT_TRUE(acme.has_value());
  ASSERT_EQ(acme->size(), 2u);
  EXPECT_EQ((*acme)[0].id, "00000000000000b2");  // newest first
  EXPECT_EQ((*acme)[0].state(kNow + 7min), "revoked");
  EXPECT_EQ((*acme)[1].state(kNow + 7min), "paired");
  EXPECT_EQ((*acme)[1].last_seen, kNow + 5min);
  EXPECT_FALSE(s->find_pending(pair_id(2), kNow + 7min)->has_value());
  ASSERT_TRUE(s->find_paired(key(50))->has_value());
  ASSERT_TRUE(s->revoke(base::TenantId("acme"), "00000000000000b1", kNow + 8min).has_value());
  EXPECT_FALSE(s->find_paired(key(50))->has_value());  // a revoked device is paired no more
  auto globex = s->list(base::TenantId("globex"));
  ASSERT_TRUE(globex.has_value());
  ASSERT_EQ(globex->size(), 1u);
  EXPECT_EQ((*globex)[0].id, "00000000000000c1");
  EXPECT_TRUE(s->list(base::TenantId("initech"))->empty());
}

TEST_P(PairedDevicesContract, ALabelOverTheLimitIsRefused) {
  auto s = open();
  ASSERT_TRUE(s);
  auto d = device("00000000000000d1", "acme", kNow);
  d.label.assign(kMaxPairedLabelBytes + 1, 'x');
  auto r = s->add_pending(d, pair_id(4), key(4));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), base::Errc::invalid_argument);
  EXPECT_TRUE(s->list(base::TenantId("acme"))->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, PairedDevicesContract, CALLBRIDGE_STORE_BACKENDS, callbridge::testing::backend_name);

}  // namespace
}  // namespace callbridge::identity
