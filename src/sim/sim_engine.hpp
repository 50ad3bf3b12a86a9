// The simulator's clock and scheduler around one PbxModel: call flows schedule their next step
// `after(d, fn)`; run_until(t) runs every due step in time order, advancing the injected
// ManualClock to each step's time, so the same inputs always give the same AMI stream.
// Not thread-safe: the TCP server's io thread (or a test) owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/time.hpp"
#include "sim/pbx_model.hpp"
#include "sim/sim_message.hpp"

namespace callbridge::sim {

class SimEngine {
 public:
  using Sink = std::function<void(const SimMessage&)>;

  SimEngine(LabConfig config, base::Timestamp start, Sink sink);
  SimEngine(const SimEngine&) = delete;
  SimEngine& operator=(const SimEngine&) = delete;

  PbxModel& model() { return model_; }
  const base::ManualClock& clock() const { return clock_; }
  base::Timestamp now() const { return clock_.now(); }

  void after(std::chrono::microseconds delay, std::function<void()> step);
  std::optional<base::Timestamp> next_due() const;
  bool idle() const { return steps_.empty(); }
  std::size_t pending() const { return steps_.size(); }
  // Runs all steps due at or before `t` (in time, then insertion order); the clock ends at t.
  void run_until(base::Timestamp t);
  // Runs until nothing is scheduled (at most max_steps steps); returns the steps run.
  std::size_t run_all(std::size_t max_steps = 1'000'000);

  void set_sink(Sink sink) { sink_ = std::move(sink); }

 private:
  base::ManualClock clock_;
  Sink sink_;
  PbxModel model_;
  std::multimap<std::pair<base::Timestamp, std::uint64_t>, std::function<void()>> steps_;
  std::uint64_t seq_ = 0;
};

}  // namespace callbridge::sim
