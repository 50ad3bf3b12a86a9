// Judges a journal (JSON lines, JOURNAL.md fields) against an expected-journal.jsonl exactly as
// shared/tools/journal_compare.py does: entries pair by party (then acceptable remote, then
// disposition, then closest started_at); checks direction/remote/disposition/transfers exactly,
// times and durations within tolerance_s, honours `accept`; no entry may be missing or extra.
// Test helper; single-threaded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace callbridge::testing {

struct CompareResult {
  bool ok = false;
  std::vector<std::string> report;  // one line per expected entry, plus EXTRA lines
  std::string text() const;
};

// Both arguments are JSON-lines texts. Malformed JSON in either makes the result not ok.
CompareResult compare_journals(std::string_view expected_jsonl, std::string_view actual_jsonl);

}  // namespace callbridge::testing
