#include "drivers/csta/csta_driver.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <variant>

#include <spdlog/spdlog.h>

#include "ports/pbx_features.hpp"

namespace callbridge::drivers::csta {

namespace {

bool digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The monitorCrossRefID of any event.
std::string cross_ref(const wire::Message& m) {
  return std::visit(
      [](const auto& e) -> std::string {
        if constexpr (requires { e.monitor_cross_ref_id; }) return e.monitor_cross_ref_id;
        else return {};
      },
      m);
}

// A refused request as the PbxCommands errors name it.
base::Error command_error(const base::Error& e, std::string_view what) {
  if (e.code() != base::Errc::conflict) return e;
  const std::string& m = e.message();
  std::string text = "CSTA " + std::string(what) + " refused: " + m;
  if (m.ends_with("/invalidCallID") || m.ends_with("/invalidConnectionID") || m.ends_with("/invalidCstaConnectionIdentifier"))
    return base::Error::not_found(text);
  return base::Error::conflict(text);
}

}  // namespace

base::Result<std::vector<std::string>> expand_devices(const std::vector<std::string>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) {
    auto dash = e.find('-');
    if (dash == std::string::npos) {
      if (e.empty() || e.size() > 32 || e.find_first_of(" \t\r\n<>&") != std::string::npos)
        return base::fail(base::Error::invalid_argument("devices: \"" + e + "\" is not a device id"));
      out.push_back(e);
      continue;
    }
    const std::string a = e.substr(0, dash), b = e.substr(dash + 1);
    unsigned long lo = 0, hi = 0;
    if (!digits(a) || !digits(b) || a.size() != b.size() || a.size() > 9 ||
        std::from_chars(a.data(), a.data() + a.size(), lo).ec != std::errc() ||
        std::from_chars(b.data(), b.data() + b.size(), hi).ec != std::errc() || lo > hi)
      return base::fail(base::Error::invalid_argument("devices: \"" + e +
                                                      "\" is not a range FIRST-LAST of equally long numbers"));
    if (out.size() + (hi - lo + 1) > 10'000)
      return base::fail(base::Error::invalid_argument("devices: more than 10000 lines"));
    for (unsigned long n = lo; n <= hi; ++n) {
      std::string s = std::to_string(n);
      out.push_back(std::string(a.size() - s.size(), '0') + s);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// ports::PbxCommands as CSTA services on the link.
class CstaDriver::Commands final : public ports::PbxCommands {
 public:
  explicit Commands(CstaDriver& d) : d_(d) {}
  bool available() const override { return d_.link_->up(); }

  void make_call(const ports::MakeCallRequest& r, ports::CommandDone done) override {
    if (r.first_leg_dial_string) {
      done(base::fail(base::Error::conflict("a CSTA switch cannot ring an external first leg (AnyDevice)")));
      return;
    }
    send(wire::MakeCall{.calling_device = r.from_device, .called_directory_number = r.dial_string, .auto_originate = {}},
         "MakeCall", std::move(done));
  }
  void answer(const std::string& call, const std::string& device, ports::CommandDone done) override {
    send(wire::AnswerCall{{call, device}}, "AnswerCall", std::move(done));
  }
  void hangup(const std::string& call, const std::string& device, ports::CommandDone done) override {
    send(wire::ClearConnection{{call, device}}, "ClearConnection", std::move(done));
  }
  void hold(const std::string& call, const std::string& device, ports::CommandDone done) override {
    send(wire::HoldCall{{call, device}}, "HoldCall", std::move(done));
  }
  void retrieve(const std::string& call, const std::string& device, ports::CommandDone done) override {
    send(wire::RetrieveCall{{call, device}}, "RetrieveCall", std::move(done));
  }
  void consult(const std::string& call, const std::string& device, const std::string& dial,
               ports::CommandDone done) override {
    send(wire::ConsultationCall{{call, device}, dial}, "ConsultationCall", std::move(done));
  }
  void alternate(const std::string& call, const std::string& other, const std::string& device,
                 ports::CommandDone done) override {
    auto [held, active] = held_active(call, other, device);
    send(wire::AlternateCall{{held, device}, {active, device}}, "AlternateCall", std::move(done));
  }
  void transfer(const std::string& call, const std::string& device, const std::string& dial,
                ports::CommandDone done) override {
    send(wire::SingleStepTransferCall{{call, device}, dial}, "SingleStepTransferCall", std::move(done));
  }
  void complete_transfer(const std::string& call, const std::string& other, const std::string& device,
                         ports::CommandDone done) override {
    auto [held, active] = held_active(call, other, device);
    send(wire::TransferCall{{held, device}, {active, device}}, "TransferCall", std::move(done));
  }
  void conference(const std::string& call, const std::string& other, const std::string& device,
                  ports::CommandDone done) override {
    auto [held, active] = held_active(call, other, device);
    send(wire::ConferenceCall{{held, device}, {active, device}}, "ConferenceCall", std::move(done));
  }
  void redirect(const std::string& call, const std::string& device, const std::string& dial,
                ports::CommandDone done) override {
    send(wire::DeflectCall{{call, device}, dial}, "DeflectCall", std::move(done));
  }

 private:
  // Of two calls of the device, the held one first (the switch wants heldCall and activeCall).
  std::pair<std::string, std::string> held_active(const std::string& a, const std::string& b,
                                                  const std::string& device) const {
    const auto* ca = d_.tracker_->model().find_call(a);
    if (ca)
      for (const auto& c : ca->connections)
        if (c.device == device && c.state == model::ConnectionState::held) return {a, b};
    return {b, a};
  }
  void send(const wire::Message& m, std::string_view what, ports::CommandDone done) {
    if (!d_.link_->up()) {
      done(base::fail(base::Error::unavailable("the CSTA link to " + d_.link_->peer() + " is down")));
      return;
    }
    d_.link_->request(m, [done = std::move(done), what = std::string(what)](base::Result<wire::Message> r) {
      if (!r) return done(base::fail(command_error(r.error(), what)));
      done({});
    });
  }
  CstaDriver& d_;
};

// ports::PbxFeatures as the switch's logical device features (ECMA-269 22).
class CstaDriver::Features final : public ports::PbxFeatures {
 public:
  explicit Features(CstaDriver& d) : d_(d) {}

  base::Status ready() const override {
    if (!d_.link_->up())
      return base::fail(base::Error::unavailable("the CSTA link to " + d_.link_->peer() + " is down"));
    if (!supported)
      return base::fail(base::Error::unavailable("the CSTA switch at " + d_.link_->peer() +
                                                 " offers no DND and forwarding services (GetCSTAFeatures)"));
    if (reading > 0)
      return base::fail(base::Error::unavailable("the lines' DND and forwarding are being read from the switch"));
    return {};
  }
  ports::LineFeatures line(std::string_view l) const override {
    auto it = lines.find(l);
    return it == lines.end() ? ports::LineFeatures{} : it->second;
  }
  void set_line(const std::string& l, const ports::LineFeatures& f, ports::CommandDone done) override {
    if (auto st = ready(); !st) return done(st);
    if (!d_.lines_.count(l))
      return done(base::fail(base::Error::invalid_argument("line " + l + " is not monitored on the CSTA link")));
    const ports::LineFeatures now = line(l);
    if (f.follow_me != now.follow_me || (f.follow_me && (f.follow_me_mode != now.follow_me_mode ||
                                                         f.desk_seconds != now.desk_seconds)))
      return done(base::fail(base::Error::invalid_argument("follow-me is not carried over a CSTA link")));
    for (auto k : {ports::ForwardKind::unconditional, ports::ForwardKind::busy, ports::ForwardKind::no_answer})
      if (f.forward(k) && !ports::dialable_destination(*f.forward(k)))
        return done(base::fail(base::Error::invalid_argument("forwarding destination " + *f.forward(k) +
                                                             " is not a dialable number")));
    // What differs, one request each, in order; the first refusal ends it.
    std::vector<wire::Message> todo;
    if (f.dnd != now.dnd) todo.push_back(wire::SetDoNotDisturb{.device = l, .on = f.dnd});
    static constexpr std::array kKinds{std::pair{ports::ForwardKind::unconditional, wire::ForwardingType::immediate},
                                       std::pair{ports::ForwardKind::busy, wire::ForwardingType::busy},
                                       std::pair{ports::ForwardKind::no_answer, wire::ForwardingType::no_answer}};
    for (const auto& [k, type] : kKinds) {
      const bool na = k == ports::ForwardKind::no_answer;
      if (f.forward(k) == now.forward(k) && !(na && f.forward(k) && f.no_answer_seconds != now.no_answer_seconds))
        continue;
      wire::SetForwarding r{.device = l, .type = type, .activate = f.forward(k).has_value(),
                            .forward_dn = f.forward(k).value_or(""), .ring_count = std::nullopt};
      if (na && f.forward(k)) r.ring_count = std::max(1, f.no_answer_seconds / 5);  // a ring is about 5 s
      todo.push_back(std::move(r));
    }
    run(l, f, std::move(todo), 0, std::move(done));
  }

  // Learned at each session start (GetCSTAFeatures); the lines' state read per monitor.
  bool supported = false;
  int reading = 0;
  std::map<std::string, ports::LineFeatures, std::less<>> lines;

 private:
  void run(const std::string& l, ports::LineFeatures f, std::vector<wire::Message> todo, std::size_t i,
           ports::CommandDone done) {
    if (i == todo.size()) {
      auto& mine = lines[l];
      const bool changed = !(mine == f);
      f.follow_me = mine.follow_me;
      mine = f;
      if (changed) d_.features_changed({l});
      return done({});
    }
    const std::string what(wire::root_name(todo[i]));
    d_.link_->request(todo[i], [this, alive = std::weak_ptr<bool>(d_.alive_), l, f = std::move(f), todo, i,
                                done = std::move(done), what](base::Result<wire::Message> r) mutable {
      if (alive.expired()) return;
      if (!r) {
        auto e = r.error();
        if (e.code() == base::Errc::conflict) e = base::Error::conflict("CSTA " + what + " refused: " + e.message());
        return done(base::fail(std::move(e)));
      }
      run(l, std::move(f), std::move(todo), i + 1, std::move(done));
    });
  }
  CstaDriver& d_;
};

CstaDriver::CstaDriver(CstaDriverOptions options, ports::PbxEventSink& sink, const base::Clock& clock)
    : options_(std::move(options)), sink_(sink), clock_(clock) {}

CstaDriver::~CstaDriver() { *alive_ = false; }

base::Result<std::unique_ptr<CstaDriver>> CstaDriver::create(boost::asio::any_io_executor ex, CstaDriverOptions o,
                                                            ports::PbxEventSink& sink, const base::Clock* clock) {
  static const base::SystemClock system_clock;
  const base::Clock& c = clock ? *clock : system_clock;
  std::unique_ptr<CstaDriver> d(new CstaDriver(std::move(o), sink, c));
  CstaDriver* self = d.get();
  d->tracker_ = std::make_unique<CstaCallTracker>(
      d->options_.tenant,
      [self](const model::CallEvent& e) {
        ++self->events_;
        self->sink_.on_call_event(e, self->tracker_->model());
      },
      [self](model::JournalEntry e) {
        ++self->entries_;
        self->sink_.on_journal_entry(std::move(e));
      },
      [self](std::string_view id) { return self->lines_.count(std::string(id)) > 0; });
  if (d->options_.device_caps) d->tracker_->model().set_caps_resolver(d->options_.device_caps);
  d->options_.link.fence = d->options_.fence;
  d->term_ = d->options_.fence ? d->options_.fence->token() : 0;
  auto link = CstaLink::create(std::move(ex), d->options_.link, *d, &c);
  if (!link) return base::fail(link.error());
  d->link_ = std::move(*link);
  d->commands_ = std::make_unique<Commands>(*d);
  d->features_ = std::make_unique<Features>(*d);
  return d;
}

void CstaDriver::start() { link_->start(); }

void CstaDriver::stop(std::function<void()> done) {
  link_->stop([this, alive = std::weak_ptr<bool>(alive_), done = std::move(done)] {
    if (alive.expired()) return;
    if (!stopped_) {
      stopped_ = true;
      if (options_.fence && !options_.fence->valid()) {
        // Another node owns the link now: the calls in progress are its to follow and journal.
        spdlog::info("csta driver {}: lease lost; {} call(s) in progress left to the new owner", options_.name,
                     tracker_->model().calls().size());
      } else {
        tracker_->flush(clock_.now());  // calls still open end now (journaled)
        sink_.on_lines_changed(tracker_->model());
      }
    }
    if (done) done();
  });
}

ports::PbxDriverStatus CstaDriver::status() const {
  const auto s = link_->stats();
  ports::PbxDriverStatus st;
  st.state = std::string(to_string(s.state));
  st.connected = s.state == CstaLinkState::up;
  st.peer = link_->peer();
  st.last_error = s.last_error ? s.last_error->to_string() : "";
  st.counters = {{"messages_in", s.messages_in},       {"messages_out", s.messages_out},
                 {"events_in", s.events_in},           {"call_events", events_},
                 {"journal_entries", entries_},        {"monitors", monitors_.size()},
                 {"monitor_errors", monitor_errors_},  {"resyncs", resyncs_},
                 {"errors_in", s.errors_in},           {"undecodable_in", s.undecodable_in},
                 {"connect_attempts", s.connect_attempts}, {"reconnects", s.reconnects},
                 {"sessions", s.sessions}};
  return st;
}

ports::PbxCommands* CstaDriver::commands() { return commands_.get(); }

ports::PbxFeatures* CstaDriver::features() { return features_.get(); }

void CstaDriver::features_changed(const std::vector<std::string>& lines) {
  // The switch's DND shows as the line state "dnd" (presence), as with the AMI driver.
  const auto now = clock_.now();
  for (const auto& l : lines) tracker_->model().set_line_dnd(l, features_->line(l).dnd, now);
  if (!lines.empty()) sink_.on_lines_changed(tracker_->model());
  sink_.on_line_features_changed(*features_, lines);
}

void CstaDriver::read_features(const std::string& device) {
  if (!features_->supported) return;
  ++features_->reading;
  auto state = std::make_shared<ports::LineFeatures>(features_->line(device));
  auto pending = std::make_shared<int>(2);
  auto finish = [this, device, state, pending, session = session_] {
    if (--*pending > 0 || session != session_) return;
    --features_->reading;
    auto& mine = features_->lines[device];
    const bool changed = !(mine == *state);
    mine = *state;
    if (changed) features_changed({device});
    else if (features_->reading == 0) features_changed({});  // readable now
  };
  link_->request(wire::GetDoNotDisturb{device},
                 [this, alive = std::weak_ptr<bool>(alive_), state, finish](base::Result<wire::Message> r) {
                   if (alive.expired()) return;
                   if (auto* ok = r ? std::get_if<wire::GetDoNotDisturbResponse>(&*r) : nullptr) state->dnd = ok->on;
                   finish();
                 });
  link_->request(wire::GetForwarding{device},
                 [this, alive = std::weak_ptr<bool>(alive_), state, finish](base::Result<wire::Message> r) {
                   if (alive.expired()) return;
                   if (auto* ok = r ? std::get_if<wire::GetForwardingResponse>(&*r) : nullptr) {
                     for (const auto& it : ok->items) {
                       std::optional<std::string> to;
                       if (it.status && !it.forward_dn.empty()) to = it.forward_dn;
                       switch (it.type) {
                         case wire::ForwardingType::immediate: state->unconditional = to; break;
                         case wire::ForwardingType::busy: state->busy = to; break;
                         case wire::ForwardingType::no_answer:
                           state->no_answer = to;
                           if (it.ring_count)
                             state->no_answer_seconds = std::clamp(*it.ring_count * 5, ports::LineFeatures::kMinNoAnswerSeconds,
                                                                   ports::LineFeatures::kMaxNoAnswerSeconds);
                           break;
                         default: break;  // internal/external variants: no such keys here
                       }
                     }
                   }
                   finish();
                 });
}

void CstaDriver::monitor(const std::string& device) {
  ++resync_pending_;  // before the request: a link that is down answers at once
  link_->request(wire::MonitorStart{.device_object = device, .call_object = {}, .filter = {}, .monitor_type = {}},
                 [this, device, alive = std::weak_ptr<bool>(alive_), session = session_](base::Result<wire::Message> r) {
                   if (alive.expired() || session != session_) return;
                   auto* ok = r ? std::get_if<wire::MonitorStartResponse>(&*r) : nullptr;
                   if (!ok) {
                     ++monitor_errors_;
                     spdlog::warn("csta driver {}: cannot monitor {}: {}", options_.name, device,
                                  r ? std::string("unexpected answer ") + std::string(wire::root_name(*r))
                                    : r.error().to_string());
                     line_resynced();  // the line's calls cannot be known in this session
                     return;
                   }
                   monitors_[ok->monitor_cross_ref_id] = device;
                   // What the device is doing right now (also what happened while the link was down).
                   link_->request(wire::SnapshotDevice{device}, [this, device, alive, session](base::Result<wire::Message> s) {
                     if (alive.expired() || session != session_) return;
                     const auto now = clock_.now();
                     if (auto* snap = s ? std::get_if<wire::SnapshotDeviceResponse>(&*s) : nullptr) {
                       tracker_->on_snapshot(device, snap->items, now);
                       ++resyncs_;
                     } else {
                       tracker_->on_monitored(device, now);
                     }
                     sink_.on_lines_changed(tracker_->model());
                     read_features(device);
                     line_resynced();
                   });
                 });
}

void CstaDriver::line_resynced() {
  if (resync_pending_ > 0) --resync_pending_;
  report_if_resynced();
}

void CstaDriver::report_if_resynced() {
  // A session that ended meanwhile resynced nothing: the next one starts over (on_up).
  if (!lines_listed_ || resync_pending_ > 0 || resync_reported_ || link_->stats().state != CstaLinkState::up) return;
  resync_reported_ = true;
  sink_.on_calls_resynced(tracker_->model());
}

void CstaDriver::on_up(base::Timestamp) {
  ++session_;
  monitors_.clear();
  resync_pending_ = 0;
  lines_listed_ = resync_reported_ = false;
  features_->supported = false;
  features_->reading = 0;
  // What the switch offers decides whether DND and forwarding are read and set (and said so by
  // features()->ready()); then the monitors.
  link_->request(wire::GetCstaFeatures{}, [this, alive = std::weak_ptr<bool>(alive_), session = session_](
                                              base::Result<wire::Message> r) {
    if (alive.expired() || session != session_) return;
    if (auto* ok = r ? std::get_if<wire::GetCstaFeaturesResponse>(&*r) : nullptr) {
      std::set<std::string, std::less<>> offered;
      for (const auto& g : ok->services) offered.insert(g.items.begin(), g.items.end());
      features_->supported = offered.count("getDoNotDisturb") && offered.count("setDoNotDisturb") &&
                             offered.count("getForwarding") && offered.count("setForwarding");
    }
    start_monitors();
  });
}

void CstaDriver::start_monitors() {
  if (!options_.devices.empty()) {
    for (const auto& d : options_.devices) {
      lines_.insert(d);
      monitor(d);
    }
    lines_listed_ = true;
    report_if_resynced();
    return;
  }
  link_->request(wire::GetSwitchingFunctionDevices{},
                 [this, alive = std::weak_ptr<bool>(alive_)](base::Result<wire::Message> r) {
                   if (alive.expired()) return;
                   if (auto* ok = r ? std::get_if<wire::GetSwitchingFunctionDevicesResponse>(&*r) : nullptr)
                     devices_ref_ = ok->service_cross_ref_id;
                   else
                     spdlog::warn("csta driver {}: the switch lists no devices ({}); set devices in [[pbx]]",
                                  options_.name, r ? std::string(wire::root_name(*r)) : r.error().to_string());
                 });
}

void CstaDriver::on_switching_devices(const wire::SwitchingFunctionDevices& d) {
  if (!options_.devices.empty()) return;
  for (const auto& dev : d.devices)
    if (dev.category.empty() || dev.category == "station") {
      lines_.insert(dev.device_id);
      monitor(dev.device_id);
    }
  if (d.last_segment) {
    lines_listed_ = true;  // the switch's list is complete: the resync is done when its lines are
    report_if_resynced();
  }
}

void CstaDriver::on_event(const wire::Message& m, base::Timestamp at) {
  auto it = monitors_.find(cross_ref(m));
  if (it == monitors_.end()) return;  // not one of ours (or a monitor of a closed session)
  const std::string& line = it->second;
  // The line's DND and forwarding (ECMA-269 22.2), whoever changed them on the switch.
  if (auto* e = std::get_if<wire::DoNotDisturbEvent>(&m)) {
    auto& f = features_->lines[line];
    if (f.dnd != e->on) {
      f.dnd = e->on;
      features_changed({line});
    }
    return;
  }
  if (auto* e = std::get_if<wire::ForwardingEvent>(&m)) {
    auto f = features_->line(line);
    std::optional<std::string> to;
    if (e->status && !e->forward_to.empty()) to = e->forward_to;
    switch (e->type) {
      case wire::ForwardingType::immediate: f.unconditional = to; break;
      case wire::ForwardingType::busy: f.busy = to; break;
      case wire::ForwardingType::no_answer:
        f.no_answer = to;
        if (e->ring_count)
          f.no_answer_seconds = std::clamp(*e->ring_count * 5, ports::LineFeatures::kMinNoAnswerSeconds,
                                           ports::LineFeatures::kMaxNoAnswerSeconds);
        break;
      default: return;  // internal/external variants: not kept
    }
    auto& mine = features_->lines[line];
    if (!(mine == f)) {
      mine = f;
      features_changed({line});
    }
    return;
  }
  tracker_->on_event(line, m, at);
}

void CstaDriver::on_down(base::Timestamp at, const base::Error&) {
  monitors_.clear();
  tracker_->on_link_down(at);
  sink_.on_lines_changed(tracker_->model());
  sink_.on_line_features_changed(*features_, {});  // not readable while the link is down
}

}  // namespace callbridge::drivers::csta
