#include "drivers/ami/ami_trace.hpp"

#include <array>
#include <string>
#include <string_view>

namespace callbridge::drivers::ami {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The only fields a trace copies (none of them can hold a credential).
constexpr std::array<std::string_view, 22> kFields = {
    "Channel",     "ChannelStateDesc", "CallerIDNum",    "CallerIDName", "ConnectedLineNum", "ConnectedLineName",
    "Context",     "Exten",            "DestChannel",    "DestExten",    "DestCallerIDNum",  "DialStatus",
    "Cause",       "Cause-txt",        "BridgeUniqueid", "Queue",        "Interface",        "MemberName",
    "TransferTargetChannel", "Result",  "Position",       "Uniqueid"};

constexpr std::array<std::string_view, 9> kSkipped = {"VarSet",     "Newexten",    "DTMFBegin", "DTMFEnd",
                                                      "RTCPSent",   "RTCPReceived", "UserEvent", "AGIExecStart",
                                                      "AGIExecEnd"};

bool wanted(std::string_view key) {
  if (key.size() < 4 || key.size() > 21) return false;
  for (auto f : kFields)
    if (f.size() == key.size() && iequals(key, f)) return true;
  return false;
}

}  // namespace

bool trace_ami_event(ports::CallTrace& trace, const AmiMessage& m, base::Timestamp at) {
  // One pass: the event name, the Linkedid, the wanted fields (most events are skipped early).
  const auto& hs = m.headers();
  if (hs.empty() || hs.front().key.size() != 5 || !iequals(hs.front().key, "Event")) return false;
  const std::string_view event = hs.front().value;
  for (auto s : kSkipped)
    if (event == s) return false;
  std::string_view linkedid;
  std::string detail;
  bool resync = false;
  for (std::size_t i = 1; i < hs.size(); ++i) {
    const auto& h = hs[i];
    if (h.key.size() == 8 && iequals(h.key, "Linkedid")) {
      linkedid = h.value;
      continue;
    }
    if (h.key.size() == 8 && iequals(h.key, "ActionID")) {
      resync = true;
      continue;
    }
    if (h.value.empty() || !wanted(h.key)) continue;
    if (detail.empty()) detail.reserve(160);
    else detail += ' ';
    detail += h.key;
    detail += '=';
    detail += h.value;
  }
  if (linkedid.empty()) return false;
  if (resync) detail += detail.empty() ? "(resync list item)" : " (resync list item)";
  trace.add(linkedid, ports::TraceStage::pbx, at, std::string(event), std::move(detail));
  return true;
}

}  // namespace callbridge::drivers::ami
