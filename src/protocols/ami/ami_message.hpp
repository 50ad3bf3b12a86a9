// One AMI message ("Key: Value" lines ended by a blank line) as views into the FrameReader's buffer.
// Views stay valid until the next FrameReader::feed()/next(); copy what you keep.
// Not thread-safe; owned by one AMI session: the driver's (drivers/ami) or the simulator's (sim/).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace callbridge::protocols::ami {

struct AmiHeader {
  std::string_view key;
  std::string_view value;
};

class AmiMessage {
 public:
  // Value of the first header named `key` (ASCII case-insensitive, as Asterisk matches keys);
  // empty when absent.
  std::string_view get(std::string_view key) const;
  bool has(std::string_view key) const;
  // Every value of a repeated header such as `Variable`.
  std::vector<std::string_view> get_all(std::string_view key) const;

  // The kind of message: exactly one of these is non-empty for a well-formed AMI message.
  std::string_view event() const { return get("Event"); }
  std::string_view response() const { return get("Response"); }
  std::string_view action_id() const { return get("ActionID"); }

  const std::vector<AmiHeader>& headers() const { return headers_; }
  std::string_view raw() const { return raw_; }
  bool empty() const { return headers_.empty(); }

  // Used by FrameReader and by tests that build messages by hand.
  void clear() {
    headers_.clear();
    raw_ = {};
  }
  void add(std::string_view key, std::string_view value) { headers_.push_back({key, value}); }
  void set_raw(std::string_view raw) { raw_ = raw; }

 private:
  std::vector<AmiHeader> headers_;
  std::string_view raw_;
};

// An owning copy, for tests and for messages that must outlive the reader's buffer.
class OwnedAmiMessage {
 public:
  OwnedAmiMessage() = default;
  explicit OwnedAmiMessage(const AmiMessage& m);
  OwnedAmiMessage(const OwnedAmiMessage&);
  OwnedAmiMessage& operator=(const OwnedAmiMessage&);
  const AmiMessage& view() const { return view_; }

 private:
  void rebuild(const std::vector<std::pair<std::string, std::string>>& h);
  std::vector<std::pair<std::string, std::string>> storage_;
  AmiMessage view_;
};

// Serializes an action: "Action: X\r\nKey: Value\r\n...\r\n\r\n". Values with CR/LF are rejected
// by the caller (see AmiAction in ami_session.hpp); this function only formats.
std::string format_message(const std::vector<std::pair<std::string, std::string>>& headers);

}  // namespace callbridge::protocols::ami
