// `callbridge audit`: lists the audit log. By default the configured one (the data dir's audit.db,
// read-only, or PostgreSQL with [audit] backend = "postgres" or [cluster])
// (works while callbridged runs: WAL), one tenant (--tenant) or all (--all-tenants): whoever can
// read the data dir's files reads every tenant's records anyway. With --remote through a running
// callbridged's API instead (GET /api/v1/audit, server and token as cli/rest_client.hpp): an
// operator's token reads the tenant named by --tenant or, without it, every tenant; a tenant admin's
// only their own (another tenant: 403). Output as an aligned table or JSON lines (GET
// /api/v1/audit's record objects). Exit codes: 0 ok, 1 no/bad audit log or a refused request,
// 2 bad arguments, 3 server not reachable.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "app/config.hpp"
#include "app/store_wiring.hpp"
#include "base/json_text.hpp"
#include "cli/commands.hpp"
#include "cli/rest_client.hpp"

namespace callbridge::cli {

namespace {

struct AuditArgs {
  std::string data_dir;
  std::string config;
  std::string tenant{app::kSingleCompanyTenant};  // checked by tenant_id_check()
  bool all_tenants = false;
  std::string since;
  std::string until;
  std::string actor;
  std::string kind;
  std::size_t limit = 50;
  std::int64_t before_id = 0;
  std::string format = "table";
  bool remote = false;        // through callbridged's API instead of the file
  bool tenant_given = false;  // --tenant on the command line (remote: else the token's scope)
  std::string cli_config;
};

int usage_error(const std::string& m) {
  std::fprintf(stderr, "callbridge audit: %s\n", m.c_str());
  return 2;
}

// Control characters out of a table cell (a terminal must not be steered by a user name).
std::string cell(std::string s) {
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return s.empty() ? "-" : s;
}

void print_table(const std::vector<ports::StoredAuditRecord>& rows) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"ID", "AT (UTC)", "TENANT", "ACTOR", "SOURCE", "ACTION", "TARGET", "OUTCOME", "DETAILS"});
  for (const auto& s : rows) {
    const auto& r = s.record;
    auto at = base::format_rfc3339_ms(r.at);
    cells.push_back({std::to_string(s.id), at.substr(0, 10) + " " + at.substr(11, 8), r.tenant.str(), cell(r.actor),
                     cell(r.source), cell(r.action), cell(r.target), cell(r.outcome),
                     r.details_json == "{}" ? "" : cell(r.details_json)});
  }
  std::vector<std::size_t> w(cells[0].size(), 0);
  for (const auto& row : cells)
    for (std::size_t i = 0; i + 1 < row.size(); ++i) w[i] = std::max(w[i], row[i].size());
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i) line += "  ";
      line += row[i];
      if (i + 1 < row.size()) line += std::string(w[i] - row[i].size(), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

void print_json(const std::vector<ports::StoredAuditRecord>& rows) {
  for (const auto& s : rows) {
    const auto& r = s.record;
    std::string o = "{\"id\":" + std::to_string(s.id) + ",\"at\":";
    base::append_json_string(o, base::format_rfc3339_ms(r.at));
    for (const auto& [k, v] : {std::pair<const char*, const std::string*>{"tenant", &r.tenant.str()},
                               {"actor", &r.actor},
                               {"source", &r.source},
                               {"action", &r.action},
                               {"target", &r.target},
                               {"outcome", &r.outcome}}) {
      o += ",\"" + std::string(k) + "\":";
      base::append_json_string(o, *v);
    }
    o += ",\"details\":" + r.details_json + "}";  // a JSON object as the store keeps it
    std::printf("%s\n", o.c_str());
  }
}

// Prints what was read, as a table or JSON lines. 0.
int print_rows(const AuditArgs& a, const std::vector<ports::StoredAuditRecord>& rows) {
  if (a.format == "json") {
    print_json(rows);
    return 0;
  }
  if (rows.empty()) {
    std::printf("no audit records match\n");
    return 0;
  }
  print_table(rows);
  if (rows.size() == a.limit)
    std::printf("(%zu shown; older: --before-id %lld)\n", rows.size(), static_cast<long long>(rows.back().id));
  return 0;
}

// One record of GET /api/v1/audit's answer; nullopt when it is not one (a server we do not know).
std::optional<ports::StoredAuditRecord> from_api(const boost::json::value& v) {
  namespace json = boost::json;
  const auto* o = v.if_object();
  if (!o) return std::nullopt;
  auto str = [o](const char* k) -> std::optional<std::string> {
    const auto* x = o->if_contains(k);
    if (!x || !x->is_string()) return std::nullopt;
    return std::string(x->get_string());
  };
  const auto* id = o->if_contains("id");
  auto tenant = str("tenant");
  auto at = str("at");
  if (!id || !id->is_int64() || !tenant || !at) return std::nullopt;
  auto t = base::TenantId::parse(*tenant);
  auto when = base::parse_rfc3339(*at);
  if (!t || !when) return std::nullopt;
  ports::StoredAuditRecord r{.id = id->get_int64(), .record = ports::AuditRecord{.at = *when, .tenant = *t}};
  r.record.actor = str("actor").value_or("");
  r.record.source = str("source").value_or("");
  r.record.action = str("action").value_or("");
  r.record.target = str("target").value_or("");
  r.record.outcome = str("outcome").value_or("");
  if (const auto* d = o->if_contains("details"); d && d->is_object()) r.record.details_json = json::serialize(*d);
  return r;
}

// --remote: pages through GET /api/v1/audit (at most 500 a request) until a.limit records.
int run_remote(const AuditArgs& a, const ports::AuditQuery& q) {
  namespace json = boost::json;
  std::string err;
  auto ep = load_endpoint(a.cli_config, err);
  if (!ep) {
    std::fprintf(stderr, "callbridge audit: %s\n", err.c_str());
    return 2;
  }
  std::string filters;
  auto add = [&filters](const char* k, const std::string& v) { filters += std::string("&") + k + "=" + path_segment(v); };
  if (a.tenant_given) add("tenant", a.tenant);
  if (q.since) add("since", base::format_rfc3339_ms(*q.since));
  if (q.until) add("until", base::format_rfc3339_ms(*q.until));
  if (q.actor) add("actor", *q.actor);
  if (q.kind) add("kind", *q.kind);
  std::vector<ports::StoredAuditRecord> rows;
  std::optional<std::int64_t> before = q.before_id;
  while (rows.size() < a.limit) {
    const std::size_t n = std::min<std::size_t>(500, a.limit - rows.size());
    std::string path = "/api/v1/audit?limit=" + std::to_string(n) + filters;
    if (before) path += "&before=" + std::to_string(*before);
    auto r = http(*ep, "GET", path, "");
    if (r.status != 200) return report_failure(*ep, "audit", r);
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    const json::object* page = !ec ? v.if_object() : nullptr;
    const json::value* records = page ? page->if_contains("records") : nullptr;
    if (!records || !records->is_array()) {
      std::fprintf(stderr, "callbridge audit: the server's answer is not an audit page\n");
      return 1;
    }
    for (const auto& x : records->get_array()) {
      auto rec = from_api(x);
      if (!rec) {
        std::fprintf(stderr, "callbridge audit: the server's answer holds a record that is not one\n");
        return 1;
      }
      rows.push_back(std::move(*rec));
    }
    const json::value* next = page->if_contains("next_before");
    if (!next || !next->is_int64() || records->get_array().empty()) break;
    before = next->get_int64();
  }
  return print_rows(a, rows);
}

int run_audit(const AuditArgs& a) {
  const auto now = base::SystemClock().now();
  ports::AuditQuery q{.tenant = a.all_tenants ? std::nullopt : std::optional<base::TenantId>(base::TenantId(a.tenant))};
  const char* when = "expected an RFC 3339 time, a date (2026-11-22) or an age (30m, 2h, 7d), got \"";
  if (!a.since.empty() && !(q.since = parse_when(a.since, now))) return usage_error("--since: " + (when + a.since) + "\"");
  if (!a.until.empty() && !(q.until = parse_when(a.until, now))) return usage_error("--until: " + (when + a.until) + "\"");
  if (!a.actor.empty()) q.actor = a.actor;
  if (!a.kind.empty()) q.kind = a.kind;
  q.limit = a.limit;
  if (a.before_id > 0) q.before_id = a.before_id;
  if (a.remote) return run_remote(a, q);

  // The configured audit log: the data dir's audit.db (read-only), or PostgreSQL ([audit] backend
  // = "postgres", or [cluster]).
  app::Config config;
  std::string dir = a.data_dir;
  if (!a.config.empty()) {
    auto c = app::load_config_file(a.config);
    if (!c) return usage_error("config error: " + c.error().message());
    config = std::move(*c);
    if (dir.empty()) dir = app::effective_data_dir(config);
  }
  if (dir.empty()) dir = app::default_data_dir();
  auto log = app::open_audit_log(config, dir, app::AuditUse::cli_read);
  if (!log) {
    if (log.error().code() == base::Errc::not_found)
      std::fprintf(stderr, "callbridge audit: no audit log in %s (%s missing). Is --data-dir right? callbridged "
                   "creates it when it starts.\n", dir.c_str(), app::audit_path(dir).c_str());
    else
      std::fprintf(stderr, "callbridge audit: %s\n", log.error().message().c_str());
    return 1;
  }
  auto rows = log->log->query(q);
  if (!rows) {
    std::fprintf(stderr, "callbridge audit: %s\n", rows.error().message().c_str());
    return 1;
  }
  return print_rows(a, *rows);
}

}  // namespace

Command register_audit(CLI::App& app) {
  auto a = std::make_shared<AuditArgs>();
  auto* c = app.add_subcommand("audit", "list the audit log (sign-ins, tokens, users, settings, commands; read-only)");
  auto* dd = c->add_option("--data-dir", a->data_dir, "callbridged's data dir (default: /var/lib/callbridge as root, else ./data)")
                 ->type_name("DIR");
  auto* cf = c->add_option("--config", a->config, "read the data dir from this callbridged config file")->type_name("FILE");
  dd->excludes(cf);
  auto* rm = c->add_flag("--remote", a->remote,
                         "read through a running callbridged's API ($CALLBRIDGE_URL, $CALLBRIDGE_TOKEN or --cli-config): "
                         "an operator token reads --tenant or every tenant, a tenant admin's only their own");
  rm->excludes(dd)->excludes(cf);
  c->add_option("--cli-config", a->cli_config, "with --remote: client config (default ~/.config/callbridge/cli.toml)")
      ->option_text("FILE")
      ->needs(rm);
  auto* t = c->add_option("--tenant", a->tenant, "tenant id (--remote: default the token's scope)")
                ->capture_default_str()
                ->check(tenant_id_check());
  c->add_flag("--all-tenants", a->all_tenants, "every tenant's records (and those of no tenant; --remote: an operator token)")
      ->excludes(t);
  c->add_option("--since", a->since, "at or after: RFC 3339, date, or age like 2h / 7d")->type_name("TIME");
  c->add_option("--until", a->until, "before: RFC 3339, date, or age")->type_name("TIME");
  c->add_option("--actor", a->actor, "only this actor (user name, cli, system)");
  c->add_option("--kind", a->kind, "an action (token.create) or its kind (token)");
  c->add_option("--limit", a->limit, "at most this many records, newest first (max 10000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  c->add_option("--before-id", a->before_id, "page: only records with a smaller id");
  c->add_option("--format", a->format, "table or json (JSON lines)")->capture_default_str()->check(CLI::IsMember({"table", "json"}));
  return Command{c, [a, t] {
                   a->tenant_given = t->count() > 0;
                   return run_audit(*a);
                 }};
}

}  // namespace callbridge::cli
