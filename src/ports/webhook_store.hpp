// Webhooks: the per-tenant outgoing HTTP callbacks admins register (docs/webhooks.md), and the log of
// what was delivered to each. Implemented by webhooks/sqlite (DATA_DIR/webhooks.db); written by the
// webhooks capability's routes (hooks) and the delivery engine (webhooks/delivery: the log), read by
// both. Implementations are thread-safe; every call may block on disk (REST workers, the delivery
// thread), never the io thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "base/time.hpp"

namespace callbridge::ports {

// The event types a hook can subscribe to (docs/webhooks.md "Events"). "ping" is sent only by
// POST /api/v1/webhooks/{id}/ping, to every hook that asks for it.
inline constexpr std::string_view kWebhookEventTypes[] = {
    "call.ringing", "call.answered", "call.ended", "call.missed", "journal.entry", "presence.changed",
    "queue.changed", "anydevice.changed"};

struct Webhook {
  std::string id;  // "wh_" + 16 hex digits, unique across tenants
  base::TenantId tenant;
  std::string url{};
  std::vector<std::string> events{};  // a subset of kWebhookEventTypes, sorted, no duplicates
  std::string body_template{};        // "" = the default body (docs/webhooks.md "Body templates")
  std::string description{};
  std::string secret{};  // the HMAC-SHA256 key; the API shows it once, at creation
  base::Timestamp created_at{};
  std::string created_by{};
};

// One event for one hook, after its last attempt so far.
struct WebhookDelivery {
  std::string id;  // "dl_" + 16 hex digits: X-Callbridge-Delivery
  std::string hook_id;
  base::TenantId tenant;
  std::string event_type{};
  std::string event_id{};
  std::string state{};  // "retrying" (another attempt is due), "delivered", "failed" (given up)
  int attempts = 0;
  int http_status = 0;     // of the last attempt; 0 = no HTTP answer (connection, timeout, refused)
  std::string last_error{};  // "" when delivered
  base::Timestamp created_at{};
  base::Timestamp updated_at{};
};

// A delivery still to be made when callbridged stopped (saved at a graceful stop, resumed at start).
struct PendingDelivery {
  WebhookDelivery rec;  // state/http_status/last_error are not kept; attempts and created_at are
  std::string chain;    // hook id + '\n' + order key: deliveries of one chain go out in saved order
  std::string body;     // the JSON body as it was rendered
};

class WebhookStore {
 public:
  virtual ~WebhookStore() = default;

  // Errc::conflict when the tenant has max_hooks already (the store's option).
  virtual base::Status add(const Webhook& hook) = 0;
  virtual base::Result<std::vector<Webhook>> list(const base::TenantId& tenant) = 0;
  // Every tenant's hooks (the delivery engine at start).
  virtual base::Result<std::vector<Webhook>> list_all() = 0;
  // nullopt: no such hook in that tenant.
  virtual base::Result<std::optional<Webhook>> get(const base::TenantId& tenant, std::string_view id) = 0;
  // false: no such hook in that tenant. Its delivery log goes with it.
  virtual base::Result<bool> remove(const base::TenantId& tenant, std::string_view id) = 0;

  // Inserts or replaces the delivery by id; keeps at most the store's max_log_per_hook newest of the hook.
  virtual base::Status record(const WebhookDelivery& d) = 0;
  // The same for several, in order, in one transaction (the delivery engine's batches).
  virtual base::Status record_all(std::span<const WebhookDelivery> ds) = 0;
  // Newest first; `limit` at most.
  virtual base::Result<std::vector<WebhookDelivery>> deliveries(const base::TenantId& tenant,
                                                                std::string_view hook_id, std::size_t limit) = 0;
  // Deletes deliveries last updated before `cutoff`; how many.
  virtual base::Result<std::size_t> prune_before(base::Timestamp cutoff) = 0;

  // Replaces the saved pending deliveries with `pending` (in this order; those of hooks that no
  // longer exist are left out), in one transaction.
  virtual base::Status save_pending(const std::vector<PendingDelivery>& pending) = 0;
  // Takes the saved pending deliveries (in saved order) out of the store, in one transaction that
  // also closes what cannot be resumed: a logged delivery still "retrying" that is not among them
  // (callbridged ended without saving it, e.g. killed) becomes "failed" with `lost_error` at `now`.
  virtual base::Result<std::vector<PendingDelivery>> take_pending(base::Timestamp now,
                                                                  std::string_view lost_error) = 0;

  // Called after add() or remove() changed a tenant's hooks (on the caller's thread), so the
  // delivery engine reloads them. One listener; set before the store is shared.
  virtual void set_on_change(std::function<void(const base::TenantId&)> f) = 0;
};

// What the webhooks capability's routes need from the delivery engine (webhooks/delivery), which
// owns the rules (address policy, template language) and the delivery thread. Thread-safe.
class WebhookEngine {
 public:
  virtual ~WebhookEngine() = default;
  // Why a hook may not have this URL ("" = fine): scheme, length, credentials in it, an address
  // literal the address policy refuses. Names resolved later are checked on every connection.
  virtual std::string url_problem(std::string_view url) const = 0;
  // Why the body template is refused ("" = fine; an empty template is the default body).
  virtual std::string template_problem(std::string_view body_template) const = 0;
  // A new hook id and secret.
  virtual std::string new_hook_id() const = 0;
  virtual std::string new_secret() const = 0;
  // Queues a "ping" event for the tenant's hook; false when no such hook is loaded.
  virtual bool ping(const base::TenantId& tenant, std::string_view hook_id) = 0;
};

}  // namespace callbridge::ports
