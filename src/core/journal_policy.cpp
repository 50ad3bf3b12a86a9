#include "core/journal_policy.hpp"

namespace callbridge::core {

std::string_view to_string(JournalVerdict v) {
  switch (v) {
    case JournalVerdict::store: return "store";
    case JournalVerdict::excluded_internal: return "excluded_internal";
    case JournalVerdict::excluded_number: return "excluded_number";
  }
  return "store";
}

std::string JournalPolicy::canonical_number(std::string_view n) {
  std::string out;
  out.reserve(n.size());
  for (char c : n) {
    if (c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')' || c == '\t') continue;
    out += c;
  }
  return out;
}

JournalPolicy::JournalPolicy(JournalPolicyConfig config)
    : exclude_internal_(config.exclude_internal), retention_days_(config.retention_days) {
  for (const auto& n : config.excluded_numbers) {
    auto c = canonical_number(n);
    if (!c.empty()) excluded_.insert(std::move(c));
  }
}

JournalVerdict JournalPolicy::check(const model::JournalEntry& e) const {
  if (exclude_internal_ && e.direction == model::Direction::internal)
    return JournalVerdict::excluded_internal;
  if (!excluded_.empty()) {
    if (excluded_.count(canonical_number(e.party))) return JournalVerdict::excluded_number;
    if (e.remote && excluded_.count(canonical_number(*e.remote)))
      return JournalVerdict::excluded_number;
  }
  return JournalVerdict::store;
}

std::optional<base::Timestamp> JournalPolicy::retention_cutoff(base::Timestamp now) const {
  if (retention_days_ <= 0) return std::nullopt;
  return now - std::chrono::days(retention_days_);
}

RetentionSchedule::RetentionSchedule(const JournalPolicy& policy, std::chrono::seconds interval)
    : policy_(policy), interval_(interval) {}

std::optional<base::Timestamp> RetentionSchedule::due(base::Timestamp now) {
  if (!enabled()) return std::nullopt;
  const bool first = !last_run_;
  const bool elapsed = last_run_ && now >= *last_run_ + interval_;
  const bool clock_went_back = last_run_ && now + interval_ < *last_run_;
  if (!(first || elapsed || clock_went_back)) return std::nullopt;
  last_run_ = now;
  return policy_.retention_cutoff(now);
}

}  // namespace callbridge::core
