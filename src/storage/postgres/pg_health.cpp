#include "storage/postgres/pg_health.hpp"

#include <spdlog/spdlog.h>

#include "storage/postgres/pg_conn.hpp"

namespace callbridge::storage::postgres {

PgHealth::PgHealth(std::string conninfo, std::chrono::milliseconds every, std::chrono::milliseconds timeout)
    : every_(every), timeout_(timeout) {
  state_.server = PgConn::describe(conninfo);
  thread_ = std::thread([this, c = std::move(conninfo)]() mutable { run(std::move(c)); });
}

PgHealth::~PgHealth() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

PgHealthState PgHealth::state() const {
  std::lock_guard lk(mu_);
  return state_;
}

void PgHealth::run(std::string conninfo) {
  PgConn conn(std::move(conninfo), "health check");
  for (;;) {
    const auto started = std::chrono::steady_clock::now();
    std::string error;
    if (auto st = conn.ensure_connected(); !st) {
      error = st.error().message();
    } else if (auto r = conn.exec("SELECT 1", started + timeout_); !r) {
      error = r.error().message();
    }
    const auto done = std::chrono::steady_clock::now();
    bool changed = false;
    std::string server;
    {
      std::lock_guard lk(mu_);
      server = state_.server;
      changed = state_.checked && state_.ok != error.empty();
      state_.checked = true;
      state_.ok = error.empty();
      ++state_.checks;
      state_.last_check = done;
      if (error.empty()) {
        state_.latency_ms = std::chrono::duration<double, std::milli>(done - started).count();
        state_.last_ok = done;
      } else {
        ++state_.failures;
        state_.last_error = error.substr(0, 300);
      }
    }
    if (changed && error.empty()) spdlog::info("cluster: PostgreSQL {} answers again", server);
    else if (changed) spdlog::warn("cluster: PostgreSQL {} unreachable: {}", server, error);
    std::unique_lock lk(mu_);
    if (cv_.wait_until(lk, done + every_, [this] { return stop_; })) return;
  }
}

}  // namespace callbridge::storage::postgres
