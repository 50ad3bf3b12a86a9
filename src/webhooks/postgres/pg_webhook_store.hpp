// PgWebhookStore: the tenants' webhooks and their delivery logs (ports::WebhookStore) in a
// PostgreSQL database shared by the nodes of a cluster (docs/cluster.md): the "webhooks" part of
// the shared schema (tables webhook_hooks, webhook_deliveries, webhook_pending, webhooks_meta).
// Same semantics and bounds as SqliteWebhookStore. Deliveries belong to the node that makes them
// (Options::node): the pending deliveries a node saves at its stop, and the ones it takes back at
// its start (closing those of its own that were lost), are that node's only, so one node's restart
// never touches another's deliveries. Thread-safe: one connection under a mutex.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "ports/webhook_store.hpp"

namespace callbridge::storage::postgres {
class PgConn;
}

namespace callbridge::webhooks {

class PgWebhookStore final : public ports::WebhookStore {
 public:
  struct Options {
    std::string conninfo;  // libpq conninfo or postgresql:// URI
    std::string node;      // this node's name ([cluster] node; "" outside cluster mode)
    std::size_t max_hooks_per_tenant = 20;
    std::size_t max_log_per_hook = 1000;
    std::chrono::milliseconds timeout{10'000};  // per statement or transaction (cancelled after)
  };
  static constexpr int kSchemaVersion = 1;

  // Connects and migrates (advisory lock: nodes starting together take turns).
  static base::Result<std::unique_ptr<PgWebhookStore>> open(Options options);
  ~PgWebhookStore() override;

  base::Status add(const ports::Webhook& hook) override;
  base::Result<std::vector<ports::Webhook>> list(const base::TenantId& tenant) override;
  base::Result<std::vector<ports::Webhook>> list_all() override;
  base::Result<std::optional<ports::Webhook>> get(const base::TenantId& tenant, std::string_view id) override;
  base::Result<bool> remove(const base::TenantId& tenant, std::string_view id) override;
  base::Status record(const ports::WebhookDelivery& d) override;
  base::Status record_all(std::span<const ports::WebhookDelivery> ds) override;
  base::Result<std::vector<ports::WebhookDelivery>> deliveries(const base::TenantId& tenant, std::string_view hook_id,
                                                               std::size_t limit) override;
  base::Result<std::size_t> prune_before(base::Timestamp cutoff) override;
  base::Status save_pending(const std::vector<ports::PendingDelivery>& pending) override;
  base::Result<std::vector<ports::PendingDelivery>> take_pending(base::Timestamp now,
                                                                 std::string_view lost_error) override;
  void set_on_change(std::function<void(const base::TenantId&)> f) override { on_change_ = std::move(f); }

  const std::string& location() const { return location_; }  // postgresql://user@host/db

 private:
  explicit PgWebhookStore(Options options);
  base::Result<std::vector<ports::Webhook>> query_hooks(const std::string& where, const std::vector<std::string>& args);

  const Options options_;
  std::string location_;
  std::mutex mu_;
  std::unique_ptr<storage::postgres::PgConn> conn_;  // guarded by mu_
  std::function<void(const base::TenantId&)> on_change_;
};

}  // namespace callbridge::webhooks
