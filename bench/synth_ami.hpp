// Synthetic AMI stream for benchmarks: whole call flows taken from the real Asterisk 22 captures
// (tests/fixtures/asterisk-22/<scenario>/ami.log), re-numbered per call instance and interleaved.
// Used by bench/ami_ingest (and anyone needing a large realistic stream). Single-threaded, pure.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace callbridge::bench {

struct SynthAmiOptions {
  // Directory holding <scenario>/ami.log (CALLBRIDGE_FIXTURES_DIR in the build).
  std::string fixtures_dir;
  // Stop starting new calls once this many events were written; calls in flight still finish,
  // so the stream holds slightly more (and every call in it is complete).
  std::uint64_t target_events = 1'000'000;
  // Calls in progress at any moment (each "slot" runs calls back to back).
  unsigned concurrent_calls = 200;
  std::uint64_t seed = 1;
  // Write the "Asterisk Call Manager/11.0.0" banner and a login response first.
  bool with_banner = true;
};

struct SynthAmiStream {
  std::string bytes;
  std::uint64_t events = 0;    // AMI messages (all are events, plus the login response)
  std::uint64_t calls = 0;     // call-flow instances written
  std::map<std::string, std::uint64_t> calls_by_scenario;
  std::map<std::string, std::uint64_t> events_by_name;  // Event: value -> count
};

// The call flows used, with their relative weight in the mix.
struct SynthScenario {
  const char* name;
  unsigned weight;
};
const std::vector<SynthScenario>& synth_scenarios();

// Reads the fixtures and builds the stream. Deterministic for equal options.
// Errors: a fixture missing or unreadable (Errc::io), or a capture that does not parse.
base::Result<SynthAmiStream> generate_synth_ami(const SynthAmiOptions& options);

}  // namespace callbridge::bench
