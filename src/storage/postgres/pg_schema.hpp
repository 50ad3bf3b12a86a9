// The one migration story of the PostgreSQL backends (journal, contacts, identity, audit log,
// webhooks): every part keeps its tables in the same database and schema, and its own schema
// version in a small `<part>_meta` table (key 'schema_version'). Migration N (1-based) brings a
// part from N-1 to N; the list is append-only (never edit a shipped migration). All steps run in
// one transaction under a per-part advisory lock, so nodes starting together take turns and a
// failed step leaves the database as it was.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace callbridge::storage::postgres {

class PgConn;

struct SchemaPart {
  std::string_view meta_table;                 // "identity_meta"
  std::string_view owned_table;                // a table of the part: present without meta_table,
                                               // it is somebody else's and nothing is touched
  std::string_view kind;                       // words for that error: "a callbridge journal"
  std::int64_t lock_key = 0;                   // pg_advisory_xact_lock key, unique per part
  std::span<const char* const> migrations;     // migrations[i] brings the schema from i to i+1
  base::Errc newer_code = base::Errc::invalid_argument;  // a version newer than migrations.size()
};

// Brings `part` to migrations.size() on `conn` (connected). `where` starts every error message
// ("journal (PostgreSQL postgresql://cb@db/callbridge)"). Returns the version found before.
// The meta table is created only when missing: a node whose user may only read and write the
// tables (no CREATE right) uses an up-to-date schema.
base::Result<int> migrate(PgConn& conn, const SchemaPart& part, const std::string& where,
                          std::chrono::steady_clock::time_point deadline);

}  // namespace callbridge::storage::postgres
