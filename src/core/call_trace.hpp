// CallTraceLog: one tenant's explain traces (ports::CallTrace), the answer to "why did Anna get no
// pop?" (docs/troubleshooting.md). A small bounded record per call that the PBX driver, the number
// normalization, the directory lookups, the event hub and the journal path append to; read by
// GET /api/v1/calls/{id}/trace and `callbridge explain`. Kept for live calls and for ended ones
// within the retention window; bounded in every direction: at most `max_calls` calls (the oldest
// goes first), none older than `retention` since its last step, at most `max_steps` steps per call
// (PBX events at most `max_pbx_steps`; later ones are counted, not kept), texts cut at `max_text`
// bytes. PBX events come raw (add_raw: the event's bytes, up to `max_raw_bytes` per call) and are
// formatted only when the trace is read, so appending one costs one map lookup and a copy of its
// bytes; a PBX event that no longer fits the call's raw budget is formatted at once instead (the
// trace reads the same either way). Memory: at most max_calls x (max_raw_bytes + max_steps steps
// of at most max_text bytes each), about 30 MiB for the defaults (docs/troubleshooting.md "Cost").
// Thread-safe (one mutex); in practice appended on the io thread, read on the API's.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
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
  std::size_t max_raw_bytes = 64 * 1024;            // per call, raw PBX events not yet formatted
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
  void add_raw(std::string_view call_id, base::Timestamp at, std::string_view raw,
               ports::RawTraceFormat format) override;

  // The trace of `call_id` (its conversation), steps ordered by stage, then time, raw PBX steps
  // formatted now; nullopt when unknown or past retention.
  std::optional<CallTraceRecord> find(std::string_view call_id) const;
  std::size_t size() const;
  const CallTraceOptions& options() const { return options_; }

  // "conv~suffix" -> "conv".
  static std::string_view conversation_of(std::string_view call_id);

 private:
  // A formatted step and its place among the call's steps (raw ones included).
  struct Kept {
    TraceStep step;
    std::uint32_t seq = 0;
  };
  // A raw step in a chunk: this header, then `len` bytes, then padding to the next header.
  struct RawHead {
    base::Timestamp at;
    ports::RawTraceFormat format;
    std::uint32_t seq;
    std::uint32_t len;
  };
  // Raw steps live in fixed-size chunks that go back to a free list when their call is swept out
  // (nothing per step but the copy: no reallocation while a call grows, no heap churn as calls
  // come and go).
  using Chunk = std::unique_ptr<char[]>;
  struct Call {
    std::string call_id;
    base::Timestamp first{}, last{};
    std::vector<Kept> steps;      // the formatted ones, in arrival order
    std::uint32_t kept = 0;       // steps kept, formatted and raw
    std::size_t dropped = 0, pbx_steps = 0;
    std::vector<Chunk> chunks;    // at most max_raw_bytes / chunk_bytes_
    std::vector<std::uint32_t> used;  // bytes used in each chunk
  };

  void expire(base::Timestamp now);  // mu_ held
  // The call's record, created when new; nullptr for an empty id. `at` widens first/last. mu_ held.
  Call* call_for(std::string_view conv, base::Timestamp at);
  // Whether one more step of `stage` fits the call's limits (else it is counted as dropped).
  bool room_for(Call& c, ports::TraceStage stage);
  void cut(std::string& detail) const;
  void forget(Call& c);  // its chunks back to the free list

  CallTraceOptions options_;
  const base::Clock& clock_;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Call, Hash, std::equal_to<>> calls_;  // no key copy to look up
  std::deque<std::string> order_;  // call ids, oldest first
  std::size_t chunk_bytes_ = 0;
  std::vector<Chunk> free_chunks_;  // at most max_calls x (max_raw_bytes / chunk_bytes_) in all
  // The call of the latest step (a call's events come in bursts): no hashing for the next one.
  Call* recent_ = nullptr;
};

// {"call_id":..,"first":..,"last":..,"dropped":N,"steps":[{"at","stage","what","detail"}...]}
std::string trace_json(const CallTraceRecord& r);

}  // namespace callbridge::core
