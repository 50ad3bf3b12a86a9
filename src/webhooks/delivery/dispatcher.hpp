// Dispatcher: the webhook delivery engine (docs/webhooks.md). The event hub's tap offers it every
// published call, line and journal message on the io thread; offer() only copies the message into
// a bounded queue (full: counted in stats().overflow and logged), so the call path never waits on a
// receiver. Its own thread turns messages into events (webhook_events), fans them out to the
// tenant's hooks, renders body templates, signs (HMAC-SHA256) and posts them with libcurl's multi
// interface: many transfers at once, deliveries with the same order key (a call) one after the
// other per hook, retries with exponential backoff and jitter on 5xx/408/429, timeouts and
// connection errors for a bounded time, every connection's peer address checked against the
// AddressPolicy (CURLOPT_OPENSOCKETFUNCTION, redirects included). Outcomes go to the store's
// delivery log. Deliveries still to be made when it stops (queued, waiting for a retry, in flight)
// are saved to the store and resumed at the next start, within their retry window. Thread-safe:
// offer() on the io thread, reload()/ping() from REST workers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/cidr.hpp"
#include "base/time.hpp"
#include "ports/webhook_store.hpp"
#include "webhooks/delivery/address_policy.hpp"
#include "webhooks/delivery/webhook_events.hpp"

namespace callbridge::webhooks {

struct DispatcherOptions {
  // Ranges deliveries may reach despite the default deny list ([webhooks] allow).
  std::vector<base::Cidr> allow;
  bool allow_http = false;  // plain http:// URLs ([webhooks] allow_http); https:// always verifies
  // PEM file of the CA certificates that verify receivers instead of the system's store
  // ([webhooks] ca_file; "" = the system's). start() fails when it cannot be read.
  std::string ca_file;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds timeout{10'000};  // a whole attempt
  std::chrono::milliseconds retry_for{std::chrono::hours(1)};  // then a delivery is given up
  std::chrono::milliseconds backoff_initial{1'000};
  std::chrono::milliseconds backoff_max{std::chrono::minutes(5)};
  std::size_t queue_limit = 10'000;    // messages waiting for the delivery thread
  std::size_t pending_limit = 50'000;  // deliveries waiting (behind their call's, or to retry)
  std::size_t max_in_flight = 16;      // transfers at once
  std::size_t max_response_bytes = 64 * 1024;
  int max_redirects = 3;
  std::chrono::hours log_retention{24 * 30};  // delivery log rows older than this are pruned
  // CURLOPT_RESOLVE entries ("host:port:address"): pins a name to an address without DNS (tests).
  std::vector<std::string> resolve;
  const base::Clock* clock = nullptr;  // timestamps of bodies and log rows; null: the system clock
};

struct DispatcherStats {
  std::uint64_t offered = 0;           // messages taken into the queue
  std::uint64_t overflow = 0;          // messages dropped: the queue was full
  std::uint64_t pending_overflow = 0;  // deliveries dropped: too many waiting
  std::uint64_t events = 0;            // deliveries created (event x hook)
  std::uint64_t attempts = 0;
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;   // given up
  std::uint64_t retries = 0;  // attempts scheduled again
  std::uint64_t blocked = 0;  // connections refused by the address policy
  std::uint64_t queued = 0;   // now: messages waiting
  std::uint64_t pending = 0;  // now: deliveries not finished
};

class Dispatcher final : public ports::WebhookEngine {
 public:
  // Loads every tenant's hooks from `store` and starts the delivery thread. The store must outlive
  // the dispatcher; the caller wires store.set_on_change to reload().
  static base::Result<std::unique_ptr<Dispatcher>> start(ports::WebhookStore& store, DispatcherOptions options);
  // Stops the thread; transfers in flight are abandoned, waiting deliveries dropped (logged).
  ~Dispatcher() override;
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // A published message (io thread). Returns at once: dropped unless a hook of the tenant wants
  // its stream, counted as overflow when the queue is full.
  void offer(const base::TenantId& tenant, Stream stream, std::string_view json, bool call_gone);
  // Re-reads the tenant's hooks (the store's change listener; any thread but the delivery thread).
  void reload(const base::TenantId& tenant);

  // ports::WebhookEngine
  std::string url_problem(std::string_view url) const override;
  std::string template_problem(std::string_view body_template) const override;
  std::string new_hook_id() const override;
  std::string new_secret() const override;
  bool ping(const base::TenantId& tenant, std::string_view hook_id) override;

  DispatcherStats stats() const;
  // Blocks until nothing is queued, pending, in flight or waiting to be logged, or `deadline` passes
  // (tests, benchmarks).
  bool wait_idle(std::chrono::steady_clock::time_point deadline) const;

  struct Hook;   // a loaded hook with its parsed template (dispatcher.cpp)
  struct Job;    // one event for one hook
  struct Inbound;

 private:
  Dispatcher(ports::WebhookStore& store, DispatcherOptions options);
  base::Status load_all();
  // Before the thread starts: the deliveries the last run saved, back into their chains.
  void resume_saved();
  // On the thread, after its loop: what is still to be delivered, into the store.
  void save_unfinished();
  void run();
  struct Loop;  // the delivery thread's state (curl multi handle, chains, timers)

  ports::WebhookStore& store_;
  const DispatcherOptions options_;
  const AddressPolicy policy_;
  base::SystemClock system_clock_;
  const base::Clock& clock_;

  mutable std::mutex mu_;
  std::vector<Inbound> inbound_;  // swapped out whole by the delivery thread
  // Which streams each tenant's hooks want (bit per Stream); read by offer() under mu_.
  std::unordered_map<base::TenantId, std::uint8_t> wanted_;
  std::unordered_map<base::TenantId, std::shared_ptr<const std::vector<Hook>>> hooks_;
  bool stopping_ = false;
  bool sleeping_ = false;

  std::unique_ptr<Loop> loop_;
  mutable std::atomic<std::uint64_t> offered_{0}, overflow_{0}, pending_overflow_{0}, events_{0}, attempts_{0},
      delivered_{0}, failed_{0}, retries_{0}, blocked_{0}, pending_{0}, in_flight_{0};
  // Delivery log rows the delivery thread holds for its next batch (run(): flush_log).
  std::atomic<std::size_t> unlogged_{0};
  std::atomic<std::size_t> taken_{0};  // messages the delivery thread took from inbound_, not fanned out yet
  std::thread thread_;
};

}  // namespace callbridge::webhooks
