// What the audit log keeps of a call-control command (docs/security.md "Audit log"): who issued it
// (user, token id, client address), which command on which call, device or number, and its outcome:
// one record when the API answered (accepted, or rejected with the status and the problem's detail)
// and one when the PBX's final word came (done, or failed with its reason). Filled and appended by
// command_routes on the io thread; ports::AuditLog::append only queues, so nothing here waits on a
// disk. Numbers are kept as the API received them; a token is named by its id, never its secret.
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "api/http_server.hpp"
#include "base/tenant_id.hpp"
#include "base/time.hpp"
#include "core/command_log.hpp"
#include "ports/audit_log.hpp"

namespace callbridge::capabilities::calls {

// One command request as the audit log names it; the routes fill it while they parse.
struct CommandAuditNote {
  base::TenantId tenant;        // the principal's
  std::string actor{};          // the user
  std::string token_id{};       // the API token used, or the one the session came from ("" = none)
  std::string source{};         // client address
  std::string action{};         // "call.make_call", "call.hangup", ..., "call.callback"
  std::string target{};         // "call:ID", "number:TO" (make call), "journal:ID" (callback)
  boost::json::object details{};  // device, to, from, journal_entry; command_id once accepted
  // Set when the command was finished inside the request (the PBX confirmed at once): the routes
  // record it right after the answer.
  std::optional<core::CommandState> settled_at_once{};
};

class CommandAudit {
 public:
  // Either null: nothing is recorded (tests without an audit log, a daemon without one).
  CommandAudit(ports::AuditLog* log, const base::Clock* clock) : log_(log), clock_(clock) {}

  // The API's answer: outcome "accepted" for a 2xx, else "rejected" with details.status and
  // details.reason (the problem's detail).
  void answered(const CommandAuditNote& n, const api::HttpResponse& answer) const;
  // The final word on an accepted command: outcome "done" or "failed" (details.reason, the PBX's
  // words); details.call_id when the command made a call.
  void settled(const CommandAuditNote& n, core::CommandState state, std::string_view reason,
               const std::optional<std::string>& call_id) const;

 private:
  void append(const CommandAuditNote& n, std::string outcome, boost::json::object details) const;

  ports::AuditLog* log_;
  const base::Clock* clock_;
};

}  // namespace callbridge::capabilities::calls
