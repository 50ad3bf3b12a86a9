// AnyDevice (docs/call-control.md "AnyDevice"): what a user's external devices may be (their names,
// the tenant's policy on their numbers) and the daemon's record of every user's active device,
// which call control asks at each make call. The policy is a value (any thread); ActiveDevices is
// thread-safe (the REST workers write it, the io thread reads it).
#pragma once

#include <cstddef>
#include <expected>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/tenant_id.hpp"

namespace callbridge::core {

// "mobile", "home-office": the name of an external device.
inline constexpr std::string_view kExternalDeviceNameRule =
    "1-32 characters of a-z, 0-9, '-' and '_', starting with a letter";
bool valid_external_device_name(std::string_view s);

// The most external devices a tenant may allow per user ([tenant.X.any_device] max_devices).
inline constexpr std::size_t kMaxExternalDevices = 20;

// [tenant.X.any_device]: which numbers may be a user's external device. Patterns are written on
// E.164 numbers: '+', then digits or 'X' (any one digit), optionally ending in '*' (any further
// digits); without '*' a pattern matches numbers of exactly its length. "+4915*", "+49900*",
// "+4930XXXXXXX". A number is checked after the tenant's dialing plan made it E.164.
struct AnyDevicePolicy {
  std::vector<std::string> allow{};  // empty: every number that no deny pattern matches
  std::vector<std::string> deny{};   // checked first
  std::size_t max_devices = 5;       // external devices per user, 1..kMaxExternalDevices

  // The pattern in its canonical form (spaces dropped, 'x' -> 'X'), or why it is not one.
  static std::expected<std::string, std::string> parse_pattern(std::string_view pattern);
  static bool matches(std::string_view pattern, std::string_view e164);
  // nullopt when `e164` may be a device; else why not, in words ("+4990012345 matches the tenant's
  // deny pattern +49900*").
  std::optional<std::string> refuse(std::string_view e164) const;
  bool operator==(const AnyDevicePolicy&) const = default;
};

// A tenant's AnyDevice settings as the device routes show and check them: the number policy and
// the tenant's default map ([tenant.X.call_control] any_device: extension -> the number called
// first for users who never chose an active device).
struct AnyDeviceSettings {
  AnyDevicePolicy policy{};
  std::map<std::string, std::string> tenant_default{};
};

// A user's chosen active device.
struct ActiveDevice {
  std::string name;    // an extension of the user, or the name of one of their external devices
  std::string number;  // E.164 for an external device, "" for an extension
  bool private_device = true;  // an external device: the user's own phone, not the company's
  bool operator==(const ActiveDevice&) const = default;
};

// The active device call control uses, from what the identity store holds for a user: the chosen
// device's name, the number stored with it ("" unless it is one of their external devices), and
// the user's extensions. An external device is active with its number; an extension only while it
// is still the user's; anything else (a name left over from a removed extension or device) is
// nullopt: the tenant's default applies.
std::optional<ActiveDevice> active_device_of(std::string_view name, std::string_view number, bool private_device,
                                             const std::vector<std::string>& extensions);

// Every user's active device, of every tenant: loaded from the identity store at start-up,
// updated by the REST routes after each change they stored. Thread-safe.
class ActiveDevices {
 public:
  // nullopt: the user never chose one (the tenant's default applies).
  std::optional<ActiveDevice> get(const base::TenantId& tenant, const std::string& user) const;
  // nullopt: back to the default.
  void set(const base::TenantId& tenant, const std::string& user, std::optional<ActiveDevice> device);
  std::size_t size() const;
  // The active external device whose number is `e164`, when the tenant's users who have it active
  // all call it the same and agree whether it is private (the journal names the device that
  // carried a call and whose costs they were: docs/journal.md "AnyDevice"); nullopt otherwise.
  std::optional<ActiveDevice> device_of_number(const base::TenantId& tenant, std::string_view e164) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, ActiveDevice> active_;
};

}  // namespace callbridge::core
