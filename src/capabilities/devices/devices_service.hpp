// The device registry as the API lists it (docs/devices.md): every device of a tenant's PBX
// connections, ordered by PBX and endpoint, rendered as core::device_json. No HTTP; io thread
// (registries belong to the drivers).
#pragma once

#include <string>
#include <vector>

#include "model/device_registry.hpp"

namespace callbridge::capabilities::devices {

class DeviceList {
 public:
  void add(const model::DeviceRegistry& r);
  std::size_t size() const { return devices_.size(); }
  // {"devices":[...]} sorted by pbx, then endpoint.
  std::string json() const;

 private:
  std::vector<const model::RegisteredDevice*> devices_;
};

}  // namespace callbridge::capabilities::devices
