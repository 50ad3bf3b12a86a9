// CallModelRegistry: the live CallModels of each tenant (one per PBX link), so read-only API
// routes (GET /api/v1/calls) can list a tenant's calls without knowing the drivers. PBX link
// wiring add()s its tracker's model; App owns the registry. Model (io) thread only.
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "model/call_model.hpp"

namespace callbridge::core {

class CallModelRegistry {
 public:
  // The model must stay alive until remove()d.
  void add(const base::TenantId& tenant, const model::CallModel* m) { models_.emplace_back(tenant, m); }
  void remove(const model::CallModel* m) {
    std::erase_if(models_, [m](const auto& e) { return e.second == m; });
  }
  void for_each(const base::TenantId& tenant, const std::function<void(const model::CallModel&)>& f) const {
    for (const auto& [t, m] : models_)
      if (t == tenant) f(*m);
  }

 private:
  std::vector<std::pair<base::TenantId, const model::CallModel*>> models_;
};

}  // namespace callbridge::core
