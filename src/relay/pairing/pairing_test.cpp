// relay/pairing over the real SQLite store: a link made by `create` pairs a client exactly once,
// before its expiry; list and revoke; the edge key is created once and kept.
#include "relay/pairing/pairing.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "identity/sqlite/paired_device_store.hpp"
#include "relay/e2e/e2e.hpp"

namespace callbridge::relay::pairing {
namespace {

using namespace std::chrono_literals;
const base::TenantId kAcme("acme");
const base::Timestamp kNow = base::from_micros(1'800'000'000'000'000);

std::unique_ptr<identity::SqlitePairedDeviceStore> store() {
  auto s = identity::SqlitePairedDeviceStore::open(":memory:");
  EXPECT_TRUE(s.has_value());
  return std::move(*s);
}

std::string fragment_of(const std::string& link) { return link.substr(link.find('#') + 1); }

TEST(RelayPairing, LinkPairsOnceBeforeItExpires) {
  auto s = store();
  auto p = create(*s, kAcme, "Anna's laptop", "cli", "acme-edge", "wss://relay.example:8443/v1/edge", kNow);
  ASSERT_TRUE(p.has_value()) << p.error().to_string();
  EXPECT_TRUE(p->link.starts_with("https://relay.example:8443/#pair=acme-edge."));
  EXPECT_EQ(p->fingerprint.size(), 64u + 15u);
  EXPECT_TRUE(valid_device_id(p->device.id));

  auto link = e2e::parse_pairing_fragment(fragment_of(p->link));
  ASSERT_TRUE(link.has_value());
  auto edge_key = s->edge_key();
  ASSERT_TRUE(edge_key.has_value());
  EXPECT_EQ(link->edge_fingerprint, e2e::fingerprint(edge_key->pk));

  // The edge's side of a pair message: find the pending pairing by its id, check, pin.
  const e2e::KeyPair client = e2e::generate_key_pair();
  auto start = e2e::client_start_pair(link->edge_id, client, link->secret, link->edge_fingerprint);
  auto pending = s->find_pending(start.msg.pair_id, kNow + 1min);
  ASSERT_TRUE(pending.has_value() && pending->has_value());
  EXPECT_EQ((*pending)->device.label, "Anna's laptop");
  const e2e::KeyPair edge{edge_key->pk, edge_key->sk};
  ASSERT_TRUE(e2e::edge_accept_pair("acme-edge", edge, (*pending)->secret, start.msg, 1, 2).has_value());
  ASSERT_TRUE(s->complete((*pending)->device.id, client.pk, kNow + 1min).has_value());

  // One-time: the secret is gone.
  EXPECT_FALSE(s->find_pending(start.msg.pair_id, kNow + 1min)->has_value());
  auto again = s->complete((*pending)->device.id, e2e::generate_key_pair().pk, kNow + 1min);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), base::Errc::conflict);
  auto paired = s->find_paired(client.pk);
  ASSERT_TRUE(paired.has_value() && paired->has_value());
  EXPECT_EQ((*paired)->state(kNow + 2min), "paired");

  // The edge key stays the same (and so does the fingerprint every link shows).
  EXPECT_EQ(s->edge_key()->pk, edge_key->pk);
}

TEST(RelayPairing, ExpiredAndRevokedPairingsDoNotPair) {
  auto s = store();
  auto p = create(*s, kAcme, "", "cli", "acme", "wss://relay.example", kNow, 2min);
  ASSERT_TRUE(p.has_value());
  auto link = e2e::parse_pairing_fragment(fragment_of(p->link));
  const auto pid = e2e::pairing_id(link->secret);
  EXPECT_TRUE(s->find_pending(pid, kNow + 1min)->has_value());
  EXPECT_FALSE(s->find_pending(pid, kNow + 2min)->has_value());
  EXPECT_FALSE(s->complete(p->device.id, e2e::generate_key_pair().pk, kNow + 3min).has_value());
  auto list = s->list(kAcme);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].state(kNow + 3min), "expired");

  auto q = create(*s, kAcme, "phone", "admin", "acme", "wss://relay.example", kNow + 1s);  // newest first
  const e2e::KeyPair client = e2e::generate_key_pair();
  ASSERT_TRUE(s->complete(q->device.id, client.pk, kNow).has_value());
  EXPECT_FALSE(s->revoke(base::TenantId("other"), q->device.id, kNow).has_value());  // not theirs
  EXPECT_TRUE(s->find_paired(client.pk)->has_value());
  ASSERT_TRUE(s->revoke(kAcme, q->device.id, kNow + 1min).has_value());
  EXPECT_FALSE(s->find_paired(client.pk)->has_value());
  const std::string json = device_json(s->list(kAcme)->front(), kNow + 2min);
  EXPECT_NE(json.find("\"state\":\"revoked\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"label\":\"phone\""), std::string::npos);
  EXPECT_EQ(json.find("secret"), std::string::npos);
  EXPECT_EQ(s->revoke(kAcme, "0000000000000000", kNow).error().code(), base::Errc::not_found);
  EXPECT_TRUE(s->list(base::TenantId("other"))->empty());
}

TEST(RelayPairing, BadInputIsRefused) {
  auto s = store();
  EXPECT_FALSE(create(*s, kAcme, "", "cli", "Acme!", "wss://r.example", kNow).has_value());
  EXPECT_FALSE(create(*s, kAcme, "", "cli", "acme", "https://r.example", kNow).has_value());
  EXPECT_FALSE(create(*s, kAcme, "", "cli", "acme", "wss:///v1/edge", kNow).has_value());
  EXPECT_FALSE(create(*s, kAcme, "", "cli", "acme", "wss://r.example", kNow, 30s).has_value());
  EXPECT_FALSE(create(*s, kAcme, "", "cli", "acme", "wss://r.example", kNow, 25h).has_value());
  EXPECT_FALSE(create(*s, kAcme, std::string(201, 'x'), "cli", "acme", "wss://r.example", kNow).has_value());
  EXPECT_EQ(link_base("ws://127.0.0.1:9000").value(), "http://127.0.0.1:9000/");
  EXPECT_FALSE(valid_device_id("ABCDEF0123456789"));
}

TEST(RelayPairing, StoreKeepsDevicesAcrossReopen) {
  const auto path = std::filesystem::temp_directory_path() / ("pairing_test_" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  e2e::Key pk{};
  std::string id;
  {
    auto s = identity::SqlitePairedDeviceStore::open(path.string());
    ASSERT_TRUE(s.has_value());
    auto p = create(**s, kAcme, "desk", "cli", "acme", "wss://r.example", kNow);
    ASSERT_TRUE(p.has_value());
    id = p->device.id;
    pk = (*s)->edge_key()->pk;
    ASSERT_TRUE((*s)->complete(id, e2e::generate_key_pair().pk, kNow).has_value());
  }
  auto s = identity::SqlitePairedDeviceStore::open(path.string());
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ((*s)->edge_key()->pk, pk);
  auto list = (*s)->list(kAcme);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().id, id);
  EXPECT_EQ(list->front().state(kNow), "paired");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace callbridge::relay::pairing
