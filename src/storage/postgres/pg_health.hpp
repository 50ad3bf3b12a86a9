// PgHealth: is the PostgreSQL server reachable? (docs/cluster.md "Diagnostics"). A thread of its own
// checks it with its own connection at start and then every `every`: `SELECT 1` within `timeout`
// (a broken connection is made again). Diagnostics and /readyz read the last result, so neither
// waits for the server. The stores report their own failures when they write; this says whether
// the server answers at all, also when nothing is being written.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace callbridge::storage::postgres {

struct PgHealthState {
  std::string server;          // PgConn::describe(conninfo): no password
  bool checked = false;        // a check has finished
  bool ok = false;             // the last check got its answer
  double latency_ms = 0.0;     // of the last check that got one
  std::uint64_t checks = 0, failures = 0;
  std::string last_error;      // of the last failed check (kept after a success)
  std::optional<std::chrono::steady_clock::time_point> last_check{}, last_ok{};
};

class PgHealth {
 public:
  PgHealth(std::string conninfo, std::chrono::milliseconds every = std::chrono::seconds(2),
           std::chrono::milliseconds timeout = std::chrono::seconds(2));
  ~PgHealth();
  PgHealth(const PgHealth&) = delete;
  PgHealth& operator=(const PgHealth&) = delete;

  PgHealthState state() const;

 private:
  void run(std::string conninfo);

  const std::chrono::milliseconds every_, timeout_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  PgHealthState state_;
  std::thread thread_;  // last: started once everything above is ready
};

}  // namespace callbridge::storage::postgres
