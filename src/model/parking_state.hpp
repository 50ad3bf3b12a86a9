// The parked calls of one PBX connection (docs/parking.md): per parking lot and space the parked
// caller (channel, number, name, call id), who parked it, since when and when it times out. Filled
// by a driver (drivers/ami AmiParkingTracker from res_parking's ParkedCall / UnParkedCall /
// ParkedCallTimeOut / ParkedCallGiveUp / ParkedCallSwap events and the ParkedCalls list at each
// login); no I/O. Bounded (kMaxParked). One thread (the driver's model thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/time.hpp"

namespace callbridge::model {

struct ParkedCall {
  std::string lot;       // "default" (Parkinglot)
  std::string space;     // "701" (ParkingSpace): what a phone dials to retrieve it
  std::string channel;   // ParkeeChannel "PJSIP/trunk-0000001f"
  std::string uniqueid;  // ParkeeUniqueid
  std::string linkedid;  // ParkeeLinkedid: the call's id in the call model (its conversation)
  std::string number;    // ParkeeCallerIDNum ("" when unknown or withheld)
  std::string name;      // ParkeeCallerIDName ("" when unknown)
  std::string parker;    // the line that parked it ("101", from ParkerDialString PJSIP/101); "" unknown
  std::string parker_dial_string;  // "PJSIP/101": where a timeout rings back
  base::Timestamp since{};
  std::optional<base::Timestamp> times_out_at;  // none: the lot has no parking time

  bool operator==(const ParkedCall&) const = default;
};

// One change of the state, in PBX order, for consumers (events).
struct ParkingChange {
  enum class Kind : std::uint8_t { parked, changed, left };
  // Why a call left its space: retrieved (UnParkedCall), timeout (ParkedCallTimeOut: it rings the
  // parker again), gave_up (ParkedCallGiveUp: the caller hung up), gone (a resync no longer lists it).
  enum class Reason : std::uint8_t { none, retrieved, timeout, gave_up, gone };
  Kind kind = Kind::parked;
  std::string lot, space;
  Reason reason = Reason::none;
  std::string by;  // retrieved: the retriever's line ("102"), "" unknown
  ParkedCall call;  // the call as it is now (parked/changed) or was (left)
};
std::string_view to_string(ParkingChange::Kind k);
std::string_view to_string(ParkingChange::Reason r);

class ParkingState {
 public:
  // A lab lot has 20 spaces, big ones a few hundred; more than this is a broken feed.
  static constexpr std::size_t kMaxParked = 1024;
  using Key = std::pair<std::string, std::string>;  // lot, space

  explicit ParkingState(std::string pbx) : pbx_(std::move(pbx)) {}
  const std::string& pbx() const { return pbx_; }

  const ParkedCall* find(std::string_view lot, std::string_view space) const;
  const ParkedCall* find_by_uniqueid(std::string_view uniqueid) const;
  const std::map<Key, ParkedCall>& calls() const { return calls_; }
  std::size_t size() const { return calls_.size(); }

  // Parks `c` at its lot/space (replacing what was there: parked again, or a swap). false when
  // the state is full (kMaxParked) and the space was empty: nothing stored, counted in dropped().
  bool park(ParkedCall c);
  // The call at lot/space left it; false when there was none.
  bool leave(std::string_view lot, std::string_view space, ParkingChange::Reason why, std::string by = {});
  std::uint64_t dropped() const { return dropped_; }

  std::vector<ParkingChange> take_changes();
  bool has_changes() const { return !changes_.empty(); }

 private:
  std::string pbx_;
  std::map<Key, ParkedCall> calls_;
  std::vector<ParkingChange> changes_;
  std::uint64_t dropped_ = 0;
};

}  // namespace callbridge::model
