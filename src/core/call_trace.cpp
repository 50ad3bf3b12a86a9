#include "core/call_trace.hpp"

#include <algorithm>

#include "base/json_text.hpp"

namespace callbridge::core {

CallTraceLog::CallTraceLog(CallTraceOptions options, const base::Clock& clock)
    : options_(options), clock_(clock) {
  options_.max_calls = std::max<std::size_t>(options_.max_calls, 1);
  options_.max_steps = std::max<std::size_t>(options_.max_steps, 1);
  options_.max_pbx_steps = std::min(options_.max_pbx_steps, options_.max_steps);
}

std::string_view CallTraceLog::conversation_of(std::string_view call_id) {
  auto p = call_id.find('~');
  return p == std::string_view::npos ? call_id : call_id.substr(0, p);
}

void CallTraceLog::expire(base::Timestamp now) {
  const auto cutoff = now - std::chrono::duration_cast<base::Timestamp::duration>(options_.retention);
  while (!order_.empty()) {
    auto it = calls_.find(order_.front());
    const bool gone = it == calls_.end();
    if (!gone && calls_.size() <= options_.max_calls && it->second.last >= cutoff) break;
    if (!gone) calls_.erase(it);
    order_.pop_front();
  }
}

void CallTraceLog::add(std::string_view call_id, ports::TraceStage stage, base::Timestamp at, std::string what,
                       std::string detail) {
  const auto conv = conversation_of(call_id);
  if (conv.empty()) return;
  std::lock_guard lock(mu_);
  auto it = calls_.find(conv);
  if (it == calls_.end()) {
    // A new call: the only time old ones are swept out (the clock is read here, not per step).
    expire(clock_.now());
    it = calls_.emplace(std::string(conv), CallTraceRecord{}).first;
    it->second.call_id = std::string(conv);
    it->second.first = at;
    it->second.steps.reserve(16);
    order_.emplace_back(conv);
    if (calls_.size() > options_.max_calls) expire(clock_.now());
  }
  auto& r = it->second;
  r.last = std::max(r.last, at);
  r.first = std::min(r.first, at);
  // PBX events leave room for the other stages; the others may use all that is left.
  if (r.steps.size() >= options_.max_steps || (stage == ports::TraceStage::pbx && r.pbx_steps >= options_.max_pbx_steps)) {
    ++r.dropped;
  } else {
    if (detail.size() > options_.max_text) {
      detail.resize(options_.max_text);
      while (!detail.empty() && (static_cast<unsigned char>(detail.back()) & 0xC0) == 0x80) detail.pop_back();
      if (!detail.empty() && static_cast<unsigned char>(detail.back()) >= 0xC0) detail.pop_back();  // a cut lead byte
      detail += "…";
    }
    if (stage == ports::TraceStage::pbx) ++r.pbx_steps;
    r.steps.push_back(TraceStep{at, stage, std::move(what), std::move(detail)});
  }
}

std::optional<CallTraceRecord> CallTraceLog::find(std::string_view call_id) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(conversation_of(call_id));
  if (it == calls_.end()) return std::nullopt;
  const auto cutoff = clock_.now() - std::chrono::duration_cast<base::Timestamp::duration>(options_.retention);
  if (it->second.last < cutoff) return std::nullopt;
  CallTraceRecord r = it->second;
  std::stable_sort(r.steps.begin(), r.steps.end(), [](const TraceStep& a, const TraceStep& b) {
    if (a.stage != b.stage) return a.stage < b.stage;
    return a.at < b.at;
  });
  return r;
}

std::size_t CallTraceLog::size() const {
  std::lock_guard lock(mu_);
  return calls_.size();
}

std::string trace_json(const CallTraceRecord& r) {
  std::string o = "{\"call_id\":";
  base::append_json_string(o, r.call_id);
  o += ",\"first\":";
  base::append_json_string(o, base::format_rfc3339_ms(r.first));
  o += ",\"last\":";
  base::append_json_string(o, base::format_rfc3339_ms(r.last));
  o += ",\"dropped\":";
  o += std::to_string(r.dropped);
  o += ",\"steps\":[";
  bool first = true;
  for (const auto& s : r.steps) {
    o += first ? "{\"at\":" : ",{\"at\":";
    first = false;
    base::append_json_string(o, base::format_rfc3339_ms(s.at));
    o += ",\"stage\":";
    base::append_json_string(o, ports::to_string(s.stage));
    o += ",\"what\":";
    base::append_json_string(o, s.what);
    o += ",\"detail\":";
    base::append_json_string(o, s.detail);
    o += '}';
  }
  o += "]}";
  return o;
}

}  // namespace callbridge::core
