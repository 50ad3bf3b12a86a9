#include "capabilities/audit/audit_service.hpp"

#include "core/visibility.hpp"

namespace callbridge::capabilities::audit {

namespace json = boost::json;

std::expected<std::vector<ports::StoredAuditRecord>, ReadFailure> visible_records(ports::AuditLog& log,
                                                                                  ports::AuditQuery q,
                                                                                  const core::Viewer& viewer) {
  auto allowed = core::audit_query(viewer, std::move(q));
  if (!allowed) return std::unexpected(ReadFailure{true, base::Error::invalid_argument(allowed.error())});
  auto rows = log.query(*allowed);
  if (!rows) return std::unexpected(ReadFailure{false, rows.error()});
  return std::move(*rows);
}

json::object record_json(const ports::StoredAuditRecord& s) {
  const auto& r = s.record;
  std::error_code ec;
  auto details = json::parse(r.details_json, ec);
  if (ec || !details.is_object()) details = json::object();
  return json::object{{"id", s.id},
                      {"at", base::format_rfc3339_ms(r.at)},
                      {"tenant", r.tenant.str()},
                      {"actor", r.actor},
                      {"source", r.source},
                      {"action", r.action},
                      {"target", r.target},
                      {"outcome", r.outcome},
                      {"details", std::move(details)}};
}

}  // namespace callbridge::capabilities::audit
