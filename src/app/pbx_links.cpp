#include "app/pbx_links.hpp"

namespace callbridge::app {

base::Result<std::unique_ptr<PbxLink>> make_pbx_link(const PbxConfig& pbx, App& app) {
  // Asterisk AMI is the only driver. Its network session (drivers/ami AmiLink) and the
  // AmiCallTracker are being built separately; wiring them here is one adapter:
  //   tracker = AmiCallTracker({.tenant = pbx.tenant, ...}, {.on_journal = app.journal_sink()});
  //   link    = AmiLink(app.io(), {host, port, user, secret, auth, timeouts, record_dir}, tracker);
  //   return an adapter implementing PbxLink (start/stop/status) that owns both.
  // Until then a configured PBX is a start-up error rather than a link that silently does nothing.
  return base::fail(base::Error::unavailable(
      "pbx " + pbx.name + ": this build of callbridged cannot connect to Asterisk AMI yet "
      "(the AMI link is not wired into src/app/pbx_links.cpp); start without --ami/[[pbx]]"));
}

}  // namespace callbridge::app
