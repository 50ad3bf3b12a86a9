// The reference point of bench/ami_ingest: the simplest fast AMI splitter (memchr per line,
// zero-copy key/value views, whole stream in memory, no limits, no resumption). Benchmarks only;
// single-threaded.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace callbridge::bench {

// What every ingest case computes from the messages it sees, so the cases can be checked
// against each other (same messages, same fields, same order) and the work cannot be optimised away.
struct IngestDigest {
  std::uint64_t messages = 0;
  std::uint64_t fields = 0;
  std::uint64_t hash = 0;

  // A consumer dispatches on the event name and the channel id; touch exactly those.
  void field(std::string_view key, std::string_view value) {
    if (key.size() == 5 && key == "Event") {
      hash = hash * 31 + static_cast<unsigned char>(value.empty() ? 0 : value[0]) + value.size();
    } else if (key.size() == 8 && key == "Uniqueid") {
      hash ^= value.size() + (value.empty() ? 0 : static_cast<unsigned char>(value.back()));
    }
  }
  bool operator==(const IngestDigest&) const = default;
};

struct KeyValue {
  std::string_view key;
  std::string_view value;
};

// Splits `stream` (optionally starting with the AMI banner line, which is skipped) into messages.
// `fields` is scratch space reused across messages.
IngestDigest memchr_split(std::string_view stream, std::vector<KeyValue>& fields);

}  // namespace callbridge::bench
