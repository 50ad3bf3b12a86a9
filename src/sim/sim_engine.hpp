// The simulator's clock and scheduler around one PbxModel: call flows schedule their next step
// `after(d, fn)`; run_until(t) runs every due step in time order, advancing the injected
// ManualClock to each step's time, so the same inputs always give the same AMI stream.
// What the PBX *shows* as time (AMI Timestamp, Uniqueid epochs, durations) comes from a second
// clock, the display clock: the simulated time itself, unless a server paces the engine faster
// than real time (set_display_scale), where it is mapped back to the wall clock.
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

// The simulated time as the PBX shows it: wall_base + (sim - sim_base) / speed. With the default
// scale (speed 1, equal bases) it is the simulated time itself.
class DisplayClock final : public base::Clock {
 public:
  explicit DisplayClock(const base::ManualClock& sim) : sim_(sim), sim_base_(sim.now()), wall_base_(sim.now()) {}
  base::Timestamp now() const override { return at(sim_.now()); }
  base::Timestamp at(base::Timestamp sim) const;
  void set_scale(base::Timestamp sim_base, base::Timestamp wall_base, double speed);

 private:
  const base::ManualClock& sim_;
  base::Timestamp sim_base_, wall_base_;
  double speed_ = 1.0;
};

class SimEngine {
 public:
  using Sink = std::function<void(const SimMessage&)>;

  SimEngine(LabConfig config, base::Timestamp start, Sink sink);
  SimEngine(const SimEngine&) = delete;
  SimEngine& operator=(const SimEngine&) = delete;

  PbxModel& model() { return model_; }
  const base::ManualClock& clock() const { return clock_; }
  base::Timestamp now() const { return clock_.now(); }
  // The time the PBX shows now (see DisplayClock); PbxModel stamps its events with it.
  const DisplayClock& display_clock() const { return display_; }
  base::Timestamp shown_now() const { return display_.now(); }
  // From now on the shown time is `wall_base` at the current simulated time and advances 1/speed
  // as fast as the simulated time (speed > 0): a server running the engine `speed` times faster
  // than real time calls it, so its clients never see times in the future. A speed <= 0 (as fast
  // as possible) keeps the simulated time.
  void set_display_scale(base::Timestamp wall_base, double speed);

  void after(std::chrono::microseconds delay, std::function<void()> step);
  std::optional<base::Timestamp> next_due() const;
  bool idle() const { return steps_.empty(); }
  std::size_t pending() const { return steps_.size(); }
  // Runs all steps due at or before `t` (in time, then insertion order); the clock ends at t.
  void run_until(base::Timestamp t);
  // Runs until nothing is scheduled (at most max_steps steps); returns the steps run.
  std::size_t run_all(std::size_t max_steps = 1'000'000);

  void set_sink(Sink sink) { sink_ = std::move(sink); }

  // What picking up a ringing phone leg does (its flow registers it when the phone starts to
  // ring; a remote answer, PJSIPNotify "Event: talk", runs it early). take_answer() removes and
  // returns it (empty when there is none); the flow's own ring step takes it too.
  void set_answer(const std::string& uniqueid, std::function<void()> pick_up);
  std::function<void()> take_answer(const std::string& uniqueid);
  std::size_t answers_pending() const { return answers_.size(); }

 private:
  base::ManualClock clock_;
  DisplayClock display_{clock_};
  Sink sink_;
  PbxModel model_;
  std::multimap<std::pair<base::Timestamp, std::uint64_t>, std::function<void()>> steps_;
  std::map<std::string, std::function<void()>> answers_;  // by the ringing leg's Uniqueid
  std::uint64_t seq_ = 0;
};

}  // namespace callbridge::sim
