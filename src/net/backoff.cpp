#include "net/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace callbridge::net {

Backoff::Backoff(BackoffPolicy policy, std::uint64_t seed) : policy_(policy), rng_(seed) {
  policy_.multiplier = std::max(1.0, policy_.multiplier);
  policy_.jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  if (policy_.max < policy_.initial) policy_.max = policy_.initial;
}

std::chrono::milliseconds Backoff::next() {
  const double initial = static_cast<double>(policy_.initial.count());
  const double cap = static_cast<double>(policy_.max.count());
  // Grow in floating point and cap before jitter so huge attempt counts cannot overflow.
  double base = initial * std::pow(policy_.multiplier, std::min(attempt_, 64));
  base = std::min(base, cap);
  if (attempt_ < 1'000'000) ++attempt_;
  double factor = 1.0;
  if (policy_.jitter > 0.0) {
    std::uniform_real_distribution<double> dist(1.0 - policy_.jitter, 1.0 + policy_.jitter);
    factor = dist(rng_);
  }
  double ms = std::min(base * factor, cap);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(std::max(0.0, ms))));
}

}  // namespace callbridge::net
