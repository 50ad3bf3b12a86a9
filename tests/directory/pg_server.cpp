#include "directory/pg_server.hpp"

#include <unistd.h>

namespace callbridge::testing {

namespace {
constexpr const char* kBin = "/usr/lib/postgresql/15/bin/";
}

std::vector<std::string> PgServer::as_postgres(std::vector<std::string> argv) const {
  if (geteuid() != 0) return argv;
  argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  return argv;
}

base::Result<std::unique_ptr<PgServer>> PgServer::start(Options options) {
  std::unique_ptr<PgServer> s(new PgServer());
  const std::string d = s->dir_.path();
  if (geteuid() == 0) {
    if (auto st = run_command({"chown", "postgres:postgres", d}, std::chrono::seconds(10)); !st) return base::fail(st.error());
  }
  if (auto st = run_command(s->as_postgres({std::string(kBin) + "initdb", "-D", d + "/data", "-U", "postgres", "-A",
                                            "trust", "-E", "UTF8", "--no-sync"}),
                            std::chrono::seconds(60));
      !st)
    return base::fail(st.error());
  base::Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port_ = free_tcp_port();
    last = run_command(s->as_postgres({std::string(kBin) + "pg_ctl", "-D", d + "/data", "-l", d + "/log", "-w",
                                       "-t", "60", "-o",
                                       "-c listen_addresses=127.0.0.1 -p " + std::to_string(s->port_) + " -k " + d +
                                           (options.fsync ? " -c fsync=on" : " -c fsync=off"),
                                       "start"}),
                       std::chrono::seconds(90));
    if (last) {
      s->running_ = true;
      return s;
    }
  }
  return base::fail(last.error());
}

PgServer::~PgServer() {
  if (running_)
    (void)run_command(as_postgres({std::string(kBin) + "pg_ctl", "-D", dir_.path() + "/data", "-m", "immediate", "-w",
                                   "stop"}),
                      std::chrono::seconds(60));
}

std::string PgServer::conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres connect_timeout=5";
}

}  // namespace callbridge::testing
