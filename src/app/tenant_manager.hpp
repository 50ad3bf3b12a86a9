// TenantManager: tenants created, changed and removed at run time by the operator
// (api::TenantAdmin behind /api/v1/tenants). Validates a spec with the configuration's readers
// (app/tenant_spec), keeps it in a ports::TenantStore (identity.db), and starts, restarts or stops
// the tenant's runtime through App::add_tenant()/remove_tenant() while the daemon runs. Tenants of
// the TOML file are listed read-only: the file wins (docs/configuration.md "Tenants at run time").
// Owned by the REST wiring; every method runs on the App's io thread; store access and spec
// parsing run on the REST workers. Changes are applied one at a time, in arrival order.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "api/tenant_admin.hpp"
#include "app/tenant_spec.hpp"
#include "base/worker_pool.hpp"
#include "ports/tenant_store.hpp"

namespace callbridge::app {

class App;

class TenantManager final : public api::TenantAdmin {
 public:
  // `workers`: where store access runs and how answers come back to the io thread (empty: inline,
  // for tests without workers).
  TenantManager(App& app, std::unique_ptr<ports::TenantStore> store, base::Offload workers);
  ~TenantManager() override;

  // Start-up (io thread, before App::run()): starts every stored tenant the file does not name.
  // A tenant that fails is kept as "failed" with its reason; the others start.
  void load();

  void list(Done done) override;
  void get(const std::string& id, Done done) override;
  void put(const std::string& id, std::string spec_json, bool create, const std::string& by, Done done) override;
  void remove(const std::string& id, std::function<void(base::Status)> done) override;

  // How many run-time tenants are running / failed (diagnostics, tests).
  std::size_t running() const;

 private:
  struct Tenant {
    TenantSpec spec;
    ports::StoredTenant stored;
    bool running = false;
    std::string error;  // why it is not running
  };
  using Op = std::function<void(std::function<void()> next)>;

  void enqueue(Op op);
  void run_next();
  // The JSON of one tenant (`with_spec`: its spec without secrets and the store's times).
  std::string tenant_json(const std::string& id, bool with_spec) const;
  // Link or source names of `spec` that the file or another run-time tenant already uses.
  std::optional<std::string> name_clash(const TenantSpec& spec) const;
  bool file_tenant(const std::string& id) const;
  // Starts `id` (already in tenants_) and records the outcome.
  void start(const std::string& id);
  // Runs `job` on the workers, then `then` on the io thread.
  void blocking(std::function<void()> job, std::function<void()> then);

  App& app_;
  std::unique_ptr<ports::TenantStore> store_;
  base::Offload workers_;
  std::map<std::string, Tenant> tenants_;  // run-time tenants, by id
  std::deque<Op> ops_;
  bool busy_ = false;
  // Cleared by the destructor: answers that arrive afterwards (a worker finishing late) are dropped.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace callbridge::app
