// Synthetic traffic for the simulator: calls arrive as a Poisson process (calls per second) and
// each becomes one of the lab flows (inbound / outbound / internal / queue, with answered, missed
// or busy outcomes, hold and blind transfer) on free seats, with ring and talk times drawn from
// the profile. Deterministic: the same profile and seed give the same AMI stream.
// Runs as self-rescheduling SimEngine steps; engine thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "sim/flows.hpp"
#include "sim/sim_engine.hpp"

namespace callbridge::sim {

struct TrafficProfile {
  int seats = 6;          // phones 100.. (the lab's six, then "Seat <ext>")
  double cps = 0.5;       // new calls per second, mean of a Poisson process
  // Outcome of a ringing call (normalized; the rest of 1.0 goes to answered).
  double answer_ratio = 0.75, miss_ratio = 0.15, busy_ratio = 0.10;
  // Call kinds (weights).
  double inbound = 0.5, outbound = 0.3, internal = 0.1, queue = 0.1;
  // Of answered inbound calls: share put on hold once, share blind-transferred to another seat,
  // share attended-transferred (hold, consultation call, REFER) to another seat.
  double hold_ratio = 0.1, transfer_ratio = 0.05, attended_ratio = 0.03;
  double ring_min_s = 1, ring_max_s = 8;  // uniform
  double talk_mean_s = 60, talk_min_s = 2, talk_max_s = 900;  // exponential, clamped
  std::string external_prefix = "+4989";  // caller / callee pool: prefix + 7 digits ...
  int external_pool = 1000;               // ... drawn from this many numbers
  std::uint64_t seed = 1;
  std::uint64_t max_calls = 0;  // 0: unlimited
  // A seat with calls of its own, so that somebody watching it sees one soon and regularly (the
  // demo's Anna): the first `focus_first_s` after start, then every focus_every_min_s..max_s
  // (uniform; 5 s later again while the seat is busy), ringing focus_ring_min_s..max_s, from an
  // outside caller (one in four: a colleague's internal call); three in four are answered by the
  // phone when nobody answered before, the rest given up by the caller. The random traffic
  // leaves this seat alone. "" = none (and no random numbers are drawn for it).
  std::string focus_ext{};
  double focus_first_s = 4, focus_every_min_s = 20, focus_every_max_s = 40;
  double focus_ring_min_s = 8, focus_ring_max_s = 15;

  // Errc::invalid_argument naming the bad key.
  base::Status validate() const;
};

// The lab config with `seats` phones (the six named lab phones first).
LabConfig lab_with_seats(int seats);

class TrafficGenerator {
 public:
  explicit TrafficGenerator(TrafficProfile p) : profile_(std::move(p)), rng_(profile_.seed) {}
  // Schedules the first arrival; the generator must outlive the engine's steps.
  void start(SimEngine& e);
  std::uint64_t started() const { return started_; }
  std::uint64_t focus_calls() const { return focus_calls_; }  // calls started for focus_ext
  std::uint64_t blocked() const { return blocked_; }  // arrivals with no free seat
  // Brings the focus seat's next call forward to `within` from now (someone just started to
  // watch it), unless the seat is busy, its next call is due by then anyway, or start() has not
  // run yet.
  void focus_soon(SimEngine& e, microseconds within);
  // No new calls from now on; calls in progress play to their end (then the engine goes idle).
  void stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }

 private:
  void arrival(SimEngine& e);
  void focus_arrival(SimEngine& e);
  void schedule_focus(SimEngine& e, microseconds after);  // replaces the pending focus arrival
  microseconds uniform(double min_s, double max_s);
  std::string free_seat(SimEngine& e, std::string_view except = {});
  std::string external_number();
  microseconds ring();
  microseconds talk();
  Outcome outcome();

  TrafficProfile profile_;
  std::mt19937_64 rng_;
  std::uint64_t started_ = 0, blocked_ = 0, focus_calls_ = 0;
  bool running_ = false;
  std::uint64_t focus_gen_ = 0;  // the pending focus arrival's; older ones do nothing
  base::Timestamp focus_due_{};
  bool stopped_ = false;
};

}  // namespace callbridge::sim
