// A call journal entry: one per internal party per conversation with one remote (JOURNAL.md).
// Plain value type shared by the journal builder (core/), the stores (journal/) and the API.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/time.hpp"

namespace callbridge::model {

enum class Direction { inbound, outbound, internal };

// incoming: answered, missed, answered_elsewhere, rejected; outgoing: answered, no_answer, busy, failed
enum class Disposition { answered, missed, answered_elsewhere, rejected, no_answer, busy, failed };

std::string_view to_string(Direction d);
std::string_view to_string(Disposition d);
std::optional<Direction> parse_direction(std::string_view s);
std::optional<Disposition> parse_disposition(std::string_view s);

// A contact the remote number matched when the entry was written (what the user was shown).
struct ContactRef {
  std::string id;
  std::string name;
  std::string company;
  std::string source;
};

struct JournalEntry {
  std::string tenant = "default";
  std::string call_id;  // stable id of the conversation; entries of one conversation share it
  std::string party;    // internal extension, e.g. "100"
  Direction direction = Direction::inbound;
  std::optional<std::string> remote;  // E.164 for external, as dialed for internal; nullopt = withheld
  bool remote_withheld = false;
  std::optional<std::string> remote_name;
  Disposition disposition = Disposition::missed;
  base::Timestamp started_at{};
  std::optional<base::Timestamp> answered_at;
  base::Timestamp ended_at{};
  double hold_s = 0.0;
  std::optional<std::string> transferred_to;
  std::optional<std::string> transferred_from;
  std::optional<ContactRef> contact;
  std::string note;  // user's note (API: PATCH)

  bool answered() const { return answered_at.has_value(); }
  // ring_s / talk_s per JOURNAL.md: one decimal.
  double ring_s() const;
  double talk_s() const;
};

// One JSON object (no trailing newline) with the fields of JOURNAL.md, as
// `callbridge replay --journal-out` prints them.
std::string to_json_line(const JournalEntry& e);

}  // namespace callbridge::model
