// Demo mode: simulator thread, demo link, demo contacts, demo admin token (see demo.hpp).
#include "app/demo.hpp"

#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "directory/store/sqlite_contact_store.hpp"
#include "sim/sim_engine.hpp"
#include "sim/sim_server.hpp"
#include "identity/sqlite/identity_store.hpp"

namespace callbridge::app {

using base::Error;
using base::fail;

sim::LabConfig demo_lab() {
  sim::LabConfig lab;
  lab.phones.clear();
  for (const auto& person : kDemoPeople) lab.phones.push_back({person.extension, person.display_name, person.remote_control});
  // As a site after docs/dialplan.md's install steps: DND, forwarding and follow-me work in the demo.
  lab.callbridge_dialplan = true;
  return lab;
}

sim::TrafficProfile demo_traffic_profile(double calls_per_minute, std::uint64_t seed) {
  sim::TrafficProfile p;
  p.seats = static_cast<int>(std::size(kDemoPeople));
  p.cps = calls_per_minute / 60.0;
  p.answer_ratio = 0.65, p.miss_ratio = 0.25, p.busy_ratio = 0.10;
  p.inbound = 0.5, p.outbound = 0.25, p.internal = 0.1, p.queue = 0.15;
  p.hold_ratio = 0.15, p.transfer_ratio = 0.1, p.attended_ratio = 0.05;
  p.ring_min_s = 3, p.ring_max_s = 14;
  p.talk_mean_s = 45, p.talk_min_s = 8, p.talk_max_s = 240;
  p.external_prefix = "+4989";
  p.external_pool = 24;  // every outside caller is in demo_contacts()
  p.seed = seed;
  // Something happens at once for whoever opens Anna's link, and her calls ring long enough to
  // be answered from the browser.
  p.focus_ext = kDemoFocus.extension;
  p.focus_first_s = 4;
  p.focus_every_min_s = 20, p.focus_every_max_s = 40;
  p.focus_ring_min_s = 8, p.focus_ring_max_s = 15;
  return p;
}

// ---- DemoPbx ---------------------------------------------------------------------------------

struct DemoPbx::Impl {
  sim::TrafficProfile profile;
  sim::TrafficGenerator generator;
  sim::SimEngine engine;
  sim::SimServer server;
  std::uint16_t port = 0;
  std::string secret;
  std::thread thread;
  std::once_flag stopped;

  Impl(sim::TrafficProfile p, sim::SimServerOptions opts)
      : profile(p),
        generator(p),
        engine(demo_lab(),
               std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()), nullptr),
        server(opts, engine),
        secret(opts.ami.secret) {}
};

DemoPbx::DemoPbx(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DemoPbx::~DemoPbx() { stop(); }

base::Result<std::unique_ptr<DemoPbx>> DemoPbx::start(const DemoConfig& demo) {
  std::random_device rd;
  std::uint64_t seed = demo.seed != 0 ? demo.seed : (std::uint64_t{rd()} << 32 | rd());
  auto profile = demo_traffic_profile(demo.calls_per_minute, seed);
  if (auto st = profile.validate(); !st) return fail(st.error());

  sim::SimServerOptions opts;
  opts.host = "127.0.0.1";
  opts.port = 0;
  opts.speed = demo.speed;
  opts.ami.username = "demo";
  opts.ami.secret = identity::random_hex(16);
  opts.max_clients = 4;
  auto impl = std::make_unique<Impl>(profile, opts);
  auto port = impl->server.listen();
  if (!port) return fail(Error(port.error().code(), "demo simulator: " + port.error().message()));
  impl->port = *port;
  Impl* raw = impl.get();
  // Traffic starts once callbridged has logged in, so the first calls are seen from their start.
  impl->server.on_first_login([raw](sim::SimEngine& e) { raw->generator.start(e); });
  impl->thread = std::thread([raw] { raw->server.run(); });
  spdlog::info("demo: PBX simulator on 127.0.0.1:{} (speed {}, {} calls/min, seed {})", raw->port, demo.speed,
               demo.calls_per_minute, seed);
  return std::unique_ptr<DemoPbx>(new DemoPbx(std::move(impl)));
}

std::uint16_t DemoPbx::port() const { return impl_->port; }

PbxConfig DemoPbx::pbx_config() const {
  PbxConfig p;
  p.name = kDemoPbxName;
  // The simulator is an AMI server: callbridged reaches it through the AMI driver's row of the
  // driver table, like a real Asterisk (no simulator driver exists).
  p.driver = "ami";
  p.host = "127.0.0.1";
  p.port = impl_->port;
  p.user = "demo";
  p.secret = impl_->secret;
  p.auth = AmiAuth::md5;
  p.reconnect_min_ms = 200;
  p.reconnect_max_ms = 2000;
  return p;
}

void DemoPbx::viewer_arrived() {
  Impl* raw = impl_.get();
  raw->server.post([raw](sim::SimEngine& e) { raw->generator.focus_soon(e, std::chrono::seconds(2)); });
}

void DemoPbx::stop() {
  if (!impl_) return;
  std::call_once(impl_->stopped, [this] {
    impl_->server.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
  });
}

base::Status add_demo_link(Config& config, const DemoPbx& pbx) {
  auto link = pbx.pbx_config();
  for (const auto& p : config.pbx) {
    if (p.name == link.name) {
      return fail(Error::invalid_argument("--demo: a [[pbx]] named \"demo\" is already configured"));
    }
  }
  auto& tenant = config.tenants[link.tenant];
  if (tenant.dialing.country_code.empty()) tenant.dialing = demo_dialing_config();
  if (tenant.phones.empty()) {
    // The simulated phones act on NOTIFY "talk"/"hold" like Yealink/Snom (sim::Phone); Frank's
    // is listed without events, so the API says why his calls have no Answer/Hold.
    PhoneConfig remote{.devices = {}, .answer_event = "talk", .hold_event = "hold", .retrieve_event = "talk"};
    PhoneConfig old;
    for (const auto& person : kDemoPeople) (person.remote_control ? remote : old).devices.push_back(person.extension);
    if (!remote.devices.empty()) tenant.phones.push_back(remote);
    if (!old.devices.empty()) tenant.phones.push_back(old);
  }
  config.pbx.push_back(std::move(link));
  return validate(config);
}

// ---- contacts ----------------------------------------------------------------------------------

std::vector<ports::Contact> demo_contacts(const base::TenantId& tenant, const sim::TrafficProfile& profile) {
  static constexpr std::array<const char*, 12> kGiven = {"Lena", "Jonas", "Mia",  "Paul", "Emma", "Felix",
                                                          "Hanna", "Lukas", "Sofia", "Noah", "Marie", "Elias"};
  static constexpr std::array<const char*, 12> kFamily = {"Becker", "Hoffmann", "Schulz", "Koch",   "Richter", "Wolf",
                                                           "Neumann", "Braun",   "Krause", "Vogel", "Lang",    "Haas"};
  static constexpr std::array<const char*, 6> kCompanies = {"Isar Logistik GmbH", "Brezn & Co. KG",
                                                             "Alpenblick Hotel",   "Stadtwerke Demo",
                                                             "Kanzlei Weber",      "Praxis Dr. Lindner"};
  std::vector<ports::Contact> out;
  auto number = [&](int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%07d", 1'000'000 + i);  // as sim::TrafficGenerator draws them
    return profile.external_prefix + buf;
  };
  const int pool = std::min(profile.external_pool, 1000);
  for (int i = 0; i < pool; ++i) {
    ports::Contact c{.tenant = tenant};
    c.origin = "demo";
    if (i % 4 == 3) {  // every fourth caller is a company's switchboard
      c.kind = ports::ContactKind::company;
      c.company = kCompanies[static_cast<std::size_t>(i / 4) % kCompanies.size()];
      c.display_name = c.company;
      c.numbers = {{"work", number(i), number(i)}};
    } else {
      c.given_name = kGiven[static_cast<std::size_t>(i) % kGiven.size()];
      c.family_name = kFamily[static_cast<std::size_t>(i * 7 + i / 12) % kFamily.size()];
      c.display_name = c.given_name + " " + c.family_name;
      c.email = c.given_name + "." + c.family_name + "@example.com";
      for (auto& ch : c.email) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      c.numbers = {{i % 2 ? "mobile" : "work", number(i), number(i)}};
    }
    out.push_back(std::move(c));
  }
  // Duplicates for the chooser: a second person behind a company's switchboard, and a shared
  // family line.
  for (int i : {3, 7, 11}) {
    if (i >= pool) break;
    ports::Contact c{.tenant = tenant};
    c.origin = "demo";
    c.given_name = kGiven[static_cast<std::size_t>(i + 5) % kGiven.size()];
    c.family_name = kFamily[static_cast<std::size_t>(i + 2) % kFamily.size()];
    c.display_name = c.given_name + " " + c.family_name;
    c.company = kCompanies[static_cast<std::size_t>(i / 4) % kCompanies.size()];
    c.numbers = {{"work", number(i), number(i)}};
    out.push_back(std::move(c));
  }
  if (pool > 4) {
    ports::Contact c{.tenant = tenant};
    c.origin = "demo";
    c.given_name = "Ida";
    c.family_name = out[4].family_name;
    c.display_name = "Ida " + c.family_name;
    c.note = "shares the home line with " + out[4].display_name;
    c.numbers = {{"home", number(4), number(4)}};
    out.push_back(std::move(c));
  }
  return out;
}

base::Result<std::size_t> seed_demo_contacts(const std::string& data_dir, const base::TenantId& tenant,
                                             const sim::TrafficProfile& profile) {
  directory::SqliteContactStoreOptions o;
  o.path = (std::filesystem::path(data_dir) / "contacts.db").string();
  auto store = directory::SqliteContactStore::open(o);
  if (!store) return fail(store.error());
  auto n = (*store)->count(tenant);
  if (!n) return fail(n.error());
  if (*n > 0) return std::size_t{0};
  std::size_t added = 0;
  for (const auto& c : demo_contacts(tenant, profile)) {
    auto id = (*store)->create(c);
    if (!id) return fail(Error(id.error().code(), o.path + ": " + id.error().message()));
    ++added;
  }
  return added;
}

// ---- users and tokens ---------------------------------------------------------------------------

base::Result<std::size_t> seed_demo_users(const std::string& data_dir, const base::TenantId& tenant) {
  namespace fs = std::filesystem;
  auto store = identity::SqliteIdentityStore::open((fs::path(data_dir) / "identity.db").string());
  if (!store) return fail(store.error());
  std::size_t added = 0;
  for (const auto& person : kDemoPeople) {
    if ((*store)->get_user(tenant, person.user)) continue;
    identity::User u{.tenant = tenant};
    u.name = person.user;
    u.role = "user";
    u.display_name = person.display_name;
    u.extensions = {person.extension};
    u.team = kDemoTeam;
    if (auto st = (*store)->put_user(u); !st) return fail(st.error());
    ++added;
  }
  // AnyDevice in the demo (docs/call-control.md): Anna has a mobile behind the simulator's trunk
  // (it answers after a few seconds); choosing it in the header makes her click-to-dial ring it
  // first. Not chosen here: the demo starts on her desk phone. Added once; her own changes stay.
  auto devices = (*store)->get_user_devices(tenant, kDemoFocus.user);
  if (!devices) return fail(devices.error());
  if (devices->external.empty()) {
    ports::ExternalDevice mobile{.name = "mobile", .number = kDemoMobile, .created_at = base::SystemClock{}.now()};
    if (auto st = (*store)->put_external_device(tenant, kDemoFocus.user, mobile, 5); !st) return fail(st.error());
  }
  return added;
}

namespace {

// A sign-in token for `user`: the one saved in `saved_file` while still valid, else a new one
// (creating the user from `make_user` when it does not exist).
base::Result<std::string> demo_token(const std::string& data_dir, const base::TenantId& tenant,
                                     const std::string& user, const std::string& saved_file,
                                     const std::function<identity::User()>& make_user) {
  namespace fs = std::filesystem;
  auto store = identity::SqliteIdentityStore::open((fs::path(data_dir) / "identity.db").string());
  if (!store) return fail(store.error());
  const std::string saved_path = (fs::path(data_dir) / saved_file).string();
  {
    std::ifstream f(saved_path);
    std::string saved;
    if (f && std::getline(f, saved) && saved.size() < 512) {
      if (auto parts = identity::parse_token(saved)) {
        auto rec = (*store)->get_token(parts->id);
        auto now = base::SystemClock{}.now();
        if (rec && !rec->revoked && rec->tenant == tenant && rec->user == user &&
            (!rec->expires_at || *rec->expires_at > now) && identity::verify_secret(rec->hash, parts->secret)) {
          return saved;
        }
      }
    }
  }
  if (!(*store)->get_user(tenant, user)) {
    if (auto st = (*store)->put_user(make_user()); !st) return fail(st.error());
  }
  auto issued = identity::issue_token(**store, tenant, user, base::SystemClock{}.now());
  if (!issued) return fail(issued.error());
  {
    std::ofstream f(saved_path, std::ios::trunc);
    f << issued->token << "\n";
    if (!f) return fail(Error::io(saved_path + ": cannot be written"));
  }
  ::chmod(saved_path.c_str(), 0600);
  return issued->token;
}

}  // namespace

base::Result<std::string> demo_admin_token(const std::string& data_dir, const base::TenantId& tenant) {
  return demo_token(data_dir, tenant, kDemoAdminUser, "demo-token", [&] {
    identity::User u{.tenant = tenant};
    u.name = kDemoAdminUser;
    u.role = "admin";
    u.display_name = "Demo Admin";
    return u;
  });
}

base::Result<std::string> demo_focus_token(const std::string& data_dir, const base::TenantId& tenant) {
  return demo_token(data_dir, tenant, kDemoFocus.user, std::string("demo-token-") + kDemoFocus.user, [&] {
    identity::User u{.tenant = tenant};
    u.name = kDemoFocus.user;
    u.display_name = kDemoFocus.display_name;
    u.extensions = {kDemoFocus.extension};
    u.team = kDemoTeam;
    return u;
  });
}

std::string demo_url(const std::string& listen, std::uint16_t port, const std::string& token) {
  auto hp = parse_host_port(listen);
  std::string host = hp ? hp->host : "127.0.0.1";
  if (host == "0.0.0.0" || host == "::" || host == "[::]") host = "127.0.0.1";
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port) + "/?token=" + token;
}

}  // namespace callbridge::app
