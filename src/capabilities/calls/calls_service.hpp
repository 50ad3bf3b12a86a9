// The calls capability's service logic, without HTTP: which live calls of a tenant's CallModels a
// viewer sees, rendered as the API shows them (core::call_json, docs/api.md "Calls"), and a call
// control command as GET /api/v1/commands/{id} and the "command" event show it. Called on the io
// thread (the models' owner) by calls_routes and command_routes, and by the app's command
// publisher; not thread-safe (one CallList per request).
#pragma once

#include <optional>
#include <string>
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
  // {"calls":[...]}
  std::string json() const;

 private:
  core::Viewer viewer_;
  const core::RemoteInfoView* remotes_;
  std::string items_;  // the calls' JSON objects, comma-separated
};

// GET /api/v1/calls/{id}: call `id` of `m` as JSON when `viewer` may see it; nullopt otherwise
// (absent and invisible look alike).
std::optional<std::string> visible_call(const core::Viewer& viewer, const model::CallModel& m, std::string_view id,
                                        const core::RemoteInfoView* remotes);

// The command as GET /api/v1/commands/{id} and the {"type":"command"} event show it.
std::string command_json(const core::CommandRecord& r);

}  // namespace callbridge::capabilities::calls
