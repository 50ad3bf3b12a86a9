// Test support: a real PostgreSQL 15 (Debian) in a temp dir on a free loopback port
// (initdb + pg_ctl as the postgres user when run as root), trust auth, fsync off unless asked.
// Used by the directory and journal tests and by bench/journal_write.
#pragma once

#include <memory>
#include <string>

#include "directory/child_process.hpp"

namespace callbridge::testing {

class PgServer {
 public:
  struct Options {
    bool fsync = false;  // tests: off (speed); benchmarks: on (real commits)
  };
  static base::Result<std::unique_ptr<PgServer>> start(Options options);
  static base::Result<std::unique_ptr<PgServer>> start() { return start(Options{}); }
  ~PgServer();
  // libpq connection string for the "postgres" database as user postgres.
  std::string conninfo() const;

 private:
  std::vector<std::string> as_postgres(std::vector<std::string> argv) const;
  TempDir dir_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace callbridge::testing
