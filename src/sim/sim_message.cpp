#include "sim/sim_message.hpp"

namespace callbridge::sim {

std::string_view SimMessage::get(std::string_view key) const {
  for (const auto& [k, v] : fields_) {
    if (k == key) return v;
  }
  return {};
}

bool SimMessage::has(std::string_view key) const {
  for (const auto& [k, v] : fields_) {
    if (k == key) return true;
  }
  return false;
}

void SimMessage::append_wire(std::string& out) const {
  for (const auto& [k, v] : fields_) {
    out.append(k).append(": ").append(v).append("\r\n");
  }
  out.append("\r\n");
}

std::string SimMessage::to_wire() const {
  std::string out;
  append_wire(out);
  return out;
}

}  // namespace callbridge::sim
