// CallTrace: the narrow seam through which the parts that handle a call note why it went the way
// it did, for the admins' explain trace (GET /api/v1/calls/{id}/trace, `callbridge explain`,
// docs/troubleshooting.md "Why did Anna get no pop?"). The PBX driver notes the PBX events that
// built the call, the core its number's normalization, directory lookups, event deliveries and
// journal decisions. core::CallTraceLog implements it (bounded per tenant); a driver gets it from
// its PbxEventSink (PbxEventSink::call_trace(); null: nobody traces). Io (model) thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

class CallTrace {
 public:
  // One step of call `call_id` (a call model id or a journal entry's conversation id; "conv~x"
  // counts as "conv"): `what` a short stable word or phrase ("Newchannel", "no match", "delivered",
  // "excluded internal"), `detail` the words a person reads. Never secrets.
  virtual void add(std::string_view call_id, TraceStage stage, base::Timestamp at, std::string what,
                   std::string detail = {}) = 0;

 protected:
  ~CallTrace() = default;
};

}  // namespace callbridge::ports
