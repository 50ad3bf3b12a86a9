#include "app/ami_wiring.hpp"

#include <memory>
#include <string>

namespace callbridge::app {

base::Result<drivers::ami::TrackerOptions> tracker_options(const Config& config, const base::TenantId& tenant) {
  auto plan = tenant_dialing_plan(config, tenant.str());
  if (!plan) return base::fail(plan.error());
  return tracker_options(tenant, std::move(*plan));
}

drivers::ami::TrackerOptions tracker_options(const base::TenantId& tenant,
                                             std::shared_ptr<const core::DialingPlan> plan) {
  drivers::ami::TrackerOptions o{.tenant = tenant};
  o.is_internal_number = drivers::ami::default_is_internal_number;
  o.canonical_remote = drivers::ami::default_canonical_remote;
  // No [tenant.X.dialing] (the tenant may still have phones or call control): the defaults apply.
  if (!plan) return o;
  std::shared_ptr<const core::DialingPlan> shared = std::move(plan);
  const bool knows_extensions =
      !shared->options().extension_lengths.empty() || !shared->options().extension_ranges.empty();
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
