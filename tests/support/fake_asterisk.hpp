// A scripted Asterisk Manager Interface server on 127.0.0.1 (port 0 = chosen by the OS) for
// integration tests of the AMI link: banner, Login (plain Secret, and MD5 via Challenge/Key),
// Ping, list actions with interleaved events, the resync actions, raw byte injection (garbage,
// oversize lines) and abrupt close. Runs on the test's io_context thread; not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace callbridge::testing {

struct FakeAsteriskOptions {
  std::string username = "cti";
  std::string secret = "cti-secret";
  std::string banner = "Asterisk Call Manager/11.0.0";  // sent as the first line
  std::string challenge = "840415273";
  bool answer_ping = true;
  int list_items = 3;  // CoreShowChannel items, each followed by an unrelated Newstate event
  std::string after_login;  // raw bytes sent right after a successful login (e.g. garbage)
  bool accept_originate = false;  // Originate: "Originate successfully queued" (else unknown command)
};

struct FakeAction {
  int connection = 0;  // 1-based accept order
  std::vector<std::pair<std::string, std::string>> headers;
  std::string get(std::string_view key) const;
  std::string name() const { return get("Action"); }
  std::string action_id() const { return get("ActionID"); }
};

class FakeAsterisk {
 public:
  explicit FakeAsterisk(boost::asio::io_context& io, FakeAsteriskOptions options = {});
  ~FakeAsterisk();

  std::uint16_t port() const;
  // Behaviour for what happens next (new connections, later actions).
  FakeAsteriskOptions& options();

  // Raw bytes to every open connection (events, garbage, a 10 MB line...).
  void send_all(std::string bytes);
  // Closes every open connection abruptly (TCP close, no Goodbye), like a crashed Asterisk.
  void close_all();
  // Stops accepting; open connections stay.
  void stop_listening();

  int accepted() const;
  int open_connections() const;
  int logins_ok() const;
  int logins_failed() const;
  const std::vector<FakeAction>& actions() const;

 struct Impl;  // public only so the .cpp's connection type can name it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace callbridge::testing
