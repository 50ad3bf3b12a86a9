#include "core/line_features.hpp"

#include <algorithm>

#include "base/json_text.hpp"

#include <spdlog/spdlog.h>

namespace callbridge::core {

std::expected<std::string, DestinationRefusal> resolve_destination(
    std::string_view raw, const std::function<bool(std::string_view)>& is_extension,
    const std::function<std::optional<std::string>(std::string_view)>& to_e164, const AnyDevicePolicy& policy,
    const std::vector<std::string>& own) {
  auto refuse = [](std::string type, std::string detail) {
    return std::unexpected(DestinationRefusal{std::move(type), std::move(detail)});
  };
  // Trim the blanks people type around a number.
  while (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) raw.remove_prefix(1);
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t')) raw.remove_suffix(1);
  if (raw.empty()) return refuse("invalid-destination", "the destination is empty");
  if (raw.size() > 40) return refuse("invalid-destination", "the destination is longer than 40 characters");
  std::string shown(raw);
  if (std::find(own.begin(), own.end(), raw) != own.end())
    return refuse("invalid-destination", "calls to " + shown + " cannot be forwarded to " + shown + " itself");
  if (is_extension && is_extension(raw)) {
    if (!ports::dialable_destination(raw))
      return refuse("invalid-destination", "extension " + shown + " cannot be dialled by the PBX's forwarding");
    return std::string(raw);
  }
  std::optional<std::string> e164 = to_e164 ? to_e164(raw) : std::nullopt;
  if (!e164)
    return refuse("invalid-destination",
                  "'" + shown + "' is neither an extension of this tenant nor an external phone number");
  if (std::find(own.begin(), own.end(), *e164) != own.end())
    return refuse("invalid-destination", "calls cannot be forwarded to the own line");
  if (!ports::dialable_destination(*e164))
    return refuse("invalid-destination", "'" + shown + "' cannot be dialled by the PBX's forwarding");
  if (auto why = policy.refuse(*e164)) {
    // The policy words it for devices; the same patterns decide forwarding destinations.
    std::string w = *why;
    for (std::string_view devices : {"as devices"})
      if (auto at = w.find(devices); at != std::string::npos) w.replace(at, devices.size(), "as forwarding destinations");
    return refuse("destination-not-allowed", w);
  }
  return *e164;
}

ports::LineFeatures apply(ports::LineFeatures f, const FeatureChange& c) {
  auto set = [](std::optional<std::string>& slot, const std::optional<std::string>& v) {
    if (!v) return;
    if (v->empty()) slot.reset();
    else slot = *v;
  };
  if (c.dnd) f.dnd = *c.dnd;
  set(f.unconditional, c.unconditional);
  set(f.busy, c.busy);
  set(f.no_answer, c.no_answer);
  if (c.no_answer_seconds) f.no_answer_seconds = *c.no_answer_seconds;
  if (!f.no_answer) f.no_answer_seconds = ports::LineFeatures::kDefaultNoAnswerSeconds;
  set(f.follow_me, c.follow_me);
  if (c.follow_me_mode) f.follow_me_mode = *c.follow_me_mode;
  if (c.desk_seconds) f.desk_seconds = *c.desk_seconds;
  if (!f.follow_me) {
    f.follow_me_mode = ports::FollowMeMode::parallel;
    f.desk_seconds = ports::LineFeatures::kDefaultDeskSeconds;
  }
  return f;
}

std::optional<std::string> follow_me_number(const std::optional<ActiveDevice>& active, const AnyDevicePolicy& policy) {
  if (!active || active->number.empty() || policy.refuse(active->number) || !ports::dialable_destination(active->number))
    return std::nullopt;
  return active->number;
}

std::size_t follow_active_device(ports::PbxFeatures& pbx, const std::vector<std::string>& lines,
                                 const std::optional<std::string>& number, std::string log_what) {
  if (!pbx.ready()) return 0;
  std::size_t n = 0;
  for (const auto& l : lines) {
    auto now = pbx.line(l);
    if (!now.follow_me || now.follow_me == number) continue;
    now.follow_me = number;
    if (!number) {
      now.follow_me_mode = ports::FollowMeMode::parallel;
      now.desk_seconds = ports::LineFeatures::kDefaultDeskSeconds;
    }
    ++n;
    pbx.set_line(l, now, [l, log_what](base::Status st) {
      if (!st) spdlog::warn("{}: the follow-me of line {} could not be rewritten: {}", log_what, l, st.error().message());
    });
  }
  return n;
}

std::string line_features_json(const ports::LineFeatures& f) {
  std::string s = "{\"dnd\":";
  s += f.dnd ? "true" : "false";
  auto opt = [&s](std::string_view key, const std::optional<std::string>& v) {
    s += ",\"";
    s += key;
    s += "\":";
    if (v) base::append_json_string(s, *v);
    else s += "null";
  };
  s += ",\"forwarding\":{\"unconditional\":";
  if (f.unconditional) base::append_json_string(s, *f.unconditional);
  else s += "null";
  opt("busy", f.busy);
  opt("no_answer", f.no_answer);
  s += ",\"no_answer_seconds\":" + std::to_string(f.no_answer_seconds) + "}";
  s += ",\"follow_me\":{\"number\":";
  if (f.follow_me) base::append_json_string(s, *f.follow_me);
  else s += "null";
  s += ",\"mode\":\"";
  s += ports::to_string(f.follow_me_mode);
  s += "\",\"desk_seconds\":" + std::to_string(f.desk_seconds) + "}}";
  return s;
}

}  // namespace callbridge::core
