#include "model/parking_state.hpp"

namespace callbridge::model {

std::string_view to_string(ParkingChange::Kind k) {
  switch (k) {
    case ParkingChange::Kind::parked: return "parked";
    case ParkingChange::Kind::changed: return "changed";
    case ParkingChange::Kind::left: return "left";
  }
  return "changed";
}

std::string_view to_string(ParkingChange::Reason r) {
  switch (r) {
    case ParkingChange::Reason::none: return "";
    case ParkingChange::Reason::retrieved: return "retrieved";
    case ParkingChange::Reason::timeout: return "timeout";
    case ParkingChange::Reason::gave_up: return "gave_up";
    case ParkingChange::Reason::gone: return "gone";
  }
  return "";
}

const ParkedCall* ParkingState::find(std::string_view lot, std::string_view space) const {
  auto it = calls_.find(Key(lot, space));
  return it == calls_.end() ? nullptr : &it->second;
}

const ParkedCall* ParkingState::find_by_uniqueid(std::string_view uniqueid) const {
  if (uniqueid.empty()) return nullptr;
  for (const auto& [k, c] : calls_)
    if (c.uniqueid == uniqueid) return &c;
  return nullptr;
}

bool ParkingState::park(ParkedCall c) {
  Key k(c.lot, c.space);
  auto it = calls_.find(k);
  if (it == calls_.end()) {
    if (calls_.size() >= kMaxParked) {
      ++dropped_;
      return false;
    }
    changes_.push_back({ParkingChange::Kind::parked, c.lot, c.space, ParkingChange::Reason::none, {}, c});
    calls_.emplace(std::move(k), std::move(c));
    return true;
  }
  if (it->second == c) return true;  // a resync's list repeats what is known
  // Another caller in the space (ParkedCallSwap) or the same one with fresher data.
  const bool same = it->second.uniqueid == c.uniqueid;
  changes_.push_back({same ? ParkingChange::Kind::changed : ParkingChange::Kind::parked, c.lot, c.space,
                      ParkingChange::Reason::none, {}, c});
  it->second = std::move(c);
  return true;
}

bool ParkingState::leave(std::string_view lot, std::string_view space, ParkingChange::Reason why, std::string by) {
  auto it = calls_.find(Key(lot, space));
  if (it == calls_.end()) return false;
  changes_.push_back({ParkingChange::Kind::left, it->second.lot, it->second.space, why, std::move(by),
                      std::move(it->second)});
  calls_.erase(it);
  return true;
}

std::vector<ParkingChange> ParkingState::take_changes() {
  std::vector<ParkingChange> out;
  out.swap(changes_);
  return out;
}

}  // namespace callbridge::model
