// CallTrace: the narrow seam through which the parts that handle a call note why it went the way
// it did, for the admins' explain trace (GET /api/v1/calls/{id}/trace, `callbridge explain`,
// docs/troubleshooting.md "Why did Anna get no pop?"). The PBX driver notes the PBX events that
// built the call, the core its number's normalization, directory lookups, event deliveries and
// journal decisions. core::CallTraceLog implements it (bounded per tenant); a driver gets it from
// its PbxEventSink (PbxEventSink::call_trace(); null: nobody traces). Io (model) thread.
// The PBX driver's steps are many (every call event of the PBX) and mostly never read: it hands
// them over raw (add_raw) with the function that turns them into a step, which CallTraceLog calls
// only when someone reads the trace.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "base/time.hpp"

namespace callbridge::ports {

// The five parts of a trace, in the order a trace shows them.
enum class TraceStage : std::uint8_t { pbx, number, directory, delivery, journal };

inline std::string_view to_string(TraceStage s) {
  switch (s) {
    case TraceStage::pbx: return "pbx";
    case TraceStage::number: return "number";
    case TraceStage::directory: return "directory";
    case TraceStage::delivery: return "delivery";
    case TraceStage::journal: return "journal";
  }
  return "pbx";
}

// Turns a PBX event a driver kept raw into a step: `what` and `detail` as add() takes them; false
// when it is not one (then nothing is shown). Must not depend on anything but `raw` (it is called
// later, on the thread that reads the trace).
using RawTraceFormat = bool (*)(std::string_view raw, std::string& what, std::string& detail);

class CallTrace {
 public:
  // One step of call `call_id` (a call model id or a journal entry's conversation id; "conv~x"
  // counts as "conv"): `what` a short stable word or phrase ("Newchannel", "no match", "delivered",
  // "excluded internal"), `detail` the words a person reads. Never secrets.
  virtual void add(std::string_view call_id, TraceStage stage, base::Timestamp at, std::string what,
                   std::string detail = {}) = 0;

  // A PBX step of `call_id` kept as the bytes the driver received (`raw`, copied) and formatted by
  // `format` only when the trace is read; the same limits as add(). This default formats at once.
  virtual void add_raw(std::string_view call_id, base::Timestamp at, std::string_view raw, RawTraceFormat format) {
    std::string what, detail;
    if (format(raw, what, detail)) add(call_id, TraceStage::pbx, at, std::move(what), std::move(detail));
  }

 protected:
  ~CallTrace() = default;
};

}  // namespace callbridge::ports
