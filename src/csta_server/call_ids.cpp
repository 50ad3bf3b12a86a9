#include "csta_server/call_ids.hpp"

#include <fmt/format.h>

namespace callbridge::csta_server {

std::string CallIds::next() { return fmt::format("{:08X}", ++seq_ & 0xFFFFFFFFu); }

const std::string& CallIds::of(std::string_view call, std::string_view device) {
  auto it = by_call_.find(std::string(call));
  if (it != by_call_.end()) return it->second;
  std::string id;
  if (auto r = reserved_.find(std::string(device)); !device.empty() && r != reserved_.end()) {
    id = std::move(r->second);
    reserved_.erase(r);
  } else {
    id = next();
  }
  by_csta_[id] = std::string(call);
  return by_call_.emplace(std::string(call), std::move(id)).first->second;
}

std::optional<std::string> CallIds::call_of(std::string_view csta_id) const {
  auto it = by_csta_.find(std::string(csta_id));
  if (it == by_csta_.end()) return std::nullopt;
  return it->second;
}

std::string CallIds::reserve(std::string_view device) {
  auto id = next();
  reserved_[std::string(device)] = id;
  return id;
}

void CallIds::forget(std::string_view call) {
  auto it = by_call_.find(std::string(call));
  if (it == by_call_.end()) return;
  by_csta_.erase(it->second);
  by_call_.erase(it);
}

}  // namespace callbridge::csta_server
