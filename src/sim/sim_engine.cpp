#include "sim/sim_engine.hpp"

namespace callbridge::sim {

SimEngine::SimEngine(LabConfig config, base::Timestamp start, Sink sink)
    : clock_(start), sink_(std::move(sink)), model_(clock_, std::move(config), [this](const SimMessage& m) {
        if (sink_) sink_(m);
      }) {}

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
