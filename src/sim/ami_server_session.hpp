// One AMI client connection of the simulator, without I/O: the banner, Challenge/Login (plain
// Secret or MD5 Key = md5(challenge + secret), as manager.c checks it), then actions answered as
// Asterisk 22 answers them, and the event stream once logged in with events on. Bytes in via
// on_bytes(), bytes out via take_output(). SimServer owns one per TCP connection; tests drive it
// directly. Not thread-safe: the server's io thread (the engine's thread) calls everything.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "protocols/ami/frame_reader.hpp"
#include "sim/sim_engine.hpp"
#include "sim/sim_message.hpp"

namespace callbridge::sim {

// The AMI wire format (framing, messages) the simulator serves, shared with the AMI driver.
namespace ami = protocols::ami;

struct AmiServerConfig {
  std::string username = "cti";
  std::string secret = "cti-secret";
  std::string banner = "Asterisk Call Manager/11.0.0";
  std::size_t max_output_bytes = 16 * 1024 * 1024;  // a client this far behind is dropped
};

class AmiServerSession {
 public:
  AmiServerSession(SimEngine& engine, const AmiServerConfig& config, std::string local_addr,
                   std::string remote_addr, std::uint64_t seed);

  // Everything received from the client. Errc::protocol: oversized/garbled input (drop the client).
  base::Status on_bytes(std::string_view bytes);
  // An engine event; written if logged in with events enabled.
  void on_event(const SimMessage& event);
  std::string take_output();
  bool has_output() const { return !output_.empty(); }
  // Logoff, failed login or a full outbox: write what is queued, then close.
  bool closing() const { return closing_; }
  std::string_view close_reason() const { return close_reason_; }
  bool logged_in() const { return logged_in_; }

 private:
  void handle(const ami::AmiMessage& m);
  void respond(const ami::AmiMessage& req, std::string_view response, Fields extra);
  void error(const ami::AmiMessage& req, std::string message) { respond(req, "Error", {{"Message", std::move(message)}}); }
  void write(const SimMessage& m);
  void login(const ami::AmiMessage& m);
  void list(const ami::AmiMessage& req, std::string_view start_message, std::string_view complete_event,
            const std::vector<SimMessage>& items, bool status_items = false);
  void action_originate(const ami::AmiMessage& m);
  void action_show_endpoint(const ami::AmiMessage& m);
  void action_show_dialplan(const ami::AmiMessage& m);
  void action_astdb(const ami::AmiMessage& m);
  void action_status(const ami::AmiMessage& m);
  void action_queue_status(const ami::AmiMessage& m);

  SimEngine& engine_;
  const AmiServerConfig& config_;
  std::string local_addr_, remote_addr_;
  std::uint64_t rng_;
  ami::FrameReader reader_;
  std::string output_;
  std::string challenge_;
  bool logged_in_ = false;
  bool events_ = true;
  bool closing_ = false;
  std::string close_reason_;
};

// Lowercase hex MD5 of `text` (the MD5 login key).
std::string md5_hex(std::string_view text);

}  // namespace callbridge::sim
