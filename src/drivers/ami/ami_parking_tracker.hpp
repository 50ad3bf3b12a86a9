// AmiParkingTracker: fills a model::ParkingState (docs/parking.md) from what Asterisk's res_parking
// reports over AMI:
// - live ParkedCall (a call entered a space), UnParkedCall (retrieved: a phone dialed the space or
//   ran ParkedCall()), ParkedCallTimeOut (parking time over: res_parking rings the parker back),
//   ParkedCallGiveUp (the parked caller hung up), ParkedCallSwap (another channel took the parked
//   caller's place in the space, e.g. a masquerade);
// - at every login the resync's ParkedCalls list (ParkedCall items with ActionID
//   resync-ParkedCalls, then ParkedCallsComplete): spaces it no longer lists leave the state.
// And it builds the AMI actions of park (Park) and unpark (Originate into ParkedCall()).
// Model thread only.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "base/time.hpp"
#include "drivers/ami/ami_protocol.hpp"
#include "drivers/ami/ami_wire.hpp"
#include "model/parking_state.hpp"

namespace callbridge::drivers::ami {

class AmiParkingTracker {
 public:
  // `is_party(endpoint)`: whether an endpoint is an internal line (a parker, a retriever).
  AmiParkingTracker(std::string pbx, std::function<bool(std::string_view endpoint)> is_party);

  void on_session_start(base::Timestamp at);
  void on_message(const AmiMessage& m, base::Timestamp at);

  const model::ParkingState& state() const { return state_; }
  model::ParkingState& state() { return state_; }

 private:
  model::ParkedCall parked_from(const AmiMessage& m, base::Timestamp at, std::string_view prefix) const;
  std::string line_of(std::string_view channel_or_dial_string) const;

  model::ParkingState state_;
  std::function<bool(std::string_view)> is_party_;
  // Channels a Dial() created (DialBegin: DestUniqueid -> the number dialed, before '@'). Such a
  // channel's CallerID is its caller's (Asterisk copies it to the outgoing channel), so a parked
  // callee (the far end of an outgoing call) is shown by the number it was dialed with. Bounded;
  // a Hangup forgets it.
  std::map<std::string, std::string, std::less<>> dialed_;
  static constexpr std::size_t kMaxDialed = 4096;
  // The resync in progress (ParkedCalls with ActionID resync-ParkedCalls): the spaces it listed.
  std::set<model::ParkingState::Key> listed_;
  bool resyncing_ = false;
};

// Park (res_parking's AMI action): `channel` (the remote party) goes into `lot`; `timeout_channel`
// (the user's own channel, in a two-party bridge with it) hears the space announced, leaves the
// call, and is what a parking timeout rings back (ParkerDialString). Asterisk 22: "Response:
// Success, Message: Park successful" before the ParkedCall event that names the space.
AmiAction park_action(std::string_view channel, std::string_view timeout_channel, std::string_view lot);
// Unpark: Originate `channel` (PJSIP/102, or Local/<mobile>@<context> for AnyDevice) into the
// application ParkedCall(<lot>,<space>) (res_parking; no dialplan needed). CallerID shows the
// parked caller on the ringing phone. Async true.
AmiAction unpark_action(std::string_view channel, std::string_view lot, std::string_view space,
                        std::string_view caller_id, std::chrono::milliseconds timeout);

}  // namespace callbridge::drivers::ami
