#include "sim/sim_engine.hpp"

namespace callbridge::sim {

base::Timestamp DisplayClock::at(base::Timestamp sim) const {
  if (speed_ == 1.0) return wall_base_ + (sim - sim_base_);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(sim - sim_base_).count();
  return wall_base_ + std::chrono::microseconds(static_cast<long long>(static_cast<double>(us) / speed_));
}

void DisplayClock::set_scale(base::Timestamp sim_base, base::Timestamp wall_base, double speed) {
  sim_base_ = sim_base;
  wall_base_ = wall_base;
  speed_ = speed > 0 ? speed : 1.0;
}

SimEngine::SimEngine(LabConfig config, base::Timestamp start, Sink sink)
    : clock_(start), sink_(std::move(sink)), model_(display_, std::move(config), [this](const SimMessage& m) {
        if (sink_) sink_(m);
      }) {}

void SimEngine::set_display_scale(base::Timestamp wall_base, double speed) {
  if (speed <= 0) return;
  display_.set_scale(clock_.now(), wall_base, speed);
}

void SimEngine::after(std::chrono::microseconds delay, std::function<void()> step) {
  if (delay.count() < 0) delay = std::chrono::microseconds(0);
  steps_.emplace(std::make_pair(clock_.now() + delay, seq_++), std::move(step));
}

std::optional<base::Timestamp> SimEngine::next_due() const {
  if (steps_.empty()) return std::nullopt;
  return steps_.begin()->first.first;
}

void SimEngine::run_until(base::Timestamp t) {
  while (!steps_.empty() && steps_.begin()->first.first <= t) {
    auto node = steps_.extract(steps_.begin());
    if (node.key().first > clock_.now()) clock_.set(node.key().first);
    node.mapped()();
  }
  if (t > clock_.now()) clock_.set(t);
}

std::size_t SimEngine::run_all(std::size_t max_steps) {
  std::size_t n = 0;
  while (!steps_.empty() && n < max_steps) {
    auto node = steps_.extract(steps_.begin());
    if (node.key().first > clock_.now()) clock_.set(node.key().first);
    node.mapped()();
    ++n;
  }
  return n;
}

}  // namespace callbridge::sim

namespace callbridge::sim {

void SimEngine::set_answer(const std::string& uniqueid, std::function<void()> pick_up) {
  answers_[uniqueid] = std::move(pick_up);
}

std::function<void()> SimEngine::take_answer(const std::string& uniqueid) {
  auto it = answers_.find(uniqueid);
  if (it == answers_.end()) return {};
  auto fn = std::move(it->second);
  answers_.erase(it);
  return fn;
}

}  // namespace callbridge::sim
