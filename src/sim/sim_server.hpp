// The simulator's AMI TCP server: accepts clients, runs one AmiServerSession per connection,
// drives the SimEngine's clock from the steady clock times `speed` (0 = as fast as possible) and
// fans every engine event out to the logged-in clients (bounded outboxes). Paced (speed > 0),
// the times it shows are the wall clock's (SimEngine::set_display_scale), never ahead of it. All Asio lives in
// sim_server.cpp. run() owns the calling thread as the engine thread; stop() and post() may be
// called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "sim/ami_server_session.hpp"
#include "sim/sim_engine.hpp"

namespace callbridge::sim {

struct SimServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5038;  // 0: any free port (listen() returns it)
  double speed = 1.0;         // simulated seconds per real second; 0 = no waiting at all
  AmiServerConfig ami{};
  std::size_t max_clients = 64;
};

class SimServer {
 public:
  // The engine must outlive the server; from run() on, only the server's thread touches it.
  SimServer(SimServerOptions options, SimEngine& engine);
  ~SimServer();
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  // Binds and listens. Errc::io with the reason (address in use, bad host).
  base::Result<std::uint16_t> listen();
  // Serves until stop(). Runs on the calling thread.
  void run();
  void stop();
  // Runs `fn` on the engine thread (thread-safe).
  void post(std::function<void(SimEngine&)> fn);
  // Called on the engine thread after the first successful login (e.g. play a scenario then).
  void on_first_login(std::function<void(SimEngine&)> fn);
  // Called on the engine thread whenever the engine has nothing scheduled.
  void on_idle(std::function<void(SimEngine&)> fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace callbridge::sim
