// TenantAdmin: what the operator routes (/api/v1/tenants, api/rest_tenants.cpp) ask of the daemon:
// list, show, create, change and remove tenants while it runs. Implemented in app/ (TenantManager:
// validates a spec with the configuration's readers, stores it, starts or stops the tenant's
// runtime). Methods are called on the io thread; `done` may run on any thread, exactly once.
// Answers are JSON object texts (docs/api.md "Tenants"); errors are base::Error codes
// (invalid_argument, not_found, conflict, unavailable) that the routes map to 4xx/5xx.
#pragma once

#include <functional>
#include <string>

#include "base/error.hpp"

namespace callbridge::api {

class TenantAdmin {
 public:
  using Done = std::function<void(base::Result<std::string>)>;
  virtual ~TenantAdmin() = default;

  // {"tenants": [{id, display_name, source, state, error, links}, ...]}
  virtual void list(Done done) = 0;
  // {id, display_name, source, state, error, links, spec, created_at, updated_at, updated_by}
  virtual void get(const std::string& id, Done done) = 0;
  // `spec_json` as sent. create (POST): the id comes from the body, conflict when it exists;
  // else (PUT) `id` is the URL's, not_found when it does not exist. Answers as get() once the
  // tenant's runtime was (re)started. `by`: the operator user, kept with the spec.
  virtual void put(const std::string& id, std::string spec_json, bool create, const std::string& by, Done done) = 0;
  // Stops the tenant's runtime and deletes its spec; `done` once it stopped.
  virtual void remove(const std::string& id, std::function<void(base::Status)> done) = 0;
};

}  // namespace callbridge::api
