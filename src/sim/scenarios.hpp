// The captured lab scenarios as named, replayable flows with the capture's parties and timings
// (tests/fixtures/asterisk-22/<name>/scenario.md). The conformance test plays exactly these; the
// pbxsim CLI plays one with --scenario. Engine thread only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "sim/sim_engine.hpp"

namespace callbridge::sim {

struct ScenarioInfo {
  std::string name;     // the fixture directory name
  std::string summary;  // one line for --help
};

const std::vector<ScenarioInfo>& scenarios();

// Starts scenario `name` now. Errc::not_found (listing the names) for an unknown one.
base::Status start_scenario(SimEngine& e, std::string_view name);

}  // namespace callbridge::sim
