#include "drivers/ami/ami_trace.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

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

bool is_event(const std::vector<AmiHeader>& hs) {
  return !hs.empty() && hs.front().key.size() == 5 && iequals(hs.front().key, "Event");
}

bool skipped(std::string_view event) {
  // Most events are of none of these lengths (Newchannel, Hangup, CEL, ...): one compare.
  if (event.size() < 6 || event.size() > 12) return false;
  for (auto s : kSkipped)
    if (event == s) return true;
  return false;
}

// `key` is "Linkedid" in any case (what describe() tests with iequals), 8 bytes at once: every
// byte of "linkedid" is a letter, and b | 0x20 is a given lower-case letter only for that letter
// in either case.
bool is_linkedid(std::string_view key) {
  if (key.size() != 8) return false;
  std::uint64_t w, want;
  std::memcpy(&w, key.data(), 8);
  std::memcpy(&want, "linkedid", 8);
  return (w | 0x2020202020202020ull) == want;
}

// The step of `m`: its Linkedid (the last one, empty: not a call's event), what and detail.
bool describe(const AmiMessage& m, std::string_view& linkedid, std::string& what, std::string& detail) {
  // One pass: the event name, the Linkedid, the wanted fields (most events are skipped early).
  const auto& hs = m.headers();
  if (!is_event(hs)) return false;
  const std::string_view event = hs.front().value;
  if (skipped(event)) return false;
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
  what = std::string(event);
  return true;
}

}  // namespace

bool trace_ami_event(ports::CallTrace& trace, const AmiMessage& m, base::Timestamp at) {
  std::string_view linkedid;
  std::string what, detail;
  if (!describe(m, linkedid, what, detail)) return false;
  trace.add(linkedid, ports::TraceStage::pbx, at, std::move(what), std::move(detail));
  return true;
}

bool format_ami_trace_step(std::string_view raw, std::string& what, std::string& detail) {
  FrameReader reader({}, /*expect_banner=*/false);
  reader.feed(raw);
  AmiMessage m;
  auto got = reader.next(m);
  if (!got || !*got) return false;
  std::string_view linkedid;
  return describe(m, linkedid, what, detail);
}

bool note_ami_event(ports::CallTrace& trace, const AmiMessage& m, base::Timestamp at) {
  if (m.raw().empty()) return trace_ami_event(trace, m, at);  // built by hand: no bytes to keep
  // Only what decides whether it is a step (the same tests as describe()); the fields are read
  // when the trace is.
  const auto& hs = m.headers();
  if (!is_event(hs) || skipped(hs.front().value)) return false;
  std::string_view linkedid;
  for (std::size_t i = 1; i < hs.size(); ++i)
    if (is_linkedid(hs[i].key)) linkedid = hs[i].value;
  if (linkedid.empty()) return false;
  trace.add_raw(linkedid, at, m.raw(), &format_ami_trace_step);
  return true;
}

}  // namespace callbridge::drivers::ami
