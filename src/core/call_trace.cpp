#include "core/call_trace.hpp"

#include <algorithm>
#include <cstring>

#include "base/json_text.hpp"

namespace callbridge::core {

CallTraceLog::CallTraceLog(CallTraceOptions options, const base::Clock& clock)
    : options_(options), clock_(clock) {
  options_.max_calls = std::max<std::size_t>(options_.max_calls, 1);
  options_.max_steps = std::max<std::size_t>(options_.max_steps, 1);
  options_.max_pbx_steps = std::min(options_.max_pbx_steps, options_.max_steps);
  options_.max_raw_bytes = std::min<std::size_t>(options_.max_raw_bytes, std::size_t{1} << 30);
  // 8 KiB holds a dozen typical AMI events; an event larger than a chunk is formatted at once.
  chunk_bytes_ = std::min<std::size_t>(options_.max_raw_bytes, 8 * 1024);
}

void CallTraceLog::forget(Call& c) {
  for (auto& ch : c.chunks) free_chunks_.push_back(std::move(ch));
  c.chunks.clear();
  c.used.clear();
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
    if (!gone) {
      forget(it->second);
      if (recent_ == &it->second) recent_ = nullptr;
      calls_.erase(it);
    }
    order_.pop_front();
  }
}

CallTraceLog::Call* CallTraceLog::call_for(std::string_view conv, base::Timestamp at) {
  if (conv.empty()) return nullptr;
  if (recent_ && recent_->call_id == conv) {
    recent_->last = std::max(recent_->last, at);
    recent_->first = std::min(recent_->first, at);
    return recent_;
  }
  auto it = calls_.find(conv);
  if (it == calls_.end()) {
    // A new call: the only time old ones are swept out (the clock is read here, not per step).
    expire(clock_.now());
    it = calls_.emplace(std::string(conv), Call{}).first;
    it->second.call_id = std::string(conv);
    it->second.first = at;
    it->second.steps.reserve(8);
    order_.emplace_back(conv);
    if (calls_.size() > options_.max_calls) expire(clock_.now());
  }
  auto& c = it->second;
  c.last = std::max(c.last, at);
  c.first = std::min(c.first, at);
  recent_ = &c;
  return &c;
}

bool CallTraceLog::room_for(Call& c, ports::TraceStage stage) {
  // PBX events leave room for the other stages; the others may use all that is left.
  if (c.kept >= options_.max_steps || (stage == ports::TraceStage::pbx && c.pbx_steps >= options_.max_pbx_steps)) {
    ++c.dropped;
    return false;
  }
  if (stage == ports::TraceStage::pbx) ++c.pbx_steps;
  ++c.kept;
  return true;
}

void CallTraceLog::cut(std::string& detail) const {
  if (detail.size() <= options_.max_text) return;
  detail.resize(options_.max_text);
  while (!detail.empty() && (static_cast<unsigned char>(detail.back()) & 0xC0) == 0x80) detail.pop_back();
  if (!detail.empty() && static_cast<unsigned char>(detail.back()) >= 0xC0) detail.pop_back();  // a cut lead byte
  detail += "…";
}

void CallTraceLog::add(std::string_view call_id, ports::TraceStage stage, base::Timestamp at, std::string what,
                       std::string detail) {
  const auto conv = conversation_of(call_id);
  if (conv.empty()) return;
  std::lock_guard lock(mu_);
  Call* c = call_for(conv, at);
  if (!room_for(*c, stage)) return;
  cut(detail);
  c->steps.push_back(Kept{TraceStep{at, stage, std::move(what), std::move(detail)}, c->kept - 1});
}

void CallTraceLog::add_raw(std::string_view call_id, base::Timestamp at, std::string_view raw,
                           ports::RawTraceFormat format) {
  const auto conv = conversation_of(call_id);
  if (conv.empty() || format == nullptr) return;
  std::lock_guard lock(mu_);
  Call* c = call_for(conv, at);
  if (!room_for(*c, ports::TraceStage::pbx)) return;
  constexpr std::size_t head = sizeof(RawHead);
  const std::size_t need = head + ((raw.size() + alignof(RawHead) - 1) & ~(alignof(RawHead) - 1));
  if (need <= chunk_bytes_) {
    if (c->chunks.empty() || chunk_bytes_ - c->used.back() < need) {
      if (c->chunks.size() < options_.max_raw_bytes / chunk_bytes_) {
        if (free_chunks_.empty()) {
          c->chunks.push_back(std::make_unique_for_overwrite<char[]>(chunk_bytes_));
        } else {
          c->chunks.push_back(std::move(free_chunks_.back()));
          free_chunks_.pop_back();
        }
        c->used.push_back(0);
      }
    }
    if (!c->chunks.empty() && chunk_bytes_ - c->used.back() >= need) {
      char* to = c->chunks.back().get() + c->used.back();
      const RawHead h{at, format, c->kept - 1, static_cast<std::uint32_t>(raw.size())};
      std::memcpy(to, &h, head);
      std::memcpy(to + head, raw.data(), raw.size());
      c->used.back() += static_cast<std::uint32_t>(need);
      return;
    }
  }
  // The call's raw budget is spent (or the event is larger than a chunk): formatted now, the
  // same text, kept smaller.
  std::string what, detail;
  if (!format(raw, what, detail)) {
    // Not a step after all: the count goes back (seq numbers stay unique, gaps do not matter).
    --c->pbx_steps;
    --c->kept;
    return;
  }
  cut(detail);
  c->steps.push_back(Kept{TraceStep{at, ports::TraceStage::pbx, std::move(what), std::move(detail)}, c->kept - 1});
}

std::optional<CallTraceRecord> CallTraceLog::find(std::string_view call_id) const {
  CallTraceRecord r;
  std::vector<Kept> steps;
  std::string raw;  // the chunks' used bytes, one after the other
  {
    std::lock_guard lock(mu_);
    auto it = calls_.find(conversation_of(call_id));
    if (it == calls_.end()) return std::nullopt;
    const auto cutoff = clock_.now() - std::chrono::duration_cast<base::Timestamp::duration>(options_.retention);
    const Call& c = it->second;
    if (c.last < cutoff) return std::nullopt;
    r.call_id = c.call_id;
    r.first = c.first;
    r.last = c.last;
    r.dropped = c.dropped;
    r.pbx_steps = c.pbx_steps;
    steps = c.steps;
    std::size_t n = 0;
    for (auto u : c.used) n += u;
    raw.reserve(n);
    for (std::size_t i = 0; i < c.chunks.size(); ++i) raw.append(c.chunks[i].get(), c.used[i]);
  }
  // Raw PBX steps are formatted here, outside the lock: the cost of the trace is paid by its reader.
  for (std::size_t off = 0; off + sizeof(RawHead) <= raw.size();) {
    RawHead h;
    std::memcpy(&h, raw.data() + off, sizeof h);
    Kept k{TraceStep{h.at, ports::TraceStage::pbx, {}, {}}, h.seq};
    if (h.format(std::string_view(raw).substr(off + sizeof h, h.len), k.step.what, k.step.detail)) {
      cut(k.step.detail);
      steps.push_back(std::move(k));
    } else {
      --r.pbx_steps;
    }
    off += sizeof h + ((h.len + alignof(RawHead) - 1) & ~(alignof(RawHead) - 1));
  }
  // Arrival order first (as add() and add_raw() came), then by stage and time for the reader.
  std::sort(steps.begin(), steps.end(), [](const Kept& a, const Kept& b) { return a.seq < b.seq; });
  r.steps.reserve(steps.size());
  for (auto& k : steps) r.steps.push_back(std::move(k.step));
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
