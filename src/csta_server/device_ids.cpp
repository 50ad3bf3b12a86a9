#include "csta_server/device_ids.hpp"

#include <algorithm>

#include "protocols/csta/device_id.hpp"

namespace callbridge::csta_server {

namespace csta = protocols::csta;

namespace {
bool digits_only(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '*' || c == '#'; });
}
}  // namespace

std::optional<ResolvedDevice> DeviceIds::resolve(std::string_view text) const {
  auto id = csta::parse_device_id(text);
  if (!id || id->number.empty()) return std::nullopt;
  std::string_view number = id->number;
  ResolvedDevice r;
  if (!id->e164() && digits_only(number)) {
    // A short number: an extension when the tenant knows it or the plan says so.
    if ((known_ && known_(number)) || (plan_ && plan_->is_extension(number))) {
      r.internal = true;
      r.device.assign(number);
      return r;
    }
  }
  if (plan_) {
    auto c = plan_->canonicalize(number, core::NumberSource::user);
    if (c.kind == core::CanonicalNumber::Kind::internal && !c.extension.empty()) {
      r.internal = true;
      r.device = c.extension;
      return r;
    }
    if (c.kind == core::CanonicalNumber::Kind::external && !c.e164.empty()) {
      r.device = c.e164;
      return r;
    }
  }
  r.device.assign(number);  // as given: the dial string check (call control) has the last word
  return r;
}

std::optional<DeviceStyle> DeviceIds::style_of(std::string_view text) {
  auto id = csta::parse_device_id(text);
  if (!id || id->number.empty()) return std::nullopt;
  DeviceStyle s;
  s.openscape = id->kind != 0;
  s.e164 = id->e164();
  s.noa.assign(id->param("noa"));
  return s;
}

std::string DeviceIds::present(std::string_view device, const DeviceStyle& style) const {
  std::string number(device);
  if (style.e164 && plan_ && digits_only(device)) {
    auto c = plan_->canonicalize(device, core::NumberSource::user);
    if (c.kind == core::CanonicalNumber::Kind::internal && !c.e164.empty()) number = c.e164;
  }
  if (!style.openscape) return number;
  return csta::format_device_id(number, csta::DeviceIdStyle::openscape, style.noa);
}

}  // namespace callbridge::csta_server
