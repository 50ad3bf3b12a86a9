// libFuzzer target: a whole AMI session from raw bytes, as `callbridge replay` and the live link
// read it: capture or --record format detection, record parsing, the AMI client protocol
// (banner, login, list actions), framing, and the call tracker building journal entries.
// Input: byte 0 = replay chunking and limits, rest = the file's contents.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "drivers/ami/ami_call_tracker.hpp"
#include "drivers/ami/ami_replay.hpp"
#include "fuzz_check.hpp"

namespace ami = callbridge::drivers::ami;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  std::string_view contents(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::size_t entries = 0;
  ami::TrackerOutputs outputs;
  outputs.on_journal = [&](callbridge::model::JournalEntry e) {
    ++entries;
    callbridge::fuzz::check_entry(e);  // times come from the input: unordered
  };
  ami::AmiCallTracker tracker(ami::TrackerOptions{.tenant = "fuzz"}, std::move(outputs));

  ami::AmiReplayOptions options;
  options.chunking = static_cast<ami::ReplayChunking>(flags % 3);
  options.chunk_bytes = 1 + (flags >> 2);
  options.seed = flags;
  options.drop_cdr_cel = flags & 0x80;
  options.limits.max_message_bytes = 16 * 1024;
  options.record_limits.max_chunk_bytes = 64 * 1024;
  ami::AmiReplay replay(tracker, options);
  (void)replay.run_contents(contents, "fuzz");
  tracker.flush(tracker.last_event_time());
  return 0;
}
