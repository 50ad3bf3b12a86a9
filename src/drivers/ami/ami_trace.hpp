// The PBX side of the admins' explain trace (ports::CallTrace, docs/troubleshooting.md): each AMI
// event that carries a Linkedid (the conversation, which the call model's ids are made of) is
// noted under it with a few whitelisted fields: channel, states, caller and connected numbers,
// dialplan position, dial status, causes, bridge and queue. Other fields are never copied, and
// events that can carry secrets or noise (VarSet, Newexten, DTMF*, RTCP*, UserEvent) are skipped;
// responses (including those to Login) are never traced. Io (model) thread.
#pragma once

#include "base/time.hpp"
#include "drivers/ami/ami_wire.hpp"
#include "ports/call_trace.hpp"

namespace callbridge::drivers::ami {

// Notes `m` in `trace` when it is a call's event (see above); returns whether it did.
bool trace_ami_event(ports::CallTrace& trace, const AmiMessage& m, base::Timestamp at);

}  // namespace callbridge::drivers::ami
