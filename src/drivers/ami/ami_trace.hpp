// The PBX side of the admins' explain trace (ports::CallTrace, docs/troubleshooting.md): each AMI
// event that carries a Linkedid (the conversation, which the call model's ids are made of) is
// noted under it with a few whitelisted fields: channel, states, caller and connected numbers,
// dialplan position, dial status, causes, bridge and queue. Other fields are never shown (on the
// ingest path the event's bytes are kept in the trace's memory as they came, and the whitelist
// applies when the trace is read), and events that can carry secrets or noise (VarSet, Newexten,
// DTMF*, RTCP*, UserEvent) are skipped; responses (including those to Login) are never traced. Io (model) thread; format_ami_trace_step
// on any.
#pragma once

#include "base/time.hpp"
#include "drivers/ami/ami_wire.hpp"
#include "ports/call_trace.hpp"

namespace callbridge::drivers::ami {

// Notes `m` in `trace` when it is a call's event (see above), formatted now; returns whether it did.
bool trace_ami_event(ports::CallTrace& trace, const AmiMessage& m, base::Timestamp at);

// The same, but `m`'s bytes are handed over raw (CallTrace::add_raw) and formatted by
// format_ami_trace_step only when the trace is read: the ingest path pays a scan for the Linkedid
// and a copy. A message without its bytes (m.raw() empty: built by hand) is formatted now.
bool note_ami_event(ports::CallTrace& trace, const AmiMessage& m, base::Timestamp at);

// One AMI message's bytes (as FrameReader gives them in AmiMessage::raw()) as a trace step: the
// same what/detail trace_ami_event would note; false when it is not a call's event.
bool format_ami_trace_step(std::string_view raw, std::string& what, std::string& detail);

}  // namespace callbridge::drivers::ami
