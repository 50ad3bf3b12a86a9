// Cheap classification of AMI event names and one-pass extraction of the headers the call tracker
// reads (instead of one linear AmiMessage::get() scan per header). Views point into the message.
// Used by AmiCallTracker on the model thread; pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "drivers/ami/ami_wire.hpp"

namespace callbridge::drivers::ami {

enum class AmiEvent : std::uint8_t {
  ignored,  // known noise (VarSet, Newexten, CEL, Cdr, RTCP*, DTMF*, security events, ...)
  other,    // not interesting to the call tracker
  newchannel,
  newstate,
  new_callerid,
  new_connected_line,
  rename,
  hangup,
  dial_begin,
  dial_end,
  bridge_create,
  bridge_enter,
  bridge_leave,
  bridge_destroy,
  bridge_merge,
  local_bridge,
  hold,
  unhold,
  blind_transfer,
  attended_transfer,
  parked_call,
  pickup,
  confbridge_start,
  confbridge_join,
  queue_caller_join,
  originate_response,
  device_state_change,
  extension_status,
  presence_state_change,
  core_show_channel,
  core_show_channels_complete,
  status,
  status_complete,
  bridge_list_item,
  // Not an AMI event name: a Newexten into callbridge.conf's [callbridge-hold] at the held
  // device's extension (AmiCallTracker::message tells it from other Newexten).
  pbx_hold,
};

AmiEvent classify_event(std::string_view name);

// Headers the tracker understands. Matching is ASCII case-insensitive (Asterisk spells
// "DestUniqueId" and "DestUniqueid" in different events).
enum class AmiField : std::uint8_t {
  event,
  timestamp,
  action_id,
  channel,
  uniqueid,
  linkedid,
  channel_state,
  caller_id_num,
  caller_id_name,
  connected_line_num,
  connected_line_name,
  exten,
  context,
  dest_channel,
  dest_uniqueid,
  dest_linkedid,
  dest_channel_state,
  dest_caller_id_num,
  dest_caller_id_name,
  dest_connected_line_num,
  dest_connected_line_name,
  dest_exten,
  dial_string,
  dial_status,
  bridge_uniqueid,
  bridge_type,
  bridge_technology,
  to_bridge_uniqueid,
  from_bridge_uniqueid,
  local_one_uniqueid,
  local_two_uniqueid,
  cause,
  result,
  transferer_uniqueid,
  transferee_uniqueid,
  extension,
  orig_transferer_uniqueid,
  second_transferer_uniqueid,
  transfer_target_uniqueid,
  dest_type,
  parkee_uniqueid,
  parking_space,
  parker_dial_string,
  conference,
  response,
  device,
  state,
  status,
  status_text,
  presentity,
  duration,
  seconds,
  bridge_id,
  newname,
  application,
  count_,
};

class AmiFields {
 public:
  explicit AmiFields(const AmiMessage& m);
  std::string_view operator[](AmiField f) const { return v_[static_cast<std::size_t>(f)]; }

 private:
  std::array<std::string_view, static_cast<std::size_t>(AmiField::count_)> v_{};
};

}  // namespace callbridge::drivers::ami
