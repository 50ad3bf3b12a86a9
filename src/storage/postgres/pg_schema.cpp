#include "storage/postgres/pg_schema.hpp"

#include <cstdlib>

#include "storage/postgres/pg_conn.hpp"

namespace callbridge::storage::postgres {

using base::Error;
using base::fail;

base::Result<int> migrate(PgConn& d, const SchemaPart& part, const std::string& where,
                          std::chrono::steady_clock::time_point deadline) {
  const int target = static_cast<int>(part.migrations.size());
  const std::string meta(part.meta_table);
  if (auto r = d.exec("BEGIN", deadline); !r) return fail(r.error());
  auto rollback = [&](Error e) {
    (void)d.exec("ROLLBACK", std::chrono::steady_clock::now() + std::chrono::seconds(5));
    return fail(std::move(e));
  };
  if (auto r = d.exec("SELECT pg_advisory_xact_lock($1)", {std::to_string(part.lock_key)}, deadline); !r)
    return rollback(r.error());
  auto tables = d.exec("SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL",
                       {std::string(part.owned_table), meta}, deadline);
  if (!tables) return rollback(tables.error());
  const bool has_owned = tables->text(0, 0) == "t";
  const bool has_meta = tables->text(0, 1) == "t";
  if (has_owned && !has_meta)
    return rollback(Error::invalid_argument(where + ": the database has a table \"" + std::string(part.owned_table) +
                                            "\" that is not " + std::string(part.kind) + " (no " + meta +
                                            " table); use another database or schema"));
  if (!has_meta) {
    if (auto r = d.exec("CREATE TABLE " + meta + " (key TEXT PRIMARY KEY, value TEXT NOT NULL)", deadline); !r)
      return rollback(r.error());
  }
  auto v = d.exec("SELECT value FROM " + meta + " WHERE key = 'schema_version'", deadline);
  if (!v) return rollback(v.error());
  const int version = v->size() ? std::atoi(std::string(v->text(0, 0)).c_str()) : 0;
  if (version > target)
    return rollback(Error(part.newer_code, where + ": schema version " + std::to_string(version) +
                                               " is newer than this build supports (" + std::to_string(target) + ")"));
  for (int i = version; i < target; ++i) {
    if (auto r = d.exec(part.migrations[static_cast<std::size_t>(i)], deadline); !r) {
      auto e = r.error();
      return rollback(Error(e.code(), e.message() + " (migrating to schema " + std::to_string(i + 1) + ")"));
    }
  }
  if (version < target) {
    if (auto r = d.exec("INSERT INTO " + meta + " (key, value) VALUES ('schema_version', $1) "
                        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                        {std::to_string(target)}, deadline);
        !r)
      return rollback(r.error());
  }
  if (auto r = d.exec("COMMIT", deadline); !r) return rollback(r.error());
  return version;
}

}  // namespace callbridge::storage::postgres
