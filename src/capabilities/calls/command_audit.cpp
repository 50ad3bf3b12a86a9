#include "capabilities/calls/command_audit.hpp"

namespace callbridge::capabilities::calls {

namespace json = boost::json;

void CommandAudit::append(const CommandAuditNote& n, std::string outcome, json::object details) const {
  if (!log_ || !clock_) return;
  ports::AuditRecord r{.at = clock_->now(), .tenant = n.tenant};
  r.actor = n.actor;
  r.source = n.source;
  r.action = n.action;
  r.target = n.target;
  r.outcome = std::move(outcome);
  if (!n.token_id.empty()) details["token_id"] = n.token_id;
  r.details_json = json::serialize(details);
  log_->append(std::move(r));
}

void CommandAudit::answered(const CommandAuditNote& n, const api::HttpResponse& answer) const {
  json::object d = n.details;
  const bool ok = answer.status >= 200 && answer.status < 300;
  if (!ok) {
    // The problem's detail says why (docs/api.md problem types); the body is ours, so small.
    std::error_code ec;
    auto v = json::parse(answer.body, ec);
    const json::value* detail = !ec && v.is_object() ? v.as_object().if_contains("detail") : nullptr;
    d["status"] = answer.status;
    d["reason"] = detail && detail->is_string() ? detail->as_string() : json::string();
  }
  append(n, ok ? "accepted" : "rejected", std::move(d));
}

void CommandAudit::settled(const CommandAuditNote& n, core::CommandState state, std::string_view reason,
                           const std::optional<std::string>& call_id) const {
  json::object d = n.details;  // what was asked, and the command's id
  if (state == core::CommandState::failed) d["reason"] = reason;
  if (call_id) d["call_id"] = *call_id;
  append(n, state == core::CommandState::failed ? "failed" : "done", std::move(d));
}

}  // namespace callbridge::capabilities::calls
