#include "directory/slapd_server.hpp"

#include <filesystem>
#include <fstream>

namespace callbridge::testing {

using base::Error;
using base::fail;

base::Result<std::unique_ptr<SlapdServer>> SlapdServer::start(const std::string& ldif) {
  std::unique_ptr<SlapdServer> s(new SlapdServer());
  const std::string d = s->dir_.path();
  if (d.empty()) return fail(Error::io("mkdtemp failed"));
  std::filesystem::create_directories(d + "/db");
  {
    std::ofstream conf(d + "/slapd.conf");
    conf << "include /etc/ldap/schema/core.schema\n"
            "include /etc/ldap/schema/cosine.schema\n"
            "include /etc/ldap/schema/inetorgperson.schema\n"
            "modulepath /usr/lib/ldap\n"
            "moduleload back_mdb\n"
            "pidfile " << d << "/slapd.pid\n"
            "database mdb\n"
            "maxsize 10485760\n"
            "suffix \"" << kSuffix << "\"\n"
            "rootdn \"" << kRootDn << "\"\n"
            "rootpw " << kRootPw << "\n"
            "directory " << d << "/db\n"
            "index objectClass eq\n"
            "access to * by * read\n";
    std::ofstream data(d + "/data.ldif");
    data << "dn: " << kSuffix << "\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n"
         << ldif;
  }
  if (auto st = run_command({"slapadd", "-q", "-f", d + "/slapd.conf", "-l", d + "/data.ldif"},
                            std::chrono::seconds(20));
      !st)
    return fail(st.error());
  // The port may be taken between free_tcp_port() and slapd's bind: try a few.
  base::Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port_ = free_tcp_port();
    last = s->launch();
    if (last) return s;
  }
  return fail(last.error());
}

base::Status SlapdServer::launch() {
  const std::string d = dir_.path();
  // -d 2048 keeps slapd in the foreground and prints "slapd starting" once its listener is bound.
  auto p = ChildProcess::spawn({"slapd", "-f", d + "/slapd.conf", "-h", uri(), "-d", "2048"});
  if (!p) return fail(p.error());
  auto ready = (*p)->wait_for_line(
      [](const std::string& l) { return l.find("slapd starting") != std::string::npos; },
      std::chrono::seconds(20));
  if (!ready) return fail(ready.error());
  (*p)->drain_in_background();
  proc_ = std::move(*p);
  return wait_for_tcp(port_, std::chrono::seconds(10));
}

base::Status SlapdServer::restart() {
  stop();
  return launch();
}

}  // namespace callbridge::testing
