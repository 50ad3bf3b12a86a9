// The calls capability's service logic, without HTTP: which live calls of a tenant's CallModels a
// viewer sees, rendered as the API shows them (core::call_json, docs/api.md "Calls"), and a call
// control command as GET /api/v1/commands/{id} and the "command" event show it. Called on the io
// thread (the models' owner) by calls_routes and command_routes, and by the app's command
// publisher; not thread-safe (one CallList per request).
#pragma once

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>
#include <string_view>

#include "core/command_log.hpp"
#include "core/viewer.hpp"
#include "model/call_model.hpp"

namespace callbridge::core {
class RemoteInfoView;
}

namespace callbridge::capabilities::calls {

// GET /api/v1/calls: the calls `viewer` may see (core::may_see), model by model in the order given.
class CallList {
 public:
  // `remotes`: the connections' "remote_info" (null: none).
  CallList(core::Viewer viewer, const core::RemoteInfoView* remotes);

  void add(const model::CallModel& m);
  // Cluster mode: a call of another node's link as the cluster's mirror shows it (its connections'
  // devices, its JSON), unless a model added it already (this node's own links: fresher).
  void add_mirrored(std::string_view id, const std::vector<std::string>& devices, std::string_view json);
  // {"calls":[...]}
  std::string json() const;

 private:
  core::Viewer viewer_;
  const core::RemoteInfoView* remotes_;
  std::string items_;  // the calls' JSON objects, comma-separated
  std::unordered_set<std::string> ids_;
};

// A call of the cluster's mirror (its connections' devices) as core::may_see judges a live one:
// the whole tenant, or a connection of one of the viewer's devices.
bool mirror_visible(const core::Viewer& v, const std::vector<std::string>& devices);

// GET /api/v1/calls/{id}: call `id` of `m` as JSON when `viewer` may see it; nullopt otherwise
// (absent and invisible look alike).
std::optional<std::string> visible_call(const core::Viewer& viewer, const model::CallModel& m, std::string_view id,
                                        const core::RemoteInfoView* remotes);

// The command as GET /api/v1/commands/{id} and the {"type":"command"} event show it.
std::string command_json(const core::CommandRecord& r);

}  // namespace callbridge::capabilities::calls
