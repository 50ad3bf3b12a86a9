// Checks shared by the fuzz targets: an invariant that fails aborts with a message (libFuzzer then
// saves the input as a crash), and the properties every journal entry must have whatever the PBX
// sent. Header-only; used by the fuzz/ targets only.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

#include "model/journal_entry.hpp"

namespace callbridge::fuzz {

inline void check(bool ok, const char* what, const std::string& detail = {}) {
  if (!ok) {
    std::fprintf(stderr, "fuzz: invariant violated: %s %s\n", what, detail.c_str());
    std::abort();
  }
}

// The JSON line (journal-out, API) is one valid JSON object. Bytes that are not UTF-8 are
// allowed through here: the AMI strings are passed on as the PBX sent them (see
// docs/reliability.md, "Findings").
inline void check_json_object(const std::string& text) {
  boost::json::parse_options po;
  po.allow_invalid_utf8 = true;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec, {}, po);
  check(!ec && v.is_object(), "not a JSON object:", text);
}

// `ordered_times`: the events carried non-decreasing times, so the entry's times must be ordered.
inline void check_entry(const model::JournalEntry& e, bool ordered_times = false) {
  check(!e.party.empty(), "journal entry without party");
  check(!e.call_id.empty(), "journal entry without call id");
  check(e.hold_s >= 0.0, "negative hold time");
  check_json_object(model::to_json_line(e));
  if (!ordered_times) return;
  check(e.started_at <= e.ended_at, "ended before it started:", model::to_json_line(e));
  if (e.answered_at) {
    check(e.started_at <= *e.answered_at && *e.answered_at <= e.ended_at,
          "answered outside [start, end]:", model::to_json_line(e));
  }
  check(e.ring_s() >= 0.0 && e.talk_s() >= 0.0, "negative ring or talk time:", model::to_json_line(e));
}

}  // namespace callbridge::fuzz
