// A real `nats-server -js` for one test: a free port (the server picks it, -p -1), its JetStream
// store in a temporary directory, killed by its PID when destroyed (ChildProcess). Waits for the
// server's "Listening for client connections" line with a deadline, no sleeps. Test helper;
// header-only.
#pragma once

#include <signal.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

// The binary: CMake's find_program result when the test defines it (Debian installs it in /usr/sbin).
#ifndef CALLBRIDGE_NATS_SERVER
#define CALLBRIDGE_NATS_SERVER "/usr/sbin/nats-server"
#endif

namespace callbridge::testing {

class NatsServer {
 public:
  NatsServer() : dir_("cb-nats") {
    proc_ = std::make_unique<ChildProcess>(
        CALLBRIDGE_NATS_SERVER, std::vector<std::string>{"-a", "127.0.0.1", "-p", "-1", "-js", "-sd", dir_.path()});
    auto m = proc_->wait_for(std::regex(R"(Listening for client connections on [0-9.]+:(\d+))"),
                             std::chrono::seconds(15));
    if (!m.empty()) port_ = std::stoi(m[1].str());
  }
  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  const std::string& log() const { return proc_->output(); }
  ChildProcess& process() { return *proc_; }

 private:
  TempDir dir_;
  std::unique_ptr<ChildProcess> proc_;
  int port_ = 0;
};

}  // namespace callbridge::testing
