// The queues as the API lists them (docs/queues.md) and the checks of an agent change request.
// No HTTP; io thread (queue states belong to the drivers), except the pure validators.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/remote_info_view.hpp"
#include "core/viewer.hpp"
#include "model/queue_state.hpp"

namespace callbridge::capabilities::queues {

inline constexpr std::size_t kMaxReason = 80;

// A pause reason: at most 80 bytes of UTF-8 text without control characters. nullopt: fine; else
// what is wrong.
std::optional<std::string> reason_problem(std::string_view reason);
// A queue name as app_queue accepts it in a path: 1..80 bytes, no control characters, no ',' '|'.
bool valid_queue_name(std::string_view name);

class QueueList {
 public:
  QueueList(core::Viewer viewer, const core::RemoteInfoView* remotes) : viewer_(std::move(viewer)), remotes_(remotes) {}
  // Adds the queues of `state` the viewer may see.
  void add(const model::QueueState& state);
  std::size_t size() const { return queues_.size(); }
  // {"queues":[...]} sorted by name, then pbx.
  std::string json(base::Timestamp now) const;

 private:
  core::Viewer viewer_;
  const core::RemoteInfoView* remotes_;
  std::vector<std::pair<const model::Queue*, std::string>> queues_;  // queue, pbx
};

}  // namespace callbridge::capabilities::queues
