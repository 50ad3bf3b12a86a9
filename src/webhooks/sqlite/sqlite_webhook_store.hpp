// SqliteWebhookStore: the tenants' webhooks and their delivery logs (ports::WebhookStore) in one
// SQLite file, DATA_DIR/webhooks.db (WAL, mode 0600 through callbridged's umask; it holds the HMAC
// secrets). Thread-safe: one connection under a mutex; every call blocks on disk (REST workers, the
// delivery thread). The delivery log is bounded twice: max_log_per_hook newest rows per hook, and
// prune_before() (the delivery engine calls it hourly with its retention). Deliveries still to be
// made when the engine stops are kept in a table of their own until the next start (schema 2).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "ports/webhook_store.hpp"

namespace callbridge::storage::sqlite {
class Connection;
}

namespace callbridge::webhooks {

class SqliteWebhookStore final : public ports::WebhookStore {
 public:
  struct Options {
    std::size_t max_hooks_per_tenant = 20;
    std::size_t max_log_per_hook = 1000;
  };
  static constexpr int kSchemaVersion = 2;

  static base::Result<std::unique_ptr<SqliteWebhookStore>> open(const std::string& path, Options options);
  static base::Result<std::unique_ptr<SqliteWebhookStore>> open(const std::string& path) {
    return open(path, Options{});
  }
  ~SqliteWebhookStore() override;

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

 private:
  SqliteWebhookStore(std::unique_ptr<storage::sqlite::Connection> db, Options o);
  base::Result<std::vector<ports::Webhook>> query_hooks(std::string_view where, const std::string* a,
                                                        const std::string* b);

  std::mutex mu_;
  std::unique_ptr<storage::sqlite::Connection> db_;
  Options options_;
  std::function<void(const base::TenantId&)> on_change_;
};

}  // namespace callbridge::webhooks
