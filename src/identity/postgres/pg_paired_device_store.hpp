// PgPairedDeviceStore: ports::PairedDeviceStore in the PostgreSQL database of the identity store
// (tables relay_devices and relay_edge_key of the identity part, migration 2), so that every node
// of a cluster shares the edge's end-to-end key and knows every paired device (docs/relay.md
// "Paired devices", docs/cluster.md). Same rules and semantics as SqlitePairedDeviceStore (both
// checked by tests/stores/paired_devices_contract_test.cpp). One connection behind a mutex:
// thread-safe; every statement ends by its deadline.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "identity/postgres/pg_identity_store.hpp"
#include "ports/paired_devices.hpp"

namespace callbridge::identity {

class PgPairedDeviceStore final : public ports::PairedDeviceStore {
 public:
  // Connects and migrates the identity part (like PgIdentityStore::open).
  static base::Result<std::unique_ptr<PgPairedDeviceStore>> open(PgIdentityOptions options);
  ~PgPairedDeviceStore() override;
  PgPairedDeviceStore(const PgPairedDeviceStore&) = delete;
  PgPairedDeviceStore& operator=(const PgPairedDeviceStore&) = delete;

  base::Result<ports::EdgeKeyPair> edge_key() override;
  base::Status add_pending(const ports::PairedDevice& device, const ports::PairId& pair_id,
                           const ports::Key32& secret) override;
  base::Result<std::optional<ports::PendingPairing>> find_pending(const ports::PairId& pair_id,
                                                                  base::Timestamp now) override;
  base::Status complete(const std::string& id, const ports::Key32& client_pk, base::Timestamp now) override;
  base::Result<std::optional<ports::PairedDevice>> find_paired(const ports::Key32& client_pk) override;
  base::Result<std::vector<ports::PairedDevice>> list(const base::TenantId& tenant) override;
  base::Status revoke(const base::TenantId& tenant, const std::string& id, base::Timestamp now) override;
  base::Status touch(const std::string& id, base::Timestamp now) override;

  const std::string& location() const { return location_; }

 private:
  explicit PgPairedDeviceStore(PgIdentityOptions options);

  const PgIdentityOptions options_;
  std::string location_;
  std::mutex mu_;
  std::unique_ptr<storage::postgres::PgConn> conn_;  // guarded by mu_
};

}  // namespace callbridge::identity
