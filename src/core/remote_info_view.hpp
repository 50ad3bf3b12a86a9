// What the API shows about a connection's remote party ("remote_info" in docs/api.md: E.164,
// extension, kind, display forms, contact matches). call_json() asks it per connection; the
// implementation is core/remote_info_service.hpp (classification, lookups, per-call cache).
// Model (io) thread only, like everything that renders calls.
#pragma once

#include <string>
#include <string_view>

#include "model/call_model.hpp"

namespace callbridge::core {

class RemoteInfoView {
 public:
  // Appends the JSON object for `conn.remote` as seen in `tenant` (never crosses tenants).
  virtual void append_remote_info(std::string& out, const base::TenantId& tenant,
                                  const model::Connection& conn) const = 0;

 protected:
  ~RemoteInfoView() = default;
};

}  // namespace callbridge::core
