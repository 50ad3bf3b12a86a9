// CallTraceLog: one tenant's explain traces (ports::CallTrace), the answer to "why did Anna get no
// pop?" (docs/troubleshooting.md). A small bounded record per call that the PBX driver, the number
// normalization, the directory lookups, the event hub and the journal path append to; read by
// GET /api/v1/calls/{id}/trace and `callbridge explain`. Kept for live calls and for ended ones
// within the retention window; bounded in every direction: at most `max_calls` calls (the oldest
// goes first), none older than `retention` since its last step, at most `max_steps` steps per call
// (PBX events at most `max_pbx_steps`; later ones are counted, not kept), texts cut at `max_text`
// bytes. Nothing is formatted on reading; appending costs one map lookup and the step's strings.
// Thread-safe (one mutex); in practice appended on the io thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/time.hpp"
#include "ports/call_trace.hpp"

namespace callbridge::core {

struct CallTraceOptions {
  std::size_t max_calls = 200;                      // [trace] max_calls
  std::chrono::seconds retention{30 * 60};          // [trace] retention_minutes
  std::size_t max_steps = 160;                      // per call, all stages
  std::size_t max_pbx_steps = 100;                  // per call, PBX events
  std::size_t max_text = 400;                       // bytes of one step's detail
};

struct TraceStep {
  base::Timestamp at{};
  ports::TraceStage stage = ports::TraceStage::pbx;
  std::string what;
  std::string detail;
};

struct CallTraceRecord {
  std::string call_id;      // the conversation (a model id "conv~x" is traced under "conv")
  base::Timestamp first{};  // first step
  base::Timestamp last{};   // latest step
  std::vector<TraceStep> steps;  // in arrival order
  std::size_t dropped = 0;       // steps not kept (per-call limits)
  std::size_t pbx_steps = 0;     // of `steps`, PBX events
};

class CallTraceLog final : public ports::CallTrace {
 public:
  CallTraceLog(CallTraceOptions options, const base::Clock& clock);

  void add(std::string_view call_id, ports::TraceStage stage, base::Timestamp at, std::string what,
           std::string detail = {}) override;

  // The trace of `call_id` (its conversation), steps ordered by stage, then time; nullopt when
  // unknown or past retention.
  std::optional<CallTraceRecord> find(std::string_view call_id) const;
  std::size_t size() const;
  const CallTraceOptions& options() const { return options_; }

  // "conv~suffix" -> "conv".
  static std::string_view conversation_of(std::string_view call_id);

 private:
  void expire(base::Timestamp now);  // mu_ held

  CallTraceOptions options_;
  const base::Clock& clock_;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, CallTraceRecord, Hash, std::equal_to<>> calls_;  // no key copy to look up
  std::deque<std::string> order_;  // call ids, oldest first
};

// {"call_id":..,"first":..,"last":..,"dropped":N,"steps":[{"at","stage","what","detail"}...]}
std::string trace_json(const CallTraceRecord& r);

}  // namespace callbridge::core
