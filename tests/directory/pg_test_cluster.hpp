// Test support for the PostgreSQL tests (journal, identity, audit log, webhooks, daemon): one real
// PostgreSQL (pg_server.*) for the whole test binary, started on first use, with a fresh database
// per test. Test thread only.
#pragma once

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "directory/pg_server.hpp"

namespace callbridge::testing {

inline constexpr const char* kPgInitdb = "/usr/lib/postgresql/15/bin/initdb";

class PgTestCluster {
 public:
  // The cluster, or nullptr with `why` set: binaries absent (skip) or start failed (fail).
  static PgTestCluster* get(std::string& why, bool& absent) {
    static PgTestCluster cluster;
    absent = ::access(kPgInitdb, X_OK) != 0;
    if (absent) {
      why = std::string("PostgreSQL binaries not installed (") + kPgInitdb +
            " missing; apt-get install postgresql): PostgreSQL tests skipped";
      return nullptr;
    }
    if (!cluster.started_) {
      cluster.started_ = true;
      auto s = PgServer::start();
      if (!s) cluster.error_ = s.error().to_string();
      else cluster.server_ = std::move(*s);
    }
    if (!cluster.server_) {
      why = "starting PostgreSQL failed: " + cluster.error_;
      return nullptr;
    }
    return &cluster;
  }

  std::string admin_conninfo() const { return server_->conninfo(); }

  // Creates an empty database and returns a conninfo for it ("" + why on failure).
  std::string fresh_database(std::string& why) {
    const std::string name = "cb_t" + std::to_string(++next_);
    if (!run_admin("CREATE DATABASE " + name, why)) return {};
    return server_->conninfo() + " dbname=" + name;
  }

  // Runs SQL on a new connection to `conninfo` (default: the admin database).
  bool run_admin(const std::string& sql, std::string& why, const std::string& conninfo = {}) {
    PGconn* c = PQconnectdb((conninfo.empty() ? server_->conninfo() : conninfo).c_str());
    bool ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
      PGresult* r = PQexec(c, sql.c_str());
      ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
      if (!ok) why = PQresultErrorMessage(r);
      PQclear(r);
    } else {
      why = PQerrorMessage(c);
    }
    PQfinish(c);
    return ok;
  }

 private:
  bool started_ = false;
  std::string error_;
  std::unique_ptr<PgServer> server_;
  int next_ = 0;
};

}  // namespace callbridge::testing
