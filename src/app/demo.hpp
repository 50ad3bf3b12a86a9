// Demo mode (`callbridged --demo`, config `[demo] enabled = true`): an in-process PBX simulator
// (sim/ SimServer on 127.0.0.1, any free port, its own thread) with a pleasant traffic
// profile, an AMI link to it, seeded demo contacts, the demo users (team "Sales", Anna Berger on
// extension 100 first) and sign-in tokens for Anna and the admin, so that the first command of
// the README ends with a call ringing in Anna's browser within seconds. Called by main before and
// after App::create; DemoPbx's simulator runs on its own thread, everything else on the caller's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "base/error.hpp"
#include "sim/traffic.hpp"
#include "ports/contact_source.hpp"

namespace callbridge::app {

inline constexpr const char* kDemoPbxName = "demo";
inline constexpr const char* kDemoAdminUser = "demo-admin";
inline constexpr const char* kDemoTeam = "Sales";

// The people of the demo: one user per simulated phone, all in team kDemoTeam. The first (Anna,
// 100) is the one whose sign-in link is printed and whose phone rings first. The phone of the
// last (Frank, 105) is an old model without remote control: the demo shows why Answer and Hold
// are missing there (its [[tenant.X.phones]] entry has no events, its simulated phone ignores
// NOTIFYs).
struct DemoPerson {
  const char* user;          // login name
  const char* display_name;  // also the phone's caller id name
  const char* extension;
  bool remote_control;
};
inline constexpr DemoPerson kDemoPeople[] = {
    {"anna", "Anna Berger", "100", true},   {"ben", "Ben Fischer", "101", true},
    {"clara", "Clara Wagner", "102", true}, {"david", "David Meyer", "103", true},
    {"eva", "Eva Keller", "104", true},     {"frank", "Frank Lehmann", "105", false},
};
inline constexpr const DemoPerson& kDemoFocus = kDemoPeople[0];
// Anna's external device "mobile" (AnyDevice): a number behind the simulator's trunk.
inline constexpr const char* kDemoMobile = "+491701234567";

// The simulated lab with the demo people's names and phones.
sim::LabConfig demo_lab();

// The demo's traffic: `calls_per_minute` new calls (Poisson) on the colleagues' phones, answered
// / missed / busy, hold, blind and attended transfers, queue calls; outside callers drawn from a
// small pool that demo_contacts() covers. Anna's phone (kDemoFocus) gets its own calls: the first
// 4 s after callbridged logged in, then every 20-40 s, ringing 8-15 s (simulated seconds), and
// one 2 s after viewer_arrived() when her phone is idle.
sim::TrafficProfile demo_traffic_profile(double calls_per_minute, std::uint64_t seed);

// The simulator behind the demo link. start() binds 127.0.0.1:0 and serves on its own thread
// until stop() (or destruction).
class DemoPbx {
 public:
  static base::Result<std::unique_ptr<DemoPbx>> start(const DemoConfig& demo);
  ~DemoPbx();
  DemoPbx(const DemoPbx&) = delete;
  DemoPbx& operator=(const DemoPbx&) = delete;

  std::uint16_t port() const;
  // The [[pbx]] entry that connects to this simulator (random secret, MD5 login).
  PbxConfig pbx_config() const;
  // Somebody started to watch (a browser opened the event stream): Anna's phone rings within
  // 2 s unless it is busy or her next call is due by then. Thread-safe (runs on the simulator's
  // thread).
  void viewer_arrived();
  // Thread-safe, idempotent; joins the simulator thread.
  void stop();

 private:
  struct Impl;
  explicit DemoPbx(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Adds the demo link to config.pbx and, for the link's tenant, unless the file configured them:
// the dialing plan of the simulated PBX (demo_dialing_config()) and the [[tenant.X.phones]] of
// the demo phones (remote answer/hold by "talk"/"hold" NOTIFYs, except Frank's); then validate()s.
base::Status add_demo_link(Config& config, const DemoPbx& pbx);

// The demo directory: one contact per outside number of the traffic pool (people and companies),
// plus a few pairs sharing a number so the client's chooser has something to choose.
std::vector<ports::Contact> demo_contacts(const base::TenantId& tenant, const sim::TrafficProfile& profile);

// Seeds demo_contacts() into <data_dir>/contacts.db for `tenant`, only when that tenant has no
// contacts yet. Returns how many were added (0 = left alone).
base::Result<std::size_t> seed_demo_contacts(const std::string& data_dir, const base::TenantId& tenant,
                                             const sim::TrafficProfile& profile);

// Creates the demo users of kDemoPeople (role user, team kDemoTeam, their extension) that do not
// exist in <data_dir>/identity.db; users that exist are left as they are (an admin may have
// changed them). Returns how many were created.
// (Also gives Anna her external device "mobile", kDemoMobile, unless she has devices.)
base::Result<std::size_t> seed_demo_users(const std::string& data_dir, const base::TenantId& tenant);

// The demo admin's API token: reuses the one saved in <data_dir>/demo-token (mode 0600) while it
// is still valid in identity.db, else creates the user `demo-admin` (role admin) and a new token.
base::Result<std::string> demo_admin_token(const std::string& data_dir, const base::TenantId& tenant);

// The same for kDemoFocus (Anna), saved in <data_dir>/demo-token-<user>; seed_demo_users() first.
base::Result<std::string> demo_focus_token(const std::string& data_dir, const base::TenantId& tenant);

// "http://127.0.0.1:8080/?token=..." for a listen address and the bound port (a wildcard host
// becomes 127.0.0.1).
std::string demo_url(const std::string& listen, std::uint16_t port, const std::string& token);

}  // namespace callbridge::app
