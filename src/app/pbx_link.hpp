// PbxLink: what callbridged needs from one running PBX connection (for Asterisk: an AMI session plus
// the AmiCallTracker fed by it) to start it, stop it and report on it. Adapters in app/ wrap a
// concrete driver (see pbx_links.cpp, the explicit driver table). Every method is called on the
// App's io thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "model/call_model.hpp"
#include "ports/pbx_commands.hpp"

namespace callbridge::app {

struct PbxLinkStatus {
  std::string state = "stopped";  // driver words: "connecting", "logged_in", "backoff", ...
  bool connected = false;         // logged in and receiving events (readiness)
  std::string peer;               // "pbx.example.com:5038"
  std::string last_error;         // "" when none
  std::vector<std::pair<std::string, std::uint64_t>> counters;  // messages, reconnects, ...
};

class PbxLink {
 public:
  virtual ~PbxLink() = default;
  virtual const std::string& name() const = 0;
  // Connects (and keeps reconnecting) in the background on the io thread.
  virtual void start() = 0;
  // Begins a graceful stop (Logoff, close). Calls `done` on the io thread once nothing of the link
  // is pending any more; the App forces shutdown after a grace period if `done` never comes.
  virtual void stop(std::function<void()> done) = 0;
  virtual PbxLinkStatus status() const = 0;
  // Call control through this link (app/command_wiring): the tenant it serves, its commands and
  // the call model they act on. Null when the driver cannot control calls.
  virtual const base::TenantId& tenant() const = 0;
  virtual ports::PbxCommands* commands() { return nullptr; }
  virtual const model::CallModel* call_model() const { return nullptr; }
};

}  // namespace callbridge::app
