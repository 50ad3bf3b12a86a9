// The driver table: [[pbx]] -> AmiCallTracker + AmiLink behind the PbxLink interface.
#include "app/pbx_links.hpp"

#include <spdlog/spdlog.h>

#include "app/ami_wiring.hpp"
#include "core/event_hub.hpp"
#include "core/remote_info_service.hpp"
#include "drivers/ami/ami_call_tracker.hpp"
#include "drivers/ami/ami_commands.hpp"
#include "drivers/ami/ami_link.hpp"

namespace callbridge::app {
namespace {

namespace ami = drivers::ami;

// Between the AMI link and the tracker: PBX device, extension and presence states change line
// states without a call event, so after those the hub diffs the tenant's lines (O(devices), rare).
class LineStateTap final : public ami::AmiSink {
 public:
  LineStateTap(ami::AmiCallTracker& t, core::EventHub& hub, base::TenantId tenant)
      : t_(t), hub_(hub), tenant_(tenant) {}
  void on_session_start(base::Timestamp at) override { t_.on_session_start(at); }
  void on_message(const ami::AmiMessage& m, base::Timestamp at) override {
    t_.on_message(m, at);
    if (commands) commands->on_ami_message(m);  // OriginateResponse -> the command's outcome
    const auto ev = m.event();
    if (ev == "DeviceStateChange" || ev == "ExtensionStatus" || ev == "PresenceStateChange" ||
        ev == "DeviceStateListComplete" || ev == "ExtensionStateListComplete")
      hub_.sync_lines(tenant_, t_.model());
  }
  void on_session_end(base::Timestamp at, const base::Error& why) override {
    t_.on_session_end(at, why);
    hub_.sync_lines(tenant_, t_.model());
    if (commands) commands->on_session_end();
  }

  ami::AmiCommands* commands = nullptr;  // set once the link's commands exist

 private:
  ami::AmiCallTracker& t_;
  core::EventHub& hub_;
  base::TenantId tenant_;
};

// One Asterisk: the tracker (journal + call model) fed by the AMI link. Owns both; the tracker is
// declared first so it outlives the link that calls it.
class AmiPbxLink final : public PbxLink {
 public:
  AmiPbxLink(std::string name, base::TenantId tenant, std::unique_ptr<ami::AmiCallTracker> tracker)
      : name_(std::move(name)), tenant_(tenant), tracker_(std::move(tracker)) {}

  base::Status init(boost::asio::any_io_executor ex, ami::AmiLinkOptions options,
                    ami::AmiCommandsOptions commands) {
    auto link = ami::AmiLink::create(std::move(ex), std::move(options),
                                     tap_ ? *tap_ : static_cast<ami::AmiSink&>(*tracker_), &clock_);
    if (!link) return base::fail(link.error());
    link_ = std::move(*link);
    commands_ = ami::AmiCommands::over_link(std::move(commands), *tracker_, *link_);
    // AmiLink logs its state changes itself, once each (up with banner, lost with the reason,
    // repeated failures only when the reason changes); the state is in status() for diagnostics.
    return {};
  }

  ~AmiPbxLink() override {
    // A link that never got its stop() through (forced shutdown) still has open calls: close them
    // in the journal with what is known (the App's store is still open while links are destroyed).
    if (!flushed_) tracker_->flush(clock_.now());
  }

  const std::string& name() const override { return name_; }
  void set_tap(std::unique_ptr<ami::AmiSink> tap) { tap_ = std::move(tap); }  // before init()
  const base::TenantId& tenant() const override { return tenant_; }
  ports::PbxCommands* commands() override { return commands_.get(); }
  ami::AmiCommands* ami_commands() { return commands_.get(); }
  const model::CallModel* call_model() const override { return &tracker_->model(); }

  void start() override { link_->start(); }

  void stop(std::function<void()> done) override {
    link_->stop([this, done = std::move(done)] {
      if (!flushed_) {
        flushed_ = true;
        if (keep_open_) {
          // The calls go on in the PBX: their state is in the journal store, the next start
          // continues them (or journals them with an estimated end if they ended meanwhile).
          // Ending them now would journal each call in progress twice across a restart.
          if (auto n = tracker_->live_channels())
            spdlog::info("pbx {}: {} live channel(s) kept open for the next start", name_, n);
        } else {
          tracker_->flush(clock_.now());  // open calls end now, entries go to the journal sink
        }
      }
      if (done) done();
    });
  }

  PbxLinkStatus status() const override {
    PbxLinkStatus s;
    auto st = link_->stats();
    s.state = link_->stopped() ? "stopped" : std::string(ami::to_string(st.state));
    s.connected = st.state == ami::AmiLinkState::up;
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
                  {"live_channels", tracker_->live_channels()},
                  {"journal_entries", entries_}};
    return s;
  }

  void count_entry() { ++entries_; }
  // The store keeps open-call state: a stop leaves open calls open (see stop()).
  void keep_open_calls() { keep_open_ = true; }

 private:
  std::string name_;
  base::TenantId tenant_;
  base::SystemClock clock_;
  std::unique_ptr<ami::AmiCallTracker> tracker_;
  std::unique_ptr<ami::AmiSink> tap_;  // feeds tracker_ (and the event hub); outlives link_
  std::unique_ptr<ami::AmiLink> link_;
  std::unique_ptr<ami::AmiCommands> commands_;  // uses tracker_ and link_: declared after them
  bool flushed_ = false;
  bool keep_open_ = false;
  std::uint64_t entries_ = 0;
};

}  // namespace

base::Result<std::unique_ptr<PbxLink>> make_pbx_link(const PbxConfig& pbx, App& app) {
  auto tenant = base::TenantId::parse(pbx.tenant, "pbx " + pbx.name + ": tenant");
  if (!tenant) return base::fail(tenant.error());
  auto topt = tracker_options(app.config(), *tenant);
  if (!topt) return base::fail(base::Error::invalid_argument("pbx " + pbx.name + ": " + topt.error().message()));
  auto sink = app.journal_sink();
  ami::TrackerOutputs outputs;
  // The link is only known after construction: the callback reads it through a heap cell.
  auto cell = std::make_shared<AmiPbxLink*>(nullptr);
  outputs.on_journal = [cell, sink](model::JournalEntry e) {
    if (*cell) (*cell)->count_entry();
    sink(std::move(e));
  };
  outputs.on_event = [hub = &app.event_hub(), remotes = &app.remote_info(), cell](const model::CallEvent& e) {
    if (!*cell) return;
    remotes->observe(e.tenant, e.call_id, *(*cell)->call_model());  // numbers + lookups first
    hub->on_call_event(e, *(*cell)->call_model());
  };
  auto tracker = std::make_unique<ami::AmiCallTracker>(std::move(*topt), std::move(outputs));
  auto* tracker_raw = tracker.get();
  bool keep_open = false;
  // Open calls survive a restart (kill -9 included) in the journal store: what the previous run
  // left is re-attached at the first resync, and the state rows leave with the entries.
  if (ports::JournalStore& store = app.journal(); store.keeps_open_state()) {
    std::string scope = "ami:" + pbx.tenant + ":" + pbx.name;
    auto rows = store.load_open_state(scope);
    if (!rows) return base::fail(base::Error(rows.error().code(), "pbx " + pbx.name +
                                             ": reading open-call state: " + rows.error().message()));
    if (!rows->empty())
      spdlog::info("pbx {}: {} open call leg(s) from the previous run, checked at the first resync",
                   pbx.name, rows->size());
    tracker->enable_state(scope, [&store, scope](const std::string& key, std::string text) {
      store.put_open_state(scope, key, std::move(text));
    });
    tracker->restore_state(*rows);
    keep_open = true;
  }
  // Call control: [tenant.X.call_control] and the phones' remote control ([[tenant.X.phones]]),
  // which also decide the allowed actions the model offers (answer/hold need the phone).
  ami::AmiCommandsOptions copt;
  if (auto t = app.config().tenants.find(pbx.tenant); t != app.config().tenants.end()) {
    TenantConfig tc = t->second;
    copt.context = tc.call_control.context;
    copt.conference_context = tc.call_control.conference_context;
    copt.phone = [tc](std::string_view device) {
      const PhoneConfig* p = phone_for(tc, device);
      return p ? ami::PhoneNotifyEvents{p->answer_event, p->hold_event, p->retrieve_event}
               : ami::PhoneNotifyEvents{};
    };
    tracker->model().set_caps_resolver([tc](std::string_view device) {
      const PhoneConfig* p = phone_for(tc, device);
      model::DeviceCaps caps;
      if (p) {
        caps.remote_answer = !p->answer_event.empty();
        caps.remote_hold = !p->hold_event.empty() && !p->retrieve_event.empty();
      }
      return caps;
    });
  }
  auto link = std::make_unique<AmiPbxLink>(pbx.name, *tenant, std::move(tracker));
  if (keep_open) link->keep_open_calls();
  app.event_hub().add_model(*tenant, &tracker_raw->model());
  app.call_models().add(*tenant, &tracker_raw->model());  // GET /api/v1/calls
  auto tap = std::make_unique<LineStateTap>(*tracker_raw, app.event_hub(), *tenant);
  LineStateTap* tap_raw = tap.get();
  link->set_tap(std::move(tap));
  if (auto st = link->init(app.io().get_executor(), ami_link_options(pbx), std::move(copt)); !st) {
    return base::fail(base::Error(st.error().code(), "pbx " + pbx.name + ": " + st.error().message()));
  }
  tap_raw->commands = link->ami_commands();
  *cell = link.get();
  return std::unique_ptr<PbxLink>(std::move(link));
}

}  // namespace callbridge::app
