#include "capabilities/devices/devices_service.hpp"

#include <algorithm>

#include "core/event_hub.hpp"

namespace callbridge::capabilities::devices {

void DeviceList::add(const model::DeviceRegistry& r) {
  for (const auto& [ep, d] : r.devices()) devices_.push_back(&d);
}

std::string DeviceList::json() const {
  auto sorted = devices_;
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return a->pbx != b->pbx ? a->pbx < b->pbx : a->endpoint < b->endpoint;
  });
  std::string o = "{\"devices\":[";
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i) o += ',';
    o += core::device_json(*sorted[i]);
  }
  o += "]}";
  return o;
}

}  // namespace callbridge::capabilities::devices
