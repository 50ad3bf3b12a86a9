// The AMI wire types the driver speaks, from the I/O-free codec in protocols/ami (shared with the
// simulator), named in the driver's namespace so driver code says AmiMessage, FrameReader.
// Included by the driver's headers; no state, any thread.
#pragma once

#include "protocols/ami/ami_message.hpp"
#include "protocols/ami/frame_reader.hpp"

namespace callbridge::drivers::ami {

using protocols::ami::AmiHeader;
using protocols::ami::AmiMessage;
using protocols::ami::format_message;
using protocols::ami::FrameLimits;
using protocols::ami::FrameReader;
using protocols::ami::OwnedAmiMessage;

}  // namespace callbridge::drivers::ami
