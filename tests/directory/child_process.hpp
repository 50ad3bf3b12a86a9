// Test support: runs a real server (slapd, python3 http.server) as a child process with its
// stdout+stderr on a pipe, waits for a readiness line, and stops it by PID. Test thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "support/temp_dir.hpp"  // TempDir

namespace callbridge::testing {

class ChildProcess {
 public:
  // Starts argv[0] (PATH is searched). Output is read by wait_for_line() and then drained.
  static base::Result<std::unique_ptr<ChildProcess>> spawn(const std::vector<std::string>& argv);
  ~ChildProcess();  // stop()

  // Reads output lines until `match` returns true for one (returns it), the child closes its
  // output (Errc::unavailable, with everything it printed), or `timeout` passes.
  base::Result<std::string> wait_for_line(const std::function<bool(const std::string&)>& match,
                                          std::chrono::milliseconds timeout);
  // After readiness: keep reading output in the background so the child never blocks on it.
  void drain_in_background();
  // Waits for the child to exit by itself (after its output closed); stop() after `timeout`.
  int wait_exit(std::chrono::milliseconds timeout);
  // SIGTERM, wait (SIGKILL after 5 s); returns the exit status. Idempotent.
  int stop();
  pid_t pid() const { return pid_; }
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string output_;
  std::string pending_;
  std::thread drain_;
  int status_ = -1;
};

// Runs a command to completion; its exit code, or an error with its output.
base::Status run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// Waits until 127.0.0.1:port accepts a TCP connection (servers that log "ready" before listen()).
base::Status wait_for_tcp(int port, std::chrono::milliseconds timeout);

// A TCP port that was free a moment ago on 127.0.0.1 (bind to 0, read, close).
int free_tcp_port();


}  // namespace callbridge::testing
