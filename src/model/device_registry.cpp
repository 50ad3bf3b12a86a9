#include "model/device_registry.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace callbridge::model {

namespace {

constexpr std::size_t kMaxUserAgent = 256;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool iequal_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// "66.86.0.15", "7.6.2b", "10.1.54.13": starts with a digit and has a dot.
bool looks_like_version(std::string_view w) {
  return !w.empty() && is_digit(w[0]) && w.find('.') != std::string_view::npos;
}

// A version token ends at a space, '(' or ';' ("4.2.5 (Linux)").
std::string_view version_prefix(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && s[n] != ' ' && s[n] != '(' && s[n] != ';' && s[n] != ',') ++n;
  return s.substr(0, n);
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

UserAgentInfo parse_user_agent(std::string_view ua) {
  if (ua.size() > kMaxUserAgent) ua = ua.substr(0, kMaxUserAgent);
  for (char c : ua)
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return {};  // control bytes: keep it raw
  auto w = words(ua);
  if (w.empty()) return {};

  // snom: "snomD785/10.1.54.13", "snom D785/10.1.54.13", "snom760/8.7.5.35".
  if (iequal_prefix(ua, "snom")) {
    std::string_view rest = ua.substr(4);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    auto slash = rest.find('/');
    if (slash != std::string_view::npos && slash > 0) {
      auto fw = version_prefix(rest.substr(slash + 1));
      if (!fw.empty() && is_digit(fw[0])) return {"snom", trimmed(rest.substr(0, slash)), std::string(fw)};
    }
  }
  // Cisco SPA: "Cisco/SPA504G-7.6.2b".
  if (iequal_prefix(ua, "Cisco/")) {
    std::string_view rest = version_prefix(ua.substr(6));
    auto dash = rest.find('-');
    if (dash != std::string_view::npos && dash > 0 && dash + 1 < rest.size() && is_digit(rest[dash + 1]))
      return {"Cisco", std::string(rest.substr(0, dash)), std::string(rest.substr(dash + 1))};
  }
  // Polycom: "PolycomVVX-VVX_411-UA/5.9.5.0614", "PolycomSoundPointIP-SPIP_331-UA/4.0.15.1009".
  if (iequal_prefix(ua, "Polycom")) {
    auto first = w[0];
    auto slash = first.find("-UA/");
    auto dash = first.find('-');
    if (slash != std::string_view::npos && dash < slash) {
      auto fw = first.substr(slash + 4);
      if (!fw.empty() && is_digit(fw[0]))
        return {"Polycom", std::string(first.substr(dash + 1, slash - dash - 1)), std::string(fw)};
    }
  }
  // "Vendor Model [Model...] Version [anything]": Yealink, Grandstream, Fanvil, Htek, ...
  if (w.size() >= 3 && !looks_like_version(w[0]) && !looks_like_version(w[1]) &&
      w[0].find('/') == std::string_view::npos) {
    for (std::size_t i = 2; i < w.size(); ++i) {
      auto& prev = w[i - 1];
      if (prev.find_first_of("/(;") != std::string_view::npos) break;  // "Product/1.2 (OS 22.04)"
      if (!looks_like_version(w[i])) continue;
      std::string model;
      for (std::size_t k = 1; k < i; ++k) {
        if (!model.empty()) model += ' ';
        model += w[k];
      }
      return {std::string(w[0]), std::move(model), std::string(version_prefix(w[i]))};
    }
  }
  // "Product/Version ...": softphones and many others ("MicroSIP/3.21.3", "Linphone Desktop/4.2.5 (...)",
  // "Gigaset N510 IP PRO/42.250.00.000.000").
  if (auto slash = ua.find('/'); slash != std::string_view::npos && slash > 0) {
    auto fw = version_prefix(ua.substr(slash + 1));
    auto product = trimmed(ua.substr(0, slash));
    if (!fw.empty() && is_digit(fw[0]) && !product.empty()) return {"", std::move(product), std::string(fw)};
  }
  return {};
}

std::string_view to_string(DeviceStatus s) {
  switch (s) {
    case DeviceStatus::unknown: return "unknown";
    case DeviceStatus::on_hook: return "on_hook";
    case DeviceStatus::off_hook: return "off_hook";
    case DeviceStatus::ringing: return "ringing";
    case DeviceStatus::offline: return "offline";
  }
  return "unknown";
}

DeviceStatus device_status(DeviceState s) {
  switch (s) {
    case DeviceState::unknown: return DeviceStatus::unknown;
    case DeviceState::idle:
    case DeviceState::dnd: return DeviceStatus::on_hook;
    case DeviceState::ringing: return DeviceStatus::ringing;
    case DeviceState::busy:
    case DeviceState::held: return DeviceStatus::off_hook;
    case DeviceState::unavailable: return DeviceStatus::offline;
  }
  return DeviceStatus::unknown;
}

std::string_view to_string(Registration r) {
  switch (r) {
    case Registration::unregistered: return "unregistered";
    case Registration::registered: return "registered";
    case Registration::static_contact: return "static";
  }
  return "unregistered";
}

Registration RegisteredDevice::registration() const {
  bool any = false;
  for (const auto& c : contacts) {
    if (c.dynamic) return Registration::registered;
    any = true;
  }
  return any ? Registration::static_contact : Registration::unregistered;
}

std::string RegisteredDevice::address() const {
  for (const auto& c : contacts)
    if (c.dynamic) return c.address;
  return contacts.empty() ? std::string() : contacts.front().address;
}

const RegisteredDevice* DeviceRegistry::find(std::string_view endpoint) const {
  auto it = devices_.find(endpoint);
  return it == devices_.end() ? nullptr : &it->second;
}

const RegisteredDevice* DeviceRegistry::find_id(std::string_view id) const {
  if (id.size() <= pbx_.size() + 1 || !id.starts_with(pbx_) || id[pbx_.size()] != ':') return nullptr;
  return find(id.substr(pbx_.size() + 1));
}

RegisteredDevice* DeviceRegistry::find_mut(std::string_view endpoint) {
  auto it = devices_.find(endpoint);
  return it == devices_.end() ? nullptr : &it->second;
}

RegisteredDevice& DeviceRegistry::upsert(std::string_view endpoint) {
  auto it = devices_.find(endpoint);
  if (it == devices_.end()) {
    RegisteredDevice d;
    d.id = id_of(endpoint);
    d.pbx = pbx_;
    d.endpoint = std::string(endpoint);
    it = devices_.emplace(std::string(endpoint), std::move(d)).first;
  }
  changed_.push_back(it->second.id);
  return it->second;
}

void DeviceRegistry::mark_changed(std::string_view endpoint) {
  if (devices_.contains(endpoint)) changed_.push_back(id_of(endpoint));
}

bool DeviceRegistry::erase(std::string_view endpoint) {
  auto it = devices_.find(endpoint);
  if (it == devices_.end()) return false;
  changed_.push_back(it->second.id);
  devices_.erase(it);
  return true;
}

void DeviceRegistry::refresh_agent(RegisteredDevice& d) {
  std::string ua;
  for (const auto& c : d.contacts)
    if (c.dynamic && !c.user_agent.empty()) {
      ua = c.user_agent;
      break;
    }
  if (ua == d.user_agent) return;
  d.user_agent = std::move(ua);
  d.agent = parse_user_agent(d.user_agent);
}

std::vector<std::string> DeviceRegistry::take_changed() {
  std::sort(changed_.begin(), changed_.end());
  changed_.erase(std::unique(changed_.begin(), changed_.end()), changed_.end());
  return std::exchange(changed_, {});
}

}  // namespace callbridge::model
