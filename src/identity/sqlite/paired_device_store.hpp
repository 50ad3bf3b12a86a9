// SqlitePairedDeviceStore: ports::PairedDeviceStore in the data dir's identity.db (tables
// `relay_devices` and `relay_edge_key`, created when missing; its own connection). Secrets and keys
// are stored as hex; a pending pairing's secret is deleted when it is used or revoked. One
// connection behind a mutex: thread-safe.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <string>

#include "identity/common/identity_rules.hpp"
#include "ports/paired_devices.hpp"

namespace callbridge::storage::sqlite {
class Connection;
}

namespace callbridge::identity {

class SqlitePairedDeviceStore final : public ports::PairedDeviceStore {
 public:
  static constexpr std::size_t kMaxLabelBytes = kMaxPairedLabelBytes;

  // Opens (creating the tables if needed) `path`; ":memory:" for tests. Errc::io when it cannot.
  static base::Result<std::unique_ptr<SqlitePairedDeviceStore>> open(const std::string& path);
  ~SqlitePairedDeviceStore() override;
  SqlitePairedDeviceStore(const SqlitePairedDeviceStore&) = delete;
  SqlitePairedDeviceStore& operator=(const SqlitePairedDeviceStore&) = delete;

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

 private:
  SqlitePairedDeviceStore(std::unique_ptr<storage::sqlite::Connection> conn);
  base::Error sql_error(const char* what) const;

  std::unique_ptr<storage::sqlite::Connection> conn_;
  sqlite3* db_;  // conn_'s handle
  std::mutex mu_;
};

}  // namespace callbridge::identity
