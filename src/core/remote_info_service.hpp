// RemoteInfoService: who is on the other end of each live connection, per tenant. Classifies the
// remote number the call model holds (E.164 / extension / withheld / unknown), formats it with
// the tenant's DialingPlan (libphonenumber) and asks the directories (LookupService) once per
// (tenant, number) while a call uses it; a finished lookup is reported through on_changed so the
// call can be published again. Journal entries pass through annotate(): they get the contact that
// was shown (best match) and leave in arrival order, waiting a bounded time for a pending lookup.
// I/O-free: lookups, posting and timers are injected. Model (io) thread only, except that the
// lookup completion may arrive on any thread (it is posted back).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/time.hpp"
#include "core/dialing_plan.hpp"
#include "core/lookup_service.hpp"
#include "core/remote_info_view.hpp"
#include "model/call_model.hpp"
#include "model/journal_entry.hpp"
#include "ports/call_trace.hpp"

namespace callbridge::core {

enum class RemoteKind : std::uint8_t { external, internal, withheld, unknown };
// pending: a directory lookup is running; done: finished (contacts may be empty); none: no lookup
// (not an external number, or no directory).
enum class RemoteLookup : std::uint8_t { pending, done, none };
std::string_view to_string(RemoteKind k);
std::string_view to_string(RemoteLookup l);

struct RemoteContact {
  std::string id;       // source-local contact id
  std::string name;     // display name
  std::string company;
  std::string source;   // "store", "ldap", "crm"
  std::string match;    // "exact" | "company" (switchboard fallback)
  std::string number;   // the E.164 that matched
};

struct RemoteInfo {
  RemoteKind kind = RemoteKind::unknown;
  std::optional<std::string> e164;
  std::optional<std::string> extension;  // internal numbers
  std::string display;        // "089 123456" (national in the tenant's country); "" = null
  std::string international;  // "+49 89 123456"; "" = null
  RemoteLookup lookup = RemoteLookup::none;
  std::vector<RemoteContact> contacts;  // best first
  std::string rule;  // which rule classified it, in words (explain trace; not in the JSON)
};

// {"e164":..,"extension":..,"kind":..,"display":..,"international":..,"lookup":..,"contacts":[..]}
void append_remote_info_json(std::string& out, const RemoteInfo& info);

// The remote as the call model holds it ("+4989123456", "102", a raw caller id) -> kind, numbers
// and display forms under `plan`. No lookup state. Pure.
RemoteInfo classify_remote(std::string_view remote, const DialingPlan& plan);
// A connection without a remote: withheld once it rings or talks, unknown while still dialing.
RemoteInfo classify_missing_remote(model::ConnectionState state);

struct RemoteInfoOptions {
  using LookupDone = std::function<void(LookupResult)>;
  // Starts a directory lookup; `done` runs exactly once, inline or on any thread. Unset: no lookups.
  std::function<void(const base::TenantId& tenant, const std::string& e164, LookupDone done)> lookup;
  // Runs `f` on the model thread soon / after `d` (boost::asio::post / a steady_timer).
  std::function<void(std::function<void()> f)> post;
  std::function<void(std::chrono::milliseconds d, std::function<void()> f)> post_after;
  // The tenant's dialing plan; null (or unset) = the AMI tracker's default (country 49).
  std::function<std::shared_ptr<const DialingPlan>(const base::TenantId& tenant)> plan;
  // A call's remote info changed after it was shown: publish the call again.
  std::function<void(const base::TenantId& tenant, const std::string& call_id)> on_changed;
  // The same for a holder of numbers (hold()): a lookup of one of its numbers ended.
  std::function<void(const base::TenantId& tenant, const std::string& holder)> on_holder_changed;
  // Journal entries leave here, contact attached; those of one number in the order annotate() got
  // them (annotate()).
  std::function<void(model::JournalEntry)> journal_out;
  // How long a journal entry waits for a running lookup before it is written without contact.
  std::chrono::milliseconds journal_wait{2000};
  // A number stays known this long after its last call ended (the journal entry of a
  // conversation is emitted when its last channel is gone).
  std::chrono::microseconds keep_after_call = std::chrono::minutes(2);
  std::size_t max_numbers = 50000;  // beyond this many known numbers new ones get no lookup
  std::size_t max_contacts = 10;    // per number, best first
  // The explain trace of this (one tenant's) service: numbers classified, lookups and their
  // sources' outcomes, per call. Null: none.
  ports::CallTrace* trace = nullptr;
};

// Helper: RemoteInfoOptions::lookup over a LookupService (which must outlive every lookup).
std::function<void(const base::TenantId&, const std::string&, RemoteInfoOptions::LookupDone)>
lookup_via(LookupService& service);

class RemoteInfoService final : public RemoteInfoView {
 public:
  struct Stats {
    std::uint64_t lookups = 0;          // started
    std::uint64_t lookups_done = 0;
    std::uint64_t journal_waited = 0;   // entries that waited for a lookup
    std::uint64_t journal_timeouts = 0; // ... and were written without it
    std::size_t numbers = 0;            // known (tenant, number) pairs
    std::size_t calls = 0;              // tracked calls
    std::size_t held = 0;               // journal entries waiting
  };

  // `clock` (wall time) decides how long numbers are kept after their calls; must outlive this.
  RemoteInfoService(RemoteInfoOptions options, const base::Clock& clock);
  ~RemoteInfoService();
  RemoteInfoService(const RemoteInfoService&) = delete;
  RemoteInfoService& operator=(const RemoteInfoService&) = delete;

  // After every call event of `m` (before it is published): tracks the remotes of the call's
  // connections and starts lookups for new external numbers; a call gone from `m` lets go.
  void observe(const base::TenantId& tenant, const std::string& call_id, const model::CallModel& m);

  // Numbers something other than a call shows, e.g. the waiting callers of a queue (holder
  // "queue:<pbx>:<name>"), whose caller may wait before any phone rings: classified and looked up
  // like a call's remotes, kept while held (then keep_after_call, as after a call). `remotes`
  // replaces the holder's previous set; empty lets go. When a lookup of one of them ends,
  // on_holder_changed(tenant, holder). At most kMaxHeldPerHolder numbers per holder.
  static constexpr std::size_t kMaxHeldPerHolder = 256;
  void hold(const base::TenantId& tenant, const std::string& holder, const std::vector<std::string>& remotes);

  // Attaches the best contact of the entry's remote (and remote_name if empty), then hands the
  // entry to journal_out. A pending lookup is awaited up to journal_wait when `wait`; never blocks.
  // Only the entries of the same number keep their arrival order (an answered call after a
  // missed one of the same remote marks it done); an entry whose contact is known or not wanted
  // never waits behind another number's lookup.
  void annotate(model::JournalEntry entry, bool wait = true);
  // Hands every held entry out now with what is known (shutdown).
  void flush_journal();

  // The directories changed for `tenant` ("" = every tenant): contacts, edits, an import. Numbers
  // no live call or held entry uses are forgotten (their next call looks them up afresh); the
  // others are looked up again now (a result of a lookup started before is ignored) and their
  // calls published once it is done.
  void invalidate(const base::TenantId& tenant);
  void invalidate_all();

  // The known info of `remote` in `tenant`, or null.
  const RemoteInfo* find(const base::TenantId& tenant, std::string_view remote) const;
  void append_remote_info(std::string& out, const base::TenantId& tenant,
                          const model::Connection& conn) const override;
  Stats stats() const;

 private:
  struct Number {
    explicit Number(base::TenantId t) : tenant(t) {}
    base::TenantId tenant;
    RemoteInfo info;
    int refs = 0;
    std::optional<base::Timestamp> released_at;
    std::vector<std::string> calls;  // call ids showing it (for on_changed)
    std::vector<std::string> holders;  // holders showing it (for on_holder_changed)
    std::uint64_t lookup_gen = 0;    // the running lookup's number; older completions are ignored
  };
  struct CallRef {
    explicit CallRef(base::TenantId t) : tenant(t) {}
    base::TenantId tenant;
    std::string call_id;
    const model::CallModel* model = nullptr;
    std::vector<std::string> keys;
    bool traced_missing = false;  // "no remote number" noted once
  };
  struct Held {
    std::uint64_t id = 0;
    model::JournalEntry entry;
    std::string key{};  // non-empty while it holds a reference to a number
    std::string order_key{};  // its number (kept after the lookup): entries of one number leave in order
    bool ready = false;
    bool gone = false;  // handed out (drain)
  };

  std::shared_ptr<const DialingPlan> plan_for(const base::TenantId& tenant) const;
  void invalidate_matching(const base::TenantId* tenant);  // null: every tenant
  Number& acquire(const base::TenantId& tenant, const std::string& remote, const std::string& key);
  void release(const std::string& key);
  void release_call(const std::string& call_key);
  void start_lookup(const std::string& key, const base::TenantId& tenant, const std::string& e164);
  void finish_lookup(const std::string& key, std::uint64_t gen, const LookupResult& r);
  void attach(Held& h);
  void drain();
  void on_timeout(std::uint64_t held_id);
  void sweep();
  void trace_number(const std::string& call_id, const Number& n, const std::string& remote, bool fresh);
  void trace_lookup(const std::string& call_id, const LookupResult& r, base::Timestamp at);

  RemoteInfoOptions options_;
  const base::Clock& clock_;
  std::shared_ptr<const DialingPlan> default_plan_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // posted completions check it
  std::thread::id io_thread_;

  std::unordered_map<std::string, Number> numbers_;  // key: tenant '\n' remote
  std::unordered_map<std::string, CallRef> calls_;   // key: tenant '\n' call id
  struct HolderRef {
    explicit HolderRef(base::TenantId t) : tenant(t) {}
    base::TenantId tenant;
    std::string holder;
    std::vector<std::string> keys;  // numbers_ keys, each acquired once
  };
  std::unordered_map<std::string, HolderRef> holders_;  // key: tenant '\n' holder
  std::deque<std::pair<base::Timestamp, std::string>> released_;  // keep_after_call queue
  std::deque<Held> held_;
  std::uint64_t next_held_ = 1;
  base::Timestamp last_gc_{};
  Stats stats_;
};

}  // namespace callbridge::core
