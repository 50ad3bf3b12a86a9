// An AMI message the simulator sends (event, response or list item): ordered "Key: Value" fields,
// exactly as Asterisk 22 writes them (manager.c: CRLF lines, blank line at the end).
// Value type; no I/O. Built by PbxModel / AmiServerSession on the engine thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace callbridge::sim {

using Fields = std::vector<std::pair<std::string, std::string>>;

class SimMessage {
 public:
  SimMessage() = default;
  explicit SimMessage(Fields fields) : fields_(std::move(fields)) {}

  SimMessage& add(std::string key, std::string value) {
    fields_.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  SimMessage& append(const Fields& more) {
    fields_.insert(fields_.end(), more.begin(), more.end());
    return *this;
  }
  // First value of `key` (exact case), empty when absent.
  std::string_view get(std::string_view key) const;
  bool has(std::string_view key) const;
  // "Newchannel" for events, "" for responses.
  std::string_view event() const { return get("Event"); }
  const Fields& fields() const { return fields_; }

  // "Key: Value\r\n" per field, then "\r\n".
  std::string to_wire() const;
  void append_wire(std::string& out) const;

 private:
  Fields fields_;
};

}  // namespace callbridge::sim
