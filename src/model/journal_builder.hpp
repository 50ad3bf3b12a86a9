// Builds call journal entries (shared/design/JOURNAL.md) from "legs": one leg per internal party
// per remote, opened/answered/held/ended by a PBX driver's call tracker. Decides dispositions when
// the whole conversation has ended (a later leg can still answer: answered_elsewhere vs missed) and
// then hands the entries to the sink. Knows nothing about AMI. Model thread; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/time.hpp"
#include "model/journal_entry.hpp"

namespace callbridge::model {

using LegId = std::uint64_t;

// How a leg ended, as far as the PBX said (Q.850 cause / dial status).
enum class LegOutcome { normal, rejected, busy, failed };

struct LegStart {
  std::string conversation;  // e.g. Asterisk Linkedid; legs of one conversation share call_id
  std::string party;         // internal extension
  Direction direction = Direction::inbound;
  std::optional<std::string> remote;
  bool remote_withheld = false;
  std::optional<std::string> remote_name;
  base::Timestamp started_at{};
  bool incoming = true;  // the party was called (rang) rather than calling
  std::string anchor;    // opaque id of the remote endpoint (answered_elsewhere detection)
  std::optional<std::string> transferred_from;
  // AnyDevice (docs/journal.md "AnyDevice"): the party's external device carried this leg (its
  // mobile, home line...): that device's number, E.164 as dialled. nullopt = the party's own phone.
  std::optional<std::string> device_number;
  // Channel accounting: the party's own channel is a trunk channel (an external device).
  bool device_trunk = false;
  // Open-call state (set_state_sink): the row key of this leg (empty: not persisted), and what the
  // driver needs to re-attach the leg to the PBX's channels after a restart.
  std::string state_key;
  std::string party_channel;  // e.g. the party's Asterisk Uniqueid
  std::string model_call;     // the driver's call model id of this leg
};

struct Leg {
  LegStart start;
  std::optional<base::Timestamp> answered_at;
  std::optional<base::Timestamp> ended_at;
  std::optional<base::Timestamp> hold_since;
  std::int64_t hold_us = 0;
  std::optional<std::string> transferred_to;
  LegOutcome outcome = LegOutcome::normal;
  std::uint8_t estimated = 0;  // JournalEntry EstimatedField bits
  // The leg's anchor was connected to someone (answered_elsewhere), kept with the leg so that a
  // restored leg still knows it.
  std::optional<base::Timestamp> anchor_answered_at;
  // Channel accounting: since when the leg's remote is a trunk channel (an external party).
  std::optional<base::Timestamp> remote_trunk_since;
  // A call moved between the party's devices (move_device): since when the device that carries
  // it now does (nullopt: since started_at), and the trunk time of the devices before it.
  std::optional<base::Timestamp> device_since;
  std::int64_t device_trunk_before_us = 0;
  bool open() const { return !ended_at.has_value(); }
};

// Open-call state of one leg as text (one "key=value" per line, values escaped) and back; the
// format is private to this file pair. decode: nullopt for text that is not a leg state.
std::string encode_leg_state(const Leg& l);
std::optional<Leg> decode_leg_state(std::string_view text);

class JournalBuilder {
 public:
  using Sink = std::function<void(JournalEntry)>;

  JournalBuilder(base::TenantId tenant, Sink sink);

  LegId open(LegStart s);
  const Leg* leg(LegId id) const;
  bool is_open(LegId id) const;

  // First call wins. Also counts as the leg's anchor being answered. `estimated`: the answer
  // happened unseen (link down, restart); `at` is the best estimate.
  void answered(LegId id, base::Timestamp at, bool estimated = false);
  // Marks values of the leg as estimates (EstimatedField bits, or-ed).
  void mark_estimated(LegId id, std::uint8_t bits);
  void set_remote(LegId id, Direction d, std::optional<std::string> remote, bool withheld,
                  std::optional<std::string> name);
  void set_anchor(LegId id, std::string anchor);
  // The leg becomes a leg the party received (e.g. a pickup): new start and direction semantics.
  void restart(LegId id, base::Timestamp started_at, bool incoming);
  void hold(LegId id, base::Timestamp at);
  void unhold(LegId id, base::Timestamp at);
  // Channel accounting: the leg's remote is a trunk channel from `since` on (nullopt: it is not).
  void set_remote_trunk(LegId id, std::optional<base::Timestamp> since);
  // The party's call moved to another of its devices (docs/call-control.md "Moving a call"): the
  // leg goes on (same party, remote, entry) on `party_channel`, carried from now on by the
  // external device `device_number` (nullopt: the party's own phone); the trunk time of the device
  // before counts up to `at`, the new one's from `device_since` (its channel's creation: ringing
  // occupies it too) when `device_trunk`.
  void move_device(LegId id, base::Timestamp at, std::string party_channel,
                   std::optional<std::string> device_number, bool device_trunk, base::Timestamp device_since);
  void set_transferred_to(LegId id, std::string to);
  void set_transferred_from(LegId id, std::string from);
  void set_outcome(LegId id, LegOutcome o);
  // Forgets the leg: it never becomes an entry (e.g. dialing a pickup code that then took over
  // another leg).
  void discard(LegId id);
  // Ends the leg (no-op when already ended). The entry is emitted when its conversation ends.
  void end(LegId id, base::Timestamp at);

  // The remote `anchor` got connected to someone (any leg or a non-party, e.g. a mobile).
  void anchor_answered(std::string_view conversation, std::string_view anchor, base::Timestamp at);
  // Legs of `from` join `into` (a transfer linked two conversations).
  void merge_conversations(std::string_view from, std::string_view into);
  // Every channel of the conversation is gone: open legs end at `at`, entries are emitted.
  // `estimated_bits` are marked on the legs this ends (the end was not seen: link down, restart).
  void conversation_ended(std::string_view conversation, base::Timestamp at,
                          std::uint8_t estimated_bits = 0);

  // Open-call state: `put(key, text)` after a leg changed (text from encode_leg_state; empty text
  // = the leg is gone without an entry), for legs with a state_key, when sync_state() is called
  // (the driver calls it after each PBX event, so several changes make one write). Entries carry
  // state_scope/state_key: a store deletes the row with the entry.
  using StatePut = std::function<void(const std::string& key, std::string text)>;
  void set_state_sink(std::string scope, StatePut put);
  void sync_state();
  // A leg from a previous run (decode_leg_state); it joins its conversation and is written back
  // under its key on the next change. Returns its new id.
  LegId restore(Leg l);
  // Legs of `conversation` (ids), e.g. to re-attach restored legs.
  std::vector<LegId> legs_of(std::string_view conversation) const;
  // Ends and emits everything (shutdown, or end of a replay).
  void flush(base::Timestamp at);

  std::size_t open_conversations() const { return conversations_.size(); }

 private:
  struct Conversation {
    std::vector<LegId> legs;
    std::unordered_map<std::string, std::vector<base::Timestamp>> anchor_answers;
  };
  Leg* find(LegId id);
  Leg* touch(LegId id);  // find() and mark dirty for the state sink
  void emit(const std::string& conversation, Conversation& conv);

  base::TenantId tenant_;
  Sink sink_;
  LegId next_id_ = 1;
  std::unordered_map<LegId, Leg> legs_;
  std::unordered_map<std::string, Conversation> conversations_;
  std::string state_scope_;
  StatePut state_put_;
  std::vector<LegId> dirty_;
  std::vector<std::string> gone_;  // state keys of discarded legs
};

}  // namespace callbridge::model
