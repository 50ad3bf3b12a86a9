// `callbridge pair`, `pair list`, `pair revoke ID`: browsers and apps paired with this edge for the
// cloud relay (docs/relay.md "Paired devices"), in the identity store (the data dir's identity.db,
// or PostgreSQL with [identity] backend = "postgres" and in cluster mode) without a running daemon. `pair` makes a one-time pairing secret (10 minutes by default) and prints the link that
// carries it with the edge key's fingerprint in the URL fragment (stdout, last line; a QR code of it
// on stderr when built with libqrencode). Every change is recorded in the audit log (actor "cli").
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "app/config.hpp"
#include "app/store_wiring.hpp"
#include "base/json_text.hpp"
#include "base/time.hpp"
#include "cli/commands.hpp"
#include "relay/pairing/pairing.hpp"

#ifdef CALLBRIDGE_HAVE_QRENCODE
#include <qrencode.h>
#endif

namespace callbridge::cli {
namespace {

struct PairFlags {
  std::string data_dir;
  std::string config;
  std::string tenant{app::kSingleCompanyTenant};
  std::string label;
  std::string edge;
  std::string relay_url;
  int ttl_minutes = 10;
  bool no_qr = false;
  std::string id;
};

int fail_msg(const std::string& m, int rc = 1) {
  std::fprintf(stderr, "callbridge pair: %s\n", m.c_str());
  return rc;
}

struct Opened {
  std::unique_ptr<ports::PairedDeviceStore> store;
  std::unique_ptr<ports::AuditLog> audit;
};

// The paired devices (and the audit log when `with_audit`) where the configuration keeps them;
// without a configuration identity.db and audit.db of the data dir. --edge and
// --relay-url default to the configuration's [relay] edge_id and url.
std::optional<Opened> open(PairFlags& f, bool with_audit, int& rc) {
  std::string dir = f.data_dir;
  std::string cfg = f.config;
  if (cfg.empty())
    if (const char* e = std::getenv("CALLBRIDGE_CONFIG")) cfg = e;
  app::Config config;
  if (!cfg.empty()) {
    auto c = app::load_config_file(cfg);
    if (!c) {
      rc = fail_msg("config error: " + c.error().message(), 2);
      return std::nullopt;
    }
    config = std::move(*c);
    if (dir.empty()) dir = app::effective_data_dir(config);
    if (f.edge.empty()) f.edge = config.relay.edge_id;
    if (f.relay_url.empty()) f.relay_url = config.relay.url;
  }
  if (dir.empty()) dir = app::default_data_dir();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    rc = fail_msg("data dir " + dir + ": cannot create: " + ec.message());
    return std::nullopt;
  }
  Opened o;
  auto s = app::open_paired_devices(config, dir);
  if (!s) {
    rc = fail_msg(s.error().message());
    return std::nullopt;
  }
  o.store = std::move(s->store);
  if (with_audit) {
    auto a = app::open_audit_log(config, dir, app::AuditUse::cli_write);
    if (!a) {
      rc = fail_msg(a.error().message() + " (changes are recorded there; nothing was changed)");
      return std::nullopt;
    }
    o.audit = std::move(a->log);
  }
  return o;
}

void record(ports::AuditLog& log, const base::TenantId& tenant, std::string action, std::string target,
            std::string details = "{}") {
  ports::AuditRecord r{.tenant = tenant};
  r.at = base::SystemClock().now();
  r.actor = "cli";
  r.action = std::move(action);
  r.target = std::move(target);
  r.outcome = "ok";
  r.details_json = std::move(details);
  log.append(std::move(r));
  if (auto st = log.flush(); !st) std::fprintf(stderr, "callbridge pair: %s\n", st.error().message().c_str());
}

// The QR code of `text` in half-block characters (two modules per character row), with the quiet
// zone the standard asks for; nothing without libqrencode.
void print_qr(const std::string& text) {
#ifdef CALLBRIDGE_HAVE_QRENCODE
  QRcode* qr = QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_L, QR_MODE_8, 1);
  if (!qr) return;
  const int quiet = 2, n = qr->width, size = n + 2 * quiet;
  auto dark = [&](int x, int y) {
    x -= quiet;
    y -= quiet;
    return x >= 0 && y >= 0 && x < n && y < n && (qr->data[y * n + x] & 1);
  };
  // Light modules are printed as ink (white on a dark terminal reads as the light part).
  for (int y = 0; y < size; y += 2) {
    std::string line;
    for (int x = 0; x < size; ++x) {
      const bool top = !dark(x, y), bottom = y + 1 < size ? !dark(x, y + 1) : false;
      line += top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ";
    }
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  QRcode_free(qr);
#else
  (void)text;
#endif
}

int run_create(PairFlags& f) {
  int rc = 0;
  auto o = open(f, true, rc);
  if (!o) return rc;
  if (f.edge.empty() || f.relay_url.empty())
    return fail_msg("--edge and --relay-url are needed, or a configuration with [relay] edge_id and url "
                    "(the edge id registered at the relay and its wss:// URL)", 2);
  const base::TenantId tenant(f.tenant);
  const auto now = base::SystemClock().now();
  auto p = relay::pairing::create(*o->store, tenant, f.label, "cli", f.edge, f.relay_url, now,
                                  std::chrono::minutes(f.ttl_minutes));
  if (!p) return fail_msg(p.error().message(), p.error().code() == base::Errc::invalid_argument ? 2 : 1);
  std::string details = "{\"label\":";
  base::append_json_string(details, f.label);
  details += "}";
  record(*o->audit, tenant, "relay.pair", "device:" + p->device.id, details);
  if (!f.no_qr) print_qr(p->link);
  std::fprintf(stderr,
               "pairing %s for tenant %s%s%s, valid until %s (one use).\n"
               "Open the link on the device; it checks the edge key's fingerprint:\n  %s\n"
               "The link carries a secret: hand it over in person or over a channel you trust.\n",
               p->device.id.c_str(), f.tenant.c_str(), f.label.empty() ? "" : ", ", f.label.c_str(),
               base::format_rfc3339_ms(p->device.expires_at).c_str(), p->fingerprint.c_str());
  std::printf("%s\n", p->link.c_str());
  return 0;
}

int run_list(PairFlags& f) {
  int rc = 0;
  auto o = open(f, false, rc);
  if (!o) return rc;
  auto devices = o->store->list(base::TenantId(f.tenant));
  if (!devices) return fail_msg(devices.error().message());
  const auto now = base::SystemClock().now();
  std::printf("%-16s %-8s %-25s %-25s %s\n", "ID", "STATE", "CREATED", "LAST SEEN", "LABEL");
  for (const auto& d : *devices)
    std::printf("%-16s %-8s %-25s %-25s %s\n", d.id.c_str(), d.state(now).c_str(),
                base::format_rfc3339_ms(d.created_at).c_str(),
                d.last_seen ? base::format_rfc3339_ms(*d.last_seen).c_str() : "-", d.label.c_str());
  return 0;
}

int run_revoke(PairFlags& f) {
  if (!relay::pairing::valid_device_id(f.id)) return fail_msg("device id: 16 hex digits, as `pair list` shows", 2);
  int rc = 0;
  auto o = open(f, true, rc);
  if (!o) return rc;
  const base::TenantId tenant(f.tenant);
  if (auto st = o->store->revoke(tenant, f.id, base::SystemClock().now()); !st) return fail_msg(st.error().message());
  record(*o->audit, tenant, "relay.revoke", "device:" + f.id);
  std::fprintf(stderr, "revoked %s: its next handshake is refused (a running callbridged drops its relay "
                       "connection within a few seconds)\n", f.id.c_str());
  return 0;
}

}  // namespace

Command register_pair(CLI::App& app) {
  auto f = std::make_shared<PairFlags>();
  auto* c = app.add_subcommand("pair", "pair a browser or app with this edge for the cloud relay; list, revoke");
  auto common = [f](CLI::App* s) {
    s->add_option("--data-dir", f->data_dir, "callbridged data dir holding identity.db (default: from --config, "
                                             "else the daemon's default)")
        ->option_text("DIR");
    s->add_option("--config", f->config, "callbridged config file (default: $CALLBRIDGE_CONFIG)")->option_text("FILE");
    s->add_option("--tenant", f->tenant, "tenant id")->capture_default_str()->option_text("T")->check(tenant_id_check());
  };
  common(c);
  c->add_option("--label", f->label, "a name for the device (\"Anna's laptop\")")->option_text("TEXT");
  c->add_option("--edge", f->edge, "this edge's id at the relay (default: [relay] edge_id of the configuration)")
      ->option_text("ID");
  c->add_option("--relay-url", f->relay_url,
                "the relay, wss://host[:port] (default: [relay] url; the link opens https://host[:port]/)")
      ->option_text("URL");
  c->add_option("--ttl", f->ttl_minutes, "minutes the link stays valid (1 to 1440)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1440))
      ->option_text("MIN");
  c->add_flag("--no-qr", f->no_qr, "print the link only, no QR code");
  auto* list = c->add_subcommand("list", "paired devices and pending pairings of a tenant (never secrets)");
  common(list);
  auto* revoke = c->add_subcommand("revoke", "revoke a paired device or cancel a pending pairing");
  common(revoke);
  revoke->add_option("id", f->id, "device id (16 hex digits, from `pair list`)")->required();

  Command cmd;
  cmd.app = c;
  cmd.run = [f, list, revoke]() {
    if (list->parsed()) return run_list(*f);
    if (revoke->parsed()) return run_revoke(*f);
    return run_create(*f);
  };
  return cmd;
}

}  // namespace callbridge::cli
