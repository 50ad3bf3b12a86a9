// The presence capability's service logic, without HTTP: the lines (devices) of a tenant a viewer
// may see, each with its state and its owner's display name. Built in two steps because the data
// lives on two threads: the owners come from identity.db (a REST worker, constructor), the states
// from the tenant's CallModels (the io thread, add()). Not thread-safe; one per request.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/visibility.hpp"
#include "model/call_model.hpp"
#include "ports/identity_store.hpp"

namespace callbridge::capabilities::presence {

struct Line {
  std::string device;       // "100"
  std::string name;         // the display name of its user (the first user listing it), or ""
  model::DeviceState state;
};

class LineView {
 public:
  // `users`: the users of the viewer's tenant; they name the lines and decide which lines a user
  // sees (own and team, core::line_scope). Worker thread (the caller read identity.db).
  LineView(const core::Viewer& viewer, std::span<const ports::User> users);

  // Adds the devices of one of the tenant's CallModels; a device two models report keeps the
  // first model's state. io thread (the models' owner).
  void add(const model::CallModel& m);

  // The visible lines, sorted by device.
  std::vector<Line> lines() const;

 private:
  std::map<std::string, std::string> names_;  // device -> display name
  core::LineScope scope_;
  std::map<std::string, model::DeviceState> states_;  // device -> state, sorted
};

}  // namespace callbridge::capabilities::presence
