// TenantStore: the tenants an operator created at run time (REST /api/v1/tenants, `callbridge
// tenant`), each kept as the JSON spec app/tenant_spec validated (secrets included). Implemented by
// identity/sqlite (SqliteTenantStore, a table in identity.db); used by app/ on worker threads, read
// once at start-up. Implementations are thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "base/time.hpp"

namespace callbridge::ports {

struct StoredTenant {
  base::TenantId id;
  std::string spec_json;  // what app::parse_tenant_spec accepted; opaque to the store
  base::Timestamp created_at{};
  base::Timestamp updated_at{};
  std::string updated_by{};  // the operator user who stored this version
};

class TenantStore {
 public:
  virtual ~TenantStore() = default;
  // Every stored tenant, by id.
  virtual base::Result<std::vector<StoredTenant>> list() = 0;
  virtual base::Result<std::optional<StoredTenant>> get(const base::TenantId& id) = 0;
  // Inserts or replaces (created_at of an existing tenant is kept). Errc::invalid_argument when
  // the spec is larger than the backend keeps.
  virtual base::Status put(const StoredTenant& t) = 0;
  // Errc::not_found when there is no such tenant.
  virtual base::Status remove(const base::TenantId& id) = 0;
};

}  // namespace callbridge::ports
