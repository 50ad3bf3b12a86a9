// A call journal entry: one per internal party per conversation with one remote (JOURNAL.md).
// Plain value type shared by the journal builder (core/), the stores (journal/) and the API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/tenant_id.hpp"
#include "base/time.hpp"

namespace callbridge::model {

enum class Direction { inbound, outbound, internal };

// incoming: answered, missed, answered_elsewhere, rejected; outgoing: answered, no_answer, busy, failed.
// unknown: the leg ended while callbridge could not hear the PBX (link down, callbridged
// restarted) before it had seen an answer; it may have been answered unseen, so writing `missed`
// or `no_answer` would be a guess (docs/journal.md "Faults").
enum class Disposition { answered, missed, answered_elsewhere, rejected, no_answer, busy, failed, unknown };

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

// Which values of an entry are estimates rather than PBX event times (bits of
// JournalEntry::estimated; docs/journal.md "Estimated values"). Set when callbridge did not see
// the moment itself: the AMI link was down, or callbridged was restarted, while it happened.
enum EstimatedField : std::uint8_t {
  kEstimatedStart = 1,        // started_at (e.g. from CoreShowChannel Duration, whole seconds)
  kEstimatedAnswer = 2,       // answered_at (the answer happened while we were not listening)
  kEstimatedEnd = 4,          // ended_at (the call ended while we were not listening)
  kEstimatedDisposition = 8,  // whether it was answered at all is unknown (ended unseen)
};
// "started_at", "answered_at", "ended_at", "disposition" for the bits set, in that order.
std::vector<std::string_view> estimated_names(std::uint8_t bits);
// Inverse of estimated_names (unknown names: nullopt).
std::optional<std::uint8_t> parse_estimated_name(std::string_view name);

struct JournalEntry {
  base::TenantId tenant;  // no default: JournalEntry{.tenant = t} or JournalEntry{t}
  std::string call_id{};  // stable id of the conversation; entries of one conversation share it
  std::string party{};    // internal extension, e.g. "100"
  Direction direction = Direction::inbound;
  std::optional<std::string> remote{};  // E.164 for external, as dialed for internal; nullopt = withheld
  bool remote_withheld = false;
  std::optional<std::string> remote_name{};
  Disposition disposition = Disposition::missed;
  base::Timestamp started_at{};
  std::optional<base::Timestamp> answered_at{};
  base::Timestamp ended_at{};
  double hold_s = 0.0;
  std::optional<std::string> transferred_to{};
  std::optional<std::string> transferred_from{};
  std::optional<ContactRef> contact{};
  // AnyDevice: the user's external device that carried the call (docs/journal.md "AnyDevice"):
  // its number (E.164), its name when the user's devices name that number ("mobile"), and
  // whether it is a private device (the user's own phone, not a line of the company: the costs can
  // be told apart; the device's attribute, private when no device of that number is known). All
  // empty/false for calls on the desk phone.
  std::optional<std::string> device_number{};
  std::optional<std::string> device_name{};
  bool private_device = false;
  // Channel accounting (docs/call-control.md): seconds of trunk channels (to the outside) this
  // entry's call occupied for the party, one decimal: its remote's when external, and its own
  // external device's (an AnyDevice call to an external party: both).
  double trunk_channel_s = 0.0;
  std::string note{};  // user's note (API: PATCH)
  // A missed call that was dealt with: the party talked with the same remote later (a callback,
  // or the caller got through; resolves_missed), or a user marked it (API: PATCH). Kept by the
  // stores; never set by the journal builder.
  bool done = false;
  std::uint8_t estimated = 0;  // EstimatedField bits; 0 = every time is from a PBX event
  // Internal, not part of the entry's JSON: the open-call state row (ports::JournalStore
  // put_open_state) this entry completes; a store that keeps open-call state deletes that row in
  // the transaction that inserts the entry, so after a crash the entry is written exactly once.
  std::string state_scope{}, state_key{};

  bool answered() const { return answered_at.has_value(); }
  // ring_s / talk_s per JOURNAL.md: one decimal.
  double ring_s() const;
  double talk_s() const;
};

// Whether writing `e` marks the earlier missed entries of the same party and remote done: the
// party talked with that remote (answered, either direction), and the remote is a number.
bool resolves_missed(const JournalEntry& e);

// One JSON object (no trailing newline) with the fields of JOURNAL.md, as
// `callbridge replay --journal-out` prints them.
std::string to_json_line(const JournalEntry& e);

}  // namespace callbridge::model
