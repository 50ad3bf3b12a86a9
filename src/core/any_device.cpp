#include "core/any_device.hpp"

#include <algorithm>

namespace callbridge::core {

bool valid_external_device_name(std::string_view s) {
  if (s.empty() || s.size() > 32 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; });
}

std::expected<std::string, std::string> AnyDevicePolicy::parse_pattern(std::string_view pattern) {
  std::string out;
  for (char c : pattern) {
    if (c == ' ') continue;
    out += c == 'x' ? 'X' : c;
  }
  if (out.size() < 2 || out.size() > 20 || out[0] != '+')
    return std::unexpected("expected '+' and 1-18 digits or X, optionally ending in '*' (e.g. \"+4917*\")");
  for (std::size_t i = 1; i < out.size(); ++i) {
    const char c = out[i];
    if ((c >= '0' && c <= '9') || c == 'X') continue;
    if (c == '*' && i == out.size() - 1 && i > 1) continue;
    return std::unexpected("'" + std::string(1, c) + "' at position " + std::to_string(i + 1) +
                           ": expected digits or X, optionally ending in '*' (e.g. \"+4917*\")");
  }
  return out;
}

bool AnyDevicePolicy::matches(std::string_view pattern, std::string_view e164) {
  const bool open = !pattern.empty() && pattern.back() == '*';
  if (open) pattern.remove_suffix(1);
  if (e164.size() < pattern.size() || (!open && e164.size() != pattern.size())) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == 'X') {
      if (e164[i] < '0' || e164[i] > '9') return false;
    } else if (pattern[i] != e164[i]) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> AnyDevicePolicy::refuse(std::string_view e164) const {
  for (const auto& d : deny)
    if (matches(d, e164))
      return std::string(e164) + " matches the tenant's deny pattern " + d + " (numbers the company does not allow as devices)";
  if (allow.empty() || std::any_of(allow.begin(), allow.end(), [&](const std::string& a) { return matches(a, e164); }))
    return std::nullopt;
  std::string list;
  for (const auto& a : allow) list += (list.empty() ? "" : ", ") + a;
  return std::string(e164) + " is not among the numbers the tenant allows as devices (" + list + ")";
}

std::optional<ActiveDevice> active_device_of(std::string_view name, std::string_view number, bool private_device,
                                             const std::vector<std::string>& extensions) {
  if (name.empty()) return std::nullopt;
  if (!number.empty()) return ActiveDevice{std::string(name), std::string(number), private_device};
  if (std::find(extensions.begin(), extensions.end(), name) != extensions.end())
    return ActiveDevice{std::string(name), ""};
  return std::nullopt;
}

std::optional<ActiveDevice> ActiveDevices::get(const base::TenantId& tenant, const std::string& user) const {
  std::lock_guard lk(mu_);
  auto it = active_.find({tenant.str(), user});
  if (it == active_.end()) return std::nullopt;
  return it->second;
}

void ActiveDevices::set(const base::TenantId& tenant, const std::string& user, std::optional<ActiveDevice> device) {
  std::lock_guard lk(mu_);
  if (device) active_[{tenant.str(), user}] = std::move(*device);
  else active_.erase({tenant.str(), user});
}

std::optional<ActiveDevice> ActiveDevices::device_of_number(const base::TenantId& tenant, std::string_view e164) const {
  if (e164.empty()) return std::nullopt;
  std::lock_guard lk(mu_);
  std::optional<ActiveDevice> found;
  for (auto it = active_.lower_bound({tenant.str(), std::string()}); it != active_.end() && it->first.first == tenant.str();
       ++it) {
    if (it->second.number != e164) continue;
    if (found && *found != it->second) return std::nullopt;
    found = it->second;
  }
  return found;
}

std::size_t ActiveDevices::size() const {
  std::lock_guard lk(mu_);
  return active_.size();
}

}  // namespace callbridge::core
