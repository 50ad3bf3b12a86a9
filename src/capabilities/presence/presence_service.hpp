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

// A colleague as the presence page shows them (GET /api/v1/presence): a user of the tenant with
// display name, team and the states of the lines the viewer may see.
struct Colleague {
  std::string user;
  std::string display_name;
  std::string team;
  std::string role;
  std::vector<Line> lines;  // their extensions the viewer sees, in their order
  // The state that says most about them: ringing, busy, held, dnd, idle, offline (in that order of
  // precedence); "offline" also when none of their lines is known to the PBX or they have none.
  std::string state;
};

// The colleagues a viewer may see: users see the users of their team (and themselves), with the
// lines core::line_scope lets them see; supervisors and admins every user of the tenant. Two steps
// as LineView: users on a worker, line states on the io thread. Not thread-safe.
class ColleagueView {
 public:
  ColleagueView(const core::Viewer& viewer, std::span<const ports::User> users);
  void add(const model::CallModel& m);
  // Sorted by team, then display name (then user name); every user once.
  std::vector<Colleague> colleagues() const;

 private:
  core::Viewer viewer_;
  std::vector<ports::User> users_;  // the visible ones
  core::LineScope scope_;
  std::map<std::string, model::DeviceState> states_;
};

}  // namespace callbridge::capabilities::presence
