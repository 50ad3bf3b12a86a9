// The audit capability's logic without HTTP: reading the records a viewer may see (the visibility
// policy's core::audit_query: a tenant's admins, their tenant only) and rendering one record as the
// API shows it. Called by audit_routes on a REST worker (blocks on the store). Stateless; any thread.
#pragma once

#include <boost/json.hpp>

#include <expected>
#include <vector>

#include "base/error.hpp"
#include "core/viewer.hpp"
#include "ports/audit_log.hpp"

namespace callbridge::capabilities::audit {

// Why a read was refused or failed.
struct ReadFailure {
  bool forbidden = false;  // not the viewer's to read (403)
  base::Error error;       // forbidden: the reason; otherwise the store's error
};

// What `viewer` may read of `q`, newest first, at most q.limit.
std::expected<std::vector<ports::StoredAuditRecord>, ReadFailure> visible_records(ports::AuditLog& log,
                                                                                  ports::AuditQuery q,
                                                                                  const core::Viewer& viewer);

// {"id", "at", "tenant", "actor", "source", "action", "target", "outcome", "details": {...}}.
boost::json::object record_json(const ports::StoredAuditRecord& r);

}  // namespace callbridge::capabilities::audit
