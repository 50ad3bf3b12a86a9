// Test support: a real OpenLDAP slapd (Debian package) in a temp dir on a free loopback port,
// loaded with an LDIF via slapadd, schemas core/cosine/inetorgperson, back_mdb.
// Root DN "cn=admin,dc=example,dc=com" / password "secret"; everything readable anonymously.
#pragma once

#include <memory>
#include <string>

#include "directory/child_process.hpp"

namespace callbridge::testing {

class SlapdServer {
 public:
  static constexpr const char* kSuffix = "dc=example,dc=com";
  static constexpr const char* kRootDn = "cn=admin,dc=example,dc=com";
  static constexpr const char* kRootPw = "secret";

  // `ldif` is added below the suffix entry (which the server creates).
  static base::Result<std::unique_ptr<SlapdServer>> start(const std::string& ldif);
  ~SlapdServer() { stop(); }

  std::string uri() const { return "ldap://127.0.0.1:" + std::to_string(port_) + "/"; }
  int port() const { return port_; }
  void stop() {
    if (proc_) proc_->stop();
    proc_.reset();
  }
  // Starts slapd again on the same port and data (after stop()).
  base::Status restart();

 private:
  base::Status launch();

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> proc_;
};

}  // namespace callbridge::testing
