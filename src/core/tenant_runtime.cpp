#include "core/tenant_runtime.hpp"

#include "base/json_text.hpp"
#include "core/line_features.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace callbridge::core {

namespace {
// The RemoteInfoService holder of a queue's waiting callers' numbers.
std::string queue_holder(std::string_view pbx, std::string_view queue) {
  std::string h = "queue:";
  h += pbx;
  h += ':';
  h += queue;
  return h;
}
}  // namespace

TenantRuntime::TenantRuntime(TenantSpec spec, TenantServices services)
    : id_(spec.id), services_(std::move(services)), plan_(std::move(spec.plan)),
      control_options_(std::move(spec.call_control)) {
  CB_CHECK(services_.hub && services_.journal && services_.policy && services_.clock && services_.post &&
               services_.post_after,
           "TenantRuntime: every shared service is required");
  control_options_.tenant = id_;
  // The trunk limit counts the tenant's trunk channels over all its PBX connections.
  control_options_.trunk_channels_in_use = [this] { return channel_usage().trunk; };
  commands_ = std::make_shared<CommandLog>(spec.command_log, *services_.clock);
  trace_ = std::make_unique<CallTraceLog>(spec.trace, *services_.clock);
  services_.hub->set_trace(id_, trace_.get());
  if (services_.on_command) commands_->set_listener(services_.on_command);
  // Choices of a previous run whose entries are still to come (the open calls go on too).
  chosen_ = std::make_unique<ChosenContacts>(id_, services_.journal);
  if (auto st = chosen_->load(services_.clock->now()); !st)
    spdlog::warn("tenant {}: reading the contacts chosen in screen pops: {}", id_.str(), st.error().message());

  // Only this tenant's sources, so every source is asked for every lookup of the runtime.
  LookupOptions lo = spec.lookup;
  lo.workers = std::max<std::size_t>({lo.workers, 2, spec.directories.size() + 1});  // a slow source must not hold the others up
  lookup_ = std::make_shared<LookupService>(std::move(spec.directories), lo, *services_.clock);

  RemoteInfoOptions o;
  o.lookup = lookup_via(*lookup_);
  o.post = services_.post;
  o.post_after = services_.post_after;
  o.plan = [plan = plan_](const base::TenantId&) { return plan; };
  o.on_changed = [this](const base::TenantId& tenant, const std::string& call_id) {
    if (tenant != id_) return;
    for_each_model([&](const model::CallModel& m) {
      if (const auto* c = m.find_call(call_id); c && !c->connections.empty())
        services_.hub->on_call_update(id_, "remote_info", *c, m);
    });
  };
  // A queue's waiting caller was looked up (hold() in on_queues_changed): publish the queue again.
  o.on_holder_changed = [this](const base::TenantId& tenant, const std::string& holder) {
    if (tenant != id_) return;
    for_each_queue_state([&](const model::QueueState& state) {
      const std::string prefix = queue_holder(state.pbx(), "");
      if (!holder.starts_with(prefix)) return;
      const std::string name = holder.substr(prefix.size());
      if (state.find(name)) services_.hub->on_queues(id_, state, std::span(&name, 1), services_.clock->now());
    });
  };
  o.journal_out = [this](model::JournalEntry e) { store_entry(std::move(e)); };
  o.journal_wait = spec.journal_wait;
  o.trace = trace_.get();
  remote_info_ = std::make_unique<RemoteInfoService>(std::move(o), *services_.clock);

  // Contacts changed (REST edit, import, another process): the calls' remote info follows. The
  // notice comes on the invalidating thread; the runtime may be gone when it arrives.
  lookup_->set_on_invalidate([this, post = services_.post,
                              alive = std::weak_ptr<bool>(alive_)](const std::optional<base::TenantId>&) {
    post([this, alive] {
      if (alive.lock()) remote_info_->invalidate(id_);
    });
  });
}

TenantRuntime::~TenantRuntime() {
  alive_.reset();
  control_.reset();
  for (const auto& d : drivers_) services_.hub->remove_model(&d->call_model());
  drivers_.clear();  // a driver that did not stop ends its open calls into record() now
  remote_info_->flush_journal();
  services_.hub->set_trace(id_, nullptr);
}

std::optional<std::string> TenantRuntime::to_e164(std::string_view raw) const {
  return lookup_e164(plan_.get(), raw);
}

base::Status TenantRuntime::add_driver(std::unique_ptr<ports::PbxDriver> driver) {
  CB_CHECK(driver != nullptr, "TenantRuntime::add_driver: null driver");
  if (driver->tenant() != id_)
    return base::fail(base::Error::invalid_argument("pbx " + driver->name() + " belongs to tenant " +
                                                    driver->tenant().str() + ", not " + id_.str()));
  if (driver->call_model().tenant() != id_)
    return base::fail(base::Error::invalid_argument("pbx " + driver->name() + ": its call model is of tenant " +
                                                    driver->call_model().tenant().str()));
  auto* d = driver.get();
  drivers_.push_back(std::move(driver));
  services_.hub->add_model(id_, &d->call_model(), d->name(), d->term());
  bind_call_control();
  if (running()) d->start();
  return {};
}

// Call control goes through the first driver that offers it (one PBX per tenant controls calls).
void TenantRuntime::bind_call_control() {
  if (control_) return;
  for (const auto& d : drivers_) {
    if (!d->commands()) continue;
    control_ = std::make_unique<CallControlService>(control_options_, d->call_model(), *d->commands(), plan_.get());
    control_->set_parking(d->parking());  // park / unpark act on that PBX's lots
    return;
  }
}

void TenantRuntime::remove_driver(const std::string& name, std::function<void(base::Status)> done) {
  auto it = std::find_if(drivers_.begin(), drivers_.end(), [&](const auto& d) { return d->name() == name; });
  if (it == drivers_.end()) {
    if (done) done(base::fail(base::Error::not_found("pbx " + name + " is not running in tenant " + id_.str())));
    return;
  }
  ports::PbxDriver* d = it->get();
  auto post = services_.post;
  d->stop([this, d, post, done = std::move(done), alive = std::weak_ptr<bool>(alive_)]() mutable {
    // Destroyed from a fresh handler, not from inside the driver's own stop callback.
    post([this, d, done = std::move(done), alive]() mutable {
      if (alive.lock()) {
        auto i = std::find_if(drivers_.begin(), drivers_.end(), [&](const auto& x) { return x.get() == d; });
        if (i != drivers_.end()) {
          if (control_ && &control_->model() == &d->call_model()) control_.reset();
          services_.hub->remove_model(&d->call_model());
          drivers_.erase(i);
          bind_call_control();
        }
      }
      if (done) done({});
    });
  });
}

void TenantRuntime::start() {
  if (running_) return;
  running_ = true;
  for (auto& d : drivers_) d->start();
}

void TenantRuntime::stop(std::function<void()> done) {
  if (done) stop_waiters_.push_back(std::move(done));
  if (stopped_) return finish_stop();  // a later caller (App shutdown during a removal) hears at once
  if (stopping_) return;
  stopping_ = true;
  if (!running_ || drivers_.empty()) return finish_stop();
  stopping_left_ = drivers_.size();
  for (auto& d : drivers_) {
    d->stop([this, alive = std::weak_ptr<bool>(alive_)] {
      if (!alive.lock()) return;
      if (stopping_left_ > 0 && --stopping_left_ == 0) finish_stop();
    });
  }
}

void TenantRuntime::finish_stop() {
  stopped_ = true;
  remote_info_->flush_journal();  // entries still waiting for a lookup are written now
  auto waiters = std::move(stop_waiters_);
  stop_waiters_.clear();
  for (auto& f : waiters) f();
}

bool TenantRuntime::owns(const model::CallModel& m) const {
  return std::any_of(drivers_.begin(), drivers_.end(), [&](const auto& d) { return &d->call_model() == &m; });
}

void TenantRuntime::for_each_model(const std::function<void(const model::CallModel&)>& f) const {
  for (const auto& d : drivers_) f(d->call_model());
}

void TenantRuntime::on_call_event(const model::CallEvent& e, const model::CallModel& m) {
  if (e.tenant != id_ || m.tenant() != id_) {
    ++stats_.foreign_dropped;
    return;
  }
  remote_info_->observe(id_, e.call_id, m);  // numbers + lookups before the event goes out
  services_.hub->on_call_event(e, m);
}

void TenantRuntime::on_calls_resynced(const model::CallModel& m) {
  if (m.tenant() != id_ || !owns(m)) {
    ++stats_.foreign_dropped;
    return;
  }
  services_.hub->on_calls_resynced(id_, m);
}

void TenantRuntime::on_lines_changed(const model::CallModel& m) {
  if (m.tenant() != id_) {
    ++stats_.foreign_dropped;
    return;
  }
  services_.hub->sync_lines(id_, m);
}

void TenantRuntime::on_journal_entry(model::JournalEntry entry) { record(std::move(entry)); }

void TenantRuntime::on_devices_changed(const model::DeviceRegistry& registry, std::span<const std::string> ids) {
  // Only registries of this tenant's own drivers are published (a registry carries no tenant).
  bool ours = false;
  for (const auto& d : drivers_) ours |= d->devices() == &registry;
  if (!ours) {
    ++stats_.foreign_dropped;
    return;
  }
  services_.hub->on_devices(id_, registry, ids);
}

void TenantRuntime::for_each_device_registry(const std::function<void(const model::DeviceRegistry&)>& f) const {
  for (const auto& d : drivers_)
    if (const auto* r = d->devices()) f(*r);
}

void TenantRuntime::on_queues_changed(const model::QueueState& state, std::span<const std::string> names) {
  // Only queue states of this tenant's own drivers are published (a state carries no tenant).
  bool ours = false;
  for (const auto& d : drivers_) ours |= d->queues() == &state;
  if (!ours) {
    ++stats_.foreign_dropped;
    return;
  }
  // The waiting callers are looked up like a call's remote (their contact on the queue board,
  // docs/queues.md), also while no agent's phone rings yet.
  std::vector<std::string> numbers;
  for (const auto& name : names) {
    numbers.clear();
    if (const model::Queue* q = state.find(name))
      for (const auto& c : q->callers) numbers.push_back(c.number);
    remote_info_->hold(id_, queue_holder(state.pbx(), name), numbers);
  }
  services_.hub->on_queues(id_, state, names, services_.clock->now());
}

void TenantRuntime::for_each_queue_state(const std::function<void(const model::QueueState&)>& f) const {
  for (const auto& d : drivers_)
    if (const auto* q = d->queues()) f(*q);
}

void TenantRuntime::on_parking_changed(const model::ParkingState& state,
                                       std::span<const model::ParkingChange> changes) {
  bool ours = false;
  for (const auto& d : drivers_) ours |= d->parking() == &state;
  if (!ours) {
    ++stats_.foreign_dropped;
    return;
  }
  services_.hub->on_parking(id_, state, changes, services_.clock->now());
}

void TenantRuntime::for_each_parking_state(const std::function<void(const model::ParkingState&)>& f) const {
  for (const auto& d : drivers_)
    if (const auto* p = d->parking()) f(*p);
}

void TenantRuntime::queue_member(const ports::QueueMemberRequest& r, std::string_view pbx, ports::CommandDone done) {
  for (const auto& d : drivers_) {
    const auto* q = d->queues();
    if (!q || !q->find(r.queue) || (!pbx.empty() && q->pbx() != pbx)) continue;
    return d->queue_member(r, std::move(done));
  }
  done(base::fail(base::Error::not_found("no queue '" + r.queue + "' in this tenant")));
}

ports::PbxFeatures* TenantRuntime::features() {
  for (const auto& d : drivers_)
    if (auto* f = d->features()) return f;
  return nullptr;
}

void TenantRuntime::on_line_features_changed(const ports::PbxFeatures& features, std::span<const std::string> lines) {
  // Only the features of this tenant's own first driver that offers them are published.
  if (&features != features_if_ours(features)) {
    ++stats_.foreign_dropped;
    return;
  }
  for (const auto& line : lines) {
    std::string tail = ",\"line\":";
    base::append_json_string(tail, line);
    tail += ",\"features\":" + line_features_json(features.line(line)) + "}";
    services_.hub->publish_raw(id_, HubMessage::Kind::features, {line}, "line_features", tail);
  }
  const bool ready = static_cast<bool>(features.ready());
  if (ready && !features_ready_ && services_.on_features_ready) services_.on_features_ready(id_);
  features_ready_ = ready;
}

const ports::PbxFeatures* TenantRuntime::features_if_ours(const ports::PbxFeatures& f) const {
  for (const auto& d : drivers_)
    if (d->features() == &f) return &f;
  return nullptr;
}

bool TenantRuntime::forget_device(std::string_view id) {
  for (const auto& d : drivers_)
    if (d->forget_device(id)) return true;
  return false;
}

void TenantRuntime::record(model::JournalEntry entry) {
  if (entry.tenant != id_) {
    ++stats_.foreign_dropped;
    return;
  }
  ++stats_.journal_received;
  // AnyDevice: the driver knows the number of the external device that carried the call; its
  // name, and whether it is the user's own phone or the company's, are the user's
  // (docs/journal.md "AnyDevice"). Unknown: private, as the driver left it.
  if (entry.device_number && !entry.device_name) {
    // A user's active device; else the device a call was moved to (not necessarily active).
    std::optional<ActiveDevice> d;
    if (control_options_.device_of_number) d = control_options_.device_of_number(*entry.device_number);
    if (!d && control_) d = control_->moved_device(*entry.device_number);
    if (d) {
      entry.device_name = d->name;
      entry.private_device = d->private_device;
    }
  }
  const auto verdict = services_.policy->check(entry);
  trace_journal(entry, verdict);
  switch (verdict) {
    case JournalVerdict::store:
      // Contact of the remote first (what the user was shown); waits only while serving.
      remote_info_->annotate(std::move(entry), running());
      return;
    case JournalVerdict::excluded_internal:
      ++stats_.excluded_internal;
      break;
    case JournalVerdict::excluded_number:
      ++stats_.excluded_number;
      break;
  }
  // Not kept: the call's open-call state row still goes (else the next run would end it again).
  if (!entry.state_key.empty() && services_.journal->keeps_open_state())
    services_.journal->drop_open_state(entry.state_scope, entry.state_key);
}

void TenantRuntime::store_entry(model::JournalEntry entry) {
  // The contact the user chose in the pop wins over the lookup's first match.
  auto chosen = chosen_->find(entry.call_id, entry.party);
  if (chosen) entry.contact = std::move(*chosen);
  const std::string call_id = entry.call_id, party = entry.party;
  {
    std::string w = "entry of " + party + " written";
    if (chosen && entry.contact) w += " with the contact the user chose in the pop: " + entry.contact->name;
    else if (entry.contact) w += " with contact " + entry.contact->name + " (" + entry.contact->source + ")";
    else w += " without a contact";
    trace_->add(call_id, ports::TraceStage::journal, services_.clock->now(), "written", std::move(w));
  }
  if (!services_.journal_ids) services_.hub->on_journal(entry);  // else once committed, with its id
  services_.journal->append(std::move(entry));
  if (chosen) chosen_->erase(call_id, party);  // after the entry, in the store's order
}

// Why the entry reads as it does: its disposition's rule (docs/journal.md), estimates, transfers,
// and the tenant's journal policy.
void TenantRuntime::trace_journal(const model::JournalEntry& e, JournalVerdict verdict) {
  std::string d = "party " + e.party + ", " + std::string(model::to_string(e.direction)) + ", " +
                  std::string(model::to_string(e.disposition)) + ": ";
  switch (e.disposition) {
    case model::Disposition::answered: d += "answered on this party's phone"; break;
    case model::Disposition::missed: d += "it rang here and nobody in the conversation answered"; break;
    case model::Disposition::answered_elsewhere:
      d += "it rang here but another phone of the same conversation answered (not counted as missed)";
      break;
    case model::Disposition::rejected: d += "rejected at this phone"; break;
    case model::Disposition::no_answer: d += "the called party did not answer"; break;
    case model::Disposition::busy: d += "the called party was busy"; break;
    case model::Disposition::failed: d += "the call failed before it rang"; break;
    case model::Disposition::unknown:
      d += "unknown after a gap: the call ended while callbridge could not hear the PBX (link down or restart) "
           "before an answer was seen";
      break;
  }
  if (e.estimated) {
    d += "; estimated:";
    for (auto n : model::estimated_names(e.estimated)) {
      d += ' ';
      d += n;
    }
  }
  if (e.transferred_to) d += "; transferred to " + *e.transferred_to;
  if (e.transferred_from) d += "; transferred from " + *e.transferred_from;
  if (e.remote_withheld) d += "; caller withheld the number";
  std::string what = "kept";
  switch (verdict) {
    case JournalVerdict::store: break;
    case JournalVerdict::excluded_internal:
      what = "excluded internal";
      d += ". Not written: internal calls are excluded ([journal] exclude_internal)";
      break;
    case JournalVerdict::excluded_number:
      what = "excluded number";
      d += ". Not written: the party or remote number is in [journal] excluded_numbers";
      break;
  }
  trace_->add(e.call_id, ports::TraceStage::journal, e.ended_at, std::move(what), std::move(d));
}

void TenantRuntime::on_committed(const ports::StoredEntry& e) {
  if (e.entry.tenant != id_) {
    ++stats_.foreign_dropped;
    return;
  }
  ++stats_.journal_committed;
  services_.hub->on_journal(e.entry, e.id, e.resolved);
}

void TenantRuntime::flush_journal() { remote_info_->flush_journal(); }

void TenantRuntime::contacts_changed() { lookup_->invalidate(id_); }  // -> remote_info_ on the io thread

model::ChannelUsage TenantRuntime::channel_usage() const {
  model::ChannelUsage sum;
  for (const auto& d : drivers_) {
    const auto u = d->channel_usage();
    sum.trunk += u.trunk;
    sum.internal += u.internal;
    sum.trunk_peak += u.trunk_peak;
    sum.internal_peak += u.internal_peak;
    sum.trunk_seconds += u.trunk_seconds;
  }
  return sum;
}

TenantRuntime::Stats TenantRuntime::stats() const {
  Stats s = stats_;
  s.drivers = drivers_.size();
  return s;
}

}  // namespace callbridge::core
