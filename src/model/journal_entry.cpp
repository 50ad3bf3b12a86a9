#include "model/journal_entry.hpp"

#include "base/json_text.hpp"

#include <cstdio>

namespace callbridge::model {

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::inbound: return "inbound";
    case Direction::outbound: return "outbound";
    case Direction::internal: return "internal";
  }
  return "inbound";
}

std::string_view to_string(Disposition d) {
  switch (d) {
    case Disposition::answered: return "answered";
    case Disposition::missed: return "missed";
    case Disposition::answered_elsewhere: return "answered_elsewhere";
    case Disposition::rejected: return "rejected";
    case Disposition::no_answer: return "no_answer";
    case Disposition::busy: return "busy";
    case Disposition::failed: return "failed";
    case Disposition::unknown: return "unknown";
  }
  return "failed";
}

std::optional<Direction> parse_direction(std::string_view s) {
  for (auto d : {Direction::inbound, Direction::outbound, Direction::internal})
    if (to_string(d) == s) return d;
  return std::nullopt;
}

std::optional<Disposition> parse_disposition(std::string_view s) {
  for (auto d : {Disposition::answered, Disposition::missed, Disposition::answered_elsewhere,
                 Disposition::rejected, Disposition::no_answer, Disposition::busy, Disposition::failed,
                 Disposition::unknown})
    if (to_string(d) == s) return d;
  return std::nullopt;
}

std::vector<std::string_view> estimated_names(std::uint8_t bits) {
  std::vector<std::string_view> out;
  if (bits & kEstimatedStart) out.push_back("started_at");
  if (bits & kEstimatedAnswer) out.push_back("answered_at");
  if (bits & kEstimatedEnd) out.push_back("ended_at");
  if (bits & kEstimatedDisposition) out.push_back("disposition");
  return out;
}

std::optional<std::uint8_t> parse_estimated_name(std::string_view n) {
  if (n == "started_at") return kEstimatedStart;
  if (n == "answered_at") return kEstimatedAnswer;
  if (n == "ended_at") return kEstimatedEnd;
  if (n == "disposition") return kEstimatedDisposition;
  return std::nullopt;
}

bool resolves_missed(const JournalEntry& e) {
  return e.answered() && e.remote && !e.remote->empty() && !e.remote_withheld;
}

double JournalEntry::ring_s() const {
  return base::seconds_1dp(started_at, answered_at ? *answered_at : ended_at);
}

double JournalEntry::talk_s() const {
  return answered_at ? base::seconds_1dp(*answered_at, ended_at) : 0.0;
}

namespace {

using base::append_json_string;

void append_opt(std::string& out, const std::optional<std::string>& s) {
  if (s) append_json_string(out, *s);
  else out += "null";
}

void append_num(std::string& out, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  out += buf;
}

}  // namespace

std::string to_json_line(const JournalEntry& e) {
  std::string o;
  o.reserve(512);
  o += "{\"party\": ";
  append_json_string(o, e.party);
  o += ", \"direction\": ";
  append_json_string(o, to_string(e.direction));
  o += ", \"remote\": ";
  append_opt(o, e.remote);
  o += ", \"remote_withheld\": ";
  o += e.remote_withheld ? "true" : "false";
  o += ", \"remote_name\": ";
  append_opt(o, e.remote_name);
  o += ", \"disposition\": ";
  append_json_string(o, to_string(e.disposition));
  o += ", \"answered\": ";
  o += e.answered() ? "true" : "false";
  o += ", \"started_at\": ";
  append_json_string(o, base::format_rfc3339_ms(e.started_at));
  o += ", \"answered_at\": ";
  if (e.answered_at) append_json_string(o, base::format_rfc3339_ms(*e.answered_at));
  else o += "null";
  o += ", \"ended_at\": ";
  append_json_string(o, base::format_rfc3339_ms(e.ended_at));
  o += ", \"ring_s\": ";
  append_num(o, e.ring_s());
  o += ", \"talk_s\": ";
  append_num(o, e.talk_s());
  o += ", \"hold_s\": ";
  append_num(o, e.hold_s);
  o += ", \"trunk_channel_s\": ";
  append_num(o, e.trunk_channel_s);
  o += ", \"transferred_to\": ";
  append_opt(o, e.transferred_to);
  o += ", \"transferred_from\": ";
  append_opt(o, e.transferred_from);
  o += ", \"estimated\": [";
  bool first = true;
  for (auto n : estimated_names(e.estimated)) {
    if (!first) o += ", ";
    first = false;
    append_json_string(o, n);
  }
  o += "]";
  o += ", \"call_id\": ";
  append_json_string(o, e.call_id);
  o += ", \"tenant\": ";
  append_json_string(o, e.tenant);
  if (e.contact) {
    o += ", \"contact\": {\"id\": ";
    append_json_string(o, e.contact->id);
    o += ", \"name\": ";
    append_json_string(o, e.contact->name);
    o += ", \"company\": ";
    append_json_string(o, e.contact->company);
    o += ", \"source\": ";
    append_json_string(o, e.contact->source);
    o += "}";
  }
  if (e.device_number) {
    // AnyDevice: the external device that carried the call (absent: the desk phone).
    o += ", \"device\": {\"name\": ";
    append_opt(o, e.device_name);
    o += ", \"number\": ";
    append_json_string(o, *e.device_number);
    o += ", \"private\": ";
    o += e.private_device ? "true" : "false";
    o += "}";
  }
  if (!e.note.empty()) {
    o += ", \"note\": ";
    append_json_string(o, e.note);
  }
  if (e.done) o += ", \"done\": true";
  o += "}";
  return o;
}

}  // namespace callbridge::model
