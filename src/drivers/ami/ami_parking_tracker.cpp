#include "drivers/ami/ami_parking_tracker.hpp"

#include <charconv>

namespace callbridge::drivers::ami {

namespace {

constexpr std::size_t kMaxField = 256;
constexpr std::string_view kResyncId = "resync-ParkedCalls";

std::string field(const AmiMessage& m, std::string_view key) { return std::string(m.get(key).substr(0, kMaxField)); }

std::string prefixed(const AmiMessage& m, std::string_view prefix, std::string_view key) {
  std::string k(prefix);
  k += key;
  return field(m, k);
}

// Caller id fields: Asterisk writes "<unknown>" for none.
std::string caller(std::string v) { return v == "<unknown>" ? std::string() : v; }

long long number(std::string_view s, long long fallback) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() ? v : fallback;
}

std::string str(std::string_view s) { return std::string(s); }

}  // namespace

AmiParkingTracker::AmiParkingTracker(std::string pbx, std::function<bool(std::string_view)> is_party)
    : state_(std::move(pbx)), is_party_(std::move(is_party)) {}

std::string AmiParkingTracker::line_of(std::string_view s) const {
  // "PJSIP/101" (ParkerDialString) or "PJSIP/102-00000021" (RetrieverChannel) -> "101" when it is
  // an internal line; a trunk, a Local channel or garbage -> "".
  auto slash = s.find('/');
  if (slash == std::string_view::npos || s.substr(0, slash) != "PJSIP") return {};
  auto rest = s.substr(slash + 1);
  auto dash = rest.rfind('-');
  std::string ep(dash == std::string_view::npos ? rest : rest.substr(0, dash));
  if (ep.empty() || (is_party_ && !is_party_(ep))) return {};
  return ep;
}

model::ParkedCall AmiParkingTracker::parked_from(const AmiMessage& m, base::Timestamp at, std::string_view p) const {
  model::ParkedCall c;
  c.lot = field(m, "Parkinglot");
  c.space = field(m, "ParkingSpace");
  c.channel = prefixed(m, p, "Channel");
  c.uniqueid = prefixed(m, p, "Uniqueid");
  c.linkedid = prefixed(m, p, "Linkedid");
  c.number = caller(prefixed(m, p, "CallerIDNum"));
  c.name = caller(prefixed(m, p, "CallerIDName"));
  if (auto d = dialed_.find(c.uniqueid); d != dialed_.end()) {
    // The far end of an outgoing call: its CallerID is the caller's own, the number it was dialed
    // with is who waits.
    c.number = d->second;
    c.name.clear();
  }
  c.parker_dial_string = field(m, "ParkerDialString");
  c.parker = line_of(c.parker_dial_string);
  // res_parking: ParkingDuration = seconds parked so far, ParkingTimeout = seconds left (the live
  // event says 45 / 0, a ParkedCalls item 42 / 3 three seconds later); no parking time: <= 0.
  const long long duration = std::max(0LL, number(m.get("ParkingDuration"), 0));
  const long long left = number(m.get("ParkingTimeout"), 0);
  c.since = at - std::chrono::seconds(duration);
  if (left > 0) c.times_out_at = at + std::chrono::seconds(left);
  return c;
}

void AmiParkingTracker::on_session_start(base::Timestamp) {
  // The resync's ParkedCalls (sent after this) says what is still parked; hangups of the gap were
  // not seen.
  dialed_.clear();
  listed_.clear();
  resyncing_ = true;
}

void AmiParkingTracker::on_message(const AmiMessage& m, base::Timestamp at) {
  const auto ev = m.event();
  if (ev.empty()) return;
  using R = model::ParkingChange::Reason;
  if (ev == "DialBegin") {
    auto uid = m.get("DestUniqueid");
    std::string_view dial = m.get("DialString");
    dial = dial.substr(0, dial.find('@'));
    if (auto slash = dial.find('/'); slash != std::string_view::npos) dial.remove_prefix(slash + 1);
    if (!uid.empty() && !dial.empty() && dial.size() <= 64 && (dialed_.size() < kMaxDialed || dialed_.contains(uid)))
      dialed_[std::string(uid)] = std::string(dial);
    return;
  }
  if (ev == "Hangup") {
    if (auto it = dialed_.find(m.get("Uniqueid")); it != dialed_.end()) dialed_.erase(it);
    return;
  }
  if (ev == "ParkedCall") {
    const bool item = !m.action_id().empty();
    if (item && m.action_id() != kResyncId) return;  // someone else's list
    model::ParkedCall c = parked_from(m, at, "Parkee");
    if (c.lot.empty() || c.space.empty()) return;
    if (item) {
      listed_.emplace(c.lot, c.space);
      // The list's times are whole seconds: keep what the live event said about the same call.
      if (const auto* known = state_.find(c.lot, c.space); known && known->uniqueid == c.uniqueid) {
        c.since = known->since;
        c.times_out_at = known->times_out_at;
      }
    }
    state_.park(std::move(c));
    return;
  }
  if (ev == "ParkedCallSwap") {
    // The parkee fields name the channel now in the space; it stays parked since the first park.
    model::ParkedCall c = parked_from(m, at, "Parkee");
    if (c.lot.empty() || c.space.empty()) return;
    if (const auto* known = state_.find(c.lot, c.space)) {
      c.since = known->since;
      if (c.parker.empty()) {
        c.parker = known->parker;
        c.parker_dial_string = known->parker_dial_string;
      }
    }
    state_.park(std::move(c));
    return;
  }
  if (ev == "UnParkedCall") {
    state_.leave(m.get("Parkinglot"), m.get("ParkingSpace"), R::retrieved, line_of(m.get("RetrieverChannel")));
    return;
  }
  if (ev == "ParkedCallTimeOut") {
    state_.leave(m.get("Parkinglot"), m.get("ParkingSpace"), R::timeout);
    return;
  }
  if (ev == "ParkedCallGiveUp") {
    state_.leave(m.get("Parkinglot"), m.get("ParkingSpace"), R::gave_up);
    return;
  }
  if (ev == "ParkedCallsComplete" && m.action_id() == kResyncId && resyncing_) {
    resyncing_ = false;
    std::vector<model::ParkingState::Key> gone;
    for (const auto& [k, c] : state_.calls())
      if (!listed_.contains(k)) gone.push_back(k);
    for (const auto& k : gone) state_.leave(k.first, k.second, R::gone);
    listed_.clear();
  }
}

AmiAction park_action(std::string_view channel, std::string_view timeout_channel, std::string_view lot) {
  AmiAction a("Park");
  a.set("Channel", str(channel));
  if (!timeout_channel.empty()) a.set("TimeoutChannel", str(timeout_channel));
  if (!lot.empty()) a.set("Parkinglot", str(lot));
  return a;
}

AmiAction unpark_action(std::string_view channel, std::string_view lot, std::string_view space,
                        std::string_view caller_id, std::chrono::milliseconds timeout) {
  AmiAction a("Originate");
  a.set("Channel", str(channel));
  a.set("Application", "ParkedCall");
  a.set("Data", str(lot) + "," + str(space));
  if (!caller_id.empty()) a.set("CallerID", "\"" + str(caller_id) + "\" <" + str(caller_id) + ">");
  a.set("Timeout", std::to_string(timeout.count()));
  a.set("Async", "true");
  return a;
}

}  // namespace callbridge::drivers::ami
