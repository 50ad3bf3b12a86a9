// encode_leg_state / decode_leg_state (journal_builder.hpp): the open-call state of one journal leg
// as text, so a restarted callbridged continues a call with its real start and answer times.
// Format: one "key=value" per line; values escape '\' and newlines; absent optionals are omitted;
// times are microseconds since the Unix epoch. Unknown keys are ignored (newer writers).
#include <algorithm>
#include <charconv>

#include "model/journal_builder.hpp"

namespace callbridge::model {
namespace {

void put(std::string& out, std::string_view k, std::string_view v) {
  out.append(k).push_back('=');
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else out.push_back(c);
  }
  out.push_back('\n');
}
void put_time(std::string& out, std::string_view k, std::optional<base::Timestamp> t) {
  if (t) put(out, k, std::to_string(base::to_micros(*t)));
}
void put_opt(std::string& out, std::string_view k, const std::optional<std::string>& v) {
  if (v) put(out, k, *v);
}

std::string unescape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      char n = v[++i];
      out.push_back(n == 'n' ? '\n' : n == 'r' ? '\r' : n);
    } else {
      out.push_back(v[i]);
    }
  }
  return out;
}

std::optional<std::int64_t> to_i64(std::string_view s) {
  std::int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string encode_leg_state(const Leg& l) {
  std::string o;
  o.reserve(384);
  put(o, "v", "1");
  const LegStart& s = l.start;
  put(o, "conv", s.conversation);
  put(o, "party", s.party);
  put(o, "dir", to_string(s.direction));
  put_opt(o, "remote", s.remote);
  if (s.remote_withheld) put(o, "withheld", "1");
  put_opt(o, "remote_name", s.remote_name);
  put_time(o, "started", s.started_at);
  put(o, "incoming", s.incoming ? "1" : "0");
  put(o, "anchor", s.anchor);
  put_opt(o, "from", s.transferred_from);
  put_opt(o, "device", s.device_number);
  if (s.device_trunk) put(o, "dtrunk", "1");
  put(o, "key", s.state_key);
  put(o, "chan", s.party_channel);
  put(o, "call", s.model_call);
  put_time(o, "answered", l.answered_at);
  put_time(o, "ended", l.ended_at);
  put_time(o, "hold_since", l.hold_since);
  put(o, "hold_us", std::to_string(l.hold_us));
  put_opt(o, "to", l.transferred_to);
  put(o, "outcome", std::to_string(static_cast<int>(l.outcome)));
  put(o, "est", std::to_string(static_cast<int>(l.estimated)));
  put_time(o, "elsewhere", l.anchor_answered_at);
  put_time(o, "rtrunk", l.remote_trunk_since);
  put_time(o, "dsince", l.device_since);
  if (l.device_trunk_before_us != 0) put(o, "dtrunk_us", std::to_string(l.device_trunk_before_us));
  return o;
}

std::optional<Leg> decode_leg_state(std::string_view text) {
  Leg l;
  bool version = false, started = false;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view k = line.substr(0, eq);
    std::string v = unescape(line.substr(eq + 1));
    auto time = [&]() -> std::optional<base::Timestamp> {
      auto us = to_i64(v);
      if (!us) return std::nullopt;
      return base::from_micros(*us);
    };
    if (k == "v") version = v == "1";
    else if (k == "conv") l.start.conversation = v;
    else if (k == "party") l.start.party = v;
    else if (k == "dir") l.start.direction = parse_direction(v).value_or(Direction::inbound);
    else if (k == "remote") l.start.remote = v;
    else if (k == "withheld") l.start.remote_withheld = v == "1";
    else if (k == "remote_name") l.start.remote_name = v;
    else if (k == "started") {
      if (auto t = time()) {
        l.start.started_at = *t;
        started = true;
      }
    } else if (k == "incoming") l.start.incoming = v == "1";
    else if (k == "anchor") l.start.anchor = v;
    else if (k == "from") l.start.transferred_from = v;
    else if (k == "device") l.start.device_number = v;
    else if (k == "dtrunk") l.start.device_trunk = v == "1";
    else if (k == "rtrunk") l.remote_trunk_since = time();
    else if (k == "dsince") l.device_since = time();
    else if (k == "dtrunk_us") l.device_trunk_before_us = std::max<std::int64_t>(0, to_i64(v).value_or(0));
    else if (k == "key") l.start.state_key = v;
    else if (k == "chan") l.start.party_channel = v;
    else if (k == "call") l.start.model_call = v;
    else if (k == "answered") l.answered_at = time();
    else if (k == "ended") l.ended_at = time();
    else if (k == "hold_since") l.hold_since = time();
    else if (k == "hold_us") l.hold_us = to_i64(v).value_or(0);
    else if (k == "to") l.transferred_to = v;
    else if (k == "outcome") {
      auto o = to_i64(v).value_or(0);
      if (o >= 0 && o <= static_cast<int>(LegOutcome::failed)) l.outcome = static_cast<LegOutcome>(o);
    } else if (k == "est") l.estimated = static_cast<std::uint8_t>(to_i64(v).value_or(0) & 0xff);
    else if (k == "elsewhere") l.anchor_answered_at = time();
  }
  if (!version || !started || l.start.party.empty() || l.start.conversation.empty() ||
      l.start.state_key.empty())
    return std::nullopt;
  return l;
}

}  // namespace callbridge::model
