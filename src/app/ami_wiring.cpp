#include "app/ami_wiring.hpp"

#include <memory>
#include <string>

namespace callbridge::app {

core::DialingPlanOptions dialing_plan_options(const DialingConfig& d) {
  core::DialingPlanOptions o;
  o.country_code = d.country_code;
  o.region = d.region;
  o.area_code = d.area_code;
  o.base_number = d.base_number;
  if (d.extension_length > 0) o.extension_lengths = {d.extension_length};
  for (const auto& r : d.extension_ranges) {
    auto dash = r.find('-');  // validated by the config parser: FIRST-LAST
    if (dash == std::string::npos) continue;
    o.extension_ranges.push_back({r.substr(0, dash), r.substr(dash + 1)});
  }
  o.outside_prefix = d.outside_prefix;
  o.national_prefix = d.trunk_prefix;
  o.international_prefix = d.international_prefix;
  o.pbx_reports_outside_prefix = d.pbx_reports_outside_prefix;
  return o;
}

base::Result<drivers::ami::TrackerOptions> tracker_options(const Config& config, std::string_view tenant) {
  drivers::ami::TrackerOptions o;
  o.tenant = std::string(tenant);
  o.is_internal_number = drivers::ami::default_is_internal_number;
  o.canonical_remote = drivers::ami::default_canonical_remote;
  auto it = config.tenants.find(std::string(tenant));
  // No [tenant.X.dialing] (the tenant may still have phones or call control): the defaults apply.
  if (it == config.tenants.end() || it->second.dialing.country_code.empty()) return o;
  auto plan = core::DialingPlan::create(dialing_plan_options(it->second.dialing));
  if (!plan) {
    return base::fail(base::Error::invalid_argument("tenant." + std::string(tenant) +
                                                    ".dialing: " + plan.error().message()));
  }
  auto shared = std::make_shared<const core::DialingPlan>(std::move(*plan));
  const bool knows_extensions = it->second.dialing.extension_length > 0 ||
                                !it->second.dialing.extension_ranges.empty();
  o.is_internal_number = [shared, knows_extensions](std::string_view n) {
    // Feature codes and rooms (*8, #1) are internal whatever the plan says about digits.
    if (n.find_first_of("*#") != std::string_view::npos) return drivers::ami::default_is_internal_number(n);
    if (!knows_extensions) return drivers::ami::default_is_internal_number(n);
    auto c = shared->canonicalize(n, core::NumberSource::pbx);
    // Only the short form counts: a full DID number of an extension is still reported as dialed.
    return c.kind == core::CanonicalNumber::Kind::internal && c.extension == n;
  };
  o.canonical_remote = [shared](std::string_view raw) {
    auto c = shared->canonicalize(raw, core::NumberSource::pbx);
    if (!c.e164.empty()) return c.e164;
    if (c.kind == core::CanonicalNumber::Kind::internal && !c.extension.empty()) return c.extension;
    // Invalid for the plan (letters, SIP URIs): keep what the PBX said, as the default does.
    return drivers::ami::default_canonical_remote(raw);
  };
  return o;
}

drivers::ami::AmiLinkOptions ami_link_options(const PbxConfig& pbx) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  drivers::ami::AmiLinkOptions o;
  o.session.host = pbx.host;
  o.session.port = pbx.port;
  o.session.connect_timeout = seconds(pbx.connect_timeout_s);
  o.protocol.username = pbx.user;
  o.protocol.secret = pbx.secret;
  o.protocol.auth = pbx.auth == AmiAuth::md5 ? drivers::ami::AmiAuth::md5 : drivers::ami::AmiAuth::plain;
  o.protocol.login_timeout = seconds(pbx.connect_timeout_s);  // "TCP connect + login deadline"
  o.protocol.ping_interval = seconds(pbx.keepalive_s);        // 0 = no Ping
  if (pbx.keepalive_s > 0) {
    o.protocol.ping_timeout = std::min<milliseconds>(seconds(pbx.keepalive_s), seconds(10));
  }
  o.backoff.initial = milliseconds(pbx.reconnect_min_ms);
  o.backoff.max = milliseconds(pbx.reconnect_max_ms);
  if (!pbx.record_dir.empty()) o.record_dir = std::filesystem::path(pbx.record_dir);
  o.record_prefix = pbx.name;
  return o;
}

}  // namespace callbridge::app
