#include "drivers/csta/csta_driver.hpp"

#include <algorithm>
#include <charconv>
#include <variant>

#include <spdlog/spdlog.h>

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
  auto link = CstaLink::create(std::move(ex), d->options_.link, *d, &c);
  if (!link) return base::fail(link.error());
  d->link_ = std::move(*link);
  d->commands_ = std::make_unique<Commands>(*d);
  return d;
}

void CstaDriver::start() { link_->start(); }

void CstaDriver::stop(std::function<void()> done) {
  link_->stop([this, alive = std::weak_ptr<bool>(alive_), done = std::move(done)] {
    if (alive.expired()) return;
    if (!stopped_) {
      stopped_ = true;
      tracker_->flush(clock_.now());  // calls still open end now (journaled)
      sink_.on_lines_changed(tracker_->model());
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

void CstaDriver::monitor(const std::string& device) {
  link_->request(wire::MonitorStart{.device_object = device, .call_object = {}, .filter = {}, .monitor_type = {}},
                 [this, device, alive = std::weak_ptr<bool>(alive_), session = session_](base::Result<wire::Message> r) {
                   if (alive.expired() || session != session_) return;
                   auto* ok = r ? std::get_if<wire::MonitorStartResponse>(&*r) : nullptr;
                   if (!ok) {
                     ++monitor_errors_;
                     spdlog::warn("csta driver {}: cannot monitor {}: {}", options_.name, device,
                                  r ? std::string("unexpected answer ") + std::string(wire::root_name(*r))
                                    : r.error().to_string());
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
                   });
                 });
}

void CstaDriver::on_up(base::Timestamp) {
  ++session_;
  monitors_.clear();
  if (!options_.devices.empty()) {
    for (const auto& d : options_.devices) {
      lines_.insert(d);
      monitor(d);
    }
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
}

void CstaDriver::on_event(const wire::Message& m, base::Timestamp at) {
  auto it = monitors_.find(cross_ref(m));
  if (it == monitors_.end()) return;  // not one of ours (or a monitor of a closed session)
  tracker_->on_event(it->second, m, at);
}

void CstaDriver::on_down(base::Timestamp at, const base::Error&) {
  monitors_.clear();
  tracker_->on_link_down(at);
  sink_.on_lines_changed(tracker_->model());
}

}  // namespace callbridge::drivers::csta
