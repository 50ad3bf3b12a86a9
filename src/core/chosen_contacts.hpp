// ChosenContacts: the contact a user chose in the screen pop (several contacts matched the caller)
// for their line's part of a live call, PUT /api/v1/calls/{id}/contact, kept until the journal
// entry of that call and line is written: TenantRuntime::store_entry() applies it and the entry
// carries it instead of the lookup's first match (so the journal search finds it). Bounded; kept
// across a callbridged restart in the journal store's open-state rows when the store has them.
// Owned by the TenantRuntime; io thread only (load() blocks on the store: at start-up).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "base/tenant_id.hpp"
#include "base/time.hpp"
#include "model/journal_entry.hpp"
#include "ports/journal_store.hpp"

namespace callbridge::core {

class ChosenContacts {
 public:
  static constexpr std::size_t kMax = 10'000;  // choices waiting for their entry; the oldest go first
  // A choice whose entry never came (the call was never journaled: excluded, lost) is dropped
  // after this long, also from the store.
  static constexpr std::chrono::hours kMaxAge{48};

  // `store` may be null or keep no open state: then choices live in memory only.
  ChosenContacts(base::TenantId tenant, ports::JournalStore* store);

  // Reads what a previous run left (rows older than kMaxAge are dropped). Blocks on the store.
  base::Status load(base::Timestamp now);

  // `party` (the user's extension in the call) chose `contact` for call `call_id`; a second choice
  // replaces the first. `contact` fields must not hold control characters (the API checks).
  void choose(const std::string& call_id, const std::string& party, model::ContactRef contact, base::Timestamp at);
  // The choice for `call_id` and `party` (a call id that differs only by the link prefix,
  // "lab-1795.0" / "1795.0", counts); nullopt when none.
  std::optional<model::ContactRef> find(const std::string& call_id, const std::string& party) const;
  // Forgets that choice once its entry is on its way to the store (called after the append, so
  // the row is deleted after the entry in the store's order: a crash between keeps both).
  void erase(const std::string& call_id, const std::string& party);
  std::size_t size() const { return chosen_.size(); }

  // The open-state row text of a choice and back (tab-separated; the API refuses control
  // characters in contact fields, so tabs cannot occur in them). Exposed for tests.
  static std::string encode(const std::string& call_id, const std::string& party, const model::ContactRef& c,
                            base::Timestamp at);
  struct Row {
    std::string call_id, party;
    model::ContactRef contact;
    base::Timestamp at;
  };
  static std::optional<Row> decode(const std::string& text);

 private:
  struct Choice {
    model::ContactRef contact;
    base::Timestamp at;
  };
  using Key = std::pair<std::string, std::string>;  // call id, party
  std::map<Key, Choice>::const_iterator match(const std::string& call_id, const std::string& party) const;
  void forget(std::map<Key, Choice>::const_iterator it);
  std::string row_key(const Key& k) const { return k.first + "|" + k.second; }

  base::TenantId tenant_;
  ports::JournalStore* store_;
  std::string scope_;  // "chosen:<tenant>"
  std::map<Key, Choice> chosen_;
};

}  // namespace callbridge::core
