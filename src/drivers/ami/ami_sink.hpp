// What an AMI session delivers to: the AMI -> call model translator (or a test/bench consumer).
// Called on the session's thread (the model thread), in stream order.
#pragma once

#include "base/error.hpp"
#include "base/time.hpp"
#include "drivers/ami/ami_wire.hpp"

namespace callbridge::drivers::ami {

class AmiSink {
 public:
  virtual ~AmiSink() = default;
  // A session logged in. The session sends the resync actions (CoreShowChannels, Status,
  // BridgeList, DeviceStateList, ExtensionStateList, QueueStatus, ...) right after this; their list
  // items arrive through on_message() like any event (with the resync ActionIDs).
  virtual void on_session_start(base::Timestamp at) = 0;
  // Every message after login: events, list items, responses. `received_at` is the local receive
  // time (or the recording's timestamp in replay); events carry their own `Timestamp:` when the PBX
  // has timestampevents=yes.
  virtual void on_message(const AmiMessage& m, base::Timestamp received_at) = 0;
  // The session ended (peer closed, error, timeout, shutdown).
  virtual void on_session_end(base::Timestamp at, const base::Error& why) = 0;
};

}  // namespace callbridge::drivers::ami
