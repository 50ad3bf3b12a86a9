// CSTA device identifiers <-> the tenant's devices, with the tenant's dialing plan both ways
// (docs/csta.md "Device identifiers"): "101", "+4930555101" and "N<+4930555101>;noa=nk" all name
// extension 101 of a plan whose DID block is +49 30 555-1xx; outside numbers become E.164. Answers
// are written in the form the client used (DeviceStyle). Pure; any thread (the plan is immutable).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/dialing_plan.hpp"

namespace callbridge::csta_server {

// What a device id means for the tenant.
struct ResolvedDevice {
  bool internal = false;  // an extension of the tenant (the call model's device name in `device`)
  std::string device;     // "101", or for outside numbers E.164 ("+498912345") or the digits as given
};

// How a client writes device ids; learned from the first id it sends.
struct DeviceStyle {
  bool openscape = false;  // "N<...>" form
  bool e164 = false;       // extensions as E.164 numbers (needs a plan with a DID base number)
  std::string noa;         // the ";noa=" parameter the client used ("" = none)
};

class DeviceIds {
 public:
  // `plan` may be null (no [tenant.X.dialing]): digits are then extensions when `known` says so.
  // `known`: is this digit string a device of the tenant (users' extensions, the PBX's devices)?
  DeviceIds(const core::DialingPlan* plan, std::function<bool(std::string_view)> known)
      : plan_(plan), known_(std::move(known)) {}

  // nullopt: not a device id at all (empty, letters, an unclosed '<').
  std::optional<ResolvedDevice> resolve(std::string_view text) const;
  // The style `text` is written in (for DeviceStyle learning); nullopt when it does not parse.
  static std::optional<DeviceStyle> style_of(std::string_view text);
  // A model device or number as the client writes ids.
  std::string present(std::string_view device_or_number, const DeviceStyle& style) const;

 private:
  const core::DialingPlan* plan_;
  std::function<bool(std::string_view)> known_;
};

}  // namespace callbridge::csta_server
