// Wall-clock instants with microsecond resolution, as AMI `Timestamp:` headers carry them,
// and the RFC 3339 rendering the journal uses. Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace callbridge::base {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

inline Timestamp from_micros(std::int64_t us) { return Timestamp(std::chrono::microseconds(us)); }
inline std::int64_t to_micros(Timestamp t) { return t.time_since_epoch().count(); }

// Parses "1795382753.707317" (seconds.fraction, as in AMI Timestamp). nullopt on garbage.
std::optional<Timestamp> parse_epoch_seconds(std::string_view s);

// "2026-11-22T21:25:53.711Z": UTC, milliseconds truncated (JOURNAL.md).
std::string format_rfc3339_ms(Timestamp t);

// Accepts "2026-11-22T21:25:53Z", "2026-11-22T21:25:53.711Z", "2026-11-22T21:25:53+01:00",
// "2026-11-22" (midnight UTC). nullopt on anything else.
std::optional<Timestamp> parse_rfc3339(std::string_view s);

// Seconds between two instants rounded to one decimal (journal durations).
double seconds_1dp(Timestamp from, Timestamp to);

// The process's wall clock, behind an interface so tests can inject time (LevelDB's Env idea).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp now() const override;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp t) : now_(t) {}
  Timestamp now() const override { return now_; }
  void set(Timestamp t) { now_ = t; }
  void advance(std::chrono::microseconds d) { now_ += d; }

 private:
  Timestamp now_;
};

}  // namespace callbridge::base
