// Reconnect delays: exponential growth with random jitter and a cap (so a fleet of clients does not
// reconnect in lock-step after a PBX restart). Pure and deterministic for a given seed, so tests
// inject a seed or a zero policy instead of sleeping. Not thread-safe; owned by one reconnect loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace callbridge::net {

struct BackoffPolicy {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30'000};
  double multiplier = 2.0;
  // Each delay is scaled by a uniform factor in [1 - jitter, 1 + jitter], then capped at `max`.
  double jitter = 0.2;

  // No waiting at all (tests, replay).
  static BackoffPolicy none() { return {std::chrono::milliseconds(0), std::chrono::milliseconds(0), 1.0, 0.0}; }
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy, std::uint64_t seed = std::random_device{}());

  // The delay before the next attempt; grows with every call until reset().
  std::chrono::milliseconds next();
  // A success: the next failure starts again at `initial`.
  void reset() { attempt_ = 0; }
  // How many delays were handed out since the last reset().
  int attempt() const { return attempt_; }
  const BackoffPolicy& policy() const { return policy_; }

 private:
  BackoffPolicy policy_;
  std::mt19937_64 rng_;
  int attempt_ = 0;
};

}  // namespace callbridge::net
