#include "drivers/ami/ami_driver.hpp"
#include "drivers/ami/ami_trace.hpp"

#include <spdlog/spdlog.h>

namespace callbridge::drivers::ami {

// Between the AMI link and the tracker: after the tracker saw a message, the commands see it
// (OriginateResponse completes a make_call), and PBX device, extension and presence state reports
// change line states without a call event, so the sink hears about those (rare; it diffs lines).
class AmiDriver::Tap final : public AmiSink {
 public:
  Tap(AmiDriver& d) : d_(d), trace_(d.sink_.call_trace()) {}
  void on_session_start(base::Timestamp at) override {
    d_.tracker_->on_session_start(at);
    d_.devices_->on_session_start(at);
    d_.queues_->on_session_start(at);
    d_.parking_->on_session_start(at);
    if (d_.last_resync_id_.empty() && d_.features_) d_.features_->on_session_ready();
  }
  void on_message(const AmiMessage& m, base::Timestamp at) override {
    if (trace_) note_ami_event(*trace_, m, at);  // before the tracker: the event, then what it caused
    d_.tracker_->on_message(m, at);
    if (d_.commands_) d_.commands_->on_ami_message(m);
    const auto ev = m.event();
    const bool lines = ev == "DeviceStateChange" || ev == "ExtensionStatus" || ev == "PresenceStateChange" ||
                       ev == "DeviceStateListComplete" || ev == "ExtensionStateListComplete";
    if (lines) d_.sink_.on_lines_changed(d_.tracker_->model());
    d_.devices_->on_message(m, at);
    // Statuses: the devices of call events at the event (on_call_event), all changed lines after a
    // PBX state report (a walk over the model's devices, as the hub's line sync does).
    if (lines) d_.devices_->sync_status();
    d_.publish_devices();
    d_.queues_->on_message(m, at);
    // QueueStatus has no queue's wrapuptime: queues.conf has (docs/queues.md).
    if (ev == "QueueStatusComplete" && m.action_id() == "resync-QueueStatus") d_.ask_queue_config();
    d_.publish_queues();
    d_.parking_->on_message(m, at);
    d_.publish_parking();
    // The resync's last answer: the calls are known again; now DND/forwarding (docs/dialplan.md).
    if (!d_.last_resync_id_.empty() && !m.has("Event") && m.action_id() == d_.last_resync_id_ && d_.features_)
      d_.features_->on_session_ready();
  }
  void on_session_end(base::Timestamp at, const base::Error& why) override {
    d_.tracker_->on_session_end(at, why);
    d_.sink_.on_lines_changed(d_.tracker_->model());
    if (d_.commands_) d_.commands_->on_session_end();
    if (d_.features_) d_.features_->on_session_end();
    d_.devices_->sync_status();
    d_.publish_devices();
  }

 private:
  AmiDriver& d_;
  ports::CallTrace* trace_;
};

AmiDriver::AmiDriver(std::string name, base::TenantId tenant, ports::PbxEventSink& sink)
    : name_(std::move(name)), tenant_(tenant), sink_(sink) {}

base::Result<std::unique_ptr<AmiDriver>> AmiDriver::create(boost::asio::any_io_executor ex, AmiDriverOptions o,
                                                           ports::PbxEventSink& sink) {
  std::unique_ptr<AmiDriver> d(new AmiDriver(o.name, o.tracker.tenant, sink));
  AmiDriver* self = d.get();
  TrackerOutputs outputs;
  outputs.on_journal = [self](model::JournalEntry e) {
    ++self->entries_;
    self->sink_.on_journal_entry(std::move(e));
  };
  outputs.on_event = [self](const model::CallEvent& e) {
    self->sink_.on_call_event(e, self->tracker_->model());
    if (self->devices_) self->devices_->on_call_event(e);  // published after the message
  };
  outputs.on_resynced = [self] { self->sink_.on_calls_resynced(self->tracker_->model()); };
  TrackerOptions party_rule = o.tracker;
  d->tracker_ = std::make_unique<AmiCallTracker>(std::move(o.tracker), std::move(outputs));
  d->devices_ = std::make_unique<AmiDeviceTracker>(
      d->name_, d->tracker_->model(),
      [rule = std::move(party_rule)](std::string_view ep) { return is_party_endpoint(rule, ep); },
      [self](const std::string& endpoint) { self->ask_endpoint(endpoint); });
  d->queues_ = std::make_unique<AmiQueueTracker>(
      d->name_, [rule = party_rule](std::string_view ep) { return is_party_endpoint(rule, ep); });
  d->parking_ = std::make_unique<AmiParkingTracker>(
      d->name_, [rule = party_rule](std::string_view ep) { return is_party_endpoint(rule, ep); });
  if (o.device_caps) d->tracker_->model().set_caps_resolver(std::move(o.device_caps));
  d->tracker_->model().set_pickup_offered(true);  // AmiCommands::pickup: Originate into PickupChan
  d->tracker_->model().set_park_offered(true);    // AmiCommands::park: the Park action

  // Open calls survive a restart (kill -9 included) in the journal store: what the previous run
  // left is re-attached at the first resync, and the state rows leave with the entries.
  if (ports::JournalStore* store = o.open_state; store && store->keeps_open_state()) {
    std::string scope = "ami:" + d->tenant_.str() + ":" + d->name_;
    auto rows = store->load_open_state(scope);
    if (!rows)
      return base::fail(base::Error(rows.error().code(), "pbx " + d->name_ +
                                                             ": reading open-call state: " + rows.error().message()));
    // Today's queue counts share the store (one row, docs/queues.md); the rest are call legs.
    std::erase_if(*rows, [&](const std::string& text) { return d->queues_->restore_today(text); });
    if (!rows->empty())
      spdlog::info("pbx {}: {} open call leg(s) from the previous run, checked at the first resync", d->name_,
                   rows->size());
    d->tracker_->enable_state(scope, [store, scope](const std::string& key, std::string text) {
      store->put_open_state(scope, key, std::move(text));
    });
    d->queues_->enable_today_state([store, scope](std::string text) {
      store->put_open_state(scope, "queues-today", std::move(text));
    });
    d->tracker_->restore_state(*rows);
    d->keep_open_ = true;
  }

  d->fence_ = o.fence;
  d->term_ = o.fence ? o.fence->token() : 0;
  o.link.session.fence = o.fence;
  if (!o.link.protocol.resync_actions.empty()) d->last_resync_id_ = "resync-" + o.link.protocol.resync_actions.back();
  d->tap_ = std::make_unique<Tap>(*d);
  auto link = AmiLink::create(std::move(ex), std::move(o.link), *d->tap_, &d->clock_);
  if (!link) return base::fail(base::Error(link.error().code(), "pbx " + d->name_ + ": " + link.error().message()));
  d->link_ = std::move(*link);
  // AmiLink logs its state changes itself, once each (up with banner, lost with the reason,
  // repeated failures only when the reason changes); the state is in status() for diagnostics.
  d->commands_ = AmiCommands::over_link(std::move(o.commands), *d->tracker_, *d->link_);
  d->features_ = std::make_unique<AmiFeatures>(
      d->name_, [self](AmiAction a, ActionCallback cb) { return self->link_->submit(std::move(a), std::move(cb)); },
      [self](std::vector<std::string> lines) { self->features_changed(lines); });
  return d;
}

AmiDriver::~AmiDriver() {
  // A driver that never got its stop() through (forced shutdown) still has open calls: close them
  // in the journal with what is known (the sink is still alive while drivers are destroyed).
  if (!flushed_ && tracker_ && !fenced()) tracker_->flush(clock_.now());
}

void AmiDriver::start() { link_->start(); }

void AmiDriver::stop(std::function<void()> done) {
  link_->stop([this, done = std::move(done)] {
    if (!flushed_) {
      flushed_ = true;
      if (fenced()) {
        // Another node owns the link now: the calls in progress are its to follow and journal.
        if (auto n = tracker_->live_channels())
          spdlog::info("pbx {}: lease lost; {} live channel(s) left to the new owner", name_, n);
      } else if (keep_open_) {
        // The calls go on in the PBX: their state is in the journal store, the next start
        // continues them (or journals them with an estimated end if they ended meanwhile).
        // Ending them now would journal each call in progress twice across a restart.
        if (auto n = tracker_->live_channels())
          spdlog::info("pbx {}: {} live channel(s) kept open for the next start", name_, n);
      } else {
        tracker_->flush(clock_.now());  // open calls end now, entries go to the sink
      }
    }
    if (done) done();
  });
}

ports::PbxDriverStatus AmiDriver::status() const {
  ports::PbxDriverStatus s;
  auto st = link_->stats();
  s.state = link_->stopped() ? "stopped" : std::string(to_string(st.state));
  s.connected = st.state == AmiLinkState::up;
  s.peer = link_->peer();
  if (st.last_error) s.last_error = st.last_error->message();
  const auto& ts = tracker_->stats();
  s.counters = {{"messages_received", st.messages_received},
                {"events_received", st.events_received},
                {"bytes_received", st.bytes_received},
                {"actions_sent", st.actions_sent},
                {"connect_attempts", st.connect_attempts},
                {"reconnects", st.reconnects},
                {"logins", st.logins},
                {"last_backoff_ms", static_cast<std::uint64_t>(st.last_backoff.count())},
                {"tracker_handled", ts.handled},
                {"tracker_unknown_channel", ts.unknown_channel},
                {"tracker_dropped_channels", ts.dropped_channels},
                {"tracker_resyncs", ts.resyncs},
                {"tracker_resyncs_done", ts.resyncs_done},
                {"live_channels", tracker_->live_channels()},
                {"journal_entries", entries_},
                {"devices", devices_->registry().size()},
                {"device_detail_requests", devices_->detail_requests()},
                {"queues", queues_->state().size()},
                {"parked_calls", parking_->state().size()},
                {"parking_dropped", parking_->state().dropped()}};
  return s;
}

const model::CallModel& AmiDriver::call_model() const { return tracker_->model(); }

model::ChannelUsage AmiDriver::channel_usage() const { return tracker_->channel_usage(); }

const model::DeviceRegistry* AmiDriver::devices() const { return &devices_->registry(); }

bool AmiDriver::forget_device(std::string_view id) {
  if (!devices_->forget(id)) return false;
  publish_devices();
  return true;
}

void AmiDriver::ask_endpoint(const std::string& endpoint) {
  // The registration's details (User-Agent, via address, auth user name) are not in ContactStatus.
  AmiAction a("PJSIPShowEndpoint");
  a.set("Endpoint", endpoint);
  auto id = link_->submit(std::move(a), [this, alive = std::weak_ptr<bool>(alive_), endpoint](base::Result<AmiResponse> r) {
    if (alive.expired() || !r) return;  // driver gone, or no answer (link lost: the resync relists)
    devices_->on_endpoint_detail(endpoint, *r, clock_.now());
    publish_devices();
  });
  if (!id) spdlog::debug("pbx {}: PJSIPShowEndpoint {}: {}", name_, endpoint, id.error().message());
}

void AmiDriver::publish_devices() {
  if (!devices_->registry().has_changes()) return;
  auto ids = devices_->registry().take_changed();
  sink_.on_devices_changed(devices_->registry(), ids);
}
const model::QueueState* AmiDriver::queues() const { return &queues_->state(); }

void AmiDriver::queue_member(const ports::QueueMemberRequest& r, ports::CommandDone done) {
  auto action = queues_->action_for(r);
  if (!action) return done(base::fail(action.error()));
  auto id = link_->submit(std::move(*action), [alive = std::weak_ptr<bool>(alive_), done](base::Result<AmiResponse> a) {
    if (alive.expired()) return;
    if (!a) return done(base::fail(a.error()));
    if (!a->success()) {
      const std::string why(a->message());
      // "Unable to remove interface: Not there", "Interface not found": the PBX knows no such member.
      if (why.find("Not there") != std::string::npos || why.find("not found") != std::string::npos)
        return done(base::fail(base::Error::not_found(why)));
      return done(base::fail(base::Error::conflict(why.empty() ? "the PBX refused" : why)));
    }
    done(base::Status{});
  });
  if (!id) done(base::fail(id.error()));
}

void AmiDriver::ask_queue_config() {
  AmiAction a("GetConfig");
  a.set("Filename", "queues.conf");
  auto id = link_->submit(std::move(a), [this, alive = std::weak_ptr<bool>(alive_)](base::Result<AmiResponse> r) {
    if (alive.expired() || !r) return;  // driver gone, or no answer (the next resync asks again)
    if (!r->success()) spdlog::debug("pbx {}: GetConfig queues.conf: {}", name_, r->message());
    queues_->on_config(*r);
    publish_queues();
  });
  if (!id) spdlog::debug("pbx {}: GetConfig queues.conf: {}", name_, id.error().message());
}

void AmiDriver::publish_queues() {
  if (!queues_->state().has_changes()) return;
  auto names = queues_->state().take_changed();
  sink_.on_queues_changed(queues_->state(), names);
}

const model::ParkingState* AmiDriver::parking() const { return &parking_->state(); }

void AmiDriver::publish_parking() {
  if (!parking_->state().has_changes()) return;
  auto changes = parking_->state().take_changes();
  sink_.on_parking_changed(parking_->state(), changes);
}

ports::PbxCommands* AmiDriver::commands() { return commands_.get(); }

ports::PbxFeatures* AmiDriver::features() { return features_.get(); }

void AmiDriver::features_changed(const std::vector<std::string>& lines) {
  // The PBX's DND shows as the line state "dnd" (presence), like a phone's own DND.
  const auto now = clock_.now();
  // Hold of calls on external devices needs the include's [callbridge-hold] (version 2).
  tracker_->set_pbx_hold(features_->ready() && features_->dialplan_version() >= kHoldDialplanVersion);
  for (const auto& l : lines) tracker_->model().set_line_dnd(l, features_->line(l).dnd, now);
  if (!lines.empty()) sink_.on_lines_changed(tracker_->model());
  sink_.on_line_features_changed(*features_, lines);
}

}  // namespace callbridge::drivers::ami
