// The audit log: who did what, per tenant (sign-ins, tokens, users, settings, tenants, call-control
// commands), append-only, kept for a retention period. Implemented by audit/sqlite (SqliteAuditLog,
// DATA_DIR/audit.db); written by api/ (REST routes), the calls capability (commands) and the CLI's
// offline tools, read by the audit capability (GET /api/v1/audit) and `callbridge audit`.
// Implementations are thread-safe: append() is called on the io thread and never blocks on disk;
// query() blocks (workers, CLI).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "base/time.hpp"

namespace callbridge::ports {

// Records that belong to no company: a sign-in with a token nobody issued, whose tenant cannot be
// known, and the operator's tenant changes. They go to the operator's reserved tenant
// (base::kOperatorTenant: the same id), which only operators read.
inline constexpr std::string_view kUnattributedAuditTenant = "_operator";

// One thing that happened. Never a secret: a token is named by its id ("token:9f2c..."), settings by
// their key; the store also masks anything shaped like a token (redact_secrets below).
struct AuditRecord {
  base::Timestamp at{};
  base::TenantId tenant;     // no default: AuditRecord{.tenant = t}
  std::string actor{};       // user name, "cli", "system"; failed sign-ins: the user the token names, or ""
  std::string source{};      // client address ("127.0.0.1"), "" for the CLI and the daemon itself
  std::string action{};      // "<kind>.<verb>": session.create, token.create, call.hangup, tenant.create, ... (docs/security.md "Audit log")
  std::string target{};      // "user:ben", "token:9f2c...", "setting:ui", "call:ID", "number:089...", "tenant:acme"
  std::string outcome{};     // ok | failed | denied | rejected | accepted | done
  std::string details_json = "{}";  // a JSON object (reason, role, device, ...); never a secret
};

struct StoredAuditRecord {
  std::int64_t id = 0;  // increasing: newer records have larger ids
  AuditRecord record;
};

struct AuditQuery {
  // The tenant whose records to read; nullopt reads every tenant (the operator only: callers
  // decide through the visibility policy, never from request input alone).
  std::optional<base::TenantId> tenant;
  std::optional<base::Timestamp> since{};  // at >= since
  std::optional<base::Timestamp> until{};  // at < until
  std::optional<std::string> actor{};      // exact
  // "token" matches token.create and token.revoke; "token.create" only that action.
  std::optional<std::string> kind{};
  std::size_t limit = 100;
  std::optional<std::int64_t> before_id{};  // paging: records with id < before_id (newest first)
};

class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // Queues a record; never blocks on I/O. Records are written in order. Secrets shaped like an
  // API token are masked before anything is written.
  virtual void append(AuditRecord record) = 0;
  // Blocks until everything appended so far is written (durable), or a write failed.
  virtual base::Status flush() = 0;
  // Newest first. Sees every record appended before the call (waits until they are written; a
  // failed write leaves them out), so an admin finds the change they just made.
  virtual base::Result<std::vector<StoredAuditRecord>> query(const AuditQuery& q) = 0;
  // Retention: deletes records older than `cutoff`; the only way a record ever goes. Returns how
  // many. Records younger than a day cannot be deleted (the store refuses).
  virtual base::Result<std::size_t> prune_before(base::Timestamp cutoff) = 0;
};

// Masks the secret part of anything shaped like an API token ("cbt_<id>_<secret>" ->
// "cbt_<id>_***"), so a token pasted into a user name or a reason never reaches the audit log.
inline std::string redact_secrets(std::string_view text) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i, 4) == "cbt_") {
      std::size_t j = i + 4;
      while (j < text.size() && hex(text[j])) ++j;
      if (j > i + 4 && j < text.size() && text[j] == '_') {
        std::size_t k = j + 1;
        while (k < text.size() && hex(text[k])) ++k;
        if (k > j + 1) {
          out.append(text.substr(i, j + 1 - i));
          out += "***";
          i = k;
          continue;
        }
      }
    }
    out += text[i++];
  }
  return out;
}

}  // namespace callbridge::ports
