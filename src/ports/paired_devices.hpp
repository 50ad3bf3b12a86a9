// PairedDeviceStore: the browsers and apps paired with this edge for the cloud relay (docs/relay.md
// "End-to-end encryption and pairing"), per tenant, and the edge's own end-to-end key pair.
// A device starts as a pending pairing (`callbridge pair`: a one-time secret with an expiry), becomes
// paired when a client proves the secret (its X25519 public key pinned, the secret deleted), and
// stays until revoked. Implemented by identity/sqlite (SqlitePairedDeviceStore, tables in
// identity.db); used by the relay tunnel on callbridged's io thread, by `callbridge pair` and by the
// REST routes. Implementations are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "base/time.hpp"

namespace callbridge::ports {

using Key32 = std::array<std::uint8_t, 32>;
using PairId = std::array<std::uint8_t, 16>;

struct PairedDevice {
  std::string id;  // 16 hex digits, the handle of list/revoke (first 8 bytes of the pairing id)
  base::TenantId tenant;
  std::string label{};     // what the admin called it ("Anna's laptop")
  std::string created_by{};  // "cli" or the admin's user name
  base::Timestamp created_at{};
  base::Timestamp expires_at{};  // a pending pairing's end; meaningless once paired
  std::optional<Key32> client_pk{};  // set once paired
  std::optional<base::Timestamp> paired_at{};
  std::optional<base::Timestamp> revoked_at{};
  std::optional<base::Timestamp> last_seen{};

  // "pending", "expired", "paired" or "revoked" at `now`.
  std::string state(base::Timestamp now) const {
    if (revoked_at) return "revoked";
    if (client_pk) return "paired";
    return now < expires_at ? "pending" : "expired";
  }
};

struct PendingPairing {
  PairedDevice device;
  Key32 secret{};
};

struct EdgeKeyPair {
  Key32 pk{};
  Key32 sk{};
};

class PairedDeviceStore {
 public:
  virtual ~PairedDeviceStore() = default;

  // The edge's static X25519 key pair; created (crypto_kx) and kept on first use.
  virtual base::Result<EdgeKeyPair> edge_key() = 0;

  // A new pending pairing filed under `pair_id` (derived from `secret`). Errc::conflict when the
  // id exists; Errc::invalid_argument for a label over 200 bytes.
  virtual base::Status add_pending(const PairedDevice& device, const PairId& pair_id, const Key32& secret) = 0;
  // The pending pairing of `pair_id` that has not expired at `now` and was not used; nullopt else.
  virtual base::Result<std::optional<PendingPairing>> find_pending(const PairId& pair_id, base::Timestamp now) = 0;
  // Pins `client_pk` on the pending device `id` and deletes its secret (one-time): Errc::conflict
  // when it is no longer pending (used, revoked or expired at `now`) or the key is paired already.
  virtual base::Status complete(const std::string& id, const Key32& client_pk, base::Timestamp now) = 0;
  // The paired, not revoked device with this client key; nullopt else.
  virtual base::Result<std::optional<PairedDevice>> find_paired(const Key32& client_pk) = 0;
  // Every device of the tenant (pending, expired, paired, revoked), newest first.
  virtual base::Result<std::vector<PairedDevice>> list(const base::TenantId& tenant) = 0;
  // Revokes a paired device or cancels a pending pairing. Errc::not_found unless it is the tenant's.
  virtual base::Status revoke(const base::TenantId& tenant, const std::string& id, base::Timestamp now) = 0;
  // Notes a session handshake of the device.
  virtual base::Status touch(const std::string& id, base::Timestamp now) = 0;
};

}  // namespace callbridge::ports
