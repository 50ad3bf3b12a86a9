// The cluster end-to-end test's PostgreSQL: initdb + pg_ctl (Debian's PostgreSQL 15) in a temporary
// directory on a free loopback port, as the postgres user when run as root; stopped (immediate)
// when the handle goes. Not tests/directory/pg_server.hpp: that one brings a second
// callbridge::testing::ChildProcess, which must not meet support/child_process.hpp's in one binary.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace cluster_e2e {
namespace {

constexpr const char* kBin = "/usr/lib/postgresql/15/bin/";

std::vector<std::string> as_postgres(std::vector<std::string> argv) {
  if (geteuid() != 0) return argv;
  argv.insert(argv.begin(), {"-u", "postgres", "--"});
  return argv;
}
std::string runner(const std::string& bin) { return geteuid() == 0 ? "/usr/sbin/runuser" : bin; }

// Runs a command to its end; its output on failure, "" on success.
std::string run(const std::string& bin, std::vector<std::string> args) {
  auto full = as_postgres(args);
  if (geteuid() == 0) full.insert(full.begin() + 3, bin);  // runuser -u postgres -- BIN args
  callbridge::testing::ChildProcess p(runner(bin), full);
  int rc = p.wait_exit(std::chrono::seconds(90));
  return rc == 0 ? std::string() : bin + " exited " + std::to_string(rc) + ": " + p.output();
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct Pg {
  callbridge::testing::TempDir dir{"cb-cluster-pg"};
  bool running = false;
  ~Pg() {
    if (running) run(std::string(kBin) + "pg_ctl", {"-D", dir.path() + "/data", "-m", "immediate", "-w", "stop"});
  }
};

}  // namespace

std::shared_ptr<void> start_postgres(std::string& conninfo, std::string& error) {
  auto pg = std::make_shared<Pg>();
  const std::string d = pg->dir.path();
  if (geteuid() == 0) {
    callbridge::testing::ChildProcess p("/usr/bin/chown", {"postgres:postgres", d});
    if (p.wait_exit() != 0) {
      error = "chown: " + p.output();
      return nullptr;
    }
  }
  error = run(std::string(kBin) + "initdb", {"-D", d + "/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"});
  if (!error.empty()) return nullptr;
  for (int attempt = 0; attempt < 5; ++attempt) {
    int port = free_port();
    error = run(std::string(kBin) + "pg_ctl",
                {"-D", d + "/data", "-l", d + "/log", "-w", "-t", "60", "-o",
                 "-c listen_addresses=127.0.0.1 -p " + std::to_string(port) + " -k " + d + " -c fsync=off", "start"});
    if (error.empty()) {
      pg->running = true;
      conninfo = "host=127.0.0.1 port=" + std::to_string(port) + " user=postgres dbname=postgres connect_timeout=5";
      return pg;
    }
  }
  return nullptr;
}

}  // namespace cluster_e2e
