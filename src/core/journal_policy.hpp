// What the journal keeps and for how long: applies [journal] exclude_internal and excluded_numbers
// to each finished entry before it is stored, and schedules the retention purge. Pure logic (no I/O,
// no timers): the app calls check() on the model thread and runs RetentionSchedule on its timer.
// Thread-compatible: const after construction.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.hpp"
#include "model/journal_entry.hpp"

namespace callbridge::core {

struct JournalPolicyConfig {
  bool exclude_internal = false;
  std::vector<std::string> excluded_numbers;  // matched against party and remote
  int retention_days = 0;                     // 0 = keep forever
};

enum class JournalVerdict { store, excluded_internal, excluded_number };
std::string_view to_string(JournalVerdict v);

class JournalPolicy {
 public:
  explicit JournalPolicy(JournalPolicyConfig config);

  // Whether (and why not) an entry is written. Numbers compare after dropping the formatting
  // characters " -./()" on both sides, so "+49 89 123-456" excludes "+4989123456".
  JournalVerdict check(const model::JournalEntry& e) const;
  bool should_store(const model::JournalEntry& e) const { return check(e) == JournalVerdict::store; }

  // Entries that ended before this instant are past retention; nullopt when retention is off.
  std::optional<base::Timestamp> retention_cutoff(base::Timestamp now) const;
  int retention_days() const { return retention_days_; }

  static std::string canonical_number(std::string_view n);

 private:
  bool exclude_internal_;
  std::set<std::string> excluded_;  // canonical
  int retention_days_;
};

// When to purge: once at start-up, then every `interval`. If the wall clock jumps back by more
// than an interval, the next check is due at once (no purge is skipped for long).
class RetentionSchedule {
 public:
  explicit RetentionSchedule(const JournalPolicy& policy,
                             std::chrono::seconds interval = std::chrono::hours(1));

  bool enabled() const { return policy_.retention_days() > 0; }
  std::chrono::seconds interval() const { return interval_; }
  // Returns the purge cutoff when a purge is due at `now` and records the run; else nullopt.
  std::optional<base::Timestamp> due(base::Timestamp now);

 private:
  const JournalPolicy& policy_;
  std::chrono::seconds interval_;
  std::optional<base::Timestamp> last_run_;
};

}  // namespace callbridge::core
