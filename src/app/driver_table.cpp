#include "app/driver_table.hpp"

#include <array>
#include <functional>
#include <string>

#include "app/ami_wiring.hpp"
#include "drivers/ami/ami_driver.hpp"
#include "drivers/csta/csta_driver.hpp"

namespace callbridge::app {
namespace {

namespace ami = drivers::ami;

// What the tenant's [[tenant.X.phone]] entries say a device can do remotely (answer, hold): the
// same for every driver.
std::function<model::DeviceCaps(std::string_view)> device_caps_of(const TenantConfig& tc) {
  return [tc](std::string_view device) {
    const PhoneConfig* p = phone_for(tc, device);
    model::DeviceCaps caps;
    if (p) {
      caps.remote_answer = !p->answer_event.empty();
      caps.remote_hold = !p->hold_event.empty() && !p->retrieve_event.empty();
    }
    return caps;
  };
}

// [[pbx]] driver = "ami": Asterisk over AMI (also the demo simulator, an AMI server).
base::Result<std::unique_ptr<ports::PbxDriver>> make_ami_driver(const PbxConfig& pbx, const DriverContext& c) {
  auto tenant = base::TenantId::parse(pbx.tenant, "pbx " + pbx.name + ": tenant");
  if (!tenant) return base::fail(tenant.error());
  ami::AmiDriverOptions o{.name = pbx.name,
                          .tracker = tracker_options(*tenant, c.plan),
                          .link = ami_link_options(pbx),
                          .commands = {},
                          .device_caps = {},
                          .open_state = c.open_state,
                          .fence = c.fence};
  // Call control: [tenant.X.call_control] and the phones' remote control ([[tenant.X.phones]]),
  // which also decide the allowed actions the model offers (answer/hold need the phone).
  if (c.tenant) {
    const TenantConfig tc = *c.tenant;
    o.commands.context = tc.call_control.context;
    o.commands.conference_context = tc.call_control.conference_context;
    o.commands.atxfer_swap = tc.call_control.atxfer_swap;
    o.commands.atxfer_threeway = tc.call_control.atxfer_threeway;
    o.commands.phone = [tc](std::string_view device) {
      const PhoneConfig* p = phone_for(tc, device);
      return p ? ami::PhoneNotifyEvents{p->answer_event, p->hold_event, p->retrieve_event} : ami::PhoneNotifyEvents{};
    };
    o.device_caps = device_caps_of(tc);
  }
  auto d = ami::AmiDriver::create(c.io.get_executor(), std::move(o), c.sink);
  if (!d) return base::fail(d.error());
  return std::unique_ptr<ports::PbxDriver>(std::move(*d));
}

// [[pbx]] driver = "csta": a CSTA XML link (docs/csta.md "Driver"): ECMA-323 switches, or another
// callbridged's [csta] server.
base::Result<std::unique_ptr<ports::PbxDriver>> make_csta_driver(const PbxConfig& pbx, const DriverContext& c) {
  namespace csta = drivers::csta;
  auto tenant = base::TenantId::parse(pbx.tenant, "pbx " + pbx.name + ": tenant");
  if (!tenant) return base::fail(tenant.error());
  auto devices = csta::expand_devices(pbx.devices);
  if (!devices) return base::fail(base::Error::invalid_argument("pbx " + pbx.name + ": " + devices.error().message()));
  csta::CstaLinkOptions link;
  link.host = pbx.host;
  link.port = pbx.port;
  link.tls = pbx.tls;
  link.tls_ca_file = pbx.tls_ca_file;
  link.tls_verify = pbx.tls_verify;
  link.start = pbx.session_start == "osv" ? csta::SessionStart::osv : csta::SessionStart::ecma354;
  link.edition = static_cast<protocols::csta::Edition>(pbx.edition);
  link.framing = pbx.framing == "headerless" ? protocols::csta::Framing::headerless : protocols::csta::Framing::header;
  link.user = pbx.user;
  link.password = pbx.secret;
  link.connect_timeout = std::chrono::seconds(pbx.connect_timeout_s);
  link.keepalive = std::chrono::seconds(pbx.keepalive_s);
  link.backoff.initial = std::chrono::milliseconds(pbx.reconnect_min_ms);
  link.backoff.max = std::chrono::milliseconds(pbx.reconnect_max_ms);
  csta::CstaDriverOptions o{.name = pbx.name, .tenant = *tenant, .link = std::move(link), .devices = std::move(*devices),
                            .device_caps = {}, .fence = c.fence};
  if (c.tenant) {
    const TenantConfig tc = *c.tenant;
    o.device_caps = device_caps_of(tc);
  }
  auto d = csta::CstaDriver::create(c.io.get_executor(), std::move(o), c.sink);
  if (!d) return base::fail(base::Error::invalid_argument("pbx " + pbx.name + ": " + d.error().message()));
  return std::unique_ptr<ports::PbxDriver>(std::move(*d));
}

constexpr std::array kDrivers{
    DriverRow{"ami", "Asterisk Manager Interface (Asterisk 16+, the demo simulator)", make_ami_driver},
    DriverRow{"csta", "CSTA XML (ECMA-323) switches, or another callbridged's [csta] server", make_csta_driver},
};

}  // namespace

std::span<const DriverRow> driver_table() { return kDrivers; }

const DriverRow* find_driver(std::string_view name) {
  for (const auto& r : kDrivers)
    if (r.name == name) return &r;
  return nullptr;
}

base::Status check_driver(const PbxConfig& pbx) {
  if (find_driver(pbx.driver)) return {};
  std::string known;
  for (const auto& r : kDrivers) known += (known.empty() ? "" : ", ") + std::string(r.name);
  return base::fail(base::Error::invalid_argument("pbx " + pbx.name + ": unknown driver \"" + pbx.driver +
                                                  "\" (known: " + known + ")"));
}

base::Result<std::unique_ptr<ports::PbxDriver>> make_driver(const PbxConfig& pbx, const DriverContext& context) {
  if (auto st = check_driver(pbx); !st) return base::fail(st.error());
  return find_driver(pbx.driver)->make(pbx, context);
}

}  // namespace callbridge::app
