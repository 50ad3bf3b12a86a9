#include "capabilities/queues/queues_service.hpp"

#include <algorithm>

#include "core/event_hub.hpp"
#include "core/visibility.hpp"

namespace callbridge::capabilities::queues {

namespace {

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

}  // namespace

std::optional<std::string> reason_problem(std::string_view reason) {
  if (reason.size() > kMaxReason) return "reason longer than 80 bytes";
  if (std::any_of(reason.begin(), reason.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
    return "reason with control characters";
  if (!valid_utf8(reason)) return "reason is not UTF-8";
  return std::nullopt;
}

bool valid_queue_name(std::string_view name) {
  if (name.empty() || name.size() > 80) return false;
  return std::none_of(name.begin(), name.end(),
                      [](unsigned char c) { return c < 0x20 || c == 0x7f || c == ',' || c == '|'; });
}

void QueueList::add(const model::QueueState& state) {
  for (const auto& [name, q] : state.queues())
    if (core::may_see_queue(viewer_, q)) queues_.emplace_back(&q, state.pbx());
}

std::string QueueList::json(base::Timestamp now) const {
  auto sorted = queues_;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.first->name != b.first->name ? a.first->name < b.first->name : a.second < b.second;
  });
  std::string o = "{\"queues\":[";
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i) o += ',';
    o += core::queue_json(*sorted[i].first, sorted[i].second, viewer_.tenant, now, remotes_);
  }
  o += "]}";
  return o;
}

}  // namespace callbridge::capabilities::queues
